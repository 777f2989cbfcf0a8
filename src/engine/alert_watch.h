/*
 * alert_watch.h - the market alerts' state in the engine: every symbol's
 * alert of each kind (domain/market_alert.h), judged from the market's
 * events as they are applied (td_market_on_event) and on the timer, and
 * the changes (raised, escalated, cleared) queued for whoever reports them
 * (engine/alerts.c: log, metrics, PostgreSQL, Redis).
 *
 * The per-event part is latency-critical (it runs inside td_market_apply):
 * O(1) integer work, no allocation, no I/O, no clock.  Memory is allocated
 * once, by new.  One thread, the market's.
 */
#ifndef TD_ENGINE_ALERT_WATCH_H
#define TD_ENGINE_ALERT_WATCH_H

#include "domain/market_alert.h"
#include "engine/market.h"

typedef struct td_alert_transition {
    int symbol; /* market index */
    td_alert_kind kind;
    td_alert_change what; /* raised, escalated or cleared */
    td_alert_state st;    /* raised / escalated: as it is now; cleared: as it was */
    int64_t at_ms;
} td_alert_transition;

typedef struct td_alert_watch td_alert_watch;

/* Watch m's symbols (registers m's event listener; m must outlive the
 * watch) with rules (copied) and a volatility window of `window` returns
 * over interval_ms each (TD_ALERT_VOL_INTERVAL_MS, a minute, when <= 0);
 * now_ms: the start, from which a symbol never quoted is stale.  NULL on
 * OOM. */
td_alert_watch *td_alert_watch_new(td_market *m, const td_alert_rule rules[TD_ALERT_KINDS],
                                   int window, int64_t interval_ms, int64_t now_ms);
/* Unregisters the listener. */
void td_alert_watch_free(td_alert_watch *w);
/* New thresholds (already checked), from the next judgement on. */
void td_alert_watch_set_rules(td_alert_watch *w, const td_alert_rule rules[TD_ALERT_KINDS]);
const td_alert_rule *td_alert_watch_rule(const td_alert_watch *w, td_alert_kind k);
/* What only time moves: each symbol's price age, the holds of clears.
 * O(symbols x kinds); call on the timer. */
void td_alert_watch_tick(td_alert_watch *w, int64_t now_ms);
/* The queued changes, oldest first, at most cap; the rest stays.  A change
 * that found the queue full is lost (counted by dropped). */
size_t td_alert_watch_take(td_alert_watch *w, td_alert_transition *out, size_t cap);
unsigned long long td_alert_watch_dropped(const td_alert_watch *w);
/* Symbol i's alert of kind k now (severity NONE: not raised). */
const td_alert_state *td_alert_watch_state(const td_alert_watch *w, int i, td_alert_kind k);

#endif
