/*
 * latency.c - latency statistics in millisecond buckets; see latency.h.
 * Pure: no I/O, no allocation.
 */
#include "core/latency.h"

#include <string.h>

void td_latency_init(td_latency *l)
{
    memset(l, 0, sizeof *l);
}

void td_latency_add(td_latency *l, int64_t ms)
{
    if (l->n == 0 || ms < l->min)
        l->min = ms;
    if (l->n == 0 || ms > l->max)
        l->max = ms;
    l->n++;
    l->sum += (double)ms;
    int64_t i = ms < TD_LATENCY_LO_MS   ? TD_LATENCY_LO_MS
                : ms > TD_LATENCY_HI_MS ? TD_LATENCY_HI_MS
                                        : ms;
    l->bucket[i - TD_LATENCY_LO_MS]++;
}

double td_latency_avg(const td_latency *l)
{
    return l->n ? l->sum / (double)l->n : 0;
}

int64_t td_latency_percentile(const td_latency *l, double p)
{
    if (l->n == 0)
        return 0;
    if (p <= 0)
        return l->min;
    /* ceil(p/100 * n), forgiving the rounding of p/100 (99.9% of 1000 is 999). */
    double want = p / 100.0 * (double)l->n;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want - 1e-9)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > l->n)
        rank = l->n;
    uint64_t seen = 0;
    for (int64_t v = TD_LATENCY_LO_MS; v <= TD_LATENCY_HI_MS; v++) {
        seen += l->bucket[v - TD_LATENCY_LO_MS];
        if (seen < rank)
            continue;
        /* An end bucket also holds the samples past it: report the
         * extreme seen there (pessimistic at the slow end). */
        if (v == TD_LATENCY_LO_MS)
            return l->min;
        if (v == TD_LATENCY_HI_MS)
            return l->max;
        return v;
    }
    return l->max;
}
