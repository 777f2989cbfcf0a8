/*
 * position.h - a position as plain data, and the rules for showing one.
 *
 * The API's positions, the portfolio totals (domain/portfolio.h), the
 * order monitor, the paper executor and reconciliation all read positions
 * through this struct, so a position shows the same numbers wherever it
 * appears.  Pure: no I/O, no allocation.
 */
#ifndef TD_POSITION_H
#define TD_POSITION_H

#include "domain/pnl.h"

#include <stdbool.h>

typedef enum td_position_status { TD_POSITION_OPEN, TD_POSITION_CLOSED } td_position_status;

typedef struct td_position {
    const char *symbol; /* canonical; borrowed: the caller keeps it alive and frees it */
    td_pos_side side;
    td_position_status status;
    td_dec quantity;     /* what is still open; a closed one keeps its last size */
    td_dec entry_price;  /* average entry */
    td_dec realized_pnl; /* booked by fills so far */
    bool has_mark;       /* false until the symbol has a price */
    td_dec mark_price;   /* the latest price; meaningful only when has_mark */
} td_position;

/* Parse "open"/"closed"; TD_EINVAL otherwise. */
td_status td_position_status_parse(const char *s, td_position_status *out);

/*
 * What a position shows beside its stored fields.  A field whose has_ flag
 * is false is unknown and shows as null:
 *   mark_price      the latest price, unknown until the symbol has one;
 *   unrealized_pnl  (mark - entry) × quantity, negated for a short, of an
 *                   open position with a mark; 0 once closed (nothing is left
 *                   to gain or lose), unknown when open without a mark;
 *   market_value    mark × quantity of an open position with a mark.
 */
typedef struct td_position_view {
    bool has_mark, has_unrealized, has_market_value;
    td_dec mark_price, unrealized_pnl, market_value;
} td_position_view;

/* TD_EINVAL when the valuation overflows or an input is negative; *out is
 * untouched then. */
td_status td_position_show(const td_position *p, td_position_view *out);

#endif
