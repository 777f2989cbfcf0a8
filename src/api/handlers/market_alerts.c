/*
 * market_alerts.c - GET /api/v1/guards/market-alerts: the market-condition
 * alerts the leading engine raised and cleared (engine/alerts.c writes
 * market_alerts, sql/012; this file only reads).
 *
 * Newest first, keyset by id (the cursor resumes below the last id shown),
 * filtered by `symbol`, `kind` and `active` (true: not cleared; false:
 * cleared), `limit` 1-200 (default 50).  Each item: id, symbol, kind,
 * severity, value and threshold (integers in `unit`: `ms` for a stale feed,
 * `bp` for the others), since, cleared_at (null while active), active.
 *
 * A bearer token is needed, as for every guard (PRODUCT.md lists the
 * guards apart from the public market data), but the alerts are the
 * market's, the same for every user: one cache entry for everybody, kept
 * 5 s (the engine bumps no generation when it writes).
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"
#include "domain/market_alert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const td_db_stmt td_market_alert_stmts[] = {
    {"market_alert_list",
     "SELECT id, symbol, kind, severity, value, threshold, unit, " TD_SQL_EPOCH_MS(
         "since") ", " TD_SQL_EPOCH_MS("cleared_at") " FROM market_alerts"
                                                     " WHERE ($1::text IS NULL OR symbol = $1)"
                                                     " AND ($2::text IS NULL OR kind = $2)"
                                                     " AND ($3::boolean IS NULL OR"
                                                     " (cleared_at IS NULL) = $3)"
                                                     " AND ($4::bigint = 0 OR id < $4)"
                                                     " ORDER BY id DESC LIMIT $5",
     5, 1},
};
const size_t td_market_alert_nstmts = TD_ARRAY_LEN(td_market_alert_stmts);

static const td_cache_rule ALERTS_CACHE = {"mka", 5, 0};

typedef struct alerts_query {
    const char *symbol, *kind, *active;
    td_list_query page;
} alerts_query;

static int alert_write(td_jw *w, const PGresult *res, int row)
{
    static const char *const text[] = {"id", "symbol", "kind", "severity"};
    static const char *const times[] = {"since", "cleared_at"};
    td_jw_obj(w);
    td_jw_col_strs(w, res, row, 0, text, 4);
    td_jw_key(w, "value");
    td_jw_int(w, strtoll(PQgetvalue(res, row, 4), NULL, 10));
    td_jw_key(w, "threshold");
    td_jw_int(w, strtoll(PQgetvalue(res, row, 5), NULL, 10));
    td_jw_key(w, "unit");
    td_jw_col_str(w, res, row, 6);
    td_jw_col_times(w, res, row, 7, times, 2);
    td_jw_key(w, "active");
    td_jw_bool(w, PQgetisnull(res, row, 8));
    td_jw_end(w, '}');
    return 1;
}

static int alerts_build(td_req *r, td_jw *w)
{
    const alerts_query *q = r->ctx;
    char aft[24], lim[16];
    snprintf(aft, sizeof aft, "%" PRId64, q->page.after);
    snprintf(lim, sizeof lim, "%d", q->page.limit + 1); /* one extra row: a next page? */
    const char *p[] = {q->symbol, q->kind, q->active, aft, lim};
    PGresult *res = td_req_query(r, "market_alert_list", 5, p);
    if (!res)
        return 0;
    int ok = td_jw_page(r, w, res, q->page.limit, alert_write, "market alert");
    PQclear(res);
    return ok;
}

void td_h_market_alerts(td_req *r)
{
    static const char *const allowed[] = {"symbol", "kind", "active", "limit", "cursor", NULL};
    static const char *const booleans[] = {"true", "false", NULL};
    alerts_query *q = td_arena_alloc(r->arena, sizeof *q);
    *q = (alerts_query){0};
    if (!td_param_only(r, allowed) || !td_param_symbol(r, "symbol", &q->symbol) ||
        !td_param_enum(r, "kind", td_alert_kind_names, &q->kind) ||
        !td_param_enum(r, "active", booleans, &q->active) || !td_param_page(r, &q->page))
        return;
    r->ctx = q;
    td_cache_respond(r, &ALERTS_CACHE, alerts_build);
}
