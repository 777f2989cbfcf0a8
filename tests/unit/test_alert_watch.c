/*
 * test_alert_watch.c - the engine's market alerts fed by a real market
 * (engine/market + engine/alert_watch, no I/O): a gap between consecutive
 * prices, a wide book, a silent feed judged on the timer, sources that
 * disagree (median oracle), volatility over returns of the interval
 * given (a second here, a minute by default), each raised once and cleared after its hold;
 * a symbol never quoted is stale from the start; a full queue drops and
 * counts; the listener goes with the watch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/alert_watch.h"

#define U TD_DEC_SCALE
#define T0 1700000040000LL /* a minute boundary */

static const char *const SYMS[] = {"BTC-USDT", "ETH-USDT"};

static const td_alert_rule RULES[TD_ALERT_KINDS] = {
    [TD_ALERT_STALE] = {2000, 60000, 20, 1000},    [TD_ALERT_GAP] = {500, 1500, 20, 1000},
    [TD_ALERT_VOLATILITY] = {100, 300, 20, 1000},  [TD_ALERT_SPREAD] = {50, 200, 20, 1000},
    [TD_ALERT_DIVERGENCE] = {200, 1000, 20, 1000},
};

static td_market *market(int nsources, td_oracle_mode mode)
{
    td_oracle_cfg cfg = {
        .mode = mode, .nsources = nsources, .stale_ms = 1000, .max_deviation_bp = 200};
    td_market *m = td_market_new(&cfg, SYMS, 2);
    assert_non_null(m);
    return m;
}

static void trade(td_market *m, int source, td_dec price, int64_t t)
{
    td_market_event e;
    memset(&e, 0, sizeof e);
    e.kind = TD_MKT_TRADE;
    strcpy(e.symbol, "BTC-USDT");
    e.price = price;
    e.qty = U;
    assert_int_equal(td_market_apply(m, source, &e, t), TD_OK);
}

static void book(td_market *m, td_dec bid, td_dec ask, int64_t t)
{
    td_market_event e;
    memset(&e, 0, sizeof e);
    e.kind = TD_MKT_BOOK;
    e.has_book = 1;
    strcpy(e.symbol, "BTC-USDT");
    e.bid = bid;
    e.ask = ask;
    e.bid_qty = e.ask_qty = U;
    assert_int_equal(td_market_apply(m, 0, &e, t), TD_OK);
}

/* The one change expected now (of symbol 0), or none (kind < 0). */
static void expect(td_alert_watch *w, int kind, td_alert_change what, td_alert_severity sev)
{
    td_alert_transition t[8];
    size_t n = td_alert_watch_take(w, t, 8);
    if (kind < 0) {
        for (size_t i = 0; i < n; i++)
            print_error("unexpected: symbol %d kind %d what %d value %lld\n", t[i].symbol,
                        t[i].kind, t[i].what, (long long)t[i].st.value);
        assert_int_equal(n, 0);
        return;
    }
    assert_int_equal(n, 1);
    assert_int_equal(t[0].symbol, 0);
    assert_int_equal(t[0].kind, kind);
    assert_int_equal(t[0].what, what);
    assert_int_equal(t[0].st.severity, sev);
}

