/*
 * test_position.c - what a position shows: mark price when known,
 * unrealized P&L and market value of open positions, 0 once closed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/position.h"

#define D(i, f) ((td_dec)(i)*TD_DEC_SCALE + (f))

static void open_with_a_mark(void **state)
{
    (void)state;
    td_position p = {.symbol = "BTC-USDT",
                     .side = TD_LONG,
                     .status = TD_POSITION_OPEN,
                     .quantity = D(0, 50000000),
                     .entry_price = D(100000, 0),
                     .has_mark = true,
                     .mark_price = D(106562, 8000000)};
    td_position_view v;
    assert_int_equal(td_position_show(&p, &v), TD_OK);
    assert_true(v.has_mark && v.has_unrealized && v.has_market_value);
    assert_int_equal(v.mark_price, D(106562, 8000000));
    assert_int_equal(v.unrealized_pnl, D(3281, 4000000));
    assert_int_equal(v.market_value, D(53281, 4000000));

    p.side = TD_SHORT;
    assert_int_equal(td_position_show(&p, &v), TD_OK);
    assert_int_equal(v.unrealized_pnl, -D(3281, 4000000));
    assert_int_equal(v.market_value, D(53281, 4000000)); /* a value, never negative */
}

static void open_without_a_mark_shows_nulls(void **state)
{
    (void)state;
    td_position p = {.symbol = "NEW-USDT",
                     .status = TD_POSITION_OPEN,
                     .quantity = D(1, 0),
                     .entry_price = D(5, 0),
                     .mark_price = D(9, 0)};
    td_position_view v;
    assert_int_equal(td_position_show(&p, &v), TD_OK);
    assert_false(v.has_mark);
    assert_false(v.has_unrealized);
    assert_false(v.has_market_value);
}

static void closed_has_nothing_left_to_gain(void **state)
{
    (void)state;
    td_position p = {.symbol = "BTC-USDT",
                     .status = TD_POSITION_CLOSED,
                     .quantity = D(1, 0),
                     .entry_price = D(100, 0),
                     .realized_pnl = D(12, 0),
                     .has_mark = true,
                     .mark_price = D(200, 0)};
    td_position_view v;
    assert_int_equal(td_position_show(&p, &v), TD_OK);
    assert_true(v.has_mark);
    assert_int_equal(v.mark_price, D(200, 0));
    assert_true(v.has_unrealized);
    assert_int_equal(v.unrealized_pnl, 0);
    assert_false(v.has_market_value);
    p.has_mark = false;
    assert_int_equal(td_position_show(&p, &v), TD_OK);
    assert_false(v.has_mark);
    assert_true(v.has_unrealized);
    assert_int_equal(v.unrealized_pnl, 0);
}

static void overflow_is_refused(void **state)
{
    (void)state;
    td_position p = {.symbol = "BTC-USDT",
                     .status = TD_POSITION_OPEN,
                     .quantity = D(1000000, 0),
                     .entry_price = D(1, 0),
                     .has_mark = true,
                     .mark_price = D(100000, 0)};
    td_position_view v = {.mark_price = 7};
    assert_int_equal(td_position_show(&p, &v), TD_EINVAL);
    assert_int_equal(v.mark_price, 7); /* untouched */
}

static void status_parse(void **state)
{
    (void)state;
    td_position_status s;
    assert_int_equal(td_position_status_parse("open", &s), TD_OK);
    assert_int_equal(s, TD_POSITION_OPEN);
    assert_int_equal(td_position_status_parse("closed", &s), TD_OK);
    assert_int_equal(s, TD_POSITION_CLOSED);
    assert_int_equal(td_position_status_parse("Open", &s), TD_EINVAL);
    assert_int_equal(td_position_status_parse("", &s), TD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_with_a_mark),
        cmocka_unit_test(open_without_a_mark_shows_nulls),
        cmocka_unit_test(closed_has_nothing_left_to_gain),
        cmocka_unit_test(overflow_is_refused),
        cmocka_unit_test(status_parse),
    };
    return cmocka_run_group_tests_name("position", tests, NULL, NULL);
}
