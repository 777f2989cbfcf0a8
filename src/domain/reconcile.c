/*
 * reconcile.c - a divergence's level and a run's verdict (reconcile.h).
 * Pure: no I/O.
 */
#include "domain/reconcile.h"

#include <string.h>

td_status td_recon_tolerance_check(td_recon_tolerance t)
{
    return t.warning >= 0 && t.critical >= t.warning ? TD_OK : TD_EINVAL;
}

td_recon_level td_recon_diff_level(td_dec expected, td_dec actual, td_recon_tolerance t)
{
    td_dec d;
    if (td_dec_sub(expected, actual, &d) != TD_OK || d == INT64_MIN)
        return TD_RECON_CRITICAL; /* too far apart to subtract */
    if (d < 0)
        d = -d;
    if (d >= t.critical && d > 0)
        return TD_RECON_CRITICAL;
    if (d >= t.warning && d > 0)
        return TD_RECON_WARNING;
    return TD_RECON_HEALTHY;
}

static int amount(const char *s, td_dec *out)
{
    return s && td_dec_parse(s, strlen(s), out) == TD_OK;
}

td_recon_level td_recon_level_of(const char *kind, const char *expected, const char *actual,
                                 td_recon_tolerance t)
{
    if (!kind)
        return TD_RECON_CRITICAL;
    if (strncmp(kind, "stream_", 7) == 0 || strcmp(kind, "order_index_extra") == 0)
        return TD_RECON_WARNING; /* the books are right (a fill of it is refused) */
    td_dec e, a;
    if (!expected && !actual)
        return TD_RECON_CRITICAL; /* a state, not an amount: position_status */
    if (!amount(expected, &e) || !amount(actual, &a))
        return TD_RECON_CRITICAL;
    return td_recon_diff_level(e, a, t);
}

td_recon_level td_recon_verdict(long long warnings, long long criticals)
{
    return criticals > 0 ? TD_RECON_CRITICAL : warnings > 0 ? TD_RECON_WARNING : TD_RECON_HEALTHY;
}

const char *td_recon_level_name(td_recon_level l)
{
    switch (l) {
    case TD_RECON_WARNING:
        return "warning";
    case TD_RECON_CRITICAL:
        return "critical";
    default:
        return "healthy";
    }
}
