/*
 * test_symbol.c - canonical symbols (the schema's CHECK, exactly) and every
 * exchange spelling both ways, round trips and refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/symbol.h"

#include <string.h>

static td_status from(td_spelling sp, const char *s, char *buf)
{
    return td_symbol_from_venue(sp, s, strlen(s), buf, TD_SYMBOL_STR_MAX);
}

static void expect_from(td_spelling sp, const char *venue, const char *canon)
{
    char buf[TD_SYMBOL_STR_MAX];
    assert_int_equal(from(sp, venue, buf), TD_OK);
    assert_string_equal(buf, canon);
}

static void expect_to(td_spelling sp, const char *canon, const char *venue)
{
    char buf[TD_SYMBOL_STR_MAX];
    assert_int_equal(td_symbol_to_venue(sp, canon, buf, sizeof buf), TD_OK);
    assert_string_equal(buf, venue);
}

static void refuse_from(td_spelling sp, const char *venue)
{
    char buf[TD_SYMBOL_STR_MAX] = "junk";
    assert_int_equal(from(sp, venue, buf), TD_EINVAL);
    assert_string_equal(buf, "");
}

static void refuse_to(td_spelling sp, const char *canon)
{
    char buf[TD_SYMBOL_STR_MAX] = "junk";
    assert_int_equal(td_symbol_to_venue(sp, canon, buf, sizeof buf), TD_EINVAL);
    assert_string_equal(buf, "");
}

/* ^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$, the instruments CHECK. */
static void canonical_follows_the_schema(void **state)
{
    (void)state;
    const char *good[] = {
        "BTC-USDT",      "ETH-BTC", "1INCH-USD", "AB-CD", "ABCDEFGHIJKL-ABCDEFGHIJKL",
        "1000SATS-USDT", "00-11"};
    for (size_t i = 0; i < TD_ARRAY_LEN(good); i++)
        assert_true(td_symbol_valid(good[i]));
    const char *bad[] = {"",
                         "btc-usdt",
                         "Btc-USDT",
                         "BTCUSDT",
                         "BTC_USDT",
                         "BTC/USDT",
                         "BTC-USDT-PERP",
                         "BTC--USDT",
                         "-BTC",
                         "BTC-",
                         "B-USDT",
                         "BTC-U",
                         "ABCDEFGHIJKLM-USDT",
                         "BTC-ABCDEFGHIJKLM",
                         " BTC-USDT",
                         "BTC-USDT ",
                         "BTC-USDT\n",
                         "BTC-US\xc3\x84",
                         "-"};
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++)
        assert_false(td_symbol_valid(bad[i]));
    assert_false(td_symbol_valid(NULL));
}

static void parse_takes_a_slice_apart(void **state)
{
    (void)state;
    td_symbol sym;
    const char *msg = "BTC-USDT\",\"p\":1";
    assert_int_equal(td_symbol_parse(msg, 8, &sym), TD_OK);
    assert_string_equal(sym.base, "BTC");
    assert_string_equal(sym.quote, "USDT");
    /* An embedded NUL is not a character of a symbol. */
    assert_int_equal(td_symbol_parse("BTC-US\0T", 8, &sym), TD_EINVAL);
    assert_int_equal(td_symbol_parse(msg, 9, &sym), TD_EINVAL);
    assert_string_equal(sym.base, "BTC"); /* untouched on failure */
}

