/*
 * alert_watch.c - the market alerts' per-symbol state; see alert_watch.h.
 *
 * Each event of a symbol costs a few integer ratios (spread of the book,
 * gap to the previous fresh price, the sources' widest divergence), one
 * slot of the volatility ring when an interval (a minute by default)
 * closed, and up to four rule steps; a change is one copy into a fixed
 * ring.  The timer judges the price's age (a feed that says nothing sends
 * no event) and re-judges the raised alerts with their latest value, so a
 * hold to clear runs out even when the market is quiet.
 */
#include "engine/alert_watch.h"

#include <stdlib.h>
#include <string.h>

#define CHANGES_MAX 4096 /* changes between two takes */

typedef struct sym_alerts {
    td_alert_state st[TD_ALERT_KINDS];
    int64_t value[TD_ALERT_KINDS]; /* the latest measured value */
    td_dec last_price;             /* the latest fresh oracle price (gaps) */
    td_alert_vol vol;
} sym_alerts;

struct td_alert_watch {
    td_market *m;
    td_alert_rule rule[TD_ALERT_KINDS];
    int n;
    sym_alerts *s;
    int32_t *rings; /* n windows of 1-minute returns */
    td_alert_transition q[CHANGES_MAX];
    size_t head, count;
    int64_t started_ms;
    unsigned long long dropped;
};

static void judge(td_alert_watch *w, int i, td_alert_kind k, int64_t value, int64_t now_ms)
{
    sym_alerts *x = &w->s[i];
    x->value[k] = value;
    td_alert_state was;
    td_alert_change what = td_alert_step(&w->rule[k], &x->st[k], value, now_ms, &was);
    if (what == TD_ALERT_SAME)
        return;
    if (w->count == CHANGES_MAX) {
        w->dropped++;
        return;
    }
    w->q[(w->head + w->count++) % CHANGES_MAX] =
        (td_alert_transition){i, k, what, what == TD_ALERT_CLEARED ? was : x->st[k], now_ms};
}

/* The market's listener. */
static void on_event(void *arg, int i, const td_market_event *ev, int64_t now_ms)
{
    td_alert_watch *w = arg;
    sym_alerts *x = &w->s[i];
    if (ev->has_book) {
        const td_book_top *b = td_market_book(w->m, i);
        judge(w, i, TD_ALERT_SPREAD, td_alert_spread_bp(b->bid, b->ask), now_ms);
    }
    if (ev->kind == TD_MKT_BOOK)
        return;
    td_price_update p;
    if (!td_market_price(w->m, i, &p) || p.stale)
        return;
    /* Every fresh price is a tick: one at the same price is no gap (so a
     * raised gap calms down as the market goes on). */
    if (x->last_price > 0)
        judge(w, i, TD_ALERT_GAP, td_alert_gap_bp(x->last_price, p.price), now_ms);
    x->last_price = p.price;
    if (td_alert_vol_price(&x->vol, p.price, now_ms))
        judge(w, i, TD_ALERT_VOLATILITY, td_alert_vol_bp(&x->vol), now_ms);
    judge(w, i, TD_ALERT_DIVERGENCE,
          td_alert_divergence_bp(td_market_oracle_cfg(w->m), td_market_quotes(w->m, i), p.price,
                                 now_ms),
          now_ms);
}

td_alert_watch *td_alert_watch_new(td_market *m, const td_alert_rule rules[TD_ALERT_KINDS],
                                   int window, int64_t interval_ms, int64_t now_ms)
{
    td_alert_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->m = m;
    w->n = td_market_nsymbols(m);
    if (window < 1 || window > TD_ALERT_VOL_WINDOW_MAX)
        window = TD_ALERT_VOL_WINDOW_MAX;
    w->s = calloc((size_t)w->n, sizeof *w->s);
    w->rings = calloc((size_t)w->n * (size_t)window, sizeof *w->rings);
    if (!w->s || !w->rings) {
        free(w->s);
        free(w->rings);
        free(w);
        return NULL;
    }
    memcpy(w->rule, rules, sizeof w->rule);
    for (int i = 0; i < w->n; i++)
        td_alert_vol_init(&w->s[i].vol, w->rings + (size_t)i * (size_t)window, window, interval_ms);
    w->started_ms = now_ms;
    td_market_on_event(m, on_event, w);
    return w;
}

void td_alert_watch_free(td_alert_watch *w)
{
    if (!w)
        return;
    td_market_on_event(w->m, NULL, NULL);
    free(w->s);
    free(w->rings);
    free(w);
}

void td_alert_watch_set_rules(td_alert_watch *w, const td_alert_rule rules[TD_ALERT_KINDS])
{
    memcpy(w->rule, rules, sizeof w->rule);
}

const td_alert_rule *td_alert_watch_rule(const td_alert_watch *w, td_alert_kind k)
{
    return &w->rule[k];
}

void td_alert_watch_tick(td_alert_watch *w, int64_t now_ms)
{
    for (int i = 0; i < w->n; i++) {
        td_price_update p;
        int64_t since = td_market_price(w->m, i, &p) ? p.updated_ms : w->started_ms;
        judge(w, i, TD_ALERT_STALE, now_ms > since ? now_ms - since : 0, now_ms);
        for (int k = 0; k < TD_ALERT_KINDS; k++)
            if (k != TD_ALERT_STALE && w->s[i].st[k].severity != TD_ALERT_NONE)
                judge(w, i, (td_alert_kind)k, w->s[i].value[k], now_ms);
    }
}

size_t td_alert_watch_take(td_alert_watch *w, td_alert_transition *out, size_t cap)
{
    size_t k = 0;
    for (; k < cap && w->count > 0; k++, w->count--) {
        out[k] = w->q[w->head];
        w->head = (w->head + 1) % CHANGES_MAX;
    }
    return k;
}

unsigned long long td_alert_watch_dropped(const td_alert_watch *w)
{
    return w->dropped;
}

const td_alert_state *td_alert_watch_state(const td_alert_watch *w, int i, td_alert_kind k)
{
    return &w->s[i].st[k];
}
