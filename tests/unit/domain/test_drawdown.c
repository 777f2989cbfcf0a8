/*
 * test_drawdown.c - the drawdown guard's rules: the percentage in fixed
 * point, levels from the thresholds, peaks all time and per UTC day, and
 * when the guard trips and clears.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/drawdown.h"

#define D(whole) ((td_dec)(whole) * TD_DEC_SCALE)
#define DAY 86400000LL
static const td_dd_thresholds T = {.warning_pct = D(5), .critical_pct = D(10)};

static void percentage(void **state)
{
    (void)state;
    td_dec p = -1;
    assert_int_equal(td_drawdown_pct(D(10000), D(9400), &p), TD_OK);
    assert_int_equal(p, D(6));
    /* 1/3 of a percent, truncated at 1e-8: never overstated. */
    assert_int_equal(td_drawdown_pct(D(300), D(299), &p), TD_OK);
    assert_int_equal(p, 33333333);
    /* At or above the peak, or no positive peak: no drawdown. */
    assert_int_equal(td_drawdown_pct(D(100), D(100), &p), TD_OK);
    assert_int_equal(p, 0);
    assert_int_equal(td_drawdown_pct(D(100), D(150), &p), TD_OK);
    assert_int_equal(p, 0);
    assert_int_equal(td_drawdown_pct(0, D(-5), &p), TD_OK);
    assert_int_equal(p, 0);
    assert_int_equal(td_drawdown_pct(D(-10), D(-20), &p), TD_OK);
    assert_int_equal(p, 0);
    /* Negative equity: past 100 %. */
    assert_int_equal(td_drawdown_pct(D(100), D(-50), &p), TD_OK);
    assert_int_equal(p, D(150));
    /* Too large to show: refused, *pct untouched. */
    p = 7;
    assert_int_equal(td_drawdown_pct(1, INT64_MIN, &p), TD_EINVAL);
    assert_int_equal(p, 7);
    assert_int_equal(td_drawdown_pct(INT64_MAX, INT64_MIN, &p), TD_OK);
    assert_int_equal(p, D(200)); /* (2^64 - 1) / (2^63 - 1), truncated */
}

static void levels_and_thresholds(void **state)
{
    (void)state;
    assert_int_equal(td_dd_level_of(0, T), TD_DD_NORMAL);
    assert_int_equal(td_dd_level_of(D(5) - 1, T), TD_DD_NORMAL);
    assert_int_equal(td_dd_level_of(D(5), T), TD_DD_WARNING);
    assert_int_equal(td_dd_level_of(D(10) - 1, T), TD_DD_WARNING);
    assert_int_equal(td_dd_level_of(D(10), T), TD_DD_CRITICAL);
    assert_int_equal(td_dd_level_of(D(150), T), TD_DD_CRITICAL);
    assert_int_equal(td_dd_thresholds_check(T), TD_OK);
    assert_int_equal(td_dd_thresholds_check((td_dd_thresholds){D(10), D(10)}), TD_OK);
    assert_int_equal(td_dd_thresholds_check((td_dd_thresholds){D(11), D(10)}), TD_EINVAL);
    assert_int_equal(td_dd_thresholds_check((td_dd_thresholds){0, D(10)}), TD_EINVAL);
    assert_int_equal(td_dd_thresholds_check((td_dd_thresholds){D(5), D(101)}), TD_EINVAL);
    td_dd_level l;
    assert_int_equal(td_dd_level_parse("critical", &l), TD_OK);
    assert_int_equal(l, TD_DD_CRITICAL);
    assert_int_equal(td_dd_level_parse("Critical", &l), TD_EINVAL);
    assert_string_equal(td_dd_level_name(TD_DD_WARNING), "warning");
    assert_string_equal(td_guard_action_name(TD_GUARD_CLOSE), "close");
    assert_string_equal(td_dd_change_name(TD_DD_TRIPPED), "tripped");
    assert_string_equal(td_dd_change_name(TD_DD_SAME), "same");
}

/* One snapshot; returns the change. */
static td_dd_change observe(td_dd_state *s, td_dec equity, int64_t at, td_dd_step *st)
{
    assert_int_equal(td_drawdown_observe(s, equity, at, T, st), TD_OK);
    return st->change;
}

