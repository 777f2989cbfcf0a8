/*
 * test_market.c - the engine's market state: the oracle's choice reaches
 * the price updates once per change, a stale source falls back on the
 * timer alone, candles close across a boundary and fill a gap, trades of
 * the chosen source are kept, unknown symbols are counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/market.h"

#define U TD_DEC_SCALE
#define T0 1700000040000LL /* a minute boundary */

static const char *const SYMS[] = {"BTC-USDT", "ETH-USDT"};

static td_market_event tick(const char *sym, td_dec price, int64_t t)
{
    td_market_event e;
    memset(&e, 0, sizeof e);
    e.kind = TD_MKT_TICKER;
    strcpy(e.symbol, sym);
    e.price = price;
    e.event_ms = t;
    return e;
}

static td_market_event trade(const char *sym, td_dec price, td_dec qty, int64_t t, const char *id)
{
    td_market_event e = tick(sym, price, t);
    e.kind = TD_MKT_TRADE;
    e.qty = qty;
    e.side = TD_SIDE_BUY;
    strcpy(e.trade_id, id);
    return e;
}

static void prices_follow_the_oracle(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 2, .stale_ms = 1000};
    td_market *m = td_market_new(&cfg, SYMS, 2);
    assert_non_null(m);
    td_price_update p[4];
    td_market_event e = tick("BTC-USDT", 100 * U, T0);
    assert_int_equal(td_market_apply(m, 0, &e, T0), TD_OK);
    e = tick("BTC-USDT", 101 * U, T0);
    assert_int_equal(td_market_apply(m, 1, &e, T0), TD_OK);
    assert_int_equal(td_market_take_prices(m, p, 4), 1);
    assert_string_equal(p[0].symbol, "BTC-USDT");
    assert_int_equal(p[0].price, 100 * U);
    assert_int_equal(p[0].source, 0);
    assert_int_equal(td_market_take_prices(m, p, 4), 0); /* once per change */

    /* Source 1 keeps quoting; source 0 falls silent: the timer alone moves
     * the choice to source 1. */
    e = tick("BTC-USDT", 102 * U, T0 + 900);
    td_market_apply(m, 1, &e, T0 + 900);
    assert_int_equal(td_market_take_prices(m, p, 4), 0);
    td_market_tick(m, T0 + 1001);
    assert_int_equal(td_market_take_prices(m, p, 4), 1);
    assert_int_equal(p[0].source, 1);
    assert_int_equal(p[0].price, 102 * U);
    assert_true(p[0].switched);
    assert_int_equal(td_market_stats_get(m).switches, 1);

    /* Both silent: stale, reported once. */
    td_market_tick(m, T0 + 5000);
    assert_int_equal(td_market_take_prices(m, p, 4), 1);
    assert_true(p[0].stale);
    td_market_tick(m, T0 + 6000);
    assert_int_equal(td_market_take_prices(m, p, 4), 0);

    e = tick("DOGE-USDT", 1, T0);
    assert_int_equal(td_market_apply(m, 0, &e, T0), TD_ENOTFOUND);
    assert_int_equal(td_market_apply(m, 5, &e, T0), TD_EINVAL);
    assert_int_equal(td_market_stats_get(m).unknown_symbol, 1);
    td_market_free(m);
}

