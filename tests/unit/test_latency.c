/*
 * test_latency.c - core/latency: count, mean, min and max exact; the
 * nearest-rank percentile (p99 of 1..100 is 99, of 1..1000 is 990);
 * samples past either end count in the end bucket but min and max stay
 * exact; an empty set answers 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/latency.h"

static td_latency L;

static void empty(void **state)
{
    (void)state;
    td_latency_init(&L);
    assert_int_equal(L.n, 0);
    assert_int_equal(td_latency_percentile(&L, 99), 0);
    assert_true(td_latency_avg(&L) == 0);
}

static void nearest_rank(void **state)
{
    (void)state;
    td_latency_init(&L);
    for (int i = 100; i >= 1; i--) /* order does not matter */
        td_latency_add(&L, i);
    assert_int_equal(L.n, 100);
    assert_int_equal(L.min, 1);
    assert_int_equal(L.max, 100);
    assert_true(td_latency_avg(&L) == 50.5);
    assert_int_equal(td_latency_percentile(&L, 50), 50);
    assert_int_equal(td_latency_percentile(&L, 99), 99);
    assert_int_equal(td_latency_percentile(&L, 100), 100);
    assert_int_equal(td_latency_percentile(&L, 0.5), 1);

    td_latency_init(&L);
    for (int i = 1; i <= 1000; i++)
        td_latency_add(&L, i);
    assert_int_equal(td_latency_percentile(&L, 99), 990);
    assert_int_equal(td_latency_percentile(&L, 99.9), 999);
}

static void one_sample_and_ties(void **state)
{
    (void)state;
    td_latency_init(&L);
    td_latency_add(&L, 7);
    assert_int_equal(td_latency_percentile(&L, 1), 7);
    assert_int_equal(td_latency_percentile(&L, 99), 7);
    for (int i = 0; i < 98; i++)
        td_latency_add(&L, 3);
    td_latency_add(&L, 400); /* 100 samples: 98 x 3, 7, 400 */
    assert_int_equal(td_latency_percentile(&L, 98), 3);
    assert_int_equal(td_latency_percentile(&L, 99), 7);
    assert_int_equal(td_latency_percentile(&L, 100), 400);
}

static void outside_the_buckets(void **state)
{
    (void)state;
    td_latency_init(&L);
    td_latency_add(&L, -5000); /* a venue clock far ahead */
    td_latency_add(&L, 0);
    td_latency_add(&L, 123456); /* two minutes late */
    assert_int_equal(L.min, -5000);
    assert_int_equal(L.max, 123456);
    assert_true(td_latency_avg(&L) == (123456.0 - 5000.0) / 3);
    /* The ends are clamped to what was seen, never past it. */
    assert_int_equal(td_latency_percentile(&L, 1), -5000);
    assert_int_equal(td_latency_percentile(&L, 50), 0);
    assert_int_equal(td_latency_percentile(&L, 100), 123456);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty),
        cmocka_unit_test(nearest_rank),
        cmocka_unit_test(one_sample_and_ties),
        cmocka_unit_test(outside_the_buckets),
    };
    return cmocka_run_group_tests_name("latency", tests, NULL, NULL);
}
