/*
 * test_market_alert.c - the market alerts' measures (gap, spread, source
 * divergence, volatility of 1-minute returns) and the raise / escalate /
 * clear rule with its hysteresis, each at its threshold exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/market_alert.h"

#define P(units) ((td_dec)(units)*TD_DEC_SCALE)
#define MIN_MS 60000LL
#define T0 (1700000000LL / 60 * MIN_MS) /* a minute's start */

static const td_alert_rule RULE = {
    .warning = 100, .critical = 300, .hysteresis_pct = 20, .clear_ms = 1000};

static void names(void **state)
{
    (void)state;
    const char *want[] = {"stale_feed", "price_gap", "volatility", "spread", "source_divergence"};
    for (int k = 0; k < TD_ALERT_KINDS; k++) {
        assert_string_equal(td_alert_kind_name((td_alert_kind)k), want[k]);
        td_alert_kind got;
        assert_int_equal(td_alert_kind_parse(want[k], &got), TD_OK);
        assert_int_equal(got, k);
    }
    td_alert_kind got;
    assert_int_equal(td_alert_kind_parse("gap", &got), TD_EINVAL);
    assert_int_equal(td_alert_kind_parse(NULL, &got), TD_EINVAL);
    assert_null(td_alert_kind_name(TD_ALERT_KINDS));
    assert_string_equal(td_alert_kind_unit(TD_ALERT_STALE), "ms");
    assert_string_equal(td_alert_kind_unit(TD_ALERT_SPREAD), "bp");
    assert_string_equal(td_alert_severity_name(TD_ALERT_WARNING), "warning");
    assert_string_equal(td_alert_severity_name(TD_ALERT_CRITICAL), "critical");
}

static void rule_checked(void **state)
{
    (void)state;
    assert_int_equal(td_alert_rule_check(&RULE), TD_OK);
    td_alert_rule r = RULE;
    r.critical = 99;
    assert_int_equal(td_alert_rule_check(&r), TD_EINVAL);
    r = RULE;
    r.hysteresis_pct = 101;
    assert_int_equal(td_alert_rule_check(&r), TD_EINVAL);
    r = RULE;
    r.warning = -1;
    assert_int_equal(td_alert_rule_check(&r), TD_EINVAL);
    r = RULE;
    r.critical = r.warning; /* equal is allowed: critical at once */
    assert_int_equal(td_alert_rule_check(&r), TD_OK);
    assert_int_equal(td_alert_clear_level(&RULE), 80);
    assert_int_equal(td_alert_threshold(&RULE, TD_ALERT_WARNING), 100);
    assert_int_equal(td_alert_threshold(&RULE, TD_ALERT_CRITICAL), 300);
}

/* Equality never raises; one unit above does; critical likewise. */
static void raise_at_threshold(void **state)
{
    (void)state;
    td_alert_state s = {0};
    assert_int_equal(td_alert_step(&RULE, &s, 100, T0, NULL), TD_ALERT_SAME);
    assert_int_equal(s.severity, TD_ALERT_NONE);
    assert_int_equal(td_alert_step(&RULE, &s, 101, T0 + 1, NULL), TD_ALERT_RAISED);
    assert_int_equal(s.severity, TD_ALERT_WARNING);
    assert_int_equal(s.since_ms, T0 + 1);
    assert_int_equal(td_alert_step(&RULE, &s, 300, T0 + 2, NULL), TD_ALERT_SAME);
    assert_int_equal(s.severity, TD_ALERT_WARNING);
    assert_int_equal(td_alert_step(&RULE, &s, 301, T0 + 3, NULL), TD_ALERT_ESCALATED);
    assert_int_equal(s.severity, TD_ALERT_CRITICAL);
    assert_int_equal(s.value, 301);
    assert_int_equal(s.since_ms, T0 + 1); /* the same alert */
    /* It keeps its worst severity and value while raised. */
    assert_int_equal(td_alert_step(&RULE, &s, 150, T0 + 4, NULL), TD_ALERT_SAME);
    assert_int_equal(s.severity, TD_ALERT_CRITICAL);
    assert_int_equal(s.value, 301);

    td_alert_state c = {0};
    assert_int_equal(td_alert_step(&RULE, &c, 301, T0, NULL), TD_ALERT_RAISED);
    assert_int_equal(c.severity, TD_ALERT_CRITICAL);
}

