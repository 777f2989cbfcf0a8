/*
 * latency.h - latency statistics over integer milliseconds: count,
 * average, min, max and percentiles, in constant memory (one bucket per
 * millisecond from TD_LATENCY_LO_MS to TD_LATENCY_HI_MS; a sample outside
 * counts in the nearest end bucket, min and max stay exact).  For reports
 * (`tradedesk feed test`), so floating point is fine here; never money.
 *
 * Pure: no I/O, no clock, no allocation.  A td_latency is ~90 KB: keep it
 * static or on the heap, not on a small stack.
 */
#ifndef TD_CORE_LATENCY_H
#define TD_CORE_LATENCY_H

#include <stdint.h>

#define TD_LATENCY_LO_MS (-1000) /* a venue's clock may run ahead of ours */
#define TD_LATENCY_HI_MS 10000

typedef struct td_latency {
    uint64_t n;
    double sum;
    int64_t min, max;
    uint64_t bucket[TD_LATENCY_HI_MS - TD_LATENCY_LO_MS + 1];
} td_latency;

void td_latency_init(td_latency *l);
void td_latency_add(td_latency *l, int64_t ms);

/* The mean (0 when empty). */
double td_latency_avg(const td_latency *l);

/* The nearest-rank percentile, p in (0, 100]: the smallest sample v with
 * at least ceil(p/100 * n) samples <= v; when that rank falls in an end
 * bucket, the min (low end) or max (high end).  0 when empty. */
int64_t td_latency_percentile(const td_latency *l, double p);

#endif
