/*
 * position.c - the display rules of one position; see position.h.
 * No I/O here.
 */
#include "domain/position.h"

#include <string.h>

td_status td_position_status_parse(const char *s, td_position_status *out)
{
    if (strcmp(s, "open") == 0)
        *out = TD_POSITION_OPEN;
    else if (strcmp(s, "closed") == 0)
        *out = TD_POSITION_CLOSED;
    else
        return TD_EINVAL;
    return TD_OK;
}

td_status td_position_show(const td_position *p, td_position_view *out)
{
    td_position_view v = {.has_mark = p->has_mark, .mark_price = p->has_mark ? p->mark_price : 0};
    if (p->status == TD_POSITION_CLOSED) {
        v.has_unrealized = true; /* 0: a closed position has nothing left to gain or lose */
    } else if (p->has_mark) {
        td_valuation val;
        if (td_pnl_value(p->side, p->quantity, p->entry_price, p->mark_price, &val) != TD_OK)
            return TD_EINVAL;
        v.has_unrealized = v.has_market_value = true;
        v.unrealized_pnl = val.unrealized;
        v.market_value = val.notional;
    }
    *out = v;
    return TD_OK;
}
