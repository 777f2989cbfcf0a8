/*
 * test_portfolio.c - portfolio totals and exposure by symbol: longs and
 * shorts, gains and losses, no price yet, rounding at the 8th digit,
 * overflow refused, the empty portfolio.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/portfolio.h"

#include <string.h>

/* Money literals in td_dec units: D(106562, 8000000) is 106562.08. */
#define D(i, f) ((td_dec)(i)*TD_DEC_SCALE + (f))

static td_position open_pos(const char *sym, td_pos_side side, td_dec qty, td_dec entry, td_dec mark)
{
    return (td_position){.symbol = sym,
                         .side = side,
                         .status = TD_POSITION_OPEN,
                         .quantity = qty,
                         .entry_price = entry,
                         .has_mark = true,
                         .mark_price = mark};
}

static void longs_and_shorts_gains_and_losses(void **state)
{
    (void)state;
    td_position pos[] = {
        /* closed: realized only, no exposure */
        {.symbol = "DOGE-USDT",
         .side = TD_LONG,
         .status = TD_POSITION_CLOSED,
         .quantity = D(1000, 0),
         .entry_price = D(0, 10000000),
         .realized_pnl = D(1234, 50000000),
         .has_mark = true,
         .mark_price = D(0, 20000000)},
        /* long, gain: (106562.08 - 100000) × 0.5 = 3281.04 */
        open_pos("BTC-USDT", TD_LONG, D(0, 50000000), D(100000, 0), D(106562, 8000000)),
        /* short, loss: -(3100 - 3000) × 2 = -200 */
        open_pos("ETH-USDT", TD_SHORT, D(2, 0), D(3000, 0), D(3100, 0)),
        /* long, loss: (106562.08 - 110000) × 0.1 = -343.792 */
        open_pos("BTC-USDT", TD_LONG, D(0, 10000000), D(110000, 0), D(106562, 8000000)),
        /* short, gain: -(150 - 200) × 10 = 500 */
        open_pos("SOL-USDT", TD_SHORT, D(10, 0), D(200, 0), D(150, 0)),
    };
    pos[2].realized_pnl = -D(10, 0);
    td_exposure ex[TD_ARRAY_LEN(pos)];
    td_portfolio pf;
    assert_int_equal(
        td_portfolio_sum(D(10000, 0), D(100, 0), pos, TD_ARRAY_LEN(pos), ex, TD_ARRAY_LEN(ex), &pf),
        TD_OK);
    assert_int_equal(pf.cash_balance, D(10000, 0));
    /* 53281.04 + 5800 + 10656.208 + 2500 */
    assert_int_equal(pf.positions_value, D(72237, 24800000));
    assert_int_equal(pf.unrealized_pnl, D(3237, 24800000));
    assert_int_equal(pf.realized_pnl, D(1324, 50000000)); /* 100 + 1234.5 - 10 */
    assert_int_equal(pf.equity, D(82237, 24800000));
    assert_int_equal(pf.open_positions, 4);

    /* Symbols in the order they first appear among open positions. */
    assert_int_equal(pf.nexposure, 3);
    assert_string_equal(ex[0].symbol, "BTC-USDT");
    assert_int_equal(ex[0].net_quantity, D(0, 60000000));
    assert_int_equal(ex[0].notional, D(63937, 24800000)); /* 53281.04 + 10656.208 */
    assert_string_equal(ex[1].symbol, "ETH-USDT");
    assert_int_equal(ex[1].net_quantity, -D(2, 0));
    assert_int_equal(ex[1].notional, -D(6200, 0));
    assert_string_equal(ex[2].symbol, "SOL-USDT");
    assert_int_equal(ex[2].net_quantity, -D(10, 0));
    assert_int_equal(ex[2].notional, -D(1500, 0));
    assert_ptr_equal(ex[0].symbol, pos[1].symbol); /* borrowed, not copied */
}

static void a_hedged_symbol_nets_out(void **state)
{
    (void)state;
    td_position pos[] = {
        open_pos("BTC-USDT", TD_LONG, D(1, 0), D(100, 0), D(110, 0)),
        open_pos("BTC-USDT", TD_SHORT, D(1, 0), D(105, 0), D(110, 0)),
    };
    td_exposure ex[2];
    td_portfolio pf;
    assert_int_equal(td_portfolio_sum(0, 0, pos, 2, ex, 2, &pf), TD_OK);
    assert_int_equal(pf.unrealized_pnl, D(5, 0)); /* +10 - 5 */
    assert_int_equal(pf.positions_value, D(210, 0));
    assert_int_equal(pf.nexposure, 1);
    assert_int_equal(ex[0].net_quantity, 0);
    assert_int_equal(ex[0].notional, 0);
}

