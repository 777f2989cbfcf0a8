/*
 * market_alert.c - the market alerts' measures and their raise / clear
 * rule; see market_alert.h.
 *
 * Integers only: ratios in 128-bit intermediates, the volatility's
 * variance as one exact integer fraction and its square root by integer
 * Newton steps, so every engine (and the tests) draws the line at the same
 * unit.  No I/O, no clock, no allocation.
 */
#include "domain/market_alert.h"
#include "domain/price.h"

#include <string.h>

const char *const td_alert_kind_names[TD_ALERT_KINDS + 1] = {
    [TD_ALERT_STALE] = "stale_feed",
    [TD_ALERT_GAP] = "price_gap",
    [TD_ALERT_VOLATILITY] = "volatility",
    [TD_ALERT_SPREAD] = "spread",
    [TD_ALERT_DIVERGENCE] = "source_divergence",
    [TD_ALERT_KINDS] = NULL,
};

const char *td_alert_kind_name(td_alert_kind k)
{
    return (int)k >= 0 && k < TD_ALERT_KINDS ? td_alert_kind_names[k] : NULL;
}

const char *td_alert_kind_unit(td_alert_kind k)
{
    return k == TD_ALERT_STALE ? "ms" : "bp";
}

td_status td_alert_kind_parse(const char *s, td_alert_kind *out)
{
    for (int k = 0; s && k < TD_ALERT_KINDS; k++)
        if (strcmp(s, td_alert_kind_names[k]) == 0) {
            *out = (td_alert_kind)k;
            return TD_OK;
        }
    return TD_EINVAL;
}

const char *td_alert_severity_name(td_alert_severity s)
{
    return s == TD_ALERT_CRITICAL ? "critical" : s == TD_ALERT_WARNING ? "warning" : "none";
}

td_status td_alert_rule_check(const td_alert_rule *r)
{
    if (r->warning < 0 || r->critical < r->warning || r->hysteresis_pct < 0 ||
        r->hysteresis_pct > 100 || r->clear_ms < 0)
        return TD_EINVAL;
    return TD_OK;
}

int64_t td_alert_clear_level(const td_alert_rule *r)
{
    return (int64_t)((__int128)r->warning * (100 - r->hysteresis_pct) / 100);
}

int64_t td_alert_threshold(const td_alert_rule *r, td_alert_severity s)
{
    return s == TD_ALERT_CRITICAL ? r->critical : r->warning;
}

static td_alert_severity level_of(const td_alert_rule *r, int64_t value)
{
    if (value > r->critical)
        return TD_ALERT_CRITICAL;
    return value > r->warning ? TD_ALERT_WARNING : TD_ALERT_NONE;
}

td_alert_change td_alert_step(const td_alert_rule *r, td_alert_state *s, int64_t value,
                              int64_t now_ms, td_alert_state *cleared)
{
    if (r->warning <= 0) { /* the kind is off: whatever was raised clears */
        if (s->severity == TD_ALERT_NONE)
            return TD_ALERT_SAME;
        if (cleared)
            *cleared = *s;
        memset(s, 0, sizeof *s);
        return TD_ALERT_CLEARED;
    }
    td_alert_severity lv = level_of(r, value);
    if (s->severity == TD_ALERT_NONE) {
        if (lv == TD_ALERT_NONE)
            return TD_ALERT_SAME;
        *s = (td_alert_state){.severity = lv, .value = value, .since_ms = now_ms};
        return TD_ALERT_RAISED;
    }
    if (value > s->value)
        s->value = value;
    if (value > td_alert_clear_level(r)) {
        s->calm_ms = 0;
        if (lv > s->severity) {
            s->severity = lv;
            return TD_ALERT_ESCALATED;
        }
        return TD_ALERT_SAME;
    }
    if (s->calm_ms == 0)
        s->calm_ms = now_ms;
    if (now_ms - s->calm_ms < r->clear_ms)
        return TD_ALERT_SAME;
    if (cleared)
        *cleared = *s;
    memset(s, 0, sizeof *s);
    return TD_ALERT_CLEARED;
}

static int64_t saturate(__int128 v)
{
    return v > TD_ALERT_VALUE_MAX ? TD_ALERT_VALUE_MAX : (int64_t)v;
}

/* |a - b| * 10000 / ref, rounded down; ref > 0. */
static int64_t distance_bp(td_dec a, td_dec b, __int128 ref)
{
    __int128 d = (__int128)a - b;
    if (d < 0)
        d = -d;
    return saturate(d * 10000 / ref);
}

