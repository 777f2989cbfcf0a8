/*
 * test_trigger.c - the trigger rules of PRODUCT.md: equality with the
 * trigger fires, a gap straight through it fires, the other direction
 * never does; a trailing stop arms at its activation price, follows the
 * extreme, and fires on a retrace of exactly the callback rate; Binance's
 * trailing-stop FAQ example.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/trigger.h"

#define U TD_DEC_SCALE

static void stop_and_take(void **state)
{
    (void)state;
    /* stop-loss sell at 100: fires at 100 and below (a gap to 90 too). */
    assert_true(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U, 100 * U));
    assert_true(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U, 90 * U));
    assert_false(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U, 100 * U + 1));
    /* stop-loss buy: at and above. */
    assert_true(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 100 * U, 100 * U));
    assert_true(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 100 * U, 120 * U));
    assert_false(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 100 * U, 100 * U - 1));
    /* take-profit sell: at and above; buy: at and below. */
    assert_true(td_trigger_fires(TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 100 * U, 100 * U));
    assert_true(td_trigger_fires(TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 100 * U, 130 * U));
    assert_false(td_trigger_fires(TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 100 * U, 99 * U));
    assert_true(td_trigger_fires(TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 100 * U, 100 * U));
    assert_true(td_trigger_fires(TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 100 * U, 70 * U));
    assert_false(td_trigger_fires(TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 100 * U, 101 * U));
    /* Not for trailing stops or a missing side. */
    assert_false(td_trigger_fires(TD_ORDER_TRAILING_STOP, TD_SIDE_SELL, 100 * U, 1 * U));
    assert_false(td_trigger_fires(TD_ORDER_STOP_LOSS, TD_SIDE_NONE, 100 * U, 1 * U));
}

static void trailing_arms_and_fires(void **state)
{
    (void)state;
    td_dec cb = 1 * U; /* 1 % */
    /* Sell, activation 100: not armed at 99, armed at 100. */
    assert_false(td_trailing_arms(TD_SIDE_SELL, 100 * U, 99 * U));
    assert_true(td_trailing_arms(TD_SIDE_SELL, 100 * U, 100 * U));
    assert_true(td_trailing_arms(TD_SIDE_SELL, 0, 1 * U)); /* none: at once */
    assert_true(td_trailing_arms(TD_SIDE_BUY, 100 * U, 100 * U));
    assert_false(td_trailing_arms(TD_SIDE_BUY, 100 * U, 100 * U + 1));

    /* A new high, then a retrace of exactly 1 % fires; a cent less does not. */
    td_dec high = td_trailing_extreme(TD_SIDE_SELL, 100 * U, 110 * U);
    assert_int_equal(high, 110 * U);
    assert_int_equal(td_trailing_extreme(TD_SIDE_SELL, high, 105 * U), 110 * U);
    td_dec t;
    assert_int_equal(td_trailing_trigger(TD_SIDE_SELL, high, cb, &t), TD_OK);
    assert_int_equal(t, 1089 * U / 10); /* 108.9 */
    assert_true(td_trailing_fires(TD_SIDE_SELL, high, cb, 1089 * U / 10));
    assert_false(td_trailing_fires(TD_SIDE_SELL, high, cb, 1089 * U / 10 + U / 100));

    /* Buy mirrors: lowest 50, 1 % up is 50.5. */
    td_dec low = td_trailing_extreme(TD_SIDE_BUY, 60 * U, 50 * U);
    assert_int_equal(low, 50 * U);
    assert_true(td_trailing_fires(TD_SIDE_BUY, low, cb, 505 * U / 10));
    assert_false(td_trailing_fires(TD_SIDE_BUY, low, cb, 505 * U / 10 - 1));

    /* Rounded once, half up: 0.00000003 × 99 % = 0.0000000297 → 0.00000003. */
    assert_int_equal(td_trailing_trigger(TD_SIDE_SELL, 3, cb, &t), TD_OK);
    assert_int_equal(t, 3);
    assert_int_equal(td_trailing_trigger(TD_SIDE_SELL, 100 * U, 0, &t), TD_EINVAL);
    assert_int_equal(td_trailing_trigger(TD_SIDE_SELL, 100 * U, 100 * U, &t), TD_EINVAL);
    assert_int_equal(td_trailing_trigger(TD_SIDE_BUY, INT64_MAX, 10 * U, &t), TD_EINVAL);
}

/* Binance's trailing-stop FAQ: a sell with activation 8,000 USDT and a 5 %
 * callback; the price rises to 8,000 (armed), on to 8,100, then falls.
 * It fires at 8,100 × 0.95 = 7,695, not before. */
static void binance_faq_sell(void **state)
{
    (void)state;
    td_dec act = 8000 * U, cb = 5 * U, extreme = 0;
    const td_dec path[] = {7900 * U, 8000 * U, 8100 * U, 7800 * U, 7696 * U, 7695 * U};
    int armed = 0, fired_at = -1;
    for (int i = 0; i < 6 && fired_at < 0; i++) {
        if (!armed && td_trailing_arms(TD_SIDE_SELL, act, path[i])) {
            armed = 1;
            extreme = path[i];
        }
        if (!armed)
            continue;
        extreme = td_trailing_extreme(TD_SIDE_SELL, extreme, path[i]);
        if (td_trailing_fires(TD_SIDE_SELL, extreme, cb, path[i]))
            fired_at = i;
    }
    assert_int_equal(fired_at, 5);
    assert_int_equal(extreme, 8100 * U);
}

/* The buy mirror of the FAQ: activation 7,000, 5 %; the price falls to
 * 6,900 then climbs: fires at 6,900 × 1.05 = 7,245. */
static void binance_faq_buy(void **state)
{
    (void)state;
    td_dec act = 7000 * U, cb = 5 * U, extreme = 0;
    const td_dec path[] = {7100 * U, 7000 * U, 6900 * U, 7200 * U, 7244 * U, 7245 * U};
    int armed = 0, fired_at = -1;
    for (int i = 0; i < 6 && fired_at < 0; i++) {
        if (!armed && td_trailing_arms(TD_SIDE_BUY, act, path[i])) {
            armed = 1;
            extreme = path[i];
        }
        if (!armed)
            continue;
        extreme = td_trailing_extreme(TD_SIDE_BUY, extreme, path[i]);
        if (td_trailing_fires(TD_SIDE_BUY, extreme, cb, path[i]))
            fired_at = i;
    }
    assert_int_equal(fired_at, 5);
}

static void names(void **state)
{
    (void)state;
    td_order_type t;
    td_side s;
    assert_int_equal(td_order_type_parse("trailing_stop", &t), TD_OK);
    assert_int_equal(t, TD_ORDER_TRAILING_STOP);
    assert_string_equal(td_order_type_name(TD_ORDER_TAKE_PROFIT), "take_profit");
    assert_int_equal(td_order_type_parse("stop", &t), TD_EINVAL);
    assert_int_equal(td_order_type_parse(NULL, &t), TD_EINVAL);
    assert_int_equal(td_order_side_parse("sell", &s), TD_OK);
    assert_int_equal(s, TD_SIDE_SELL);
    assert_int_equal(td_order_side_parse("long", &s), TD_EINVAL);
    assert_string_equal(td_order_side_name(TD_SIDE_BUY), "buy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stop_and_take),
        cmocka_unit_test(trailing_arms_and_fires),
        cmocka_unit_test(binance_faq_sell),
        cmocka_unit_test(binance_faq_buy),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests_name("trigger", tests, NULL, NULL);
}
