/*
 * test_pgarray.c - columns as PostgreSQL array literals: values in order,
 * comma-separated, "{}" for a column that got none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/pgarray.h"

static void literals(void **state)
{
    (void)state;
    td_arena a;
    td_arena_init(&a, 1024);
    td_pg_cols c;
    td_pg_cols_init(&c, &a, 3);
    td_pg_col_add(&c, 0, "BTC-USDT");
    td_pg_col_add(&c, 0, "ETH-USDT");
    td_pg_col_dec(&c, 1, 9500 * TD_DEC_SCALE);
    td_pg_col_int(&c, 1, -7);
    const char *p[3];
    td_pg_cols_params(&c, p);
    assert_string_equal(p[0], "{BTC-USDT,ETH-USDT}");
    assert_string_equal(p[1], "{9500.00,-7}");
    assert_string_equal(p[2], "{}");
    td_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(literals)};
    return cmocka_run_group_tests_name("pgarray", tests, NULL, NULL);
}
