/*
 * histogram.c - see histogram.h.
 */
#include "core/histogram.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const double TD_HIST_LATENCY_BOUNDS[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001,
                                         0.0015,  0.002,  0.003,   0.005,  0.01,    0.025,
                                         0.05,    0.1,    0.25,    0.5,    1.0};
const size_t TD_HIST_LATENCY_NBOUNDS =
    sizeof TD_HIST_LATENCY_BOUNDS / sizeof TD_HIST_LATENCY_BOUNDS[0];

void td_hist_init(td_hist *h, const double *bounds, size_t nb)
{
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->nb = nb < TD_HIST_MAX_BOUNDS ? nb : TD_HIST_MAX_BOUNDS;
}

void td_hist_observe(td_hist *h, double s)
{
    size_t i = 0;
    while (i < h->nb && s > h->bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += s;
}

double td_hist_quantile(const td_hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), cum = 0;
    if (rank < 1)
        rank = 1;
    for (size_t i = 0; i <= h->nb; i++) {
        cum += h->bucket[i];
        if (cum >= rank)
            return i < h->nb ? h->bounds[i] : INFINITY;
    }
    return INFINITY;
}

void td_hist_render(const td_hist *h, td_arena *a, td_buf *b, const char *name, const char *help)
{
    char line[384];
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    LINE("# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i < h->nb; i++) {
        cum += h->bucket[i];
        LINE("%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
    }
    LINE("%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->count);
    LINE("%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
#undef LINE
}
