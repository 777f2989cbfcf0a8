/*
 * test_order_index.c - the order index fires exactly what trigger.h's
 * rules fire, at the same tick: equality with a trigger, a gap through
 * several, the other direction, removal, a trailing stop's activation
 * (never firing on its arming tick), a new high and a retrace of exactly
 * the callback, Binance's trailing-stop FAQ scenarios, a restart that
 * resumes an armed trailing stop, the extremes reported for persistence,
 * and a seeded randomized differential test against a brute-force model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain/order_index.h"

#define U TD_DEC_SCALE

static td_oidx *fresh(void)
{
    td_oidx *x = td_oidx_new(NULL);
    assert_non_null(x);
    return x;
}

static void add_fixed(td_oidx *x, int64_t id, td_order_type t, td_side s, td_dec trigger)
{
    td_oidx_order o = {.id = id, .type = t, .side = s, .trigger_price = trigger};
    assert_int_equal(td_oidx_add(x, &o), TD_OK);
}

static void add_trailing(td_oidx *x, int64_t id, td_side s, td_dec rate, td_dec activation)
{
    td_oidx_order o = {.id = id,
                       .type = TD_ORDER_TRAILING_STOP,
                       .side = s,
                       .callback_rate = rate,
                       .activation_price = activation};
    assert_int_equal(td_oidx_add(x, &o), TD_OK);
}

static void add_armed(td_oidx *x, int64_t id, td_side s, td_dec rate, td_dec extreme)
{
    td_oidx_order o = {.id = id,
                       .type = TD_ORDER_TRAILING_STOP,
                       .side = s,
                       .callback_rate = rate,
                       .armed = 1,
                       .extreme = extreme};
    assert_int_equal(td_oidx_add(x, &o), TD_OK);
}

static void assert_total(const td_oidx *x, size_t want)
{
    td_oidx_counts c;
    td_oidx_count(x, &c);
    assert_int_equal(c.total, want);
}

/* A tick must fire exactly the ids listed (ascending), then -1. */
static void tick_expect(td_oidx *x, td_dec price, ...)
{
    const int64_t *ids;
    size_t n;
    assert_int_equal(td_oidx_on_price(x, price, &ids, &n), TD_OK);
    va_list ap;
    va_start(ap, price);
    size_t i = 0;
    for (int64_t want; (want = va_arg(ap, int64_t)) >= 0; i++) {
        assert_true(i < n);
        assert_int_equal(ids[i], want);
    }
    va_end(ap);
    assert_int_equal(n, i);
}

#define NONE ((int64_t)-1)
#define I(v) ((int64_t)(v))

static void equality_fires(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    add_fixed(x, 1, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U);
    add_fixed(x, 2, TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 120 * U);
    add_fixed(x, 3, TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 130 * U);
    add_fixed(x, 4, TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 90 * U);
    tick_expect(x, 100 * U + 1, NONE);
    tick_expect(x, 100 * U, I(1), NONE);
    tick_expect(x, 120 * U - 1, NONE);
    tick_expect(x, 120 * U, I(2), NONE);
    tick_expect(x, 130 * U, I(3), NONE);
    tick_expect(x, 90 * U + 1, NONE);
    tick_expect(x, 90 * U, I(4), NONE);
    assert_total(x, 0);
    td_oidx_free(x);
}

static void gap_fires_all_once(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    /* Sell stops at 99, 98, 97, buy take-profits at 98.5, 96; one stop below the gap. */
    add_fixed(x, 10, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 99 * U);
    add_fixed(x, 11, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 98 * U);
    add_fixed(x, 12, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 97 * U);
    add_fixed(x, 13, TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 985 * U / 10);
    add_fixed(x, 14, TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 96 * U);
    add_fixed(x, 15, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 90 * U);
    /* And the sells up through 101..103 in one gap up. */
    add_fixed(x, 20, TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 101 * U);
    add_fixed(x, 21, TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 102 * U);
    add_fixed(x, 22, TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 103 * U);
    tick_expect(x, 100 * U, NONE);
    tick_expect(x, 96 * U, I(10), I(11), I(12), I(13), I(14), NONE);
    tick_expect(x, 95 * U, NONE); /* once */
    tick_expect(x, 110 * U, I(20), I(21), I(22), NONE);
    tick_expect(x, 89 * U, I(15), NONE);
    td_oidx_free(x);
}