static void binance(void **state)
{
    (void)state;
    expect_from(TD_SPELL_BINANCE, "BTCUSDT", "BTC-USDT");
    expect_from(TD_SPELL_BINANCE, "ETHBTC", "ETH-BTC");
    expect_from(TD_SPELL_BINANCE, "BNBETH", "BNB-ETH");
    expect_from(TD_SPELL_BINANCE, "USDCUSDT", "USDC-USDT");
    expect_from(TD_SPELL_BINANCE, "BTCEUR", "BTC-EUR");
    expect_from(TD_SPELL_BINANCE, "USDTTRY", "USDT-TRY");
    expect_from(TD_SPELL_BINANCE, "1000SATSUSDT", "1000SATS-USDT");
    /* Longest quote wins. */
    expect_from(TD_SPELL_BINANCE, "BTCFDUSD", "BTC-FDUSD");
    expect_from(TD_SPELL_BINANCE, "BTCTUSD", "BTC-TUSD");
    expect_from(TD_SPELL_BINANCE, "ETHBUSD", "ETH-BUSD");
    expect_from(TD_SPELL_BINANCE, "BTCBIDR", "BTC-BIDR");
    expect_from(TD_SPELL_BINANCE, "BTCAEUR", "BTC-AEUR");
    /* ...but leaves the base two characters. */
    expect_from(TD_SPELL_BINANCE, "BTCUSD", "BTC-USD");

    expect_to(TD_SPELL_BINANCE, "BTC-USDT", "BTCUSDT");
    expect_to(TD_SPELL_BINANCE, "ETH-BTC", "ETHBTC");
    expect_to(TD_SPELL_BINANCE, "SOL-FDUSD", "SOLFDUSD");

    refuse_from(TD_SPELL_BINANCE, "btcusdt");  /* lower case is the stream spelling */
    refuse_from(TD_SPELL_BINANCE, "BTC-USDT"); /* no separator on Binance */
    refuse_from(TD_SPELL_BINANCE, "BTCXYZ");   /* unknown quote */
    refuse_from(TD_SPELL_BINANCE, "USDT");     /* nothing left for a base */
    refuse_from(TD_SPELL_BINANCE, "XUSDT");    /* a one-letter base */
    refuse_from(TD_SPELL_BINANCE, "");
    refuse_from(TD_SPELL_BINANCE, "ABCDEFGHIJKLMUSDT"); /* base of 13 */
    /* A quote Binance's list does not know would not read back. */
    refuse_to(TD_SPELL_BINANCE, "BTC-XYZ");
    refuse_to(TD_SPELL_BINANCE, "btc-usdt");
}

static void binance_stream(void **state)
{
    (void)state;
    expect_from(TD_SPELL_BINANCE_STREAM, "btcusdt", "BTC-USDT");
    expect_from(TD_SPELL_BINANCE_STREAM, "ethbtc", "ETH-BTC");
    expect_from(TD_SPELL_BINANCE_STREAM, "1inchusdt", "1INCH-USDT");
    expect_to(TD_SPELL_BINANCE_STREAM, "BTC-USDT", "btcusdt");
    expect_to(TD_SPELL_BINANCE_STREAM, "1INCH-USDT", "1inchusdt");
    refuse_from(TD_SPELL_BINANCE_STREAM, "BTCUSDT");
    refuse_from(TD_SPELL_BINANCE_STREAM, "btcUSDT");
    refuse_from(TD_SPELL_BINANCE_STREAM, "btcusdt@miniTicker"); /* the caller cuts the name */
    refuse_from(TD_SPELL_BINANCE_STREAM, "btcxyz");
    refuse_from(TD_SPELL_BINANCE_STREAM, "abcdefghijklmnopqrstusdtx"); /* 25: too long */
}

static void coinbase(void **state)
{
    (void)state;
    expect_from(TD_SPELL_COINBASE, "BTC-USD", "BTC-USD");
    expect_from(TD_SPELL_COINBASE, "ETH-USDC", "ETH-USDC");
    expect_to(TD_SPELL_COINBASE, "BTC-USD", "BTC-USD");
    refuse_from(TD_SPELL_COINBASE, "btc-usd");
    refuse_from(TD_SPELL_COINBASE, "BTCUSD");
    refuse_from(TD_SPELL_COINBASE, "BTC/USD");
    refuse_from(TD_SPELL_COINBASE, "BTC-USD-X");
}

static void kraken_v2(void **state)
{
    (void)state;
    expect_from(TD_SPELL_KRAKEN, "BTC/USD", "BTC-USD");
    expect_from(TD_SPELL_KRAKEN, "DOGE/USD", "DOGE-USD");
    expect_from(TD_SPELL_KRAKEN, "ETH/BTC", "ETH-BTC");
    expect_from(TD_SPELL_KRAKEN, "XBT/USD", "BTC-USD"); /* XBT means Bitcoin at Kraken */
    expect_to(TD_SPELL_KRAKEN, "BTC-USD", "BTC/USD");
    expect_to(TD_SPELL_KRAKEN, "DOGE-EUR", "DOGE/EUR");
    refuse_from(TD_SPELL_KRAKEN, "btc/usd");
    refuse_from(TD_SPELL_KRAKEN, "BTCUSD");
    refuse_from(TD_SPELL_KRAKEN, "BTC-USD");
    refuse_from(TD_SPELL_KRAKEN, "BTC/USD/EUR");
    refuse_from(TD_SPELL_KRAKEN, "/USD");
}

