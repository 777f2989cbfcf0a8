/*
 * positions.c - GET /api/v1/positions and GET /api/v1/positions/{id}.
 *
 * Keyset pagination on (user_id, id): each page resumes after the last id
 * it returned, so every row is visited exactly once however many rows are
 * inserted meanwhile, and a deep page costs what the first one does.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "core/jsonw.h"
#include "api/params.h"
#include "domain/position.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POSITION_COLUMNS                                                                           \
    "p.id, p.symbol, p.side, p.quantity, p.entry_price, p.realized_pnl, "                          \
    "p.status, " TD_SQL_EPOCH_MS("p.opened_at") ", " TD_SQL_EPOCH_MS("p.closed_at") ", pl.price"

const td_db_stmt td_position_stmts[] = {
    {"position_list",
     "SELECT " POSITION_COLUMNS " FROM positions p "
     "LEFT JOIN prices_latest pl ON pl.symbol = p.symbol "
     "WHERE p.user_id = $1 AND ($2::text IS NULL OR p.status = $2) "
     "AND ($3::text IS NULL OR p.symbol = $3) AND p.id > $4 ORDER BY p.id LIMIT $5",
     5, 1},
    {"position_get",
     "SELECT " POSITION_COLUMNS " FROM positions p "
     "LEFT JOIN prices_latest pl ON pl.symbol = p.symbol WHERE p.user_id = $1 AND p.id = $2",
     2, 1},
};
const size_t td_position_nstmts = TD_ARRAY_LEN(td_position_stmts);

static const td_cache_rule POSITIONS_CACHE = {"pos", 5, 1};
static const td_cache_rule POSITION_CACHE = {"pos1", 5, 1};

/* One row of POSITION_COLUMNS as the API's Position object, shown by
 * domain/position.h's rules; 0 when a stored value does not fit fixed point. */
static int position_write(td_jw *w, const PGresult *res, int row)
{
    td_position p = {.symbol = PQgetvalue(res, row, 1), .has_mark = !PQgetisnull(res, row, 9)};
    td_position_view v;
    if (!td_col_dec(res, row, 3, &p.quantity) || !td_col_dec(res, row, 4, &p.entry_price) ||
        !td_col_dec(res, row, 5, &p.realized_pnl) ||
        td_side_parse(PQgetvalue(res, row, 2), &p.side) != TD_OK ||
        td_position_status_parse(PQgetvalue(res, row, 6), &p.status) != TD_OK ||
        (p.has_mark && !td_col_dec(res, row, 9, &p.mark_price)) ||
        td_position_show(&p, &v) != TD_OK)
        return 0;
    td_jw_obj(w);
    td_jw_key(w, "id");
    td_jw_str(w, PQgetvalue(res, row, 0));
    td_jw_key(w, "symbol");
    td_jw_str(w, PQgetvalue(res, row, 1));
    td_jw_key(w, "side");
    td_jw_str(w, PQgetvalue(res, row, 2));
    td_jw_key(w, "quantity");
    td_jw_dec(w, p.quantity);
    td_jw_key(w, "entry_price");
    td_jw_dec(w, p.entry_price);
    td_jw_key(w, "mark_price");
    td_jw_dec_or_null(w, v.has_mark, v.mark_price);
    td_jw_key(w, "unrealized_pnl");
    td_jw_dec_or_null(w, v.has_unrealized, v.unrealized_pnl);
    td_jw_key(w, "realized_pnl");
    td_jw_dec(w, p.realized_pnl);
    td_jw_key(w, "market_value");
    td_jw_dec_or_null(w, v.has_market_value, v.market_value);
    td_jw_key(w, "status");
    td_jw_str(w, PQgetvalue(res, row, 6));
    td_jw_key(w, "opened_at");
    td_jw_col_time(w, res, row, 7);
    td_jw_key(w, "closed_at");
    td_jw_col_time(w, res, row, 8);
    td_jw_end(w, '}');
    return 1;
}

typedef struct list_query {
    const char *status, *symbol;
    int limit;
    int64_t after;
} list_query;

static int build_list(td_req *r, td_jw *w)
{
    const list_query *q = r->ctx;
    char uid[24], aft[24], lim[16];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(aft, sizeof aft, "%" PRId64, q->after);
    snprintf(lim, sizeof lim, "%d", q->limit + 1); /* one extra row: is there a next page? */
    const char *p[] = {uid, q->status, q->symbol, aft, lim};
    PGresult *res = td_req_query(r, "position_list", 5, p);
    if (!res)
        return 0;
    int ok = td_jw_page(r, w, res, q->limit, position_write, "position");
    PQclear(res);
    return ok;
}

void td_h_positions(td_req *r)
{
    static const char *const allowed[] = {"status", "symbol", "limit", "cursor", NULL};
    static const char *const statuses[] = {"open", "closed", NULL};
    list_query *q = td_arena_alloc(r->arena, sizeof *q);
    if (!td_param_only(r, allowed) || !td_param_enum(r, "status", statuses, &q->status) ||
        !td_param_symbol(r, "symbol", &q->symbol) ||
        !td_param_int(r, "limit", 50, 1, 200, &q->limit) ||
        !td_param_cursor(r, "cursor", &q->after))
        return;
    r->ctx = q;
    td_cache_respond(r, &POSITIONS_CACHE, build_list);
}

static int build_one(td_req *r, td_jw *w)
{
    int64_t id = *(const int64_t *)r->ctx;
    char uid[24], pid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(pid, sizeof pid, "%" PRId64, id);
    const char *p[] = {uid, pid};
    PGresult *res = td_req_query(r, "position_get", 2, p);
    if (!res)
        return 0;
    int ok = PQntuples(res) == 1;
    if (!ok) /* absent and another user's look the same */
        td_resp_error(r, TD_ERR_NOT_FOUND, "position %s not found", pid);
    else if (!(ok = position_write(w, res, 0)))
        td_resp_error(r, TD_ERR_INTERNAL, "a stored position does not fit fixed point");
    PQclear(res);
    return ok;
}

void td_h_position(td_req *r)
{
    static const char *const none[] = {NULL};
    int64_t *id = td_arena_alloc(r->arena, sizeof *id);
    if (!td_param_only(r, none) || !td_path_id(r, 0, "id", id))
        return;
    r->ctx = id;
    td_cache_respond(r, &POSITION_CACHE, build_one);
}