static void other_direction_never(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    add_fixed(x, 1, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U);
    add_fixed(x, 2, TD_ORDER_TAKE_PROFIT, TD_SIDE_BUY, 100 * U);
    add_fixed(x, 3, TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 50 * U);
    add_fixed(x, 4, TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 50 * U);
    tick_expect(x, 75 * U, I(1), I(2), I(3), I(4), NONE);
    add_fixed(x, 5, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U);
    add_fixed(x, 6, TD_ORDER_STOP_LOSS, TD_SIDE_BUY, 200 * U);
    for (td_dec p = 101 * U; p < 200 * U; p += 7 * U)
        tick_expect(x, p, NONE);
    td_oidx_counts c;
    td_oidx_count(x, &c);
    assert_int_equal(c.stop_loss, 2);
    td_oidx_free(x);
}

static void removal(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    add_fixed(x, 1, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U);
    add_fixed(x, 2, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U);
    add_trailing(x, 3, TD_SIDE_SELL, 1 * U, 110 * U);
    add_armed(x, 4, TD_SIDE_SELL, 1 * U, 105 * U);
    add_armed(x, 5, TD_SIDE_SELL, 2 * U, 105 * U);
    assert_int_equal(td_oidx_remove(x, 1), TD_OK);
    assert_int_equal(td_oidx_remove(x, 1), TD_ENOTFOUND);
    assert_int_equal(td_oidx_remove(x, 3), TD_OK);
    assert_int_equal(td_oidx_remove(x, 4), TD_OK);
    td_oidx_counts c;
    td_oidx_count(x, &c);
    assert_int_equal(c.stop_loss, 1);
    assert_int_equal(c.trailing_unarmed, 0);
    assert_int_equal(c.trailing_armed, 1);
    /* An id may come back after removal, even while its old node waits. */
    add_armed(x, 4, TD_SIDE_SELL, 3 * U, 105 * U);
    assert_int_equal(td_oidx_add(x, &(td_oidx_order){.id = 4,
                                                     .type = TD_ORDER_STOP_LOSS,
                                                     .side = TD_SIDE_SELL,
                                                     .trigger_price = U}),
                     TD_ECONFLICT);
    tick_expect(x, 111 * U, NONE); /* 3 would have armed: it is gone */
    /* 111 × 0.98 = 108.78 fires 5; the new 4 (3 %) waits for 107.67. */
    tick_expect(x, 10878 * U / 100, I(5), NONE);
    tick_expect(x, 10767 * U / 100, I(4), NONE);
    tick_expect(x, 100 * U, I(2), NONE);
    td_oidx_count(x, &c);
    assert_int_equal(c.total, 0);
    td_oidx_free(x);
}

static void refuses_bad_orders(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    td_oidx_order bad[] = {
        {.id = 1, .type = TD_ORDER_STOP_LOSS, .side = TD_SIDE_NONE, .trigger_price = U},
        {.id = 1, .type = TD_ORDER_STOP_LOSS, .side = TD_SIDE_SELL, .trigger_price = 0},
        {.id = 1, .type = 0, .side = TD_SIDE_SELL, .trigger_price = U},
        {.id = 1, .type = TD_ORDER_TRAILING_STOP, .side = TD_SIDE_SELL, .callback_rate = 0},
        {.id = 1, .type = TD_ORDER_TRAILING_STOP, .side = TD_SIDE_BUY, .callback_rate = 100 * U},
        {.id = 1,
         .type = TD_ORDER_TRAILING_STOP,
         .side = TD_SIDE_BUY,
         .callback_rate = U,
         .activation_price = -1},
        {.id = 1,
         .type = TD_ORDER_TRAILING_STOP,
         .side = TD_SIDE_BUY,
         .callback_rate = U,
         .armed = 1,
         .extreme = 0},
    };
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++)
        assert_int_equal(td_oidx_add(x, &bad[i]), TD_EINVAL);
    const int64_t *ids;
    size_t n;
    assert_int_equal(td_oidx_on_price(x, 0, &ids, &n), TD_EINVAL);
    assert_total(x, 0);
    td_oidx_free(x);
}

