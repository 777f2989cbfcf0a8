/*
 * market_alert.h - market-condition alerts: what is measured per symbol,
 * when an alert is raised, escalated and cleared.
 *
 * Five kinds, each one integer value per symbol:
 *   stale_feed         ms since the oracle's price was last fresh (unit ms)
 *   price_gap          |p - p_prev| / p_prev between consecutive prices (bp)
 *   volatility         sample standard deviation of the returns over an
 *                      interval (1 minute unless configured) over a window
 *                      of intervals (bp)
 *   spread             (ask - bid) / mid of the top of book (bp)
 *   source_divergence  the widest distance of a fresh source's quote from
 *                      the oracle's price (bp): the distance the median
 *                      oracle compares with its deviation limit to drop a
 *                      stray source
 * A rule raises a kind when its value is strictly above the warning
 * threshold (critical when strictly above the critical one: the threshold
 * itself never raises), escalates to critical as soon as the value passes
 * it, and clears once the value has stayed at or below the clear level
 * (the warning threshold less hysteresis_pct percent) for clear_ms.  A
 * raised alert keeps the worst value and the highest severity it reached.
 *
 * Pure integer arithmetic (128-bit intermediates), no floats, no I/O, no
 * clock (the caller passes now), no allocation (the volatility window is
 * the caller's array).
 */
#ifndef TD_DOMAIN_MARKET_ALERT_H
#define TD_DOMAIN_MARKET_ALERT_H

#include <stdint.h>

#include "domain/decimal.h"
#include "domain/oracle.h"
#include "domain/td.h"

typedef enum td_alert_kind {
    TD_ALERT_STALE = 0,
    TD_ALERT_GAP,
    TD_ALERT_VOLATILITY,
    TD_ALERT_SPREAD,
    TD_ALERT_DIVERGENCE,
    TD_ALERT_KINDS
} td_alert_kind;

typedef enum td_alert_severity {
    TD_ALERT_NONE = 0, /* not raised */
    TD_ALERT_WARNING,
    TD_ALERT_CRITICAL,
} td_alert_severity;

/* Every kind's name by td_alert_kind, then NULL (a list of choices). */
extern const char *const td_alert_kind_names[TD_ALERT_KINDS + 1];
/* "stale_feed", "price_gap", "volatility", "spread", "source_divergence";
 * NULL out of range.  Static strings. */
const char *td_alert_kind_name(td_alert_kind k);
/* "ms" for stale_feed, "bp" for the others. */
const char *td_alert_kind_unit(td_alert_kind k);
/* TD_EINVAL for a name that is not a kind. */
td_status td_alert_kind_parse(const char *s, td_alert_kind *out);
/* "warning", "critical" ("none" for TD_ALERT_NONE). */
const char *td_alert_severity_name(td_alert_severity s);

typedef struct td_alert_rule {
    int64_t warning;    /* raised above this; 0: the kind is off */
    int64_t critical;   /* critical above this; at least warning */
    int hysteresis_pct; /* clear level = warning * (100 - pct) / 100, 0..100 */
    int64_t clear_ms;   /* the value stays at or below the clear level this long */
} td_alert_rule;

/* TD_EINVAL when critical < warning, a threshold is negative, the
 * hysteresis is outside 0..100 or clear_ms negative. */
td_status td_alert_rule_check(const td_alert_rule *r);
int64_t td_alert_clear_level(const td_alert_rule *r);
/* The threshold a severity was raised by (warning or critical). */
int64_t td_alert_threshold(const td_alert_rule *r, td_alert_severity s);

/* One (symbol, kind)'s alert.  Zeroed: not raised. */
typedef struct td_alert_state {
    td_alert_severity severity; /* TD_ALERT_NONE while not raised */
    int64_t value;              /* raised: the worst value since it was */
    int64_t since_ms;           /* raised: when */
    int64_t calm_ms;            /* raised: since when at or below the clear level; 0 not */
} td_alert_state;

typedef enum td_alert_change {
    TD_ALERT_SAME = 0,
    TD_ALERT_RAISED,    /* severity and since set */
    TD_ALERT_ESCALATED, /* warning -> critical */
    TD_ALERT_CLEARED,   /* the state is zero again; value and since as they were */
} td_alert_change;

/* Judge one measured value at now.  On TD_ALERT_CLEARED, *cleared (when
 * not NULL) receives the state as it was before clearing. */
td_alert_change td_alert_step(const td_alert_rule *r, td_alert_state *s, int64_t value,
                              int64_t now_ms, td_alert_state *cleared);

/* The measures.  Each saturates at TD_ALERT_VALUE_MAX. */
#define TD_ALERT_VALUE_MAX ((int64_t)1000000000000)
/* |price - prev| * 10000 / prev, rounded down; 0 when prev <= 0. */
int64_t td_alert_gap_bp(td_dec prev, td_dec price);
/* (ask - bid) * 10000 / ((ask + bid) / 2), rounded down; 0 when a side
 * is missing (<= 0) or the book is crossed or locked. */
int64_t td_alert_spread_bp(td_dec bid, td_dec ask);
/* The widest |quote - ref| * 10000 / ref over the sources fresh at now by
 * the oracle's staleness rule; 0 with fewer than two fresh sources or
 * ref <= 0. */
int64_t td_alert_divergence_bp(const td_oracle_cfg *cfg, const td_oracle_symbol *o, td_dec ref,
                               int64_t now_ms);

/* Volatility: the returns over an interval (a minute, unless the caller
 * says otherwise) of one symbol's price in a ring of the caller's (window
 * entries), with running sums so that a price costs O(1) (a silence of k
 * intervals adds k zero returns once, at most the window; longer, the
 * window starts afresh).  Intervals are now_ms / interval_ms on the
 * caller's clock.  The engine passes its own (when a price became the
 * oracle's), not a venue's event time: the oracle's price may be the
 * median of several venues whose clocks differ from each other's and
 * from the engine's, and the alert's since / hold run on the engine's
 * clock too. */
#define TD_ALERT_VOL_WINDOW_MAX 1440
#define TD_ALERT_VOL_MIN_RETURNS 5 /* fewer: no volatility is measured */
#define TD_ALERT_VOL_INTERVAL_MS ((int64_t)60000) /* the default: 1-minute returns */
typedef struct td_alert_vol {
    int32_t *ret; /* returns in millionths (1 bp = 100), clamped to +-1e9 */
    int window, n, head;
    __int128 sum, sumsq;
    int64_t interval_ms;     /* the return's interval */
    int64_t bucket;          /* the interval `last` belongs to; 0: no price yet */
    td_dec last, prev_close; /* prev_close 0: none yet */
} td_alert_vol;

/* ring: window (1..TD_ALERT_VOL_WINDOW_MAX) entries the caller keeps;
 * interval_ms: the returns' interval (TD_ALERT_VOL_INTERVAL_MS when <= 0). */
void td_alert_vol_init(td_alert_vol *v, int32_t *ring, int window, int64_t interval_ms);
/* A price at now (ignored when <= 0 or earlier than the interval held);
 * returns 1 when an interval closed (the volatility may have changed). */
int td_alert_vol_price(td_alert_vol *v, td_dec price, int64_t now_ms);
/* The sample standard deviation of the returns held, in bp rounded down;
 * 0 with fewer than TD_ALERT_VOL_MIN_RETURNS (and min(window, that)). */
int64_t td_alert_vol_bp(const td_alert_vol *v);

#endif
