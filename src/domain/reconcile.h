/*
 * reconcile.h - how serious a reconciliation divergence is, and a run's
 * verdict (sql/009_reconciliation.sql finds the differences, the engine's
 * recon.c stores them, the API reports a user's).
 *
 * An amount (a quantity, a realized P&L, cash) differs by |expected -
 * actual|: below the warning tolerance it is rounding and counts as
 * matched; from it, a warning; from the critical one, critical.  A status
 * that differs, or an amount too large to compare, is critical; a fill
 * missing from its user's Stream, or there twice, is a warning (the books
 * are right, a client's replay is not), and so is an order the monitor
 * watched after it stopped being active (order_index_extra: filling it is
 * refused); an active order it did not watch (order_index_missing) is
 * critical.  Pure: no I/O.
 */
#ifndef TD_RECONCILE_H
#define TD_RECONCILE_H

#include "domain/decimal.h"

typedef enum td_recon_level {
    TD_RECON_HEALTHY = 0, /* a difference within the warning tolerance: matched */
    TD_RECON_WARNING,
    TD_RECON_CRITICAL,
} td_recon_level;

/* The tolerances: 0 <= warning <= critical, else TD_EINVAL. */
typedef struct td_recon_tolerance {
    td_dec warning, critical;
} td_recon_tolerance;
td_status td_recon_tolerance_check(td_recon_tolerance t);

/* An amount's difference against the tolerances. */
td_recon_level td_recon_diff_level(td_dec expected, td_dec actual, td_recon_tolerance t);

/* A divergence of kind (e.g. "position_quantity", "cash", "position_status",
 * "stream_missing") with its expected and actual amounts as decimal text
 * (NULL when it has none). */
td_recon_level td_recon_level_of(const char *kind, const char *expected, const char *actual,
                                 td_recon_tolerance t);

/* A run's or a user's verdict from how many warnings and criticals it has. */
td_recon_level td_recon_verdict(long long warnings, long long criticals);

/* "healthy", "warning", "critical"; static. */
const char *td_recon_level_name(td_recon_level l);

#endif
