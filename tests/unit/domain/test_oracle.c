/*
 * test_oracle.c - the price oracle's rules: priority with fallback and
 * return, median with outliers dropped, staleness at the boundary, and
 * what is kept when nothing is fresh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/oracle.h"

#define U TD_DEC_SCALE

static void priority_falls_back_and_returns(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 3, .stale_ms = 1000};
    td_oracle_symbol s;
    td_oracle_symbol_init(&s);

    td_oracle_choice c = td_oracle_choose(&cfg, &s, 5000);
    assert_int_equal(c.ok, 0); /* never quoted */

    td_oracle_quote(&s, 0, 100 * U, 10000);
    td_oracle_quote(&s, 1, 101 * U, 10000);
    c = td_oracle_choose(&cfg, &s, 10500);
    assert_true(c.ok && !c.stale);
    assert_int_equal(c.source, 0);
    assert_int_equal(c.price, 100 * U);
    assert_true(c.switched); /* from nothing */
    c = td_oracle_choose(&cfg, &s, 10600);
    assert_false(c.switched);

    /* Source 0 exactly at the limit is still fresh; one ms later it is not. */
    td_oracle_quote(&s, 1, 102 * U, 10900);
    c = td_oracle_choose(&cfg, &s, 11000);
    assert_int_equal(c.source, 0);
    c = td_oracle_choose(&cfg, &s, 11001);
    assert_int_equal(c.source, 1);
    assert_int_equal(c.price, 102 * U);
    assert_true(c.switched);

    /* The better source comes back. */
    td_oracle_quote(&s, 0, 99 * U, 11500);
    c = td_oracle_choose(&cfg, &s, 11600);
    assert_int_equal(c.source, 0);
    assert_true(c.switched);

    /* An older quote than the one held is ignored. */
    td_oracle_quote(&s, 0, 1 * U, 11000);
    assert_int_equal(td_oracle_choose(&cfg, &s, 11600).price, 99 * U);

    /* Everything stale: the last choice, marked stale, not switched. */
    c = td_oracle_choose(&cfg, &s, 20000);
    assert_true(c.ok && c.stale);
    assert_int_equal(c.source, 0);
    assert_int_equal(c.price, 99 * U);
    assert_int_equal(c.updated_ms, 11500);
    assert_false(c.switched);
}

static void median_drops_outliers(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {
        .mode = TD_ORACLE_MEDIAN, .nsources = 4, .stale_ms = 1000, .max_deviation_bp = 100};
    td_oracle_symbol s;
    td_oracle_symbol_init(&s);
    td_oracle_quote(&s, 0, 100 * U, 1000);
    td_oracle_quote(&s, 1, 10050000000LL, 1100); /* 100.5 */
    td_oracle_quote(&s, 2, 120 * U, 1200);       /* 19% away: dropped */
    td_oracle_quote(&s, 3, 9950000000LL, 1300); /* 99.5 */
    td_oracle_choice c = td_oracle_choose(&cfg, &s, 1500);
    assert_true(c.ok && !c.stale);
    assert_int_equal(c.source, -2);
    assert_int_equal(c.outliers, 1u << 2);
    assert_int_equal(c.used, 3);
    assert_int_equal(c.price, 100 * U); /* median of 99.5, 100, 100.5 */
    assert_int_equal(c.updated_ms, 1300);

    /* Two fresh sources: their mean, rounded half away from zero. */
    td_oracle_quote(&s, 0, 1, 3000);
    td_oracle_quote(&s, 1, 2, 3000);
    c = td_oracle_choose(&cfg, &s, 3100);
    assert_int_equal(c.used, 2);
    assert_int_equal(c.price, 2); /* 1.5 units -> 2 */
    assert_int_equal(c.outliers, 0);

    /* Two camps with no middle: nobody is dropped. */
    td_oracle_quote(&s, 0, 1 * U, 5000);
    td_oracle_quote(&s, 1, 1 * U, 5000);
    td_oracle_quote(&s, 2, 100 * U, 5000);
    td_oracle_quote(&s, 3, 100 * U, 5000);
    c = td_oracle_choose(&cfg, &s, 5100);
    assert_int_equal(c.used, 4);
    assert_int_equal(c.outliers, 0);
    assert_int_equal(c.price, 5050000000LL); /* (1 + 100) / 2 */

    /* Nothing fresh: the last median, stale. */
    c = td_oracle_choose(&cfg, &s, 9000);
    assert_true(c.stale);
    assert_int_equal(c.price, 5050000000LL);
}

static void stale_only_sources_still_answer(void **state)
{
    (void)state;
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 2, .stale_ms = 1000};
    td_oracle_symbol s;
    td_oracle_symbol_init(&s);
    td_oracle_quote(&s, 1, 7 * U, 100);
    td_oracle_choice c = td_oracle_choose(&cfg, &s, 50000);
    assert_true(c.ok && c.stale);
    assert_int_equal(c.source, 1);
    assert_int_equal(c.price, 7 * U);
    /* Bad source indexes and times are ignored. */
    td_oracle_quote(&s, -1, 1, 60000);
    td_oracle_quote(&s, TD_ORACLE_MAX_SOURCES, 1, 60000);
    td_oracle_quote(&s, 0, 1, 0);
    assert_int_equal(td_oracle_choose(&cfg, &s, 50000).price, 7 * U);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(priority_falls_back_and_returns),
        cmocka_unit_test(median_drops_outliers),
        cmocka_unit_test(stale_only_sources_still_answer),
    };
    return cmocka_run_group_tests_name("oracle", tests, NULL, NULL);
}
