/*
 * fills.c - GET /api/v1/fills: the caller's fills, oldest first, keyset by
 * fill id.  `since` (a fill id) resumes after that fill, the way a client
 * that already holds fills up to an id (from this list or from the stream)
 * asks for the rest; `cursor` is the list's own `next_cursor`.
 *
 * GET /api/v1/pnl/daily?from=&to=: the caller's realized P&L, fills and
 * traded volume per UTC day from those rows, every day of the range
 * (a day without fills is zeros), from and to inclusive.
 *
 * The engine's fill transaction writes the rows (and bumps the user's cache
 * generation); this file only reads them.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>

/* store/pgjson's fill columns (TD_FILL_NCOLS), in its order. */
#define FILL_COLUMNS                                                                               \
    "f.id, f.order_id, f.symbol, f.side, f.quantity, f.price, f.realized_pnl, "                    \
    "f.position_id, " TD_SQL_EPOCH_MS("f.created_at") ", (SELECT o.trace_id FROM "             \
    "conditional_orders o WHERE o.id = f.order_id)"

const td_db_stmt td_fill_stmts[] = {
    {"fill_list",
     "SELECT " FILL_COLUMNS " FROM fills f WHERE f.user_id = $1 "
     "AND ($2::text IS NULL OR f.symbol = $2) AND f.id > $3 ORDER BY f.id LIMIT $4",
     4, 1},
    {"pnl_daily",
     "WITH agg AS (SELECT (f.created_at AT TIME ZONE 'UTC')::date AS d, sum(f.realized_pnl) AS pnl,"
     " count(*) AS n, round(sum(f.price * f.quantity), 8) AS vol FROM fills f"
     " WHERE f.user_id = $1 AND f.created_at >= $2::date::timestamp AT TIME ZONE 'UTC'"
     " AND f.created_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC' GROUP BY 1)"
     " SELECT to_char(days.d, 'YYYY-MM-DD'), coalesce(agg.pnl, 0), coalesce(agg.vol, 0),"
     " coalesce(agg.n, 0) FROM (SELECT generate_series($2::date, $3::date, interval '1 day')::date"
     " AS d) days LEFT JOIN agg ON agg.d = days.d ORDER BY days.d",
     3, 1},
};
const size_t td_fill_nstmts = TD_ARRAY_LEN(td_fill_stmts);

#define PNL_MAX_DAYS 366
#define DAY_MS (24LL * 3600 * 1000)

static const td_cache_rule FILLS_CACHE = {"fill", 2, 1};
static const td_cache_rule PNL_CACHE = {"pnl", 5, 1};

static int fill_write(td_jw *w, const PGresult *res, int row)
{
    return td_jw_fill(w, res, row, 0);
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

typedef struct pnl_query {
    char from[16], to[16];
} pnl_query;

static int pnl_build(td_req *r, td_jw *w)
{
    const pnl_query *q = r->ctx;
    char uid[24];
    snprintf(uid, sizeof uid, "%lld", (long long)r->user_id);
    const char *p[] = {uid, q->from, q->to};
    PGresult *res = td_req_query(r, "pnl_daily", 3, p);
    if (!res)
        return 0;
    static const char *const day[] = {"date"};
    static const char *const money[] = {"realized_pnl", "volume"};
    td_jw_obj(w);
    td_jw_key(w, "from");
    td_jw_str(w, q->from);
    td_jw_key(w, "to");
    td_jw_str(w, q->to);
    td_jw_key(w, "items");
    td_jw_arr(w);
    int ok = 1;
    for (int i = 0; ok && i < PQntuples(res); i++) {
        td_jw_obj(w);
        td_jw_col_strs(w, res, i, 0, day, 1);
        ok = td_jw_col_decs(w, res, i, 1, money, 2);
        td_jw_key(w, "fills");
        td_jw_int(w, atoll(PQgetvalue(res, i, 3)));
        td_jw_end(w, '}');
    }
    td_jw_end(w, ']');
    td_jw_end(w, '}');
    PQclear(res);
    if (!ok)
        td_resp_error(r, TD_ERR_INTERNAL, "a day's sums do not fit fixed point");
    return ok;
}

void td_h_pnl_daily(td_req *r)
{
    static const char *const allowed[] = {"from", "to", NULL};
    int64_t from, to;
    int has_from, has_to;
    if (!td_param_only(r, allowed) || !td_param_date(r, "from", &from, &has_from) ||
        !td_param_date(r, "to", &to, &has_to))
        return;
    if (!has_to)
        to = td_wall_ms() / DAY_MS * DAY_MS; /* today, UTC */
    if (!has_from)
        from = to - 29 * DAY_MS; /* 30 days */
    if (from > to) {
        td_resp_error(r, TD_ERR_INVALID_PARAMETER, "from: must not be after to");
        return;
    }
    if ((to - from) / DAY_MS + 1 > PNL_MAX_DAYS) {
        td_resp_error(r, TD_ERR_INVALID_PARAMETER, "to: at most %d days from from", PNL_MAX_DAYS);
        return;
    }
    pnl_query *q = td_arena_alloc(r->arena, sizeof *q);
    char t[40];
    td_rfc3339_ms(from, t, sizeof t);
    snprintf(q->from, sizeof q->from, "%.10s", t);
    td_rfc3339_ms(to, t, sizeof t);
    snprintf(q->to, sizeof q->to, "%.10s", t);
    r->ctx = q;
    td_cache_respond(r, &PNL_CACHE, pnl_build);
}
