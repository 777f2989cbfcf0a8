/*
 * monitor.c - micro-benchmark of the order monitor's index
 * (domain/order_index): 1,000,000 active conditional orders over NSYM
 * symbols, one index per symbol, ticks dealt round robin over the symbols.
 * No engine, no PostgreSQL, no Redis: what a tick costs the index itself.
 *
 *   make -C bench monitor && build/bench/monitor [orders] [seed] [symbols]
 *
 * Defaults: 1,000,000 orders, seed 0, 10 symbols (at most 10).
 *
 * Orders: 30 % stop-loss, 30 % take-profit, 20 % armed trailing stops
 * (resumed with an extreme at the price), 20 % trailing stops waiting for
 * an activation price; half buys, half sells; triggers and activations
 * 0.3-15 % from the price (more of them near it), callback rates 0.5-10 %.
 *
 * Phases:
 *   quiet     each symbol's price wanders within ±0.2 % of its start: new
 *             highs and lows collapse trailing levels, nothing fires or arms.
 *             Throughput without a clock per tick, then the latency of each
 *             tick (clock_gettime around it).
 *   active    a random walk of ±0.05 % a tick with a 1 % gap one tick in
 *             200: orders fire and arm; each fired order is replaced
 *             (between ticks, untimed) so the book stays at its size.
 *             Latency of ticks that fire nothing and of those that fire.
 *   sweep     the safety net (the repairing sweep at once, then the
 *             engine's round of td_oidx_check in its slices) and the
 *             persistence report on one symbol's index.
 */
#include "core/clock.h"
#include "domain/order_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSYM 10
static int nsym = NSYM;
#define U TD_DEC_SCALE

static uint64_t rng = 88172645463325252u;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
/* [0, 1) in 1e-6 steps, as an integer of millionths (no float in prices). */
static int64_t rnd_ppm(void)
{
    return (int64_t)(rnd() % 1000000);
}

typedef struct sym {
    td_oidx *x;
    td_dec start, price;
} sym;

static sym syms[NSYM];
static int64_t next_id = 1;

/* dist in ppm of the price: 3,000-150,000 (0.3-15 %), skewed toward the near end. */
static int64_t rnd_dist_ppm(void)
{
    int64_t a = rnd_ppm(), b = rnd_ppm();
    return 3000 + (a < b ? a : b) * 147 / 1000;
}

static td_dec off(td_dec p, int64_t ppm)
{
    return (td_dec)((__int128)p * ppm / 1000000);
}

static void add_order(sym *s)
{
    static const td_dec rates[] = {U / 2, U, 3 * U / 2, 2 * U, 5 * U / 2, 3 * U, 5 * U, 10 * U};
    td_oidx_order o = {.id = next_id++};
    o.side = rnd() & 1 ? TD_SIDE_BUY : TD_SIDE_SELL;
    td_dec p = s->price, d = off(p, rnd_dist_ppm());
    int kind = (int)(rnd() % 10);
    if (kind < 6) {
        o.type = kind < 3 ? TD_ORDER_STOP_LOSS : TD_ORDER_TAKE_PROFIT;
        int below = (o.type == TD_ORDER_STOP_LOSS) == (o.side == TD_SIDE_SELL);
        o.trigger_price = below ? p - d : p + d;
    } else {
        o.type = TD_ORDER_TRAILING_STOP;
        o.callback_rate = rnd() % 4 ? rates[rnd() % 8] : U / 2 + (td_dec)(rnd() % (95 * U / 10));
        if (kind < 8) {
            o.armed = 1;
            o.extreme = p;
        } else {
            /* A sell arms at or above its activation, a buy at or below. */
            o.activation_price = o.side == TD_SIDE_SELL ? p + d : p - d;
        }
    }
    if (td_oidx_add(s->x, &o) != TD_OK) {
        fprintf(stderr, "monitor: add failed\n");
        exit(1);
    }
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, int64_t *v, size_t n)
{
    if (!n) {
        printf("  %-14s none\n", what);
        return;
    }
    qsort(v, n, sizeof *v, cmp);
    size_t over = 0; /* the bar's p99: how many ticks took longer than 50 us */
    while (over < n && v[n - 1 - over] > 50000)
        over++;
    printf("  %-14s %8zu ticks  p50 %6.2f us  p99 %6.2f us  p99.9 %7.2f us  max %8.2f us  "
           "> 50 us: %zu\n",
           what, n, v[n / 2] / 1e3, v[n * 99 / 100] / 1e3, v[n * 999 / 1000] / 1e3, v[n - 1] / 1e3,
           over);
}

