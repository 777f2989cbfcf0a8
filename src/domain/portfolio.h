/*
 * portfolio.h - a trader's totals and exposure by symbol, from positions
 * and cash, in fixed point.
 *
 * GET /api/v1/portfolio answers exactly these numbers; the stream, the
 * drawdown guard and reconciliation call the same function so they agree
 * to the last 1e-8.  Pure: no I/O, no allocation; the caller owns every
 * array.
 *
 * Valuation follows domain/pnl.h: an open position is worth its cost
 * basis plus unrealized P&L, so equity = cash + positions value, longs and
 * shorts alike.  An open position whose symbol has no price yet counts at
 * cost (mark = entry: no unrealized P&L) rather than being dropped.
 * Closed positions add only their realized P&L.
 */
#ifndef TD_PORTFOLIO_H
#define TD_PORTFOLIO_H

#include "domain/position.h"

typedef struct td_exposure {
    const char *symbol;  /* borrowed from the first td_position of the symbol */
    td_dec net_quantity; /* open longs minus open shorts */
    td_dec notional;     /* sum of mark × quantity, negative for shorts (entry without a mark) */
} td_exposure;

typedef struct td_portfolio {
    td_dec cash_balance;
    td_dec positions_value; /* sum of open positions' values */
    td_dec unrealized_pnl;  /* of open positions */
    td_dec realized_pnl;    /* realized_before + every listed position's */
    td_dec equity;          /* cash_balance + positions_value */
    size_t open_positions;
    size_t nexposure; /* entries written to the exposure array */
} td_portfolio;

/*
 * Sums n positions (any status, any order) and cash into *out and writes
 * one td_exposure per symbol with an open position into ex, in the order
 * the symbols first appear among the open positions.
 *
 * realized_before is realized P&L booked by positions not in the list
 * (the API lets the database sum closed positions instead of reading them
 * all); 0 when the list is complete.
 *
 * TD_EINVAL when a sum or product overflows td_dec (refused, never
 * wrapped) or a position has a negative quantity or price or no symbol;
 * TD_ENOMEM when excap is smaller than the number of symbols (n always
 * suffices).  On failure *out is untouched and ex holds partial sums.
 */
td_status td_portfolio_sum(td_dec cash, td_dec realized_before, const td_position *pos, size_t n,
                           td_exposure *ex, size_t excap, td_portfolio *out);

#endif
