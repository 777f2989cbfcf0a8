/*
 * sim.c - the seeded random walk behind TRADEDESK_FEEDS=sim; see sim.h.
 * Pure: integer arithmetic on td_dec, a xorshift generator, no I/O.
 */
#include "engine/feeds/sim.h"

#include <stdio.h>
#include <string.h>

static uint64_t next(td_sim *sim)
{
    uint64_t x = sim->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return sim->rng = x;
}

td_status td_sim_init(td_sim *sim, uint64_t seed, int64_t step_ms, const char *const *symbols,
                      const td_dec *start, int n)
{
    if (n < 1 || n > TD_SIM_MAX_SYMBOLS || step_ms < 1)
        return TD_EINVAL;
    memset(sim, 0, sizeof *sim);
    sim->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
    sim->step_ms = step_ms;
    sim->max_step_bp = 10;
    sim->n = n;
    for (int i = 0; i < n; i++) {
        if (!td_symbol_valid(symbols[i]) || start[i] <= 0)
            return TD_EINVAL;
        snprintf(sim->s[i].symbol, sizeof sim->s[i].symbol, "%s", symbols[i]);
        sim->s[i].price = start[i];
    }
    return TD_OK;
}

/* price * (1 + bp / 10000), exactly in 1e-8 units (rounded half away). */
static td_dec moved(td_dec price, int bp)
{
    td_dec factor = TD_DEC_SCALE + (td_dec)bp * (TD_DEC_SCALE / 10000), out;
    if (td_dec_mul(price, factor, &out) != TD_OK || out <= 0)
        return price;
    return out;
}

size_t td_sim_step(td_sim *sim, int64_t now_ms, td_market_event *out, size_t cap)
{
    if (sim->next_ms && now_ms < sim->next_ms)
        return 0;
    sim->next_ms = now_ms + sim->step_ms;
    size_t k = 0;
    for (int i = 0; i < sim->n && k < cap; i++) {
        int span = 2 * sim->max_step_bp + 1;
        int bp = (int)(next(sim) % (uint64_t)span) - sim->max_step_bp;
        sim->s[i].price = moved(sim->s[i].price, bp);
        td_dec p = sim->s[i].price;
        td_dec half_spread = p / 20000 > 0 ? p / 20000 : 1; /* 1 bp wide */

        td_market_event *e = &out[k++];
        memset(e, 0, sizeof *e);
        e->kind = TD_MKT_TICKER;
        memcpy(e->symbol, sim->s[i].symbol, sizeof e->symbol);
        e->event_ms = now_ms;
        e->price = p;
        e->has_book = 1;
        e->bid = p - half_spread > 0 ? p - half_spread : p;
        e->ask = p + half_spread;
        e->bid_qty = (td_dec)(next(sim) % 500 + 1) * (TD_DEC_SCALE / 100);
        e->ask_qty = (td_dec)(next(sim) % 500 + 1) * (TD_DEC_SCALE / 100);

        if (next(sim) % 3 == 0 && k < cap) {
            td_market_event *t = &out[k++];
            memset(t, 0, sizeof *t);
            t->kind = TD_MKT_TRADE;
            memcpy(t->symbol, sim->s[i].symbol, sizeof t->symbol);
            t->event_ms = now_ms;
            t->side = bp >= 0 ? TD_SIDE_BUY : TD_SIDE_SELL;
            t->price = t->side == TD_SIDE_BUY ? e->ask : e->bid;
            t->qty = (td_dec)(next(sim) % 100000 + 1) * 1000; /* 0.00001 .. 1 */
            snprintf(t->trade_id, sizeof t->trade_id, "sim-%lld", (long long)++sim->trade_seq);
        }
    }
    return k;
}