/* A sell arms at 100 (price >= activation), tracks the high, and fires
 * at high × 0.99; a buy mirrors it.  Arming never fires on its own tick. */
static void trailing_activation(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    add_trailing(x, 1, TD_SIDE_SELL, 1 * U, 100 * U);
    add_trailing(x, 2, TD_SIDE_BUY, 1 * U, 50 * U);
    td_oidx_counts c;
    tick_expect(x, 60 * U, NONE);
    tick_expect(x, 40 * U, NONE);       /* 40 <= 50: the buy arms, low 40 */
    tick_expect(x, 99 * U, I(2), NONE); /* 99 >= 40.4: the buy fires; the sell waits */
    td_oidx_count(x, &c);
    assert_int_equal(c.trailing_unarmed, 1);
    assert_int_equal(c.trailing_armed, 0);
    tick_expect(x, 100 * U, NONE); /* arms */
    td_oidx_count(x, &c);
    assert_int_equal(c.trailing_armed, 1);
    tick_expect(x, 99 * U, I(1), NONE); /* 100 × 0.99 */

    /* A tiny price where the rounded trigger equals the price: 3e-8 × 0.99
     * rounds to 3e-8.  It arms at 3e-8 without firing, fires on the next tick. */
    add_trailing(x, 3, TD_SIDE_SELL, 1 * U, 3);
    tick_expect(x, 3, NONE);
    tick_expect(x, 3, I(3), NONE);
    /* No activation price: armed by the first tick, which sets the high. */
    add_trailing(x, 4, TD_SIDE_BUY, 2 * U, 0);
    tick_expect(x, 100 * U, NONE);
    tick_expect(x, 102 * U - 1, NONE);
    tick_expect(x, 102 * U, I(4), NONE);
    td_oidx_free(x);
}

/* A new high, then a retrace of exactly the callback fires; a retrace one
 * unit (1e-8) short does not.  Many orders, several levels, both sides. */
static void retrace_exactly(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    add_armed(x, 1, TD_SIDE_SELL, 5 * U, 100 * U);
    add_armed(x, 2, TD_SIDE_SELL, 1 * U, 100 * U);
    add_armed(x, 3, TD_SIDE_SELL, 10 * U, 120 * U);
    tick_expect(x, 110 * U, NONE);           /* high 110 for 1 and 2; 3 stays at 120 */
    tick_expect(x, 1089 * U / 10 + 1, NONE); /* 2: 110 × 0.99 = 108.9 */
    tick_expect(x, 1089 * U / 10, I(2), NONE);
    tick_expect(x, 108 * U + 1, NONE); /* 3: 120 × 0.90 = 108 */
    tick_expect(x, 108 * U, I(3), NONE);
    tick_expect(x, 1045 * U / 10 + 1, NONE); /* 1: 110 × 0.95 = 104.5 */
    tick_expect(x, 1045 * U / 10, I(1), NONE);
    /* A buy mirrors it: a new low of 90, fires at 90.9. */
    td_oidx_free(x);
    x = fresh();
    add_armed(x, 4, TD_SIDE_BUY, 1 * U, 100 * U);
    tick_expect(x, 90 * U, NONE);
    tick_expect(x, 909 * U / 10 - 1, NONE);
    tick_expect(x, 909 * U / 10, I(4), NONE);
    td_oidx_free(x);
}

/*
 * Binance spot API's trailing-stop FAQ, the scenarios PRODUCT.md's rules
 * can express (a trailing sell arms at or above its activation price, a
 * buy at or below; the FAQ's scenarios A and B arm the other way round,
 * which PRODUCT.md has no order for).  Paths are the FAQ's turning points
 * with the "linear trades" between them stepped through.
 */