static void kraken_v1(void **state)
{
    (void)state;
    expect_from(TD_SPELL_KRAKEN_V1, "XBT/USD", "BTC-USD");
    expect_from(TD_SPELL_KRAKEN_V1, "XDG/USD", "DOGE-USD");
    expect_from(TD_SPELL_KRAKEN_V1, "ETH/XBT", "ETH-BTC");
    expect_from(TD_SPELL_KRAKEN_V1, "SOL/EUR", "SOL-EUR");
    expect_to(TD_SPELL_KRAKEN_V1, "BTC-USD", "XBT/USD");
    expect_to(TD_SPELL_KRAKEN_V1, "DOGE-USD", "XDG/USD");
    expect_to(TD_SPELL_KRAKEN_V1, "ETH-BTC", "ETH/XBT");
    expect_to(TD_SPELL_KRAKEN_V1, "SOL-EUR", "SOL/EUR");
    refuse_from(TD_SPELL_KRAKEN_V1, "xbt/usd");
    refuse_from(TD_SPELL_KRAKEN_V1, "XBTUSD");
    /* XBT as a canonical asset would read back as BTC: refused, not mangled. */
    refuse_to(TD_SPELL_KRAKEN_V1, "XBT-USD");
    refuse_to(TD_SPELL_KRAKEN, "XDG-USD");
}

static void kraken_rest(void **state)
{
    (void)state;
    /* Legacy pair keys: X/Z + three letters on each side. */
    expect_from(TD_SPELL_KRAKEN_REST, "XXBTZUSD", "BTC-USD");
    expect_from(TD_SPELL_KRAKEN_REST, "XETHZEUR", "ETH-EUR");
    expect_from(TD_SPELL_KRAKEN_REST, "XETHXXBT", "ETH-BTC");
    expect_from(TD_SPELL_KRAKEN_REST, "XXDGXXBT", "DOGE-BTC");
    expect_from(TD_SPELL_KRAKEN_REST, "XXRPZUSD", "XRP-USD");
    expect_from(TD_SPELL_KRAKEN_REST, "USDTZUSD", "USDT-USD");
    /* Altnames and newer pair keys: no prefixes, XBT and XDG still. */
    expect_from(TD_SPELL_KRAKEN_REST, "XBTUSD", "BTC-USD");
    expect_from(TD_SPELL_KRAKEN_REST, "XDGUSD", "DOGE-USD");
    expect_from(TD_SPELL_KRAKEN_REST, "SOLUSD", "SOL-USD");
    expect_from(TD_SPELL_KRAKEN_REST, "DASHXBT", "DASH-BTC");
    expect_from(TD_SPELL_KRAKEN_REST, "XTZUSD", "XTZ-USD"); /* not XT + ZUSD */
    expect_from(TD_SPELL_KRAKEN_REST, "ETHUSDT", "ETH-USDT");

    expect_to(TD_SPELL_KRAKEN_REST, "BTC-USD", "XXBTZUSD");
    expect_to(TD_SPELL_KRAKEN_REST, "ETH-BTC", "XETHXXBT");
    expect_to(TD_SPELL_KRAKEN_REST, "USDT-USD", "USDTZUSD");
    expect_to(TD_SPELL_KRAKEN_REST, "SOL-USD", "SOLUSD");
    expect_to(TD_SPELL_KRAKEN_REST, "SOL-BTC", "SOLXBT");
    expect_to(TD_SPELL_KRAKEN_REST, "USD-EUR", "USDEUR"); /* no crypto base: no legacy key */

    refuse_from(TD_SPELL_KRAKEN_REST, "xxbtzusd");
    refuse_from(TD_SPELL_KRAKEN_REST, "XBT/USD");
    refuse_from(TD_SPELL_KRAKEN_REST, "XXBTZUSD.d");
    refuse_from(TD_SPELL_KRAKEN_REST, "SOLXYZ");
    refuse_to(TD_SPELL_KRAKEN_REST, "SOL-XYZ");
    refuse_to(TD_SPELL_KRAKEN_REST, "XBT-USD");
}

