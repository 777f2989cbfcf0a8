/*
 * histogram.h - a latency histogram with fixed bucket bounds (seconds),
 * rendered in Prometheus' text format and read back as quantiles for
 * benchmarks' reports.  Measurements only, never money: doubles are fine.
 * No allocation; one thread (or the caller's lock).
 */
#ifndef TD_CORE_HISTOGRAM_H
#define TD_CORE_HISTOGRAM_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define TD_HIST_MAX_BOUNDS 24

typedef struct td_hist {
    const double *bounds; /* ascending upper bounds, seconds */
    size_t nb;
    uint64_t bucket[TD_HIST_MAX_BOUNDS + 1]; /* the last one: above every bound */
    uint64_t count;
    double sum;
} td_hist;

/* From 50 µs to 1 s: what the engine's paths take. */
extern const double TD_HIST_LATENCY_BOUNDS[];
extern const size_t TD_HIST_LATENCY_NBOUNDS;

/* nb is cut to TD_HIST_MAX_BOUNDS. */
void td_hist_init(td_hist *h, const double *bounds, size_t nb);
void td_hist_observe(td_hist *h, double seconds);
/* The upper bound of the bucket holding quantile q in (0, 1] (+Inf as
 * INFINITY when it is above every bound); 0 when empty. */
double td_hist_quantile(const td_hist *h, double q);
/* "# HELP", "# TYPE", the cumulative buckets, _sum and _count of name. */
void td_hist_render(const td_hist *h, td_arena *a, td_buf *b, const char *name, const char *help);

#endif