static void walk(td_oidx *x, const td_dec *turns, size_t nturns, td_dec step, int64_t fires_id,
                 td_dec fires_at)
{
    td_dec p = turns[0];
    int fired = 0;
    for (size_t k = 1; k < nturns && !fired; k++) {
        while (p != turns[k] && !fired) {
            td_dec next = turns[k] > p ? p + step : p - step;
            if ((turns[k] > p && next > turns[k]) || (turns[k] < p && next < turns[k]))
                next = turns[k];
            p = next;
            const int64_t *ids;
            size_t n;
            assert_int_equal(td_oidx_on_price(x, p, &ids, &n), TD_OK);
            if (n) {
                assert_int_equal(n, 1);
                assert_int_equal(ids[0], fires_id);
                assert_int_equal(p, fires_at);
                fired = 1;
            }
        }
    }
    assert_true(fired);
}

static void binance_faq(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    /* C: take-profit buy, stop price 38,000, 8.5 %, placed at 40,000:
     * 42,000, down to 37,000 (armed at 38,000), 39,000, 38,000, fires at
     * 37,000 × 1.085 = 40,145. */
    add_trailing(x, 1, TD_SIDE_BUY, 85 * U / 10, 38000 * U);
    const td_dec c[] = {40000 * U, 42000 * U, 37000 * U, 39000 * U, 38000 * U, 41000 * U};
    walk(x, c, TD_ARRAY_LEN(c), 5 * U, 1, 40145 * U);

    /* D: take-profit sell, stop price 42,000, 7.5 %: 41,500, 39,000, up to
     * 45,000 (armed at 42,000), 44,000, 46,500, fires at 46,500 × 0.925 =
     * 43,012.5. */
    add_trailing(x, 2, TD_SIDE_SELL, 75 * U / 10, 42000 * U);
    const td_dec d[] = {40000 * U, 41500 * U, 39000 * U, 45000 * U,
                        44000 * U, 46500 * U, 43000 * U};
    walk(x, d, TD_ARRAY_LEN(d), U / 2, 2, 430125 * U / 10);

    /* E: no stop price, 7 %, placed at 40,000: 42,000, 39,500, 45,500,
     * fires at 45,500 × 0.93 = 42,315. */
    add_trailing(x, 3, TD_SIDE_SELL, 7 * U, 0);
    const td_dec e[] = {40000 * U - 5 * U, 42000 * U, 39500 * U, 45500 * U, 42000 * U};
    walk(x, e, TD_ARRAY_LEN(e), 5 * U, 3, 42315 * U);
    td_oidx_free(x);
}

/* The engine persists what take_moved() reports; an index rebuilt from
 * those rows fires the same order at the same tick (the high is at most
 * step_bp behind: here it was reported exactly). */
static void restart_resumes(void **state)
{
    (void)state;
    td_oidx_cfg cfg = {.step_bp = 10, .max_age_ms = 1000};
    td_oidx *x = td_oidx_new(&cfg);
    add_trailing(x, 7, TD_SIDE_SELL, 2 * U, 100 * U);
    td_oidx_moved mv[4];
    tick_expect(x, 100 * U, NONE); /* arms at 100 */
    assert_int_equal(td_oidx_take_moved(x, 0, mv, 4), 1);
    assert_int_equal(mv[0].id, 7);
    assert_int_equal(mv[0].extreme, 100 * U);
    assert_int_equal(td_oidx_take_moved(x, 1, mv, 4), 0);
    tick_expect(x, 1000999 * U / 10000, NONE); /* 100.0999: under 0.1 % */
    assert_int_equal(td_oidx_take_moved(x, 2, mv, 4), 0);
    assert_int_equal(td_oidx_take_moved(x, 1000, mv, 4), 1); /* but a second old */
    assert_int_equal(mv[0].extreme, 1000999 * U / 10000);
    tick_expect(x, 1001998 * U / 10000, NONE); /* +0.0999 %: not yet */
    assert_int_equal(td_oidx_take_moved(x, 1001, mv, 4), 0);
    tick_expect(x, 1002 * U / 10, NONE); /* 100.2 >= 100.0999 × 1.001 */
    assert_int_equal(td_oidx_take_moved(x, 1002, mv, 4), 1);
    assert_int_equal(mv[0].extreme, 1002 * U / 10);

    /* The engine dies; the next one loads the order as persisted. */
    td_oidx *y = td_oidx_new(&cfg);
    add_armed(y, 7, TD_SIDE_SELL, 2 * U, mv[0].extreme);
    const td_dec path[] = {100 * U, 99 * U, 98197 * U / 1000, 98196 * U / 1000};
    for (size_t i = 0; i < TD_ARRAY_LEN(path); i++) {
        const int64_t *a, *b;
        size_t na, nb;
        assert_int_equal(td_oidx_on_price(x, path[i], &a, &na), TD_OK);
        assert_int_equal(td_oidx_on_price(y, path[i], &b, &nb), TD_OK);
        assert_int_equal(na, nb);
        assert_int_equal(na, i == 3); /* 100.2 × 0.98 = 98.196 */
    }
    td_oidx_free(x);
    td_oidx_free(y);
}

