/*
 * throttle.c - see throttle.h.
 */
#include "core/throttle.h"

#include <stdlib.h>
#include <string.h>

td_status td_throttle_init(td_throttle *t, int nkeys, int64_t every_ms)
{
    memset(t, 0, sizeof *t);
    t->every_ms = every_ms;
    t->nkeys = nkeys;
    size_t n = nkeys > 0 ? (size_t)nkeys : 1;
    t->written_ms = calloc(n, sizeof *t->written_ms);
    t->pending = calloc(n, 1);
    t->list = calloc(n, sizeof *t->list);
    return t->written_ms && t->pending && t->list ? TD_OK : TD_ENOMEM;
}

void td_throttle_free(td_throttle *t)
{
    free(t->written_ms);
    free(t->pending);
    free(t->list);
    memset(t, 0, sizeof *t);
}

int td_throttle_change(td_throttle *t, int k, int64_t now_ms)
{
    if (k < 0 || k >= t->nkeys || t->pending[k])
        return 0; /* already waiting: it goes out with its newest value */
    if (!t->written_ms[k] || now_ms - t->written_ms[k] >= t->every_ms) {
        t->written_ms[k] = now_ms;
        return 1;
    }
    t->pending[k] = 1;
    t->list[t->n++] = k;
    return 0;
}

size_t td_throttle_due(td_throttle *t, int64_t now_ms, int *out, size_t cap)
{
    size_t got = 0;
    int kept = 0;
    for (int i = 0; i < t->n; i++) {
        int k = t->list[i];
        if (got == cap || now_ms - t->written_ms[k] < t->every_ms) {
            t->list[kept++] = k;
            continue;
        }
        t->pending[k] = 0;
        t->written_ms[k] = now_ms;
        out[got++] = k;
    }
    t->n = kept;
    return got;
}

int64_t td_throttle_next_due(const td_throttle *t)
{
    int64_t first = INT64_MAX;
    for (int i = 0; i < t->n; i++) {
        int64_t at = t->written_ms[t->list[i]] + t->every_ms;
        if (at < first)
            first = at;
    }
    return first;
}

void td_throttle_reset(td_throttle *t)
{
    if (t->nkeys > 0)
        memset(t->written_ms, 0, (size_t)t->nkeys * sizeof *t->written_ms);
}