static void symbols_out_of_order_still_group(void **state)
{
    (void)state;
    td_position pos[] = {
        open_pos("ETH-USDT", TD_LONG, D(1, 0), D(1, 0), D(1, 0)),
        open_pos("BTC-USDT", TD_LONG, D(1, 0), D(2, 0), D(2, 0)),
        open_pos("ETH-USDT", TD_LONG, D(1, 0), D(1, 0), D(1, 0)),
        open_pos("SOL-USDT", TD_SHORT, D(1, 0), D(3, 0), D(3, 0)),
        open_pos("BTC-USDT", TD_LONG, D(1, 0), D(2, 0), D(2, 0)),
    };
    td_exposure ex[5];
    td_portfolio pf;
    assert_int_equal(td_portfolio_sum(0, 0, pos, 5, ex, 5, &pf), TD_OK);
    assert_int_equal(pf.nexposure, 3);
    assert_string_equal(ex[0].symbol, "ETH-USDT");
    assert_int_equal(ex[0].net_quantity, D(2, 0));
    assert_string_equal(ex[1].symbol, "BTC-USDT");
    assert_int_equal(ex[1].notional, D(4, 0));
    assert_string_equal(ex[2].symbol, "SOL-USDT");
    assert_int_equal(ex[2].notional, -D(3, 0));
    /* Exactly as many entries as symbols is enough; one fewer is not. */
    assert_int_equal(td_portfolio_sum(0, 0, pos, 5, ex, 3, &pf), TD_OK);
    td_portfolio before = pf;
    assert_int_equal(td_portfolio_sum(0, 0, pos, 5, ex, 2, &pf), TD_ENOMEM);
    assert_memory_equal(&pf, &before, sizeof pf);
}

static void no_price_yet_counts_at_cost(void **state)
{
    (void)state;
    td_position p = open_pos("NEW-USDT", TD_SHORT, D(3, 0), D(7, 50000000), 0);
    p.has_mark = false;
    p.mark_price = D(999, 0); /* ignored without has_mark */
    td_exposure ex[1];
    td_portfolio pf;
    assert_int_equal(td_portfolio_sum(D(1, 0), 0, &p, 1, ex, 1, &pf), TD_OK);
    assert_int_equal(pf.positions_value, D(22, 50000000));
    assert_int_equal(pf.unrealized_pnl, 0);
    assert_int_equal(pf.equity, D(23, 50000000));
    assert_int_equal(ex[0].notional, -D(22, 50000000));
}

/* Products round half away from zero at the 8th digit, per position, and
 * the sums of rounded numbers are exact. */
static void rounding_at_the_eighth_digit(void **state)
{
    (void)state;
    td_position pos[] = {
        /* 0.00000002 × 0.33333333 = 0.0000000066666666 → 0.00000001 */
        open_pos("AAA-USDT", TD_LONG, D(0, 33333333), D(1, 0), D(1, 2)),
        /* exactly half a unit: 0.00000001 × 0.5 → 0.00000001, away from zero */
        open_pos("BBB-USDT", TD_LONG, D(0, 50000000), D(2, 0), D(2, 1)),
        /* a short's half unit rounds away from zero too: -0.00000001 */
        open_pos("CCC-USDT", TD_SHORT, D(0, 50000000), D(2, 0), D(2, 1)),
    };
    td_exposure ex[3];
    td_portfolio pf;
    assert_int_equal(td_portfolio_sum(0, 0, pos, 3, ex, 3, &pf), TD_OK);
    assert_int_equal(pf.unrealized_pnl, 1 + 1 - 1);
    /* values: 0.33333333 + 0.00000001, 1 + 0.00000001, 1 - 0.00000001 */
    assert_int_equal(pf.positions_value, D(2, 33333334));
    /* notional: 1.00000002 × 0.33333333 = 0.3333333366666666 → 0.33333334 */
    assert_int_equal(ex[0].notional, D(0, 33333334));
    /* 2.00000001 × 0.5 = 1.000000005 → 1.00000001, and the short's negated */
    assert_int_equal(ex[1].notional, D(1, 1));
    assert_int_equal(ex[2].notional, -D(1, 1));
}