/* A report larger than the caller's buffer comes in several calls. */
static void moved_in_pieces(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    for (int i = 1; i <= 10; i++)
        add_trailing(x, i, i % 2 ? TD_SIDE_SELL : TD_SIDE_BUY, (i % 3 + 1) * U, 0);
    tick_expect(x, 100 * U, NONE); /* all arm at 100 */
    td_oidx_moved mv[3];
    size_t total = 0, k;
    assert_int_equal(td_oidx_take_moved(x, 0, mv, 0), 0);
    while ((k = td_oidx_take_moved(x, 0, mv, 3)) > 0) {
        for (size_t i = 0; i < k; i++)
            assert_int_equal(mv[i].extreme, 100 * U);
        total += k;
    }
    assert_int_equal(total, 10);
    tick_expect(x, 1001 * U / 10, NONE); /* sells: +0.1 %, due; buys: unchanged */
    total = 0;
    while ((k = td_oidx_take_moved(x, 1, mv, 3)) > 0)
        total += k;
    assert_int_equal(total, 5);
    td_oidx_free(x);
}

/* The sweep finds nothing the index missed, and fires what on_price would. */
static void sweep_agrees(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    add_fixed(x, 1, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 100 * U);
    add_trailing(x, 2, TD_SIDE_SELL, 1 * U, 0);
    const int64_t *ids;
    size_t n, missed;
    assert_int_equal(td_oidx_sweep(x, 110 * U, &ids, &n, &missed), TD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(missed, 0);
    assert_int_equal(td_oidx_sweep(x, 100 * U, &ids, &n, &missed), TD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(missed, 0);
    td_oidx_free(x);
}

/* A whole round of td_oidx_check, in slices of budget orders. */
static size_t check_round(td_oidx *x, uint32_t budget)
{
    uint32_t cursor = 0;
    size_t due = 0;
    int done = 0;
    for (int slices = 0; !done; slices++) {
        assert_true(slices < 1000000);
        due += td_oidx_check(x, &cursor, budget, &done);
    }
    assert_int_equal(cursor, 0);
    return due;
}

/* The sliced check sees what is due at the last tick's price and nothing
 * else: an order of each kind added after the tick, due at its price, is
 * found whatever the slice, and once the sweep fired or armed it the
 * round is clean again. */
static void check_finds_what_is_due(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    uint32_t cursor = 0;
    int done = 0;
    assert_int_equal(td_oidx_check(x, &cursor, 10, &done), 0); /* no tick yet */
    assert_true(done);
    for (int64_t i = 0; i < 100; i++) /* far from any price below */
        add_fixed(x, 100 + i, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, (10 + i) * U);
    add_trailing(x, 300, TD_SIDE_SELL, 1 * U, 500 * U);
    add_armed(x, 301, TD_SIDE_SELL, 1 * U, 151 * U); /* fires at 149.49 */
    const int64_t *ids;
    size_t n, missed;
    assert_int_equal(td_oidx_on_price(x, 150 * U, &ids, &n), TD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(check_round(x, 7), 0);
    assert_int_equal(check_round(x, 1000), 0);

    add_fixed(x, 1, TD_ORDER_STOP_LOSS, TD_SIDE_SELL, 150 * U); /* fires at 150 */
    add_fixed(x, 2, TD_ORDER_TAKE_PROFIT, TD_SIDE_SELL, 149 * U);
    add_trailing(x, 3, TD_SIDE_SELL, 1 * U, 140 * U);   /* arms at 150 */
    add_armed(x, 4, TD_SIDE_SELL, 1 * U, 160 * U);      /* 160 - 1 % = 158.4: fires */
    add_armed(x, 5, TD_SIDE_BUY, 1 * U, 140 * U);       /* 140 + 1 % = 141.4: fires */
    assert_int_equal(check_round(x, 3), 5);
    assert_int_equal(check_round(x, 1), 5);
    assert_int_equal(check_round(x, 100000), 5);

    assert_int_equal(td_oidx_sweep(x, 150 * U, &ids, &n, &missed), TD_OK);
    assert_int_equal(n, 4); /* 1, 2, 4, 5 fire; 3 arms */
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[3], 5);
    assert_int_equal(check_round(x, 5), 0);
    assert_total(x, 103);
    td_oidx_free(x);
}

/* ---- randomized differential test against a brute-force model ---- */

typedef struct model_order {
    td_oidx_order o;
    int live;
    int reported; /* its extreme was persisted (or it was loaded armed) */
    td_dec rep;   /* as rep at rep_ms */
    int64_t rep_ms;
} model_order;

static const td_oidx_cfg DIFF_CFG = {.step_bp = 10, .max_age_ms = 500};

/* order_index.h's rule for persisting an extreme, written out again. */
static int model_due(const model_order *m, int64_t now)
{
    const td_oidx_order *o = &m->o;
    if (!m->live || !o->armed || (m->reported && o->extreme == m->rep))
        return 0;
    if (!m->reported)
        return 1;
    __int128 d = (__int128)o->extreme - m->rep;
    if ((d < 0 ? -d : d) * 10000 >= (__int128)m->rep * DIFF_CFG.step_bp)
        return 1;
    return now - m->rep_ms >= DIFF_CFG.max_age_ms;
}

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* trigger.h applied to every order: what one tick at p fires. */
static size_t model_tick(model_order *m, size_t nm, td_dec p, int64_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < nm; i++) {
        td_oidx_order *o = &m[i].o;
        if (!m[i].live)
            continue;
        if (o->type != TD_ORDER_TRAILING_STOP) {
            if (td_trigger_fires(o->type, o->side, o->trigger_price, p)) {
                out[k++] = o->id;
                m[i].live = 0;
            }
        } else if (o->armed) {
            o->extreme = td_trailing_extreme(o->side, o->extreme, p);
            if (td_trailing_fires(o->side, o->extreme, o->callback_rate, p)) {
                out[k++] = o->id;
                m[i].live = 0;
            }
        } else if (td_trailing_arms(o->side, o->activation_price, p)) {
            o->armed = 1; /* fires from the next tick on */
            o->extreme = p;
            m[i].reported = 0;
        }
    }
    qsort(out, k, sizeof *out, cmp_id);
    return k;
}

static void model_count(const model_order *m, size_t nm, td_oidx_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < nm; i++) {
        if (!m[i].live)
            continue;
        c->total++;
        if (m[i].o.type == TD_ORDER_STOP_LOSS)
            c->stop_loss++;
        else if (m[i].o.type == TD_ORDER_TAKE_PROFIT)
            c->take_profit++;
        else if (m[i].o.armed)
            c->trailing_armed++;
        else
            c->trailing_unarmed++;
    }
}