/* Clears only at or below the clear level (80), held for clear_ms. */
static void clear_hysteresis(void **state)
{
    (void)state;
    td_alert_state s = {0}, was = {0};
    assert_int_equal(td_alert_step(&RULE, &s, 150, T0, NULL), TD_ALERT_RAISED);
    /* Below the threshold but above the clear level: still raised. */
    assert_int_equal(td_alert_step(&RULE, &s, 81, T0 + 5000, NULL), TD_ALERT_SAME);
    assert_int_equal(s.calm_ms, 0);
    /* At the clear level: calm from now, not yet cleared. */
    assert_int_equal(td_alert_step(&RULE, &s, 80, T0 + 6000, NULL), TD_ALERT_SAME);
    assert_int_equal(s.calm_ms, T0 + 6000);
    assert_int_equal(td_alert_step(&RULE, &s, 10, T0 + 6999, NULL), TD_ALERT_SAME);
    /* A value above the clear level restarts the wait... */
    assert_int_equal(td_alert_step(&RULE, &s, 90, T0 + 6999, NULL), TD_ALERT_SAME);
    assert_int_equal(td_alert_step(&RULE, &s, 0, T0 + 7000, NULL), TD_ALERT_SAME);
    assert_int_equal(td_alert_step(&RULE, &s, 0, T0 + 7999, NULL), TD_ALERT_SAME);
    assert_int_equal(s.severity, TD_ALERT_WARNING);
    /* ...and clear_ms after it, it clears, reporting what it was. */
    assert_int_equal(td_alert_step(&RULE, &s, 0, T0 + 8000, &was), TD_ALERT_CLEARED);
    assert_int_equal(s.severity, TD_ALERT_NONE);
    assert_int_equal(was.severity, TD_ALERT_WARNING);
    assert_int_equal(was.value, 150);
    assert_int_equal(was.since_ms, T0);
    /* Raised again later: a new alert. */
    assert_int_equal(td_alert_step(&RULE, &s, 101, T0 + 9000, NULL), TD_ALERT_RAISED);
    assert_int_equal(s.since_ms, T0 + 9000);

    /* No hold: clears on the first calm value; no hysteresis: at the threshold. */
    td_alert_rule quick = {.warning = 100, .critical = 200, .hysteresis_pct = 0, .clear_ms = 0};
    td_alert_state q = {0};
    assert_int_equal(td_alert_step(&quick, &q, 101, T0, NULL), TD_ALERT_RAISED);
    assert_int_equal(td_alert_step(&quick, &q, 100, T0 + 1, NULL), TD_ALERT_CLEARED);
}

static void kind_off(void **state)
{
    (void)state;
    td_alert_rule off = RULE;
    off.warning = 0;
    td_alert_state s = {0};
    assert_int_equal(td_alert_step(&off, &s, 1000000, T0, NULL), TD_ALERT_SAME);
    assert_int_equal(s.severity, TD_ALERT_NONE);
    /* Turned off (SIGHUP) while raised: it clears. */
    assert_int_equal(td_alert_step(&RULE, &s, 150, T0, NULL), TD_ALERT_RAISED);
    assert_int_equal(td_alert_step(&off, &s, 150, T0 + 1, NULL), TD_ALERT_CLEARED);
}

/* A stale feed: the value is the price's age in ms. */
static void stale_feed(void **state)
{
    (void)state;
    td_alert_rule r = {.warning = 10000, .critical = 60000, .hysteresis_pct = 0, .clear_ms = 0};
    td_alert_state s = {0};
    assert_int_equal(td_alert_step(&r, &s, 10000, T0, NULL), TD_ALERT_SAME);
    assert_int_equal(td_alert_step(&r, &s, 10001, T0, NULL), TD_ALERT_RAISED);
    assert_int_equal(td_alert_step(&r, &s, 60001, T0, NULL), TD_ALERT_ESCALATED);
    assert_int_equal(td_alert_step(&r, &s, 0, T0, NULL), TD_ALERT_CLEARED);
}