/* The quiet walk: ±0.02 % a tick, kept within ±0.2 % of the start. */
static td_dec quiet_step(sym *s)
{
    td_dec band = off(s->start, 2000), step = off(s->start, 200);
    td_dec p = s->price + (td_dec)(rnd() % (uint64_t)(2 * step + 1)) - step;
    if (p > s->start + band)
        p = s->start + band;
    if (p < s->start - band)
        p = s->start - band;
    return s->price = p;
}

static td_dec active_step(sym *s)
{
    td_dec step = off(s->price, rnd() % 200 ? 500 : 10000);
    td_dec p = s->price + (td_dec)(rnd() % (uint64_t)(2 * step + 1)) - step;
    /* Pulled back toward the start so a long run stays realistic. */
    p += (s->start - p) / 2000;
    return s->price = p > 0 ? p : 1;
}

/* One tick, timed; its latency goes to lat (fired and armed nothing),
 * lat_a (armed trailing stops, fired nothing) or lat_f (fired). */
static int64_t *lat, *lat_a, *lat_f;
static size_t nlat, nlat_a, nlat_f;
static size_t timed_tick(sym *s, td_dec p)
{
    const int64_t *ids;
    size_t n;
    td_oidx_counts before, after;
    td_oidx_count(s->x, &before);
    int64_t a = td_mono_ns();
    td_oidx_on_price(s->x, p, &ids, &n);
    int64_t d = td_mono_ns() - a;
    td_oidx_count(s->x, &after);
    if (n)
        lat_f[nlat_f++] = d;
    else if (after.trailing_unarmed != before.trailing_unarmed)
        lat_a[nlat_a++] = d;
    else
        lat[nlat++] = d;
    return n;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * 4;
}