#define NMAX 3000

/* base: the price scale (tiny prices exercise the rounding of the
 * trailing trigger onto the price itself); calm: small steps and few
 * jumps, so orders pile up (many levels, the mass cancels rebuild them). */
static void differential(uint64_t seed, td_dec base, int ticks, int calm)
{
    static model_order m[NMAX];
    static int64_t want[NMAX];
    size_t nm = 0;
    int64_t next_id = 1;
    rng = seed;
    td_oidx *x = td_oidx_new(&DIFF_CFG);
    td_dec p = base;
    /* A handful of rates so levels share them, plus any. */
    const td_dec rates[] = {U / 10, U / 2, U, 2 * U, 5 * U, 10 * U};
    for (int t = 0; t < ticks; t++) {
        /* Adds, on the price's either side (and some exactly on it). */
        int adds = (int)rnd_in(0, nm < NMAX / 2 ? 8 : 2);
        for (int a = 0; a < adds && nm < NMAX; a++) {
            td_oidx_order o = {.id = next_id++};
            int kind = (int)rnd_in(0, 3);
            o.side = rnd() & 1 ? TD_SIDE_BUY : TD_SIDE_SELL;
            td_dec off = rnd_in(0, base / 10 + 2);
            if (kind < 2) {
                o.type = kind ? TD_ORDER_TAKE_PROFIT : TD_ORDER_STOP_LOSS;
                o.trigger_price = rnd() & 1 ? p + off : p - off;
                if (o.trigger_price <= 0)
                    o.trigger_price = 1;
            } else {
                o.type = TD_ORDER_TRAILING_STOP;
                o.callback_rate =
                    rnd() % 3 ? rates[rnd() % TD_ARRAY_LEN(rates)] : rnd_in(1, 20 * U);
                if (kind == 3) { /* resumed from PostgreSQL: armed */
                    o.armed = 1;
                    o.extreme = p + rnd_in(-off, off);
                    if (o.extreme <= 0)
                        o.extreme = 1;
                } else if (rnd() % 3) {
                    o.activation_price = rnd() & 1 ? p + off : p - off;
                    if (o.activation_price < 0)
                        o.activation_price = 0;
                }
            }
            assert_int_equal(td_oidx_add(x, &o), TD_OK);
            m[nm++] = (model_order){.o = o, .live = 1, .reported = o.armed, .rep = o.extreme};
        }
        /* Removals (cancel, expiry). */
        int rems = (int)rnd_in(0, 3);
        for (int r = 0; r < rems && nm; r++) {
            size_t i = (size_t)rnd_in(0, (int64_t)nm - 1);
            assert_int_equal(td_oidx_remove(x, m[i].o.id), m[i].live ? TD_OK : TD_ENOTFOUND);
            m[i].live = 0;
        }
        /* Now and then a mass cancel of armed trailing stops (the index
         * then rebuilds its levels without them). */
        if (t % 100 == 50)
            for (size_t i = 0; i < nm; i++)
                if (m[i].live && m[i].o.armed && i % 4) {
                    assert_int_equal(td_oidx_remove(x, m[i].o.id), TD_OK);
                    m[i].live = 0;
                }
        /* The next price: a step, a gap, a repeat, or exactly some order's
         * trigger (or trailing trigger, or that plus or minus one unit). */
        int how = (int)rnd_in(0, 9);
        td_dec step = calm ? base / 20000 : base / 500, gap = calm ? base / 500 : base / 20;
        if (calm && how >= 6 && rnd() % 8)
            how = 0;
        if (how < 4)
            p += rnd_in(-step - 1, step + 1);
        else if (how == 4)
            p += rnd_in(-gap - 1, gap + 1);
        else if (how >= 6 && nm) {
            const td_oidx_order *o = &m[rnd_in(0, (int64_t)nm - 1)].o;
            td_dec tt = p;
            if (o->type != TD_ORDER_TRAILING_STOP)
                tt = o->trigger_price;
            else if (o->armed)
                td_trailing_trigger(o->side, o->extreme, o->callback_rate, &tt);
            else if (o->activation_price)
                tt = o->activation_price;
            p = tt + (how == 9 ? rnd_in(-1, 1) : 0);
        }
        if (p < 1)
            p = 1;
        if (p > 1000 * base)
            p = 1000 * base;
        size_t nw = model_tick(m, nm, p, want);
        const int64_t *got;
        size_t ng, missed = 0;
        if (t % 7 == 3)
            assert_int_equal(td_oidx_sweep(x, p, &got, &ng, &missed), TD_OK);
        else
            assert_int_equal(td_oidx_on_price(x, p, &got, &ng), TD_OK);
        assert_int_equal(missed, 0);
        if (t % 11 == 5) /* the sliced check agrees: nothing due after a tick */
            assert_int_equal(check_round(x, 1 + (uint32_t)(t % 13)), 0);
        assert_int_equal(ng, nw);
        for (size_t i = 0; i < nw; i++)
            assert_int_equal(got[i], want[i]);
        td_oidx_counts c, mc;
        td_oidx_count(x, &c);
        model_count(m, nm, &mc);
        assert_memory_equal(&c, &mc, sizeof c);

        /* Now and then the extremes due for persistence are reported (all
         * of them, a few at a time), and now and then the engine restarts
         * from them. */
        if (t % 10 == 9) {
            static td_oidx_moved mv[7];
            int64_t now = t;
            size_t due = 0, reported = 0, k;
            for (size_t j = 0; j < nm; j++)
                due += (size_t)model_due(&m[j], now);
            while ((k = td_oidx_take_moved(x, now, mv, TD_ARRAY_LEN(mv))) > 0) {
                for (size_t i = 0; i < k; i++) {
                    size_t j = 0;
                    while (j < nm && !(m[j].live && m[j].o.id == mv[i].id))
                        j++;
                    assert_true(j < nm);
                    assert_true(model_due(&m[j], now));
                    assert_int_equal(mv[i].extreme, m[j].o.extreme);
                    m[j].reported = 1;
                    m[j].rep = m[j].o.extreme;
                    m[j].rep_ms = now;
                }
                reported += k;
            }
            assert_int_equal(reported, due);
        }
        if (t % 400 == 399) {
            td_oidx_free(x);
            x = td_oidx_new(&DIFF_CFG);
            for (size_t i = 0; i < nm; i++)
                if (m[i].live) {
                    assert_int_equal(td_oidx_add(x, &m[i].o), TD_OK);
                    m[i].reported = m[i].o.armed;
                    m[i].rep = m[i].o.extreme;
                    m[i].rep_ms = 0;
                }
        }
        /* Keep the model small: forget dead orders. */
        if (nm == NMAX) {
            size_t w = 0;
            for (size_t i = 0; i < nm; i++)
                if (m[i].live)
                    m[w++] = m[i];
            nm = w;
        }
    }
    td_oidx_free(x);
}