int64_t td_alert_gap_bp(td_dec prev, td_dec price)
{
    return prev > 0 ? distance_bp(price, prev, prev) : 0;
}

int64_t td_alert_spread_bp(td_dec bid, td_dec ask)
{
    if (bid <= 0 || ask <= bid)
        return 0;
    /* (ask - bid) / ((ask + bid) / 2) = 2 (ask - bid) / (ask + bid) */
    __int128 d = ((__int128)ask - bid) * 20000;
    return saturate(d / ((__int128)ask + bid));
}

int64_t td_alert_divergence_bp(const td_oracle_cfg *cfg, const td_oracle_symbol *o, td_dec ref,
                               int64_t now_ms)
{
    if (ref <= 0)
        return 0;
    int n = cfg->nsources < TD_ORACLE_MAX_SOURCES ? cfg->nsources : TD_ORACLE_MAX_SOURCES;
    int fresh = 0;
    int64_t widest = 0;
    for (int i = 0; i < n; i++) {
        if (o->updated_ms[i] <= 0 || td_price_stale(now_ms - o->updated_ms[i], cfg->stale_ms))
            continue;
        fresh++;
        int64_t d = distance_bp(o->price[i], ref, ref);
        if (d > widest)
            widest = d;
    }
    return fresh >= 2 ? widest : 0;
}

void td_alert_vol_init(td_alert_vol *v, int32_t *ring, int window, int64_t interval_ms)
{
    memset(v, 0, sizeof *v);
    v->ret = ring;
    v->interval_ms = interval_ms > 0 ? interval_ms : TD_ALERT_VOL_INTERVAL_MS;
    v->window = window < 1                         ? 1
                : window > TD_ALERT_VOL_WINDOW_MAX ? TD_ALERT_VOL_WINDOW_MAX
                                                   : window;
}

#define RET_MAX 1000000000 /* millionths: a 1000-fold move */

static void vol_push(td_alert_vol *v, int32_t r)
{
    if (v->n == v->window) { /* the oldest return leaves the window */
        int32_t old = v->ret[v->head];
        v->sum -= old;
        v->sumsq -= (__int128)old * old;
    } else {
        v->n++;
    }
    v->ret[v->head] = r;
    v->head = (v->head + 1) % v->window;
    v->sum += r;
    v->sumsq += (__int128)r * r;
}

static void vol_reset(td_alert_vol *v)
{
    v->n = v->head = 0;
    v->sum = v->sumsq = 0;
}

int td_alert_vol_price(td_alert_vol *v, td_dec price, int64_t now_ms)
{
    int64_t bucket = now_ms / v->interval_ms;
    if (price <= 0 || bucket < v->bucket)
        return 0;
    if (v->bucket == 0 || bucket == v->bucket) {
        v->bucket = bucket;
        v->last = price;
        return 0;
    }
    /* The interval held closed at `last`; those since, silent, at it too. */
    int64_t silent = bucket - v->bucket - 1;
    if (v->prev_close > 0) {
        __int128 r = ((__int128)v->last - v->prev_close) * 1000000 / v->prev_close;
        vol_push(v, (int32_t)(r > RET_MAX ? RET_MAX : r < -RET_MAX ? -RET_MAX : r));
    }
    if (silent >= v->window)
        vol_reset(v);
    else
        for (int64_t k = 0; k < silent; k++)
            vol_push(v, 0);
    v->prev_close = v->last;
    v->last = price;
    v->bucket = bucket;
    return 1;
}

/* floor(sqrt(x)) */
static uint64_t isqrt(unsigned __int128 x)
{
    if (x == 0)
        return 0;
    unsigned __int128 r = x, y = (r + 1) / 2;
    while (y < r) {
        r = y;
        y = (r + x / r) / 2;
    }
    return (uint64_t)r;
}

int64_t td_alert_vol_bp(const td_alert_vol *v)
{
    int need = v->window < TD_ALERT_VOL_MIN_RETURNS ? v->window : TD_ALERT_VOL_MIN_RETURNS;
    if (v->n < need || v->n < 2)
        return 0;
    /* s^2 = (n sum(x^2) - sum(x)^2) / (n (n - 1)), exactly, in millionths^2 */
    __int128 n = v->n, num = n * v->sumsq - v->sum * v->sum;
    if (num <= 0)
        return 0;
    uint64_t sd = isqrt((unsigned __int128)(num / (n * (n - 1))));
    return saturate(sd / 100); /* millionths -> bp */
}