int main(int argc, char **argv)
{
    long norders = argc > 1 ? atol(argv[1]) : 1000000;
    if (argc > 2)
        rng = (uint64_t)atoll(argv[2]) * 0x9E3779B97F4A7C15u + 1;
    if (argc > 3)
        nsym = atoi(argv[3]);
    if (norders < 1 || nsym < 1 || nsym > NSYM) {
        fprintf(stderr, "usage: monitor [orders] [seed] [symbols 1-%d]\n", NSYM);
        return 2;
    }
    static const td_dec starts[NSYM] = {97000 * U, 3500 * U, 180 * U, 650 * U, 2 * U,
                                        U / 2,     U / 7,    U / 4,   7 * U,   90 * U};
    for (int i = 0; i < nsym; i++) {
        syms[i] = (sym){.x = td_oidx_new(NULL), .start = starts[i], .price = starts[i]};
        if (!syms[i].x)
            return 1;
    }
    long rss0 = rss_kb();
    int64_t t0 = td_mono_ns();
    for (long k = 0; k < norders; k++)
        add_order(&syms[k % nsym]);
    double load_s = (td_mono_ns() - t0) / 1e9;
    td_oidx_counts c, all = {0};
    for (int i = 0; i < nsym; i++) {
        td_oidx_count(syms[i].x, &c);
        all.stop_loss += c.stop_loss;
        all.take_profit += c.take_profit;
        all.trailing_armed += c.trailing_armed;
        all.trailing_unarmed += c.trailing_unarmed;
        all.total += c.total;
    }
    printf("monitor: %zu orders over %d symbols (%zu stop-loss, %zu take-profit, %zu trailing "
           "armed, %zu unarmed); loaded in %.2f s, %ld MB (%.0f bytes an order)\n",
           all.total, nsym, all.stop_loss, all.take_profit, all.trailing_armed,
           all.trailing_unarmed, load_s, (rss_kb() - rss0) / 1024,
           (rss_kb() - rss0) * 1024.0 / (double)all.total);

    const int64_t *ids;
    size_t n;
    /* Warm-up: the first ticks collapse the resumed extremes. */
    for (int k = 0; k < 100000; k++)
        td_oidx_on_price(syms[k % nsym].x, quiet_step(&syms[k % nsym]), &ids, &n);

    /* Quiet throughput: no clock per tick. */
    long nq = 10000000, fired_q = 0;
    t0 = td_mono_ns();
    for (long k = 0; k < nq; k++) {
        sym *s = &syms[k % nsym];
        td_oidx_on_price(s->x, quiet_step(s), &ids, &n);
        fired_q += (long)n;
    }
    double qs = (td_mono_ns() - t0) / 1e9;
    printf("quiet: %ld ticks in %.3f s = %.2f M ticks/s (%.0f ns a tick, the price walk "
           "included), %ld fired\n",
           nq, qs, nq / qs / 1e6, qs * 1e9 / nq, fired_q);

    /* Quiet latency: a clock around each tick. */
    long nl = 2000000;
    lat = malloc((size_t)nl * sizeof *lat);
    lat_a = malloc((size_t)nl * sizeof *lat_a);
    lat_f = malloc((size_t)nl * sizeof *lat_f);
    for (long k = 0; k < nl; k++) {
        sym *s = &syms[k % nsym];
        timed_tick(s, quiet_step(s));
    }
    printf("quiet latency (clock_gettime around each tick):\n");
    report("fires nothing", lat, nlat);
    report("arms only", lat_a, nlat_a);
    report("fires", lat_f, nlat_f);

    /* Active: orders fire and arm; replaced between ticks. */
    nlat = nlat_a = nlat_f = 0;
    long na = 2000000, fired_a = 0, nfire_ticks = 0;
    for (long k = 0; k < na; k++) {
        sym *s = &syms[k % nsym];
        size_t nf = timed_tick(s, active_step(s));
        fired_a += (long)nf;
        nfire_ticks += nf > 0;
        for (size_t i = 0; i < nf; i++)
            add_order(s);
    }
    int64_t busy = 0;
    for (size_t i = 0; i < nlat; i++)
        busy += lat[i];
    for (size_t i = 0; i < nlat_a; i++)
        busy += lat_a[i];
    for (size_t i = 0; i < nlat_f; i++)
        busy += lat_f[i];
    printf("active: %ld ticks, %ld fired on %ld ticks (%.1f a firing tick); %.2f M ticks/s of "
           "index time\n",
           na, fired_a, nfire_ticks, nfire_ticks ? (double)fired_a / nfire_ticks : 0.0,
           na / (busy / 1e9) / 1e6);
    report("fires nothing", lat, nlat);
    report("arms only", lat_a, nlat_a);
    report("fires", lat_f, nlat_f);

    /* The safety net and the persistence report, on one symbol's index. */
    sym *s = &syms[0];
    td_oidx_count(s->x, &c);
    size_t missed;
    t0 = td_mono_ns();
    td_oidx_sweep(s->x, s->price, &ids, &n, &missed);
    double sw = (td_mono_ns() - t0) / 1e6;
    static td_oidx_moved mv[1 << 16];
    t0 = td_mono_ns();
    size_t moved = 0, got;
    while ((got = td_oidx_take_moved(s->x, 0, mv, TD_ARRAY_LEN(mv))) > 0)
        moved += got;
    double tm = (td_mono_ns() - t0) / 1e6;
    printf("sweep of one index (%zu orders): %.2f ms, %zu missed; take_moved: %zu reported in "
           "%.2f ms\n",
           c.total, sw, missed, moved, tm);

    /* The engine's round of the same net: td_oidx_check in the slices the
     * monitor walks (engine/monitor.c: a round in 100). */
    uint32_t budget = td_oidx_check_budget(s->x, 100), cursor = 0, slices = 0;
    double slice_max = 0, round = 0;
    size_t due = 0;
    for (int done = 0; !done; slices++) {
        t0 = td_mono_ns();
        due += td_oidx_check(s->x, &cursor, budget, &done);
        double d = (td_mono_ns() - t0) / 1e6;
        round += d;
        if (d > slice_max)
            slice_max = d;
    }
    printf("check round of the same index: %u slices of %u slots, the longest %.3f ms, "
           "%.2f ms in all, %zu due\n",
           slices, budget, slice_max, round, due);
    missed += due;

    for (int i = 0; i < nsym; i++)
        td_oidx_free(syms[i].x);
    free(lat);
    free(lat_a);
    free(lat_f);
    return missed ? 1 : 0;
}
