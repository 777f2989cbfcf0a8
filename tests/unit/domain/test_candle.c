/*
 * test_candle.c - gap-free OHLCV: a bar across its boundary, empty minutes
 * filled at the last close, late events ignored, bars aligned to UTC,
 * volume from trades only, overflow refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/candle.h"

#define U TD_DEC_SCALE
#define MIN 60000LL
#define T0 1700000040000LL /* 2023-11-14T22:14:00Z, a minute boundary */

static int apply(td_candle_series *s, int64_t t, td_dec p, td_dec q, int trade, td_candle *out,
                 int cap)
{
    int n = 0;
    td_candle done;
    while (td_candle_roll(s, t, &done))
        if (n < cap)
            out[n++] = done;
    assert_int_equal(td_candle_apply(s, t, p, q, trade), TD_OK);
    return n;
}

static void a_bar_across_its_boundary(void **state)
{
    (void)state;
    td_candle_series s;
    td_candle_series_init(&s, MIN);
    td_candle out[8];
    assert_int_equal(apply(&s, T0 + 1000, 100 * U, 0, 0, out, 8), 0);
    assert_int_equal(apply(&s, T0 + 2000, 105 * U, 2 * U, 1, out, 8), 0);
    assert_int_equal(apply(&s, T0 + 3000, 95 * U, 1 * U, 1, out, 8), 0);
    assert_int_equal(apply(&s, T0 + MIN - 1, 101 * U, 0, 0, out, 8), 0);
    /* The first event of the next minute closes the first bar. */
    assert_int_equal(apply(&s, T0 + MIN, 102 * U, 0, 0, out, 8), 1);
    assert_int_equal(out[0].open_ms, T0);
    assert_int_equal(out[0].open, 100 * U);
    assert_int_equal(out[0].high, 105 * U);
    assert_int_equal(out[0].low, 95 * U);
    assert_int_equal(out[0].close, 101 * U);
    assert_int_equal(out[0].volume, 3 * U);
    assert_int_equal(out[0].trades, 2);
    assert_int_equal(s.cur.open_ms, T0 + MIN);
    assert_int_equal(s.cur.open, 101 * U); /* opened at the last close */
    assert_int_equal(s.cur.close, 102 * U);
    assert_int_equal(s.cur.high, 102 * U);
}

static void empty_minutes_repeat_the_close(void **state)
{
    (void)state;
    td_candle_series s;
    td_candle_series_init(&s, MIN);
    td_candle out[8];
    apply(&s, T0 + 5, 100 * U, 1 * U, 1, out, 8);
    /* Nothing for three minutes: bar T0, then two empty ones. */
    assert_int_equal(apply(&s, T0 + 3 * MIN + 7, 110 * U, 0, 0, out, 8), 3);
    assert_int_equal(out[0].open_ms, T0);
    assert_int_equal(out[0].volume, 1 * U);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(out[i].open_ms, T0 + i * MIN);
        assert_int_equal(out[i].open, 100 * U);
        assert_int_equal(out[i].high, 100 * U);
        assert_int_equal(out[i].low, 100 * U);
        assert_int_equal(out[i].close, 100 * U);
        assert_int_equal(out[i].volume, 0);
        assert_int_equal(out[i].trades, 0);
    }
    assert_int_equal(s.cur.open_ms, T0 + 3 * MIN);
}

static void late_events_and_alignment(void **state)
{
    (void)state;
    td_candle_series s;
    td_candle_series_init(&s, MIN);
    td_candle out[8];
    apply(&s, T0 + MIN + 10, 100 * U, 0, 0, out, 8);
    apply(&s, T0 + 10, 50 * U, 0, 0, out, 8); /* a minute late */
    assert_int_equal(s.late, 1);
    assert_int_equal(s.cur.low, 100 * U);

    td_candle_series_init(&s, td_candle_interval_ms[3]); /* 1h */
    apply(&s, T0 + 5, 1 * U, 0, 0, out, 8);
    assert_int_equal(s.cur.open_ms, 1699999200000LL); /* 22:00:00Z */
    assert_int_equal(td_candle_open_of(86400000, T0), 1699920000000LL);
    assert_int_equal(td_candle_open_of(MIN, -1), -MIN);
    assert_int_equal(td_candle_interval_index("15m"), 2);
    assert_int_equal(td_candle_interval_index("2m"), -1);
    assert_int_equal(td_candle_interval_index(NULL), -1);
}

static void volume_overflow_is_refused(void **state)
{
    (void)state;
    td_candle_series s;
    td_candle_series_init(&s, MIN);
    td_candle out[1];
    apply(&s, T0, 1 * U, INT64_MAX - 5, 1, out, 1);
    assert_int_equal(td_candle_apply(&s, T0 + 1, 2 * U, 10, 1), TD_EINVAL);
    assert_int_equal(s.cur.close, 1 * U); /* unchanged */
    assert_int_equal(s.cur.trades, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_bar_across_its_boundary),
        cmocka_unit_test(empty_minutes_repeat_the_close),
        cmocka_unit_test(late_events_and_alignment),
        cmocka_unit_test(volume_overflow_is_refused),
    };
    return cmocka_run_group_tests_name("candle", tests, NULL, NULL);
}
