/*
 * drawdown.h - the drawdown guard's rules: how far a trader's equity is
 * below its peak, the level that makes, and when the guard trips or
 * clears.  The engine's guard job (engine/guard.c) steps every user's
 * state with these on each snapshot; the API only shows what it stored.
 * Pure: no I/O, no allocation, no clock (the caller passes the time).
 *
 * drawdown % = (peak - equity) / peak × 100, in fixed point, truncated
 * toward zero at 1e-8 (it never overstates a loss); 0 when equity is at or
 * above the peak, or when the peak is not positive (nothing to lose from).
 * Equity may be negative (a short against the trader): then the drawdown
 * is above 100 %.
 *
 * The peak is the highest equity since the first snapshot or the last
 * admin reset; peak_today the highest since the first snapshot of the UTC
 * day.  The level is judged on the all-time peak: at or above the
 * critical threshold `critical`, else at or above the warning one
 * `warning`, else `normal`.  The guard trips once when the level becomes
 * critical (the configured action is taken then, exactly once) and clears
 * when the level falls back below critical; an admin reset clears it too
 * and moves the peaks down to the equity (sql/011_drawdown.sql).
 */
#ifndef TD_DRAWDOWN_H
#define TD_DRAWDOWN_H

#include "domain/decimal.h"

typedef enum td_dd_level { TD_DD_NORMAL = 0, TD_DD_WARNING, TD_DD_CRITICAL } td_dd_level;

/* What happens on critical (TRADEDESK_GUARD_ACTION). */
typedef enum td_guard_action { TD_GUARD_NONE = 0, TD_GUARD_BLOCK, TD_GUARD_CLOSE } td_guard_action;

/* Percentages, 0 < warning <= critical <= 100, else TD_EINVAL. */
typedef struct td_dd_thresholds {
    td_dec warning_pct, critical_pct;
} td_dd_thresholds;
td_status td_dd_thresholds_check(td_dd_thresholds t);

/* (peak - equity) / peak × 100 into *pct; TD_EINVAL when it does not fit
 * td_dec (an equity hugely negative against a tiny peak). */
td_status td_drawdown_pct(td_dec peak, td_dec equity, td_dec *pct);

td_dd_level td_dd_level_of(td_dec pct, td_dd_thresholds t);

/* One user's guard as stored between snapshots. */
typedef struct td_dd_state {
    int known;         /* 0: no snapshot yet (the first one sets the peaks) */
    td_dec peak;       /* highest equity since the first snapshot or the last reset */
    td_dec peak_today; /* highest equity of UTC day `day` */
    int64_t day;       /* days since 1970-01-01 (UTC) of peak_today */
    td_dd_level level; /* as of the last snapshot */
    int tripped;       /* critical reached and not cleared since */
} td_dd_state;

/* What one snapshot changed. */
typedef enum td_dd_change {
    TD_DD_SAME = 0,   /* the level is what it was */
    TD_DD_LEVEL,      /* the level changed, the guard did not trip or clear */
    TD_DD_TRIPPED,    /* the level became critical: take the action now */
    TD_DD_CLEARED,    /* tripped, and the level fell back below critical */
} td_dd_change;

typedef struct td_dd_step {
    td_dec drawdown_pct;       /* from the peak */
    td_dec drawdown_today_pct; /* from peak_today */
    td_dd_level previous;      /* the level before this snapshot */
    td_dd_change change;
} td_dd_step;

/*
 * The snapshot of equity taken at now_ms (epoch milliseconds) applied to
 * *s: the peaks raised (peak_today restarted on a new UTC day), the level
 * judged, tripped set or cleared; what changed into *out.  TD_EINVAL (and
 * *s untouched) when a drawdown does not fit fixed point or the thresholds
 * are inconsistent.
 */
td_status td_drawdown_observe(td_dd_state *s, td_dec equity, int64_t now_ms, td_dd_thresholds t,
                              td_dd_step *out);

/* "normal", "warning", "critical"; parse: TD_EINVAL for anything else. */
const char *td_dd_level_name(td_dd_level l);
td_status td_dd_level_parse(const char *s, td_dd_level *out);
/* "none", "block", "close"; "same", "level", "tripped", "cleared" for
 * the changes. */
const char *td_guard_action_name(td_guard_action a);
const char *td_dd_change_name(td_dd_change c);

#endif
