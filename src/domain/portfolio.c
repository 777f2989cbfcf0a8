/*
 * portfolio.c - portfolio totals and exposure by symbol; see portfolio.h.
 * No I/O here, and every sum checked: an overflow is an error, never a
 * wrapped number on a trader's screen.
 */
#include "domain/portfolio.h"

#include <string.h>

/* The exposure entry of symbol, appended when new; NULL when ex is full. */
static td_exposure *exposure_of(td_exposure *ex, size_t *nex, size_t excap, const char *symbol)
{
    /* Callers usually list positions by symbol: look at the last one first. */
    if (*nex && strcmp(ex[*nex - 1].symbol, symbol) == 0)
        return &ex[*nex - 1];
    for (size_t i = 0; i + 1 < *nex; i++)
        if (strcmp(ex[i].symbol, symbol) == 0)
            return &ex[i];
    if (*nex == excap)
        return NULL;
    td_exposure *e = &ex[(*nex)++];
    e->symbol = symbol;
    e->net_quantity = e->notional = 0;
    return e;
}

td_status td_portfolio_sum(td_dec cash, td_dec realized_before, const td_position *pos, size_t n,
                           td_exposure *ex, size_t excap, td_portfolio *out)
{
    td_portfolio t = {.cash_balance = cash, .realized_pnl = realized_before};
    for (size_t i = 0; i < n; i++) {
        const td_position *p = &pos[i];
        if (!p->symbol || td_dec_add(t.realized_pnl, p->realized_pnl, &t.realized_pnl) != TD_OK)
            return TD_EINVAL;
        if (p->status != TD_POSITION_OPEN)
            continue;
        td_valuation v;
        td_dec mark = p->has_mark ? p->mark_price : p->entry_price; /* no price yet: at cost */
        if (td_pnl_value(p->side, p->quantity, p->entry_price, mark, &v) != TD_OK ||
            td_dec_add(t.positions_value, v.value, &t.positions_value) != TD_OK ||
            td_dec_add(t.unrealized_pnl, v.unrealized, &t.unrealized_pnl) != TD_OK)
            return TD_EINVAL;
        t.open_positions++;
        td_exposure *e = exposure_of(ex, &t.nexposure, excap, p->symbol);
        if (!e)
            return TD_ENOMEM;
        /* quantity >= 0 was checked by td_pnl_value, so the negation cannot overflow */
        td_dec signed_qty = p->side == TD_SHORT ? -p->quantity : p->quantity;
        if (td_dec_add(e->net_quantity, signed_qty, &e->net_quantity) != TD_OK ||
            td_dec_add(e->notional, v.exposure, &e->notional) != TD_OK)
            return TD_EINVAL;
    }
    if (td_dec_add(t.cash_balance, t.positions_value, &t.equity) != TD_OK)
        return TD_EINVAL;
    *out = t;
    return TD_OK;
}
