/*
 * portfolio.c - GET /api/v1/portfolio: cash, open positions at mark price,
 * P&L, equity and exposure by symbol, summed in fixed point.
 *
 * The numbers are domain/portfolio.h's: this file queries, hands the rows
 * to td_portfolio_sum and shapes JSON.  The database sums closed positions'
 * realized P&L (a long history is never read row by row); open positions
 * come with theirs.
 */
#include "api/app.h"
#include "api/cache.h"
#include "core/jsonw.h"
#include "api/params.h"
#include "core/log.h"
#include "domain/portfolio.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS TD_SQL_EPOCH_MS("now()")

const td_db_stmt td_portfolio_stmts[] = {
    {"portfolio_summary",
     "SELECT COALESCE(a.currency, 'USDT'), COALESCE(a.cash_balance, 0), "
     "(SELECT COALESCE(sum(realized_pnl), 0) FROM positions "
     "WHERE user_id = $1 AND status = 'closed'), " NOW_MS
     " FROM (SELECT 1) one LEFT JOIN accounts a ON a.user_id = $1",
     1, 1},
    {"portfolio_open",
     "SELECT p.symbol, p.side, p.quantity, p.entry_price, pl.price, p.realized_pnl "
     "FROM positions p "
     "LEFT JOIN prices_latest pl ON pl.symbol = p.symbol "
     "WHERE p.user_id = $1 AND p.status = 'open' ORDER BY p.symbol, p.side",
     1, 1},
};
const size_t td_portfolio_nstmts = TD_ARRAY_LEN(td_portfolio_stmts);

static const td_cache_rule PORTFOLIO_CACHE = {"pf", 5, 1};

static int dec_at(PGresult *res, int row, int col, td_dec *out)
{
    const char *s = PQgetvalue(res, row, col);
    return td_dec_parse(s, strlen(s), out) == TD_OK;
}

/* One row of portfolio_open as a td_position; 0 when it does not fit. */
static int position_at(PGresult *res, int row, td_position *p)
{
    p->symbol = PQgetvalue(res, row, 0);
    p->status = TD_POSITION_OPEN;
    p->has_mark = !PQgetisnull(res, row, 4);
    p->mark_price = 0;
    return td_side_parse(PQgetvalue(res, row, 1), &p->side) == TD_OK &&
           dec_at(res, row, 2, &p->quantity) && dec_at(res, row, 3, &p->entry_price) &&
           (!p->has_mark || dec_at(res, row, 4, &p->mark_price)) &&
           dec_at(res, row, 5, &p->realized_pnl);
}

static int build(td_req *r, td_jw *w)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    const char *p[] = {uid};
    PGresult *sum = td_req_query(r, "portfolio_summary", 1, p);
    if (!sum)
        return 0;
    PGresult *open = td_req_query(r, "portfolio_open", 1, p);
    if (!open) {
        PQclear(sum);
        return 0;
    }
    int nopen = PQntuples(open), ok = 0;
    td_position *pos = td_arena_alloc(r->arena, (size_t)(nopen + 1) * sizeof *pos);
    td_exposure *ex = td_arena_alloc(r->arena, (size_t)(nopen + 1) * sizeof *ex);
    td_dec cash, realized_closed;
    td_portfolio pf;
    int rows_ok = dec_at(sum, 0, 1, &cash) && dec_at(sum, 0, 2, &realized_closed);
    for (int i = 0; rows_ok && i < nopen; i++)
        rows_ok = position_at(open, i, &pos[i]);
    if (rows_ok && td_portfolio_sum(cash, realized_closed, pos, (size_t)nopen, ex, (size_t)nopen,
                                    &pf) == TD_OK) {
        td_jw_obj(w);
        td_jw_key(w, "currency");
        td_jw_str(w, PQgetvalue(sum, 0, 0));
        td_jw_key(w, "cash_balance");
        td_jw_dec(w, pf.cash_balance);
        td_jw_key(w, "positions_value");
        td_jw_dec(w, pf.positions_value);
        td_jw_key(w, "unrealized_pnl");
        td_jw_dec(w, pf.unrealized_pnl);
        td_jw_key(w, "realized_pnl");
        td_jw_dec(w, pf.realized_pnl);
        td_jw_key(w, "equity");
        td_jw_dec(w, pf.equity);
        td_jw_key(w, "open_positions");
        td_jw_int(w, (long long)pf.open_positions);
        td_jw_key(w, "exposure");
        td_jw_arr(w);
        for (size_t i = 0; i < pf.nexposure; i++) {
            td_jw_obj(w);
            td_jw_key(w, "symbol");
            td_jw_str(w, ex[i].symbol);
            td_jw_key(w, "net_quantity");
            td_jw_dec(w, ex[i].net_quantity);
            td_jw_key(w, "notional");
            td_jw_dec(w, ex[i].notional);
            td_jw_end(w, '}');
        }
        td_jw_end(w, ']');
        td_jw_key(w, "as_of");
        td_jw_time_ms(w, strtoll(PQgetvalue(sum, 0, 3), NULL, 10));
        td_jw_end(w, '}');
        ok = 1;
    } else {
        td_error("portfolio of user %s does not fit fixed point", uid);
        td_resp_error(r, TD_ERR_INTERNAL, "portfolio values out of range");
    }
    PQclear(sum);
    PQclear(open);
    return ok;
}

void td_h_portfolio(td_req *r)
{
    if (!td_param_none(r))
        return;
    td_cache_respond(r, &PORTFOLIO_CACHE, build);
}
