/*
 * fills.c - GET /api/v1/fills: the caller's fills, oldest first, keyset by
 * fill id.  `since` (a fill id) resumes after that fill, the way a client
 * that already holds fills up to an id (from this list or from the stream)
 * asks for the rest; `cursor` is the list's own `next_cursor`.
 *
 * The engine's fill transaction writes the rows (and bumps the user's cache
 * generation); this file only reads them.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"

#define FILL_COLUMNS                                                                               \
    "f.id, f.order_id, f.symbol, f.side, f.quantity, f.price, f.realized_pnl, "                    \
    "f.position_id, " TD_SQL_EPOCH_MS("f.created_at")

const td_db_stmt td_fill_stmts[] = {
    {"fill_list",
     "SELECT " FILL_COLUMNS " FROM fills f WHERE f.user_id = $1 "
     "AND ($2::text IS NULL OR f.symbol = $2) AND f.id > $3 ORDER BY f.id LIMIT $4",
     4, 1},
};
const size_t td_fill_nstmts = TD_ARRAY_LEN(td_fill_stmts);

static const td_cache_rule FILLS_CACHE = {"fill", 2, 1};

static int fill_write(td_jw *w, const PGresult *res, int row)
{
    static const char *const text[] = {"id", "order_id", "symbol", "side"};
    static const char *const money[] = {"quantity", "price", "realized_pnl"};
    static const char *const pos[] = {"position_id"};
    static const char *const times[] = {"created_at"};
    td_jw_obj(w);
    td_jw_col_strs(w, res, row, 0, text, 4);
    if (!td_jw_col_decs(w, res, row, 4, money, 3))
        return 0;
    td_jw_col_strs(w, res, row, 7, pos, 1);
    td_jw_col_times(w, res, row, 8, times, 1);
    td_jw_end(w, '}');
    return 1;
}

void td_h_fills(td_req *r)
{
    static const char *const allowed[] = {"since", "symbol", "limit", "cursor", NULL};
    td_list_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (td_list_query){.stmt = "fill_list", .nfilters = 1, .row = fill_write, .what = "fill"};
    int64_t since;
    if (!td_param_only(r, allowed) || !td_param_id(r, "since", &since) ||
        !td_param_symbol(r, "symbol", &q->filters[0]) || !td_param_page(r, q))
        return;
    if (since && q->after) {
        td_resp_error(r, TD_ERR_INVALID_PARAMETER, "since: give since or cursor, not both");
        return;
    }
    if (since)
        q->after = since;
    r->ctx = q;
    td_cache_respond(r, &FILLS_CACHE, td_list_build);
}
