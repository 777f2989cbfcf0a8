/*
 * test_histogram.c - buckets by upper bound (a value equal to a bound is
 * in its bucket), quantiles as bucket bounds, the Prometheus rendering
 * cumulative with +Inf, _sum and _count.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/arena.h"
#include "core/histogram.h"

static const double B[] = {0.001, 0.01, 0.1};

static void buckets_and_quantiles(void **state)
{
    (void)state;
    td_hist h;
    td_hist_init(&h, B, 3);
    assert_true(td_hist_quantile(&h, 0.5) == 0);
    for (int i = 0; i < 90; i++)
        td_hist_observe(&h, 0.0005);
    for (int i = 0; i < 9; i++)
        td_hist_observe(&h, 0.01); /* on the bound: in its bucket */
    td_hist_observe(&h, 5);
    assert_int_equal(h.count, 100);
    assert_int_equal(h.bucket[0], 90);
    assert_int_equal(h.bucket[1], 9);
    assert_int_equal(h.bucket[3], 1);
    assert_true(td_hist_quantile(&h, 0.5) == 0.001);
    assert_true(td_hist_quantile(&h, 0.9) == 0.001);
    assert_true(td_hist_quantile(&h, 0.99) == 0.01);
    assert_true(isinf(td_hist_quantile(&h, 1.0)));
}

static void prometheus_text(void **state)
{
    (void)state;
    td_hist h;
    td_hist_init(&h, B, 3);
    td_hist_observe(&h, 0.002);
    td_hist_observe(&h, 0.2);
    td_arena a;
    td_arena_init(&a, 4096);
    td_buf b = {0};
    td_hist_render(&h, &a, &b, "x_seconds", "what x takes");
    td_buf_add(&a, &b, "", 1);
    assert_non_null(strstr(b.data, "# TYPE x_seconds histogram\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"0.001\"} 0\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"0.01\"} 1\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(b.data, "x_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(b.data, "x_seconds_sum 0.202000\nx_seconds_count 2\n"));
    td_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_and_quantiles),
        cmocka_unit_test(prometheus_text),
    };
    return cmocka_run_group_tests_name("histogram", tests, NULL, NULL);
}