static void gap_and_spread(void **state)
{
    (void)state;
    td_market *m = market(1, TD_ORACLE_PRIORITY);
    td_alert_rule rules[TD_ALERT_KINDS];
    memcpy(rules, RULES, sizeof rules);
    rules[TD_ALERT_STALE].warning = 0; /* off: the feed stays quiet here */
    td_alert_watch *w = td_alert_watch_new(m, rules, 30, 0, T0);
    assert_non_null(w);
    book(m, 100 * U - U / 100, 100 * U + U / 100, T0); /* 2 bp */
    trade(m, 0, 100 * U, T0);
    trade(m, 0, 105 * U, T0 + 100); /* exactly 500 bp: nothing */
    expect(w, -1, 0, 0);
    trade(m, 0, 116 * U, T0 + 200); /* 1047 bp */
    expect(w, TD_ALERT_GAP, TD_ALERT_RAISED, TD_ALERT_WARNING);
    assert_int_equal(td_alert_watch_state(w, 0, TD_ALERT_GAP)->value, 1047);
    trade(m, 0, 116 * U, T0 + 300); /* the same price: a gap of 0, calm from now */
    td_alert_watch_tick(w, T0 + 1299);
    expect(w, -1, 0, 0);
    td_alert_watch_tick(w, T0 + 1300); /* held a second at 0: cleared on the timer */
    expect(w, TD_ALERT_GAP, TD_ALERT_CLEARED, TD_ALERT_WARNING);

    book(m, 114 * U, 118 * U, T0 + 1400); /* 4 over 116: 344 bp, critical at once */
    expect(w, TD_ALERT_SPREAD, TD_ALERT_RAISED, TD_ALERT_CRITICAL);
    book(m, 116 * U - U / 2, 116 * U + U / 2, T0 + 1500); /* 86 bp: above the clear level 40 */
    td_alert_watch_tick(w, T0 + 5000);
    expect(w, -1, 0, 0);
    book(m, 116 * U - U / 10, 116 * U + U / 10, T0 + 5000); /* 17 bp */
    td_alert_watch_tick(w, T0 + 6000);
    expect(w, TD_ALERT_SPREAD, TD_ALERT_CLEARED, TD_ALERT_CRITICAL);
    td_alert_watch_free(w);
    td_market_free(m);
}

static void stale_on_the_timer(void **state)
{
    (void)state;
    td_market *m = market(1, TD_ORACLE_PRIORITY);
    td_alert_watch *w = td_alert_watch_new(m, RULES, 30, 0, T0);
    trade(m, 0, 100 * U, T0);
    td_alert_watch_tick(w, T0 + 2000); /* exactly the threshold: nothing */
    td_alert_transition t[8];
    assert_int_equal(td_alert_watch_take(w, t, 8), 0);
    td_market_tick(m, T0 + 2001);
    td_alert_watch_tick(w, T0 + 2001);
    /* BTC-USDT 2001 ms since its price; ETH-USDT, never quoted, since the start. */
    assert_int_equal(td_alert_watch_take(w, t, 8), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(t[i].symbol, i);
        assert_int_equal(t[i].kind, TD_ALERT_STALE);
        assert_int_equal(t[i].what, TD_ALERT_RAISED);
        assert_int_equal(t[i].st.value, 2001);
    }
    trade(m, 0, 100 * U, T0 + 3000);
    td_alert_watch_tick(w, T0 + 3000);
    td_alert_watch_tick(w, T0 + 4000); /* fresh for the hold */
    assert_int_equal(td_alert_watch_take(w, t, 8), 1);
    assert_int_equal(t[0].symbol, 0);
    assert_int_equal(t[0].what, TD_ALERT_CLEARED);
    assert_int_equal(t[0].st.since_ms, T0 + 2001);
    td_alert_watch_free(w);
    td_market_free(m);
}

static void sources_disagree(void **state)
{
    (void)state;
    td_market *m = market(3, TD_ORACLE_MEDIAN);
    td_alert_watch *w = td_alert_watch_new(m, RULES, 30, 0, T0);
    trade(m, 0, 100 * U, T0);
    trade(m, 1, 101 * U, T0);
    expect(w, -1, 0, 0);
    /* 104 strays 297 bp from the median of the three (101): the oracle
     * drops it and keeps 100.5, and the alert says by how much it strays
     * from that price: 3.5 / 100.5 = 348 bp. */
    trade(m, 2, 104 * U, T0);
    expect(w, TD_ALERT_DIVERGENCE, TD_ALERT_RAISED, TD_ALERT_WARNING);
    assert_int_equal(td_alert_watch_state(w, 0, TD_ALERT_DIVERGENCE)->value, 348);
    /* It comes back in line (101: the median is 101, the widest 100 at
     * 99 bp), and after the hold the alert clears. */
    trade(m, 2, 101 * U, T0 + 100);
    td_alert_watch_tick(w, T0 + 1100);
    expect(w, TD_ALERT_DIVERGENCE, TD_ALERT_CLEARED, TD_ALERT_WARNING);
    td_alert_watch_free(w);
    td_market_free(m);
}