static void gap(void **state)
{
    (void)state;
    assert_int_equal(td_alert_gap_bp(P(100), P(105)), 500);
    assert_int_equal(td_alert_gap_bp(P(100), P(95)), 500);
    assert_int_equal(td_alert_gap_bp(P(100), P(105) + 1), 500); /* rounded down */
    assert_int_equal(td_alert_gap_bp(P(100), P(105) + TD_DEC_SCALE / 100), 501);
    assert_int_equal(td_alert_gap_bp(0, P(105)), 0);
    assert_int_equal(td_alert_gap_bp(P(1), INT64_MAX), TD_ALERT_VALUE_MAX);
    td_alert_rule r = {.warning = 500, .critical = 1500, .hysteresis_pct = 20, .clear_ms = 0};
    td_alert_state s = {0};
    assert_int_equal(td_alert_step(&r, &s, td_alert_gap_bp(P(100), P(105)), T0, NULL),
                     TD_ALERT_SAME);
    assert_int_equal(td_alert_step(&r, &s, td_alert_gap_bp(P(100), P(106)), T0, NULL),
                     TD_ALERT_RAISED);
    assert_int_equal(td_alert_step(&r, &s, td_alert_gap_bp(P(100), P(85)), T0, NULL),
                     TD_ALERT_SAME); /* exactly 1500: not critical */
    assert_int_equal(td_alert_step(&r, &s, td_alert_gap_bp(P(100), P(84)), T0, NULL),
                     TD_ALERT_ESCALATED);
}

static void spread(void **state)
{
    (void)state;
    /* 99.5 / 100.5: 1 over a mid of 100 = 100 bp */
    td_dec bid = P(99) + TD_DEC_SCALE / 2, ask = P(100) + TD_DEC_SCALE / 2;
    assert_int_equal(td_alert_spread_bp(bid, ask), 100);
    assert_int_equal(td_alert_spread_bp(bid, ask - 1), 99);
    assert_int_equal(td_alert_spread_bp(P(100), P(100)), 0); /* locked */
    assert_int_equal(td_alert_spread_bp(P(101), P(100)), 0); /* crossed */
    assert_int_equal(td_alert_spread_bp(0, P(100)), 0);
    td_alert_rule r = {.warning = 100, .critical = 200, .hysteresis_pct = 50, .clear_ms = 0};
    td_alert_state s = {0};
    assert_int_equal(td_alert_step(&r, &s, td_alert_spread_bp(bid, ask), T0, NULL), TD_ALERT_SAME);
    assert_int_equal(
        td_alert_step(&r, &s, td_alert_spread_bp(bid - TD_DEC_SCALE / 20, ask), T0, NULL),
        TD_ALERT_RAISED);
    /* 0.75 over 100.125: 74 bp, above the clear level of 50 */
    assert_int_equal(td_alert_step(&r, &s, td_alert_spread_bp(P(99) + 75000000, ask), T0, NULL),
                     TD_ALERT_SAME);
    assert_int_equal(td_alert_step(&r, &s, td_alert_spread_bp(P(100), P(100) + 5000000), T0, NULL),
                     TD_ALERT_CLEARED);
}

static void divergence(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {
        .mode = TD_ORACLE_MEDIAN, .nsources = 3, .stale_ms = 1000, .max_deviation_bp = 200};
    td_oracle_symbol o;
    td_oracle_symbol_init(&o);
    int64_t now = T0 + 5000;
    td_oracle_quote(&o, 0, P(100), now - 100);
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, P(100), now), 0); /* one source: none */
    td_oracle_quote(&o, 1, P(102), now - 100);
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, P(100), now), 200);
    td_oracle_quote(&o, 2, P(97), now - 100);
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, P(100), now), 300);
    /* The median oracle drops exactly the sources this measure puts above
     * its limit: the alert at the oracle's limit says it is dropping one. */
    td_oracle_choice c = td_oracle_choose(&cfg, &o, now);
    assert_int_equal(c.outliers, 1u << 2);
    assert_int_equal(c.price, P(101)); /* the median of the two it kept */
    /* A stale source no longer counts (exactly at the limit it still does). */
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, P(100), now - 100 + 1000), 300);
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, P(100), now - 100 + 1001), 0);
    td_oracle_symbol_init(&o);
    td_oracle_quote(&o, 0, P(100), now - 100);
    td_oracle_quote(&o, 1, P(102), now - 100);
    td_oracle_quote(&o, 2, P(97), now - 1001);
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, P(100), now), 200);
    assert_int_equal(td_alert_divergence_bp(&cfg, &o, 0, now), 0);
}

