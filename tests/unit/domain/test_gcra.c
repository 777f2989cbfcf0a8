/*
 * test_gcra.c - GCRA arithmetic: burst, refusal with retry time, refill,
 * refund.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/gcra.h"

static void burst_then_refuse_then_refill(void **state)
{
    (void)state;
    int64_t tat = 0, now = 1000000;
    /* 6 per minute (T = 10 s), burst 2: three at once, then no. */
    for (int i = 0; i < 3; i++) {
        td_gcra_result r = td_gcra_check(&tat, now, 6, 2);
        assert_true(r.allowed);
        assert_int_equal(r.limit, 3);
        assert_int_equal(r.remaining, 2 - i);
    }
    int64_t before = tat;
    td_gcra_result r = td_gcra_check(&tat, now, 6, 2);
    assert_false(r.allowed);
    assert_int_equal(tat, before); /* a refusal consumes nothing */
    assert_int_equal(r.retry_ms, 10000);
    assert_int_equal(r.reset_ms, 30000);

    r = td_gcra_check(&tat, now + 9999, 6, 2);
    assert_false(r.allowed);
    r = td_gcra_check(&tat, now + 10000, 6, 2);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);

    /* Long idle: a full burst again. */
    r = td_gcra_check(&tat, now + 3600000, 6, 2);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 2);
}

static void zero_burst_allows_one_per_interval(void **state)
{
    (void)state;
    int64_t tat = 0;
    assert_true(td_gcra_check(&tat, 0, 60, 0).allowed);
    assert_false(td_gcra_check(&tat, 999, 60, 0).allowed);
    assert_true(td_gcra_check(&tat, 1000, 60, 0).allowed);
}

/* A refund undoes one allowed request; past the present it is a fresh key. */
static void refund_gives_back_one_request(void **state)
{
    (void)state;
    int64_t tat = 0, now = 1000000;
    for (int i = 0; i < 3; i++)
        assert_true(td_gcra_check(&tat, now, 6, 2).allowed);
    assert_false(td_gcra_check(&tat, now, 6, 2).allowed);
    td_gcra_refund(&tat, now, 6);
    assert_int_equal(tat, now + 20000);
    td_gcra_result r = td_gcra_check(&tat, now, 6, 2);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);

    /* Allowed then refunded, again and again: nothing is used up. */
    int64_t fresh = 0;
    for (int i = 0; i < 100; i++) {
        r = td_gcra_check(&fresh, now + i, 6, 2);
        assert_true(r.allowed);
        assert_int_equal(r.remaining, 2);
        td_gcra_refund(&fresh, now + i, 6);
    }
    assert_int_equal(fresh, 0);

    /* A refund that would reach back before now leaves a fresh key. */
    int64_t old = now + 5000;
    td_gcra_refund(&old, now, 6);
    assert_int_equal(old, 0);
}

/* A rate above one a millisecond counts as one a millisecond: the
 * interval is never 0 (it divides; a worker died of it). */
static void rate_past_the_resolution(void **state)
{
    (void)state;
    assert_int_equal(td_gcra_interval_ms(60000), 1);
    assert_int_equal(td_gcra_interval_ms(100000000), 1);
    assert_int_equal(td_gcra_interval_ms(0), 60000);
    int64_t tat = 0;
    td_gcra_result r = td_gcra_check(&tat, 1000, 100000000, 5);
    assert_true(r.allowed);
    assert_int_equal(r.limit, 6);
    td_gcra_refund(&tat, 1000, 100000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_past_the_resolution),
        cmocka_unit_test(burst_then_refuse_then_refill),
        cmocka_unit_test(zero_burst_allows_one_per_interval),
        cmocka_unit_test(refund_gives_back_one_request),
    };
    return cmocka_run_group_tests_name("gcra", tests, NULL, NULL);
}