static void candles_and_trades(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 1, .stale_ms = 600000};
    td_market *m = td_market_new(&cfg, SYMS, 2);
    td_candle_update c[64];
    td_market_event e = tick("ETH-USDT", 10 * U, T0 + 1000);
    td_market_apply(m, 0, &e, T0 + 1000);
    e = trade("ETH-USDT", 11 * U, 2 * U, T0 + 2000, "t1");
    td_market_apply(m, 0, &e, T0 + 2000);
    e = trade("ETH-USDT", 9 * U, 1 * U, T0 + 3000, "t2");
    td_market_apply(m, 0, &e, T0 + 3000);

    /* Forming bars, one per interval, reported while they move. */
    size_t n = td_market_take_candles(m, c, 64);
    assert_int_equal(n, TD_CANDLE_INTERVALS);
    assert_int_equal(c[0].closed, 0);
    assert_int_equal(c[0].bar.volume, 3 * U);
    assert_int_equal(c[0].bar.high, 11 * U);
    assert_int_equal(c[0].bar.low, 9 * U);

    /* Three minutes later (22:17): the 1m bar closed, two empty ones after
     * it; the 5m bar of 22:10 and the 15m bar of 22:00 closed too. */
    int64_t now = T0 + 3 * 60000 + 5;
    e = tick("ETH-USDT", 12 * U, now);
    td_market_apply(m, 0, &e, now);
    n = td_market_take_candles(m, c, 64);
    int closed = 0, longer = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].closed)
            continue;
        assert_true(c[i].bar.open_ms + td_candle_interval_ms[c[i].interval] <= now);
        if (c[i].interval != 0) {
            longer++;
            continue;
        }
        assert_int_equal(c[i].bar.open_ms, T0 + closed * 60000);
        assert_int_equal(c[i].bar.volume, closed == 0 ? 3 * U : 0);
        assert_int_equal(c[i].bar.close, 9 * U);
        closed++;
    }
    assert_int_equal(closed, 3);
    assert_int_equal(longer, 2);

    /* Trades: taken once, oldest first; kept newest first. */
    td_market_event t[8];
    assert_int_equal(td_market_take_trades(m, t, 8), 2);
    assert_string_equal(t[0].trade_id, "t1");
    assert_int_equal(td_market_take_trades(m, t, 8), 0);
    int eth = td_market_find(m, "ETH-USDT");
    assert_int_equal(td_market_recent_trades(m, eth, t, 8), 2);
    assert_string_equal(t[0].trade_id, "t2");
    assert_int_equal(td_market_find(m, "XRP-USDT"), -1);
    td_market_free(m);
}

/* The candle round in slices: one scan over several calls, in order; a
 * bar that moves again behind the cursor waits for the next scan, one
 * ahead of it is taken once with its newest state. */
static void candles_in_slices(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 1, .stale_ms = 600000};
    td_market *m = td_market_new(&cfg, SYMS, 2);
    td_candle_update c[64];
    td_market_event e = trade("BTC-USDT", 10 * U, 1 * U, T0 + 1000, "b1");
    td_market_apply(m, 0, &e, T0 + 1000);
    e = trade("ETH-USDT", 20 * U, 1 * U, T0 + 1000, "e1");
    td_market_apply(m, 0, &e, T0 + 1000);

    int cursor = 0;
    size_t n = td_market_take_candles_from(m, &cursor, c, 3);
    assert_int_equal(n, 3);
    assert_true(cursor > 0);
    assert_string_equal(c[0].symbol, "BTC-USDT");
    assert_int_equal(c[0].interval, 0);
    assert_int_equal(c[2].interval, 2);
    /* BTC moves again (behind the cursor), ETH too (ahead of it). */
    e = trade("BTC-USDT", 11 * U, 1 * U, T0 + 2000, "b2");
    td_market_apply(m, 0, &e, T0 + 2000);
    e = trade("ETH-USDT", 21 * U, 1 * U, T0 + 2000, "e2");
    td_market_apply(m, 0, &e, T0 + 2000);
    size_t got = 0, eth = 0;
    while (cursor >= 0) {
        n = td_market_take_candles_from(m, &cursor, c, 3);
        assert_true(n <= 3);
        for (size_t i = 0; i < n; i++) {
            got++;
            if (strcmp(c[i].symbol, "ETH-USDT") == 0) {
                eth++;
                assert_int_equal(c[i].bar.close, 21 * U);
                assert_int_equal(c[i].bar.trades, 2);
            } else { /* BTC's bars ahead of the cursor: taken once, as moved */
                assert_true(c[i].interval >= 3);
                assert_int_equal(c[i].bar.close, 11 * U);
            }
        }
    }
    assert_int_equal(got, 2 * TD_CANDLE_INTERVALS - 3);
    assert_int_equal(eth, TD_CANDLE_INTERVALS);
    assert_int_equal(td_market_take_candles_from(m, &cursor, c, 3), 0); /* done: -1 stays */
    /* The next scan has the bars that moved behind the cursor. */
    cursor = 0;
    n = td_market_take_candles_from(m, &cursor, c, 64);
    assert_int_equal(n, 3);
    assert_int_equal(cursor, -1);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(c[i].symbol, "BTC-USDT");
        assert_int_equal(c[i].interval, (int)i);
        assert_int_equal(c[i].bar.close, 11 * U);
    }
    td_market_free(m);
}

