/*
 * jsonw.h - a JSON writer straight into an arena buffer, for the responses
 * on the hot path (lists of positions, prices), where building a json-c
 * tree and serializing it costs several times the query.
 *
 * The writer tracks commas; callers emit keys and values in order:
 *   td_jw_obj(w); td_jw_key(w, "id"); td_jw_str(w, "17"); td_jw_end(w, '}');
 */
#ifndef TD_CORE_JSONW_H
#define TD_CORE_JSONW_H

#include "core/buf.h"
#include "domain/decimal.h"

typedef struct td_jw {
    td_arena *arena;
    td_buf *out;
    uint64_t first; /* bit d: the next item at depth d is the first */
    int depth;
    int after_key;
} td_jw;

void td_jw_init(td_jw *w, td_arena *a, td_buf *out);
void td_jw_obj(td_jw *w);
void td_jw_arr(td_jw *w);
void td_jw_end(td_jw *w, char closer);     /* '}' or ']' */
void td_jw_key(td_jw *w, const char *key); /* key must need no escaping */
void td_jw_str(td_jw *w, const char *s);   /* NULL writes null */
void td_jw_dec(td_jw *w, td_dec v);        /* "106562.08" */
void td_jw_int(td_jw *w, long long v);
void td_jw_bool(td_jw *w, int v);
/* A measurement (latency, ratio: never money) with `digits` decimals. */
void td_jw_fixed(td_jw *w, double v, int digits);
void td_jw_null(td_jw *w);
/* A value that is JSON already (one this system wrote, e.g. a trade the
 * engine stored in Redis), copied as is. */
void td_jw_raw(td_jw *w, const char *json, size_t n);
/* RFC 3339 UTC with milliseconds from milliseconds since the epoch. */
void td_jw_time_ms(td_jw *w, long long epoch_ms);
/* "updated_at", "age_ms" and "stale" of market data last updated at
 * updated_ms and age_ms old now: prices and tops of book say how fresh
 * they are the same way, over REST (against TRADEDESK_PRICE_STALE_MS) and
 * in the engine's pushes. */
void td_jw_freshness(td_jw *w, long long updated_ms, long long age_ms, int stale);

/* The one JSON string escape (the writer's and the log's): writes the
 * escape of byte c into esc ("\n", "\u0001") and returns its length, or
 * returns 0 when c stands for itself.  Bytes from 0x80 pass through. */
#define TD_JSON_ESC_MAX 6
size_t td_json_escape_byte(unsigned char c, char esc[TD_JSON_ESC_MAX + 1]);

#endif