static void overflow_is_refused_not_wrapped(void **state)
{
    (void)state;
    td_exposure ex[2];
    td_portfolio pf = {.equity = 42}, untouched = pf;

    /* One product: 1e6 × 1e5 = 1e11 > 92233720368. */
    td_position big = open_pos("BTC-USDT", TD_LONG, D(1000000, 0), D(100000, 0), D(100000, 0));
    assert_int_equal(td_portfolio_sum(0, 0, &big, 1, ex, 2, &pf), TD_EINVAL);
    /* Each fits, the sum does not: 2 × 5e10. */
    td_position two[] = {
        open_pos("BTC-USDT", TD_LONG, D(500000, 0), D(100000, 0), D(100000, 0)),
        open_pos("ETH-USDT", TD_LONG, D(500000, 0), D(100000, 0), D(100000, 0)),
    };
    assert_int_equal(td_portfolio_sum(0, 0, two, 2, ex, 2, &pf), TD_EINVAL);
    /* Cash plus positions. */
    assert_int_equal(td_portfolio_sum(INT64_MAX, 0, two, 1, ex, 2, &pf), TD_EINVAL);
    /* Realized P&L. */
    td_position closed = {.symbol = "BTC-USDT", .status = TD_POSITION_CLOSED, .realized_pnl = 1};
    assert_int_equal(td_portfolio_sum(0, INT64_MAX, &closed, 1, ex, 2, &pf), TD_EINVAL);
    closed.realized_pnl = -1;
    assert_int_equal(td_portfolio_sum(0, INT64_MIN, &closed, 1, ex, 2, &pf), TD_EINVAL);
    /* Exposure of one symbol: two shorts entered at half the mark are worth
     * 0 each, so only their summed notional (-2 × 5e10) overflows. */
    td_position shorts[] = {
        open_pos("BTC-USDT", TD_SHORT, D(1, 0), D(25000000000, 0), D(50000000000, 0)),
        open_pos("BTC-USDT", TD_SHORT, D(1, 0), D(25000000000, 0), D(50000000000, 0)),
    };
    assert_int_equal(td_portfolio_sum(0, 0, shorts, 1, ex, 2, &pf), TD_OK);
    assert_int_equal(pf.positions_value, 0);
    pf = untouched;
    assert_int_equal(td_portfolio_sum(0, 0, shorts, 2, ex, 2, &pf), TD_EINVAL);
    assert_memory_equal(&pf, &untouched, sizeof pf);
}

static void bad_positions_are_refused(void **state)
{
    (void)state;
    td_exposure ex[1];
    td_portfolio pf;
    td_position p = open_pos("BTC-USDT", TD_LONG, -D(1, 0), D(1, 0), D(1, 0));
    assert_int_equal(td_portfolio_sum(0, 0, &p, 1, ex, 1, &pf), TD_EINVAL);
    p = open_pos("BTC-USDT", TD_LONG, D(1, 0), -D(1, 0), D(1, 0));
    assert_int_equal(td_portfolio_sum(0, 0, &p, 1, ex, 1, &pf), TD_EINVAL);
    p = open_pos("BTC-USDT", TD_LONG, D(1, 0), D(1, 0), -D(1, 0));
    assert_int_equal(td_portfolio_sum(0, 0, &p, 1, ex, 1, &pf), TD_EINVAL);
    p = open_pos(NULL, TD_LONG, D(1, 0), D(1, 0), D(1, 0));
    assert_int_equal(td_portfolio_sum(0, 0, &p, 1, ex, 1, &pf), TD_EINVAL);
}

static void empty_portfolio_is_its_cash(void **state)
{
    (void)state;
    td_portfolio pf;
    assert_int_equal(td_portfolio_sum(D(250, 12345678), D(-3, 0), NULL, 0, NULL, 0, &pf), TD_OK);
    assert_int_equal(pf.cash_balance, D(250, 12345678));
    assert_int_equal(pf.equity, D(250, 12345678));
    assert_int_equal(pf.positions_value, 0);
    assert_int_equal(pf.unrealized_pnl, 0);
    assert_int_equal(pf.realized_pnl, D(-3, 0));
    assert_int_equal(pf.open_positions, 0);
    assert_int_equal(pf.nexposure, 0);
    /* Only closed positions: realized, nothing else. */
    td_position closed = {.symbol = "BTC-USDT",
                          .status = TD_POSITION_CLOSED,
                          .quantity = D(1, 0),
                          .entry_price = D(1, 0),
                          .realized_pnl = D(7, 0)};
    assert_int_equal(td_portfolio_sum(0, 0, &closed, 1, NULL, 0, &pf), TD_OK);
    assert_int_equal(pf.realized_pnl, D(7, 0));
    assert_int_equal(pf.nexposure, 0);
    assert_int_equal(pf.open_positions, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(longs_and_shorts_gains_and_losses),
        cmocka_unit_test(a_hedged_symbol_nets_out),
        cmocka_unit_test(symbols_out_of_order_still_group),
        cmocka_unit_test(no_price_yet_counts_at_cost),
        cmocka_unit_test(rounding_at_the_eighth_digit),
        cmocka_unit_test(overflow_is_refused_not_wrapped),
        cmocka_unit_test(bad_positions_are_refused),
        cmocka_unit_test(empty_portfolio_is_its_cash),
    };
    return cmocka_run_group_tests_name("portfolio", tests, NULL, NULL);
}