static void differential_prices(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 8; s++)
        differential(s * 0x9E3779B97F4A7C15u, 100 * U, 5000, 0);
}

static void differential_calm(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 4; s++)
        differential(s * 0xBF58476D1CE4E5B9u, 100 * U, 5000, 1);
}

static void differential_tiny_prices(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 4; s++)
        differential(s * 0xD1B54A32D192ED03u, 400, 5000, 0);
}

/* Many removals of armed trailing stops that never fire: the dropped
 * nodes are reclaimed (the index rebuilds its levels). */
static void lazy_removal_compacts(void **state)
{
    (void)state;
    td_oidx *x = fresh();
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 500; i++)
            add_armed(x, round * 1000 + i, TD_SIDE_SELL, (i % 10 + 1) * U, (100 + i % 7) * U);
        for (int i = 0; i < 500; i++)
            assert_int_equal(td_oidx_remove(x, round * 1000 + i), TD_OK);
        tick_expect(x, 110 * U, NONE);
    }
    assert_total(x, 0);
    add_armed(x, 1, TD_SIDE_SELL, U, 100 * U);
    tick_expect(x, 99 * U, I(1), NONE);
    td_oidx_free(x);
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equality_fires),
        cmocka_unit_test(gap_fires_all_once),
        cmocka_unit_test(other_direction_never),
        cmocka_unit_test(removal),
        cmocka_unit_test(refuses_bad_orders),
        cmocka_unit_test(trailing_activation),
        cmocka_unit_test(retrace_exactly),
        cmocka_unit_test(binance_faq),
        cmocka_unit_test(restart_resumes),
        cmocka_unit_test(moved_in_pieces),
        cmocka_unit_test(sweep_agrees),
        cmocka_unit_test(check_finds_what_is_due),
        cmocka_unit_test(differential_prices),
        cmocka_unit_test(differential_calm),
        cmocka_unit_test(differential_tiny_prices),
        cmocka_unit_test(lazy_removal_compacts),
    };
    /* clang-format on */
    return cmocka_run_group_tests_name("order_index", tests, NULL, NULL);
}
