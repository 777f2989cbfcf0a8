/*
 * market.h - the engine's picture of the market: for every symbol, each
 * source's latest quote, the oracle's choice, the top of book, the candle
 * series and the recent trades; and what changed since it was last asked.
 *
 * Feed adapters hand events in (td_market_apply); a timer re-decides
 * staleness (td_market_tick); the publisher takes what changed (prices,
 * candles, trades) and writes it to PostgreSQL and Redis.  No I/O here and
 * no clock: callers pass the time.  One thread.
 */
#ifndef TD_ENGINE_MARKET_H
#define TD_ENGINE_MARKET_H

#include <stddef.h>

#include "domain/candle.h"
#include "domain/market.h"
#include "domain/oracle.h"

#define TD_MARKET_MAX_SYMBOLS 256
#define TD_MARKET_TRADES_KEPT 64 /* per symbol, for GET /trades and the stream's snapshot */

/* The oracle's answer for one symbol, as the publisher writes it. */
typedef struct td_price_update {
    char symbol[TD_SYMBOL_STR_MAX];
    td_dec price;
    int source;         /* index into the configured sources; -2 the median */
    int64_t updated_ms; /* when the quote behind it was received */
    int stale;
    int switched;
} td_price_update;

typedef struct td_candle_update {
    char symbol[TD_SYMBOL_STR_MAX];
    int interval; /* index into td_candle_interval_ms */
    td_candle bar;
    int closed; /* 1: final; 0: the bar still forming */
} td_candle_update;

typedef struct td_book_top {
    td_dec bid, bid_qty, ask, ask_qty;
    int source;
    int64_t updated_ms; /* 0: none yet */
} td_book_top;

typedef struct td_market_stats {
    uint64_t events, unknown_symbol, late, switches;
} td_market_stats;

typedef struct td_market td_market;

/* NULL on OOM or a bad symbol list.  cfg is copied. */
td_market *td_market_new(const td_oracle_cfg *cfg, const char *const *symbols, int n);
void td_market_free(td_market *m);

int td_market_nsymbols(const td_market *m);
const char *td_market_symbol(const td_market *m, int i);
int td_market_find(const td_market *m, const char *symbol); /* -1 when not traded here */

/* Continue a series from a bar an earlier run stored (the newest one not
 * closed): the next events extend it, and the intervals since are filled.
 * TD_ENOTFOUND / TD_EINVAL for an unknown symbol or interval. */
td_status td_market_resume(td_market *m, const char *symbol, int interval, const td_candle *bar);

/* An event from source `source` (its priority index), received at now.
 * TD_ENOTFOUND for a symbol not traded here (counted), TD_EINVAL for a bad
 * source index. */
td_status td_market_apply(td_market *m, int source, const td_market_event *e, int64_t now_ms);

/* Decide again at now: a price goes stale (or falls back) without any
 * event arriving, and candles roll over empty minutes.  Call on a timer. */
void td_market_tick(td_market *m, int64_t now_ms);

/* What changed since the last call, at most cap of each; the rest stays
 * for the next call.  Prices: one entry per symbol whose price, source or
 * staleness changed.  Candles: every bar that closed (gap bars included),
 * then each forming bar that moved. */
size_t td_market_take_prices(td_market *m, td_price_update *out, size_t cap);
size_t td_market_take_candles(td_market *m, td_candle_update *out, size_t cap);
/* The same in slices, one scan of the forming bars over several calls:
 * *cursor 0 starts it, each call goes on from where the last one stopped
 * (a bar that moves again behind the cursor waits for the next scan), and
 * *cursor is -1 once the scan reached the last symbol. */
size_t td_market_take_candles_from(td_market *m, int *cursor, td_candle_update *out, size_t cap);
/* New trades of the chosen source since the last call, oldest first. */
size_t td_market_take_trades(td_market *m, td_market_event *out, size_t cap);

/* New staleness and deviation limits (SIGHUP), applied from the next
 * decision on; the sources and the mode stay as created. */
void td_market_set_oracle(td_market *m, int64_t stale_ms, int64_t max_deviation_bp);

/* Every change of a symbol's chosen price while it is fresh, as it is
 * decided (inside td_market_apply or td_market_tick): the order monitor's
 * ticks.  One listener; NULL stops. */
typedef void (*td_market_price_fn)(void *arg, int symbol, td_dec price, int64_t now_ms);
void td_market_on_price(td_market *m, td_market_price_fn fn, void *arg);

/* Every event applied to a traded symbol, once the oracle and the book
 * have taken it (inside td_market_apply): the market alerts' input
 * (engine/alerts.c).  One listener; NULL stops.  Must not block. */
typedef void (*td_market_event_fn)(void *arg, int symbol, const td_market_event *e,
                                   int64_t now_ms);
void td_market_on_event(td_market *m, td_market_event_fn fn, void *arg);
/* Symbol i's latest quote of each source, and the oracle's settings, as
 * the oracle judges them (NULL out of range). */
const td_oracle_symbol *td_market_quotes(const td_market *m, int i);
const td_oracle_cfg *td_market_oracle_cfg(const td_market *m);

/* Symbols (indexes) whose top of book changed since the last call. */
size_t td_market_take_books(td_market *m, int *out, size_t cap);
/* The oracle's current answer for symbol i; 0 when it has none yet. */
int td_market_price(const td_market *m, int i, td_price_update *out);

const td_book_top *td_market_book(const td_market *m, int i);
/* The kept trades of symbol i, newest first; returns how many. */
size_t td_market_recent_trades(const td_market *m, int i, td_market_event *out, size_t cap);
td_market_stats td_market_stats_get(const td_market *m);

#endif