/* Volatility over returns of the interval the watch is given: prices
 * alternating 100 and 101 once a second are five 1-second returns of
 * +1% / -0.99% at the sixth second (108 bp, as in the domain's test) with
 * an interval of a second, and nothing at all with the default minute;
 * a steady price after them calms the window and the alert clears. */
static void volatility_per_interval(void **state)
{
    (void)state;
    td_market *m = market(1, TD_ORACLE_PRIORITY);
    td_alert_watch *w = td_alert_watch_new(m, RULES, 5, 1000, T0);
    td_market *m_min = market(1, TD_ORACLE_PRIORITY);
    td_alert_watch *w_min = td_alert_watch_new(m_min, RULES, 5, 0, T0);
    for (int k = 0; k <= 6; k++) {
        trade(m, 0, k % 2 ? 101 * U : 100 * U, T0 + k * 1000);
        trade(m_min, 0, k % 2 ? 101 * U : 100 * U, T0 + k * 1000);
        if (k < 6)
            expect(w, -1, 0, 0);
    }
    expect(w, TD_ALERT_VOLATILITY, TD_ALERT_RAISED, TD_ALERT_WARNING);
    assert_int_equal(td_alert_watch_state(w, 0, TD_ALERT_VOLATILITY)->value, 108);
    expect(w_min, -1, 0, 0); /* all within one minute: no return yet */
    /* Steady at 100: once the window is at or below the clear level (80)
     * for the hold, cleared, with the worst value it reached. */
    int cleared_at = 0;
    for (int k = 7; k <= 20 && !cleared_at; k++) {
        trade(m, 0, 100 * U, T0 + k * 1000);
        td_alert_transition t[8];
        size_t n = td_alert_watch_take(w, t, 8);
        assert_true(n <= 1);
        if (n == 1) {
            assert_int_equal(t[0].kind, TD_ALERT_VOLATILITY);
            assert_int_equal(t[0].what, TD_ALERT_CLEARED);
            assert_int_equal(t[0].st.value, 108);
            assert_int_equal(t[0].st.since_ms, T0 + 6000);
            cleared_at = k;
        }
    }
    assert_true(cleared_at > 7);
    assert_int_equal(td_alert_watch_state(w, 0, TD_ALERT_VOLATILITY)->severity, TD_ALERT_NONE);
    td_alert_watch_free(w_min);
    td_market_free(m_min);
    td_alert_watch_free(w);
    td_market_free(m);
}

static void full_queue_drops(void **state)
{
    (void)state;
    td_market *m = market(1, TD_ORACLE_PRIORITY);
    td_alert_rule rules[TD_ALERT_KINDS];
    memcpy(rules, RULES, sizeof rules);
    rules[TD_ALERT_GAP] = (td_alert_rule){500, 1500, 0, 0}; /* clears on the next calm tick */
    td_alert_watch *w = td_alert_watch_new(m, rules, 30, 0, T0);
    /* 100, 110, 110, 100, 100, 110, ...: a raise and a clear every two trades. */
    for (int k = 0; k < 10000; k++)
        trade(m, 0, (k + 1) / 2 % 2 ? 110 * U : 100 * U, T0 + k);
    td_alert_transition t[512];
    size_t n, total = 0;
    while ((n = td_alert_watch_take(w, t, 512)) > 0)
        total += n;
    assert_int_equal(total, 4096);
    assert_int_equal(td_alert_watch_dropped(w), 9999 - 4096);
    td_alert_watch_free(w);
    trade(m, 0, 200 * U, T0 + 20000); /* no listener left behind (ASan would see it) */
    td_market_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gap_and_spread),   cmocka_unit_test(stale_on_the_timer),
        cmocka_unit_test(sources_disagree), cmocka_unit_test(volatility_per_interval),
        cmocka_unit_test(full_queue_drops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
