/*
 * drawdown.c - the drawdown guard's rules; see drawdown.h.  No I/O here.
 */
#include "domain/drawdown.h"

#include <string.h>

#define DAY_MS 86400000LL

td_status td_dd_thresholds_check(td_dd_thresholds t)
{
    return t.warning_pct > 0 && t.warning_pct <= t.critical_pct &&
                   t.critical_pct <= 100 * TD_DEC_SCALE
               ? TD_OK
               : TD_EINVAL;
}

td_status td_drawdown_pct(td_dec peak, td_dec equity, td_dec *pct)
{
    if (peak <= 0 || equity >= peak) {
        *pct = 0;
        return TD_OK;
    }
    /* peak > 0 and equity < peak: the difference is positive and below
     * 2^64; times 100 × 1e8 it stays below 2^98, well inside 128 bits. */
    __int128 diff = (__int128)peak - equity;
    __int128 q = diff * 100 * TD_DEC_SCALE / peak; /* truncated toward zero */
    if (q > INT64_MAX)
        return TD_EINVAL;
    *pct = (td_dec)q;
    return TD_OK;
}

td_dd_level td_dd_level_of(td_dec pct, td_dd_thresholds t)
{
    return pct >= t.critical_pct  ? TD_DD_CRITICAL
           : pct >= t.warning_pct ? TD_DD_WARNING
                                  : TD_DD_NORMAL;
}

/* Days since the epoch of a time in milliseconds, negative times included. */
static int64_t day_of(int64_t ms)
{
    return ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
}

td_status td_drawdown_observe(td_dd_state *s, td_dec equity, int64_t now_ms, td_dd_thresholds t,
                              td_dd_step *out)
{
    if (td_dd_thresholds_check(t) != TD_OK)
        return TD_EINVAL;
    td_dd_state n = *s;
    int64_t today = day_of(now_ms);
    if (!n.known) {
        n = (td_dd_state){.known = 1, .peak = equity, .peak_today = equity, .day = today};
    } else {
        if (today != n.day) {
            n.day = today;
            n.peak_today = equity;
        }
        if (equity > n.peak)
            n.peak = equity;
        if (equity > n.peak_today)
            n.peak_today = equity;
    }
    td_dd_step st = {.previous = s->known ? s->level : TD_DD_NORMAL};
    if (td_drawdown_pct(n.peak, equity, &st.drawdown_pct) != TD_OK ||
        td_drawdown_pct(n.peak_today, equity, &st.drawdown_today_pct) != TD_OK)
        return TD_EINVAL;
    n.level = td_dd_level_of(st.drawdown_pct, t);
    if (n.level == TD_DD_CRITICAL && !n.tripped) {
        n.tripped = 1;
        st.change = TD_DD_TRIPPED;
    } else if (n.level != TD_DD_CRITICAL && n.tripped) {
        n.tripped = 0;
        st.change = TD_DD_CLEARED;
    } else {
        st.change = n.level != st.previous ? TD_DD_LEVEL : TD_DD_SAME;
    }
    *s = n;
    *out = st;
    return TD_OK;
}

static const char *const LEVELS[] = {"normal", "warning", "critical"};

const char *td_dd_level_name(td_dd_level l)
{
    return (unsigned)l < TD_ARRAY_LEN(LEVELS) ? LEVELS[l] : "normal";
}

td_status td_dd_level_parse(const char *s, td_dd_level *out)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(LEVELS); i++)
        if (strcmp(s, LEVELS[i]) == 0) {
            *out = (td_dd_level)i;
            return TD_OK;
        }
    return TD_EINVAL;
}

const char *td_guard_action_name(td_guard_action a)
{
    static const char *const names[] = {"none", "block", "close"};
    return (unsigned)a < TD_ARRAY_LEN(names) ? names[a] : "none";
}

const char *td_dd_change_name(td_dd_change c)
{
    static const char *const names[] = {"same", "level", "tripped", "cleared"};
    return (unsigned)c < TD_ARRAY_LEN(names) ? names[c] : "same";
}
