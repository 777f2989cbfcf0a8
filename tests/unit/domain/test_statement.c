/*
 * test_statement.c - Binance's Trade History CSV into trades: the fields,
 * the suffixes, quoting and line ends, and every kind of refused line at
 * its line number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "domain/statement.h"

#define HEADER "Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n"
#define MAXT 8

typedef struct got {
    td_venue_trade t[MAXT];
    int n;
} got;

static int collect(void *arg, const td_venue_trade *t)
{
    got *g = arg;
    if (g->n == MAXT)
        return 1;
    g->t[g->n++] = *t;
    return 0;
}

static td_status parse(const char *text, got *g, size_t *line, const char **why)
{
    memset(g, 0, sizeof *g);
    return td_statement_parse(TD_STATEMENT_BINANCE, text, strlen(text), collect, g, line, why);
}

static void trades_with_and_without_suffixes(void **state)
{
    (void)state;
    got g;
    size_t line;
    const char *why;
    const char *csv = "\xEF\xBB\xBF" HEADER
                      "2026-11-30 16:36:56,BTCUSDT,BUY,57000.00,0.00100000BTC,57.00000000USDT,"
                      "0.000001BTC\r\n"
                      "\n"
                      "2024-02-29 00:00:00,ETHUSDT,SELL,3200.5,1.5000000000ETH,4800.75,0.1USDT\n"
                      "\"2026-01-01 23:59:59\",\"SOLUSDT\",\"SELL\",\"98.5\",\"10\",\"985\",\"0\"";
    assert_int_equal(parse(csv, &g, &line, &why), TD_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.t[0].symbol, "BTC-USDT");
    assert_true(g.t[0].buy);
    assert_int_equal(g.t[0].at_ms, INT64_C(1796056616000)); /* date -d '2026-11-30 16:36:56Z' +%s */
    assert_int_equal(g.t[0].price, INT64_C(5700000000000));
    assert_int_equal(g.t[0].quantity, INT64_C(100000));
    assert_int_equal(g.t[0].amount, INT64_C(5700000000));
    assert_int_equal(g.t[0].fee, 100);
    assert_string_equal(g.t[0].fee_asset, "BTC");

    assert_string_equal(g.t[1].symbol, "ETH-USDT");
    assert_false(g.t[1].buy);
    assert_int_equal(g.t[1].at_ms, INT64_C(1709164800000)); /* a leap day */
    assert_int_equal(g.t[1].quantity, INT64_C(150000000)); /* zeros past 8 places are exact */
    assert_int_equal(g.t[1].fee, 10000000);
    assert_string_equal(g.t[1].fee_asset, "USDT");

    assert_string_equal(g.t[2].symbol, "SOL-USDT");
    assert_int_equal(g.t[2].quantity, INT64_C(1000000000));
    assert_int_equal(g.t[2].fee, 0);
    assert_string_equal(g.t[2].fee_asset, "");
}

/* An asset whose name begins with a digit is matched whole at the end. */
static void digit_led_asset(void **state)
{
    (void)state;
    got g;
    size_t line;
    const char *why;
    assert_int_equal(
        parse(HEADER "2026-03-01 10:00:00,1INCHUSDT,BUY,0.5,0.51INCH,0.25USDT,0.00051INCH\n", &g,
              &line, &why),
        TD_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.t[0].symbol, "1INCH-USDT");
    assert_int_equal(g.t[0].quantity, 50000000); /* 0.5 of 1INCH, not 0.51 of INCH */
    assert_int_equal(g.t[0].fee, 50000);
    assert_string_equal(g.t[0].fee_asset, "1INCH");
}

static void header_alone_is_empty(void **state)
{
    (void)state;
    got g;
    size_t line;
    const char *why;
    assert_int_equal(parse(HEADER, &g, &line, &why), TD_OK);
    assert_int_equal(g.n, 0);
}

static void refused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t line;
        const char *why;
    } bad[] = {
        {"", 0, "no header"},
        {"\n\n", 2, "no header"},
        {"Date,Pair,Side,Price,Executed,Amount,Fee\n", 1, "the header"},
        {"Date(UTC),Pair,Side,Price,Executed,Amount\n", 1, "the header"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1\n", 2, "exactly 7 columns"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0,0\n", 2, "exactly 7 columns"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0,0,0\n", 2, "too many columns"},
        {HEADER "2026-11-30T16:36:56,BTCUSDT,BUY,1,1,1,0\n", 2, "Date(UTC)"},
        {HEADER "2026-02-29 16:36:56,BTCUSDT,BUY,1,1,1,0\n", 2, "Date(UTC)"},
        {HEADER "2026-11-30 24:00:00,BTCUSDT,BUY,1,1,1,0\n", 2, "Date(UTC)"},
        {HEADER "1969-12-31 23:59:59,BTCUSDT,BUY,1,1,1,0\n", 2, "Date(UTC)"},
        {HEADER "2026-11-30 16:36:56,BTC-USDT,BUY,1,1,1,0\n", 2, "Pair"},
        {HEADER "2026-11-30 16:36:56,BTCXYZ,BUY,1,1,1,0\n", 2, "Pair"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,buy,1,1,1,0\n", 2, "Side"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,0,1,1,0\n", 2, "Price"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,-1,1,1,0\n", 2, "Price"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1e3,1,1,0\n", 2, "Price"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,0.000000001,1,0\n", 2, "Executed"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1ETH,1,0\n", 2, "Executed"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1BTC,1BTC,0\n", 2, "Amount"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,-0.1\n", 2, "Fee"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0.1bnb\n", 2, "Fee"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,\"0\n", 2, "not closed"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0\"\n", 2, "a quote inside"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0\r0\n", 2, "carriage return"},
        {HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0\n\n"
                "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,x\n",
         4, "Fee"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        got g;
        size_t line;
        const char *why;
        if (parse(bad[i].text, &g, &line, &why) != TD_EINVAL || line != bad[i].line ||
            !strstr(why, bad[i].why))
            fail_msg("case %zu: line %zu, '%s'", i, line, why);
    }
    /* The trades before a bad line were handed over (the caller rolls back). */
    got g;
    size_t line;
    const char *why;
    assert_int_equal(parse(bad[sizeof bad / sizeof bad[0] - 1].text, &g, &line, &why), TD_EINVAL);
    assert_int_equal(g.n, 1);
}

static void callback_stops(void **state)
{
    (void)state;
    got g = {.n = MAXT}; /* full: the first trade stops it */
    size_t line;
    const char *why;
    const char *csv = HEADER "2026-11-30 16:36:56,BTCUSDT,BUY,1,1,1,0\n";
    assert_int_equal(td_statement_parse(TD_STATEMENT_BINANCE, csv, strlen(csv), collect, &g, &line,
                                        &why),
                     TD_ERROR);
    td_statement_format f;
    assert_int_equal(td_statement_format_parse("binance", &f), TD_OK);
    assert_int_equal(f, TD_STATEMENT_BINANCE);
    assert_int_equal(td_statement_format_parse("kraken", &f), TD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trades_with_and_without_suffixes),
        cmocka_unit_test(digit_led_asset),
        cmocka_unit_test(header_alone_is_empty),
        cmocka_unit_test(refused),
        cmocka_unit_test(callback_stops),
    };
    return cmocka_run_group_tests_name("statement", tests, NULL, NULL);
}