static void book_and_bad_lists(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 2, .stale_ms = 1000};
    td_market *m = td_market_new(&cfg, SYMS, 2);
    td_market_event e = tick("BTC-USDT", 100 * U, T0);
    e.has_book = 1;
    e.bid = 99 * U;
    e.ask = 101 * U;
    td_market_apply(m, 0, &e, T0);
    e.bid = 1 * U; /* another source's book does not replace the chosen one's */
    td_market_apply(m, 1, &e, T0);
    const td_book_top *b = td_market_book(m, td_market_find(m, "BTC-USDT"));
    assert_int_equal(b->bid, 99 * U);
    assert_int_equal(b->source, 0);
    /* A changed book is reported once; the other symbol's never was. */
    int idx[4];
    assert_int_equal(td_market_take_books(m, idx, 4), 1);
    assert_int_equal(idx[0], td_market_find(m, "BTC-USDT"));
    assert_int_equal(td_market_take_books(m, idx, 4), 0);

    /* The oracle's current answer, on demand (the history's sampler). */
    td_price_update p;
    assert_int_equal(td_market_price(m, td_market_find(m, "BTC-USDT"), &p), 1);
    assert_string_equal(p.symbol, "BTC-USDT");
    assert_int_equal(p.price, 100 * U);
    assert_int_equal(p.source, 0);
    assert_int_equal(td_market_price(m, td_market_find(m, "ETH-USDT"), &p), 0); /* none yet */
    assert_int_equal(td_market_price(m, 7, &p), 0);

    /* A kept trade names its source. */
    e = trade("BTC-USDT", 100 * U, 1 * U, T0 + 10, "s0");
    td_market_apply(m, 0, &e, T0 + 10);
    td_market_event t[2];
    assert_int_equal(td_market_take_trades(m, t, 2), 1);
    assert_int_equal(t[0].source, 0);
    td_market_free(m);

    const char *dup[] = {"BTC-USDT", "BTC-USDT"}, *bad[] = {"btc"};
    assert_null(td_market_new(&cfg, dup, 2));
    assert_null(td_market_new(&cfg, bad, 1));
    assert_null(td_market_new(&cfg, SYMS, 0));
}

/* SIGHUP's new staleness limit applies from the next decision on. */
static void oracle_limits_change_live(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 1, .stale_ms = 1000};
    td_market *m = td_market_new(&cfg, SYMS, 2);
    td_price_update p[4];
    td_market_event e = tick("BTC-USDT", 100 * U, T0);
    td_market_apply(m, 0, &e, T0);
    assert_int_equal(td_market_take_prices(m, p, 4), 1);
    td_market_tick(m, T0 + 500);
    assert_int_equal(td_market_take_prices(m, p, 4), 0); /* still fresh */
    td_market_set_oracle(m, 100, 200);
    td_market_tick(m, T0 + 500);
    assert_int_equal(td_market_take_prices(m, p, 4), 1);
    assert_true(p[0].stale);
    td_market_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prices_follow_the_oracle),
        cmocka_unit_test(candles_and_trades),
        cmocka_unit_test(candles_in_slices),
        cmocka_unit_test(book_and_bad_lists),
        cmocka_unit_test(oracle_limits_change_live),
    };
    return cmocka_run_group_tests_name("market", tests, NULL, NULL);
}
