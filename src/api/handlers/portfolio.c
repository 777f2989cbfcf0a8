/*
 * portfolio.c - GET /api/v1/portfolio: cash, open positions at mark price,
 * P&L, equity and exposure by symbol, summed in fixed point.
 *
 * Valuation follows core/pnl.h: equity = cash + each open position's cost
 * basis plus unrealized P&L.  A position whose symbol has no price yet is
 * counted at cost (no unrealized P&L) rather than dropped.
 */
#include "api/app.h"
#include "api/cache.h"
#include "core/jsonw.h"
#include "api/params.h"
#include "core/log.h"
#include "domain/pnl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS "(EXTRACT(EPOCH FROM now()) * 1000)::bigint"

const td_db_stmt td_portfolio_stmts[] = {
    {"portfolio_summary",
     "SELECT COALESCE(a.currency, 'USDT'), COALESCE(a.cash_balance, 0), "
     "(SELECT COALESCE(sum(realized_pnl), 0) FROM positions WHERE user_id = $1), " NOW_MS
     " FROM (SELECT 1) one LEFT JOIN accounts a ON a.user_id = $1",
     1, 1},
    {"portfolio_open",
     "SELECT p.symbol, p.side, p.quantity, p.entry_price, pl.price FROM positions p "
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

typedef struct exposure {
    const char *symbol;
    td_dec net_qty, notional;
} exposure;

/* Sum open positions into totals and per-symbol exposure; 0 on overflow. */
static int sum_open(PGresult *res, td_dec *value, td_dec *unrealized, exposure *ex, int *nex)
{
    *value = *unrealized = 0;
    *nex = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        td_side side;
        td_dec qty, entry, mark;
        int has_mark = !PQgetisnull(res, i, 4);
        if (td_side_parse(PQgetvalue(res, i, 1), &side) != TD_OK || !dec_at(res, i, 2, &qty) ||
            !dec_at(res, i, 3, &entry) || (has_mark && !dec_at(res, i, 4, &mark)))
            return 0;
        td_valuation v;
        if (td_pnl_value(side, qty, entry, has_mark ? mark : entry, &v) != TD_OK ||
            td_dec_add(*value, v.value, value) != TD_OK ||
            td_dec_add(*unrealized, v.unrealized, unrealized) != TD_OK)
            return 0;
        const char *sym = PQgetvalue(res, i, 0);
        exposure *e = *nex && strcmp(ex[*nex - 1].symbol, sym) == 0 ? &ex[*nex - 1] : NULL;
        if (!e) { /* rows come ordered by symbol */
            e = &ex[(*nex)++];
            e->symbol = sym;
            e->net_qty = e->notional = 0;
        }
        td_dec signed_qty = side == TD_SHORT ? -qty : qty;
        if (td_dec_add(e->net_qty, signed_qty, &e->net_qty) != TD_OK ||
            td_dec_add(e->notional, v.exposure, &e->notional) != TD_OK)
            return 0;
    }
    return 1;
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
    td_dec cash, realized, value, unrealized, equity;
    int nopen = PQntuples(open), nex, ok = 0;
    exposure *ex = td_arena_alloc(r->arena, (size_t)(nopen + 1) * sizeof *ex);
    if (dec_at(sum, 0, 1, &cash) && dec_at(sum, 0, 2, &realized) &&
        sum_open(open, &value, &unrealized, ex, &nex) &&
        td_dec_add(cash, value, &equity) == TD_OK) {
        td_jw_obj(w);
        td_jw_key(w, "currency");
        td_jw_str(w, PQgetvalue(sum, 0, 0));
        td_jw_key(w, "cash_balance");
        td_jw_dec(w, cash);
        td_jw_key(w, "positions_value");
        td_jw_dec(w, value);
        td_jw_key(w, "unrealized_pnl");
        td_jw_dec(w, unrealized);
        td_jw_key(w, "realized_pnl");
        td_jw_dec(w, realized);
        td_jw_key(w, "equity");
        td_jw_dec(w, equity);
        td_jw_key(w, "open_positions");
        td_jw_int(w, nopen);
        td_jw_key(w, "exposure");
        td_jw_arr(w);
        for (int i = 0; i < nex; i++) {
            td_jw_obj(w);
            td_jw_key(w, "symbol");
            td_jw_str(w, ex[i].symbol);
            td_jw_key(w, "net_quantity");
            td_jw_dec(w, ex[i].net_qty);
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
    static const char *const none[] = {NULL};
    if (!td_param_only(r, none))
        return;
    td_cache_respond(r, &PORTFOLIO_CACHE, build);
}
