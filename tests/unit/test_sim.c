/*
 * test_sim.c - the simulator feed: deterministic for a seed, steps on its
 * own clock only, prices positive and within the step bound, events well
 * formed (canonical symbols, book around the price, trades at bid or ask).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "engine/feeds/sim.h"

static const char *const SYMS[] = {"BTC-USDT", "ETH-USDT", "SOL-USDT"};
static const td_dec START[] = {6500000000000LL, 350000000000LL, 15000000000LL};

static void deterministic_and_bounded(void **state)
{
    (void)state;
    td_sim a, b;
    assert_int_equal(td_sim_init(&a, 42, 100, SYMS, START, 3), TD_OK);
    assert_int_equal(td_sim_init(&b, 42, 100, SYMS, START, 3), TD_OK);
    td_market_event ea[16], eb[16];
    int64_t now = 1000000;
    size_t trades = 0, tickers = 0;
    td_dec prev[3];
    memcpy(prev, START, sizeof prev);
    for (int step = 0; step < 2000; step++, now += 100) {
        size_t na = td_sim_step(&a, now, ea, 16), nb = td_sim_step(&b, now, eb, 16);
        assert_int_equal(na, nb);
        assert_memory_equal(ea, eb, na * sizeof ea[0]);
        assert_true(na >= 3);
        for (size_t i = 0; i < na; i++) {
            const td_market_event *e = &ea[i];
            assert_true(td_symbol_valid(e->symbol));
            assert_int_equal(e->event_ms, now);
            if (e->kind == TD_MKT_TICKER) {
                int k = strcmp(e->symbol, "BTC-USDT") == 0   ? 0
                        : strcmp(e->symbol, "ETH-USDT") == 0 ? 1
                                                             : 2;
                tickers++;
                assert_true(e->price > 0);
                assert_true(e->bid < e->price && e->price < e->ask);
                /* At most 10 bp from the previous price (and a unit of rounding). */
                __int128 d = (__int128)e->price - prev[k];
                if (d < 0)
                    d = -d;
                assert_true(d * 10000 <= (__int128)prev[k] * 10 + 10000);
                prev[k] = e->price;
            } else {
                assert_int_equal(e->kind, TD_MKT_TRADE);
                trades++;
                assert_true(e->qty > 0);
                assert_true(e->trade_id[0] != '\0');
            }
        }
        /* Not due again before step_ms has passed. */
        assert_int_equal(td_sim_step(&a, now + 50, ea, 16), 0);
        assert_int_equal(td_sim_step(&b, now + 50, eb, 16), 0);
    }
    assert_int_equal(tickers, 6000);
    assert_true(trades > 1000 && trades < 3000); /* about one symbol in three */

    td_sim c;
    td_sim_init(&c, 43, 100, SYMS, START, 3);
    td_sim_step(&c, 1000000, ea, 16);
    td_sim_init(&a, 42, 100, SYMS, START, 3);
    td_sim_step(&a, 1000000, eb, 16);
    assert_true(ea[0].price != eb[0].price || ea[1].price != eb[1].price); /* seed matters */
}

static void bad_setup_is_refused(void **state)
{
    (void)state;
    td_sim s;
    const char *bad_sym[] = {"btc-usdt"};
    const td_dec one[] = {1}, zero[] = {0};
    assert_int_equal(td_sim_init(&s, 1, 100, bad_sym, one, 1), TD_EINVAL);
    assert_int_equal(td_sim_init(&s, 1, 100, SYMS, zero, 1), TD_EINVAL);
    assert_int_equal(td_sim_init(&s, 1, 0, SYMS, START, 1), TD_EINVAL);
    assert_int_equal(td_sim_init(&s, 1, 100, SYMS, START, 0), TD_EINVAL);
    /* A price of one unit never goes to zero. */
    assert_int_equal(td_sim_init(&s, 7, 1, SYMS, one, 1), TD_OK);
    td_market_event e[4];
    for (int i = 0; i < 1000; i++) {
        size_t n = td_sim_step(&s, 10 + i, e, 4);
        assert_true(n >= 1);
        assert_true(e[0].price > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deterministic_and_bounded),
        cmocka_unit_test(bad_setup_is_refused),
    };
    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