static void losing_trader_warns_then_trips_once(void **state)
{
    (void)state;
    td_dd_state s = {0};
    td_dd_step st;
    int64_t t0 = 20000 * DAY + 1000;
    assert_int_equal(observe(&s, D(10000), t0, &st), TD_DD_SAME);
    assert_true(s.known);
    assert_int_equal(s.peak, D(10000));
    assert_int_equal(s.peak_today, D(10000));
    assert_int_equal(s.day, 20000);
    assert_int_equal(observe(&s, D(10500), t0 + 1, &st), TD_DD_SAME);
    assert_int_equal(s.peak, D(10500));
    /* 10500 -> 9870: 6 % down, a warning. */
    assert_int_equal(observe(&s, D(9870), t0 + 2, &st), TD_DD_LEVEL);
    assert_int_equal(st.previous, TD_DD_NORMAL);
    assert_int_equal(st.drawdown_pct, D(6));
    assert_int_equal(s.level, TD_DD_WARNING);
    /* 10500 -> 9030: 14 %, critical: the guard trips, once. */
    assert_int_equal(observe(&s, D(9030), t0 + 3, &st), TD_DD_TRIPPED);
    assert_int_equal(st.drawdown_pct, D(14));
    assert_int_equal(st.previous, TD_DD_WARNING);
    assert_true(s.tripped);
    assert_int_equal(observe(&s, D(8000), t0 + 4, &st), TD_DD_SAME);
    assert_true(s.tripped);
    /* Back to a warning: it clears; critical again trips again. */
    assert_int_equal(observe(&s, D(9900), t0 + 5, &st), TD_DD_CLEARED);
    assert_false(s.tripped);
    assert_int_equal(s.level, TD_DD_WARNING);
    assert_int_equal(observe(&s, D(9000), t0 + 6, &st), TD_DD_TRIPPED);
    /* Recovered past the peak: normal, a new peak. */
    assert_int_equal(observe(&s, D(11000), t0 + 7, &st), TD_DD_CLEARED);
    assert_int_equal(s.level, TD_DD_NORMAL);
    assert_int_equal(s.peak, D(11000));
    assert_int_equal(observe(&s, D(10999), t0 + 8, &st), TD_DD_SAME);
}

static void peak_today_restarts_each_utc_day(void **state)
{
    (void)state;
    td_dd_state s = {0};
    td_dd_step st;
    int64_t day = 20000 * DAY;
    observe(&s, D(1000), day + DAY - 1, &st);
    observe(&s, D(1200), day + DAY - 1, &st);
    /* The next day starts from its first snapshot; the all-time peak stays. */
    observe(&s, D(1140), day + DAY, &st);
    assert_int_equal(s.day, 20001);
    assert_int_equal(s.peak_today, D(1140));
    assert_int_equal(s.peak, D(1200));
    assert_int_equal(st.drawdown_today_pct, 0);
    assert_int_equal(st.drawdown_pct, D(5));
    assert_int_equal(s.level, TD_DD_WARNING);
    observe(&s, D(1083), day + DAY + 5, &st);
    assert_int_equal(st.drawdown_today_pct, D(5));
    assert_int_equal(st.drawdown_pct, D(975) / 100);
    /* A time before 1970 still lands on its own day. */
    td_dd_state old = {0};
    observe(&old, D(1), -1, &st);
    assert_int_equal(old.day, -1);
}

static void first_snapshot_below_zero_and_bad_input(void **state)
{
    (void)state;
    td_dd_state s = {0};
    td_dd_step st;
    /* A first snapshot is its own peak, whatever its sign. */
    assert_int_equal(observe(&s, D(-50), 0, &st), TD_DD_SAME);
    assert_int_equal(st.drawdown_pct, 0);
    assert_int_equal(s.level, TD_DD_NORMAL);
    /* Inconsistent thresholds or a drawdown too large: refused, untouched. */
    td_dd_state before = {.known = 1, .peak = 1, .peak_today = 1, .day = 0};
    td_dd_state x = before;
    assert_int_equal(td_drawdown_observe(&x, INT64_MIN, 0, T, &st), TD_EINVAL);
    assert_memory_equal(&x, &before, sizeof x);
    assert_int_equal(
        td_drawdown_observe(&x, 0, 0, (td_dd_thresholds){D(20), D(10)}, &st), TD_EINVAL);
    assert_memory_equal(&x, &before, sizeof x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percentage),
        cmocka_unit_test(levels_and_thresholds),
        cmocka_unit_test(losing_trader_warns_then_trips_once),
        cmocka_unit_test(peak_today_restarts_each_utc_day),
        cmocka_unit_test(first_snapshot_below_zero_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
