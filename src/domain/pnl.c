/*
 * pnl.c - position valuation; see pnl.h.  No I/O here.
 */
#include "domain/pnl.h"

#include <string.h>

td_status td_side_parse(const char *s, td_pos_side *out)
{
    if (strcmp(s, "long") == 0)
        *out = TD_LONG;
    else if (strcmp(s, "short") == 0)
        *out = TD_SHORT;
    else
        return TD_EINVAL;
    return TD_OK;
}

td_status td_pnl_value(td_pos_side side, td_dec qty, td_dec entry, td_dec mark, td_valuation *out)
{
    if (qty < 0 || entry < 0 || mark < 0)
        return TD_EINVAL;
    td_dec diff, cost;
    if (td_dec_sub(mark, entry, &diff) != TD_OK ||
        td_dec_mul(diff, qty, &out->unrealized) != TD_OK ||
        td_dec_mul(mark, qty, &out->notional) != TD_OK || td_dec_mul(entry, qty, &cost) != TD_OK)
        return TD_EINVAL;
    if (side == TD_SHORT)
        out->unrealized = -out->unrealized; /* |x| < INT64_MAX here: no overflow */
    out->exposure = side == TD_SHORT ? -out->notional : out->notional;
    return td_dec_add(cost, out->unrealized, &out->value);
}
