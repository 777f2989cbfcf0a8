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

void td_h_positions(td_req *r)
{
    static const char *const allowed[] = {"status", "symbol", "limit", "cursor", NULL};
    static const char *const statuses[] = {"open", "closed", NULL};
    td_list_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (td_list_query){
        .stmt = "position_list", .nfilters = 2, .row = position_write, .what = "position"};
    if (!td_param_only(r, allowed) || !td_param_enum(r, "status", statuses, &q->filters[0]) ||
        !td_param_symbol(r, "symbol", &q->filters[1]) || !td_param_page(r, q))
        return;
    r->ctx = q;
    td_cache_respond(r, &POSITIONS_CACHE, td_list_build);
}

void td_h_position(td_req *r)
{
    td_one_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (td_one_query){.stmt = "position_get", .row = position_write, .what = "position"};
    if (!td_param_one(r, q))
        return;
    r->ctx = q;
    td_cache_respond(r, &POSITION_CACHE, td_one_build);
}
