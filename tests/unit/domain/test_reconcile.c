/*
 * test_reconcile.c - a divergence's level from the tolerances, and a run's
 * verdict.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/reconcile.h"

#define DEC(units) ((td_dec)(units))
static const td_recon_tolerance TOL = {.warning = 1000000, .critical = 100000000}; /* 0.01, 1 */

static void amounts_by_tolerance(void **state)
{
    (void)state;
    assert_int_equal(td_recon_diff_level(DEC(500), DEC(500), TOL), TD_RECON_HEALTHY);
    assert_int_equal(td_recon_diff_level(DEC(500), DEC(999999 + 500), TOL), TD_RECON_HEALTHY);
    assert_int_equal(td_recon_diff_level(DEC(0), DEC(1000000), TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_diff_level(DEC(1000000), DEC(0), TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_diff_level(DEC(0), DEC(99999999), TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_diff_level(DEC(0), DEC(-100000000), TOL), TD_RECON_CRITICAL);
    assert_int_equal(td_recon_diff_level(INT64_MAX, INT64_MIN, TOL), TD_RECON_CRITICAL);
    /* Zero tolerances: any difference is critical, none is matched. */
    td_recon_tolerance zero = {0, 0};
    assert_int_equal(td_recon_diff_level(DEC(1), DEC(2), zero), TD_RECON_CRITICAL);
    assert_int_equal(td_recon_diff_level(DEC(2), DEC(2), zero), TD_RECON_HEALTHY);
}

static void kinds(void **state)
{
    (void)state;
    assert_int_equal(td_recon_level_of("cash", "100.00000000", "100.00500000", TOL),
                     TD_RECON_HEALTHY);
    assert_int_equal(td_recon_level_of("cash", "100.00", "100.05", TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_level_of("position_quantity", "10.00000000", "11.00000000", TOL),
                     TD_RECON_CRITICAL);
    assert_int_equal(td_recon_level_of("position_status", NULL, NULL, TOL), TD_RECON_CRITICAL);
    assert_int_equal(td_recon_level_of("stream_missing", NULL, NULL, TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_level_of("stream_duplicate", NULL, NULL, TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_level_of("order_index_extra", NULL, NULL, TOL), TD_RECON_WARNING);
    assert_int_equal(td_recon_level_of("order_index_missing", NULL, NULL, TOL), TD_RECON_CRITICAL);
    /* Beyond td_dec's range: cannot be compared here, so critical. */
    assert_int_equal(td_recon_level_of("cash", "100000000000.00", "1.00", TOL), TD_RECON_CRITICAL);
    assert_int_equal(td_recon_level_of("cash", "1.00", NULL, TOL), TD_RECON_CRITICAL);
    assert_int_equal(td_recon_level_of(NULL, "1", "1", TOL), TD_RECON_CRITICAL);
}

static void verdict_and_names(void **state)
{
    (void)state;
    assert_int_equal(td_recon_verdict(0, 0), TD_RECON_HEALTHY);
    assert_int_equal(td_recon_verdict(3, 0), TD_RECON_WARNING);
    assert_int_equal(td_recon_verdict(3, 1), TD_RECON_CRITICAL);
    assert_string_equal(td_recon_level_name(TD_RECON_HEALTHY), "healthy");
    assert_string_equal(td_recon_level_name(TD_RECON_WARNING), "warning");
    assert_string_equal(td_recon_level_name(TD_RECON_CRITICAL), "critical");
    assert_int_equal(td_recon_tolerance_check(TOL), TD_OK);
    assert_int_equal(td_recon_tolerance_check((td_recon_tolerance){.warning = 2, .critical = 1}),
                     TD_EINVAL);
    assert_int_equal(td_recon_tolerance_check((td_recon_tolerance){.warning = -1, .critical = 1}),
                     TD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(amounts_by_tolerance),
        cmocka_unit_test(kinds),
        cmocka_unit_test(verdict_and_names),
    };
    return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
