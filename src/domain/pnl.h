/*
 * pnl.h - position valuation in fixed point.  Pure: no I/O, no allocation.
 *
 * Model: a position is fully funded; opening it moved entry × quantity out
 * of cash.  Its value is that cost basis plus unrealized P&L, so equity =
 * cash + sum of open positions' values, for longs and shorts alike.
 */
#ifndef TD_PNL_H
#define TD_PNL_H

#include "domain/decimal.h"

/* A position's side (an order's is buy/sell: td_side in domain/market.h). */
typedef enum td_pos_side { TD_LONG, TD_SHORT } td_pos_side;

typedef struct td_valuation {
    td_dec unrealized; /* (mark - entry) × qty, negated for a short */
    td_dec notional;   /* mark × qty, always >= 0 */
    td_dec value;      /* entry × qty + unrealized */
    td_dec exposure;   /* notional, negative for a short */
} td_valuation;

/* TD_EINVAL on overflow or a negative input. */
td_status td_pnl_value(td_pos_side side, td_dec qty, td_dec entry, td_dec mark, td_valuation *out);

/* Parse "long"/"short". */
td_status td_side_parse(const char *s, td_pos_side *out);

#endif
