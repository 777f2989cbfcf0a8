/*
 * gcra.c - GCRA on one key; see gcra.h.  No I/O here.
 *
 * Emission interval T = 60000/rate ms, tolerance tau = T*burst: a request
 * at `now` passes when TAT - now <= tau, and moves TAT to max(TAT, now) + T.
 * A refund moves TAT back by T.
 */
#include "domain/gcra.h"

int64_t td_gcra_interval_ms(int per_minute)
{
    if (per_minute < 1)
        per_minute = 1;
    if (per_minute > TD_GCRA_MAX_PER_MINUTE)
        per_minute = TD_GCRA_MAX_PER_MINUTE; /* never 0: it divides */
    return 60000 / per_minute;
}

td_gcra_result td_gcra_check(int64_t *tat, int64_t now_ms, int per_minute, int burst)
{
    int64_t T = td_gcra_interval_ms(per_minute);
    int64_t tau = T * (burst > 0 ? burst : 0);
    int64_t t = *tat > now_ms ? *tat : now_ms;
    td_gcra_result r = {.limit = (int)(tau / T) + 1};
    if (t - now_ms > tau) {
        r.retry_ms = t - tau - now_ms;
        r.reset_ms = t - now_ms;
        return r;
    }
    *tat = t + T;
    r.allowed = 1;
    r.reset_ms = *tat - now_ms;
    r.remaining = (int)((tau + T - (*tat - now_ms)) / T);
    return r;
}

void td_gcra_refund(int64_t *tat, int64_t now_ms, int per_minute)
{
    int64_t t = *tat - td_gcra_interval_ms(per_minute);
    *tat = t > now_ms ? t : 0;
}