/* Prices alternating 100 and 101 once a minute: returns +1% (10000
 * millionths) and (100 - 101) / 101 = -9900 (rounded toward zero).  Six
 * of them: sum 300, sum of squares 594030000;
 * s^2 = (6 * 594030000 - 300^2) / 30 = 118803000, s = 10899 -> 108 bp. */
static void volatility(void **state)
{
    (void)state;
    int32_t ring[30];
    td_alert_vol v;
    td_alert_vol_init(&v, ring, 30, 0); /* the default: a minute */
    int64_t t = T0;
    assert_int_equal(td_alert_vol_price(&v, P(100), t), 0);
    assert_int_equal(td_alert_vol_price(&v, P(100), t + 59999), 0); /* same minute */
    for (int k = 1; k <= 7; k++) {
        assert_int_equal(td_alert_vol_price(&v, k % 2 ? P(101) : P(100), t + k * MIN_MS), 1);
        if (k < 5) /* fewer than five returns: nothing measured */
            assert_int_equal(td_alert_vol_bp(&v), 0);
    }
    assert_int_equal(v.n, 6);
    assert_int_equal(td_alert_vol_bp(&v), 108);
    td_alert_rule r = {.warning = 108, .critical = 500, .hysteresis_pct = 20, .clear_ms = 0};
    td_alert_state s = {0};
    assert_int_equal(td_alert_step(&r, &s, td_alert_vol_bp(&v), t, NULL), TD_ALERT_SAME);
    r.warning = 107;
    assert_int_equal(td_alert_step(&r, &s, td_alert_vol_bp(&v), t, NULL), TD_ALERT_RAISED);
    /* An earlier minute is ignored. */
    assert_int_equal(td_alert_vol_price(&v, P(500), t), 0);

    /* Three silent minutes are three zero returns (and the closing one). */
    int64_t at = t + 7 * MIN_MS;
    assert_int_equal(td_alert_vol_price(&v, P(100), at + 4 * MIN_MS), 1);
    assert_int_equal(v.n, 10);
    /* A silence longer than the window starts afresh. */
    assert_int_equal(td_alert_vol_price(&v, P(100), at + 40 * MIN_MS), 1);
    assert_int_equal(v.n, 0);
    assert_int_equal(td_alert_vol_bp(&v), 0);

    /* A steady price: no volatility; the window slides past its size. */
    int32_t small[5];
    td_alert_vol w;
    td_alert_vol_init(&w, small, 5, MIN_MS);
    for (int k = 0; k < 20; k++)
        td_alert_vol_price(&w, P(100), T0 + k * MIN_MS);
    assert_int_equal(w.n, 5);
    assert_int_equal(td_alert_vol_bp(&w), 0);
    /* One jump inside a window of five: returns 0,0,0,0,+10% -> 447 bp
     * (s^2 = (5 * 1e10 - 1e10) / 20 = 2e9, s = 44721 millionths). */
    td_alert_vol_price(&w, P(110), T0 + 20 * MIN_MS);
    td_alert_vol_price(&w, P(110), T0 + 21 * MIN_MS);
    assert_int_equal(td_alert_vol_bp(&w), 447);

    /* Returns over a second: the same prices a second apart measure the
     * same (108 bp, above), and a price within the second closes nothing. */
    int32_t sec_ring[30];
    td_alert_vol sec;
    td_alert_vol_init(&sec, sec_ring, 30, 1000);
    assert_int_equal(td_alert_vol_price(&sec, P(100), T0), 0);
    assert_int_equal(td_alert_vol_price(&sec, P(100), T0 + 999), 0);
    for (int k = 1; k <= 7; k++)
        assert_int_equal(td_alert_vol_price(&sec, k % 2 ? P(101) : P(100), T0 + k * 1000), 1);
    assert_int_equal(sec.n, 6);
    assert_int_equal(td_alert_vol_bp(&sec), 108);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(rule_checked),
        cmocka_unit_test(raise_at_threshold),
        cmocka_unit_test(clear_hysteresis),
        cmocka_unit_test(kind_off),
        cmocka_unit_test(stale_feed),
        cmocka_unit_test(gap),
        cmocka_unit_test(spread),
        cmocka_unit_test(divergence),
        cmocka_unit_test(volatility),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
