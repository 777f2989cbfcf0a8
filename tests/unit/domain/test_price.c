/*
 * test_price.c - the staleness line: fresh up to the limit, stale after.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/price.h"

static void stale_strictly_after_the_limit(void **state)
{
    (void)state;
    assert_false(td_price_stale(0, 10000));
    assert_false(td_price_stale(9999, 10000));
    assert_false(td_price_stale(10000, 10000));
    assert_true(td_price_stale(10001, 10000));
    assert_true(td_price_stale(INT64_MAX, 10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stale_strictly_after_the_limit),
    };
    return cmocka_run_group_tests_name("price", tests, NULL, NULL);
}
