/*
 * sim.h - the offline market: a seeded random walk per symbol with a top
 * of book and trades, the default feed of `make run` (TRADEDESK_FEEDS=sim).
 *
 * Deterministic: the same seed and the same sequence of `now` values give
 * the same events, so tests can assert on them.  Pure: no I/O, no clock
 * (the engine's timer passes now), no allocation.  Prices stay positive
 * and move at most max_step_bp per step.
 */
#ifndef TD_ENGINE_SIM_H
#define TD_ENGINE_SIM_H

#include <stddef.h>

#include "domain/market.h"

#define TD_SIM_MAX_SYMBOLS 32

typedef struct td_sim {
    uint64_t rng;
    int n;
    int64_t step_ms; /* one step per symbol every step_ms */
    int64_t next_ms; /* when the next step is due (0: at the first call) */
    int max_step_bp; /* largest move per step, basis points */
    int64_t trade_seq;
    struct {
        char symbol[TD_SYMBOL_STR_MAX];
        td_dec price;
    } s[TD_SIM_MAX_SYMBOLS];
} td_sim;

/* TD_EINVAL for a non-canonical symbol, a price <= 0 or too many symbols. */
td_status td_sim_init(td_sim *sim, uint64_t seed, int64_t step_ms, const char *const *symbols,
                      const td_dec *start, int n);

/* The events due at now (a ticker with the top of book per symbol, and a
 * trade for about one symbol in three), at most cap; 0 before the next
 * step is due.  When the caller fell behind, one step is taken, not many. */
size_t td_sim_step(td_sim *sim, int64_t now_ms, td_market_event *out, size_t cap);

#endif
