/*
 * gcra.h - the generic cell rate algorithm on one key, in pure C (no I/O).
 *
 * The same arithmetic as the Lua script in api/ratelimit.c, used by a worker
 * on its own when Redis cannot answer, so a Redis outage loosens the login
 * limit (to per worker) instead of lifting it.
 */
#ifndef TD_GCRA_H
#define TD_GCRA_H

#include <stdint.h>

typedef struct td_gcra_result {
    int allowed;
    int64_t retry_ms; /* when refused: until the next request may pass */
    int64_t reset_ms; /* until the key is fully replenished */
    int remaining;    /* requests still allowed at once */
    int limit;        /* burst + 1 */
} td_gcra_result;

/* The time is kept in whole milliseconds, so a rate is at most this many
 * per minute (one per millisecond); a higher one counts as this. */
#define TD_GCRA_MAX_PER_MINUTE 60000

/* The emission interval of a rate, ms: 60000 / per_minute, at least 1. */
int64_t td_gcra_interval_ms(int per_minute);

/* *tat is the key's theoretical arrival time in ms (0 for a new key); it is
 * advanced only when the request is allowed. */
td_gcra_result td_gcra_check(int64_t *tat, int64_t now_ms, int per_minute, int burst);

/* Give back one request that td_gcra_check allowed (a login that turned out
 * to succeed, when only failures count): *tat moves back by one emission
 * interval, to 0 (a fresh key) when that is not after now_ms. */
void td_gcra_refund(int64_t *tat, int64_t now_ms, int per_minute);

#endif