/* Every spelling of a symbol reads back as the same symbol. */
static void round_trips(void **state)
{
    (void)state;
    const char *canon[] = {"BTC-USDT", "ETH-BTC", "BTC-USD", "DOGE-USD", "SOL-EUR",
                           "ETH-USDC", "BNB-ETH", "XRP-USD", "USDT-USD", "1INCH-USD"};
    const td_spelling all[] = {TD_SPELL_BINANCE, TD_SPELL_BINANCE_STREAM, TD_SPELL_COINBASE,
                               TD_SPELL_KRAKEN,  TD_SPELL_KRAKEN_V1,      TD_SPELL_KRAKEN_REST};
    int tried = 0;
    for (size_t i = 0; i < TD_ARRAY_LEN(canon); i++)
        for (size_t k = 0; k < TD_ARRAY_LEN(all); k++) {
            char venue[TD_SYMBOL_STR_MAX], back[TD_SYMBOL_STR_MAX];
            if (td_symbol_to_venue(all[k], canon[i], venue, sizeof venue) != TD_OK)
                continue; /* a quote that exchange's list does not know */
            tried++;
            assert_int_equal(from(all[k], venue, back), TD_OK);
            assert_string_equal(back, canon[i]);
            /* And the venue string reads the same again. */
            char again[TD_SYMBOL_STR_MAX];
            assert_int_equal(td_symbol_to_venue(all[k], back, again, sizeof again), TD_OK);
            assert_string_equal(again, venue);
        }
    assert_true(tried >= 55);
}

static void small_buffers_are_refused(void **state)
{
    (void)state;
    char buf[8] = "junk";
    /* "BTC-USDT" needs 9 bytes with its NUL. */
    assert_int_equal(td_symbol_from_venue(TD_SPELL_BINANCE, "BTCUSDT", 7, buf, 8), TD_ENOMEM);
    assert_string_equal(buf, "");
    assert_int_equal(td_symbol_from_venue(TD_SPELL_BINANCE, "BTCUSDT", 7, buf, 0), TD_ENOMEM);
    char nine[9];
    assert_int_equal(td_symbol_from_venue(TD_SPELL_BINANCE, "BTCUSDT", 7, nine, 9), TD_OK);
    assert_string_equal(nine, "BTC-USDT");
    assert_int_equal(td_symbol_to_venue(TD_SPELL_BINANCE, "BTC-USDT", buf, 7), TD_ENOMEM);
    assert_int_equal(td_symbol_to_venue(TD_SPELL_BINANCE, "BTC-USDT", buf, 8), TD_OK);
    assert_string_equal(buf, "BTCUSDT");
    /* The longest canonical symbol fits TD_SYMBOL_STR_MAX. */
    char big[TD_SYMBOL_STR_MAX];
    assert_int_equal(
        td_symbol_to_venue(TD_SPELL_KRAKEN, "ABCDEFGHIJKL-ABCDEFGHIJKL", big, sizeof big), TD_OK);
    assert_int_equal(td_symbol_from_venue(TD_SPELL_COINBASE, NULL, 0, big, sizeof big), TD_EINVAL);
    assert_int_equal(td_symbol_to_venue(TD_SPELL_COINBASE, NULL, big, sizeof big), TD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_follows_the_schema),
        cmocka_unit_test(parse_takes_a_slice_apart),
        cmocka_unit_test(binance),
        cmocka_unit_test(binance_stream),
        cmocka_unit_test(coinbase),
        cmocka_unit_test(kraken_v2),
        cmocka_unit_test(kraken_v1),
        cmocka_unit_test(kraken_rest),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(small_buffers_are_refused),
    };
    return cmocka_run_group_tests_name("symbol", tests, NULL, NULL);
}
