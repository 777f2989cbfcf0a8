/*
 * throttle.h - at most one write per key every `every_ms`, the newest
 * value last: for keys that hold a latest value (the engine's td:px:<sym>
 * and td:book:<sym>), where every change is announced but the stored copy
 * need not be rewritten for each.
 *
 * td_throttle_change says whether to write a changed key now; when not,
 * the key is remembered and td_throttle_due hands it out once its time has
 * come (the caller then writes the key's newest value).  Pure: the clock is
 * the caller's.
 */
#ifndef TD_CORE_THROTTLE_H
#define TD_CORE_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/td.h"

typedef struct td_throttle {
    int64_t every_ms;
    int64_t *written_ms; /* per key: its last write (0: never) */
    uint8_t *pending;    /* per key: changed since its last write */
    int *list, n;        /* the pending keys */
    int nkeys;
} td_throttle;

/* nkeys keys 0 .. nkeys-1.  TD_ENOMEM; td_throttle_free either way. */
td_status td_throttle_init(td_throttle *t, int nkeys, int64_t every_ms);
void td_throttle_free(td_throttle *t);

/* Key k changed at now_ms: 1 when it should be written now (counted as
 * written), 0 when it waits for td_throttle_due. */
int td_throttle_change(td_throttle *t, int k, int64_t now_ms);

/* The pending keys whose time has come, at most cap of them, into out
 * (each counted as written now); how many. */
size_t td_throttle_due(td_throttle *t, int64_t now_ms, int *out, size_t cap);

/* When the first pending key comes due (now_ms of a td_throttle_due that
 * would hand it out); INT64_MAX when none is pending.  O(pending keys). */
int64_t td_throttle_next_due(const td_throttle *t);

/* Forget every write (a new connection: every key is written again at its
 * next change). */
void td_throttle_reset(td_throttle *t);

#endif
