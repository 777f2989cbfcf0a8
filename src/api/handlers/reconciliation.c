/*
 * reconciliation.c - the caller's view of the engine's reconciliation runs
 * (engine/recon.c writes them; this file only reads).
 *
 * GET /api/v1/reconciliation/status: the newest finished run as it
 * concerns the caller: `level` from the caller's divergences in it
 * (domain/reconcile.h's verdict), their count, the run's `matched` (every
 * comparison of that run that agreed), `last_run_at` (when it finished) and
 * `next_run_at` (its start plus TRADEDESK_RECON_INTERVAL_S; null when the
 * job is off or has never run).
 *
 * GET /api/v1/reconciliation/logs?limit=&cursor=: the runs, newest first,
 * keyset by run id, each with the caller's divergences in it (at most
 * DETAILS_MAX of them).
 *
 * Runs are written by the engine, which bumps no user's cache generation:
 * each answer is cached per user for a few seconds only.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"
#include "domain/reconcile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DETAILS_MAX "100"

const td_db_stmt td_recon_api_stmts[] = {
    {"recon_status",
     "SELECT r.id, " TD_SQL_EPOCH_MS("r.started_at") ", " TD_SQL_EPOCH_MS(
         "r.finished_at") ", r.matched, count(d.id) FILTER (WHERE d.level = 'warning'),"
                          " count(d.id) FILTER (WHERE d.level = 'critical')"
                          " FROM (SELECT * FROM reconciliation_runs WHERE finished_at IS NOT NULL"
                          " ORDER BY finished_at DESC LIMIT 1) r"
                          " LEFT JOIN reconciliation_divergences d ON d.run_id = r.id AND "
                          "d.user_id = $1"
                          " GROUP BY r.id, r.started_at, r.finished_at, r.matched",
     1, 1},
    /* One row per (run, divergence of the caller's), a run without any
     * once with NULL divergence columns; limit + 1 runs. */
    {"recon_logs",
     "SELECT r.id, " TD_SQL_EPOCH_MS("r.started_at") ", " TD_SQL_EPOCH_MS(
         "r.finished_at") ", r.matched, d.kind, d.symbol, d.expected, d.actual, d.level, d.detail"
                          " FROM (SELECT * FROM reconciliation_runs WHERE finished_at IS NOT NULL"
                          " AND ($2::bigint = 0 OR id < $2) ORDER BY id DESC LIMIT $3) r"
                          " LEFT JOIN LATERAL (SELECT * FROM reconciliation_divergences x"
                          " WHERE x.run_id = r.id AND x.user_id = $1 ORDER BY x.id "
                          "LIMIT " DETAILS_MAX ") d ON true"
                          " ORDER BY r.id DESC, d.id",
     3, 1},
};
const size_t td_recon_api_nstmts = TD_ARRAY_LEN(td_recon_api_stmts);

static const td_cache_rule STATUS_CACHE = {"rcs", 2, 1};
static const td_cache_rule LOGS_CACHE = {"rcl", 2, 1};

static int status_build(td_req *r, td_jw *w)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    const char *p[] = {uid};
    PGresult *res = td_req_query(r, "recon_status", 1, p);
    if (!res)
        return 0;
    int any = PQntuples(res) == 1;
    long long warnings = any ? atoll(PQgetvalue(res, 0, 4)) : 0,
              criticals = any ? atoll(PQgetvalue(res, 0, 5)) : 0;
    int interval_s = r->app->cfg.recon_interval_s;
    td_jw_obj(w);
    td_jw_key(w, "level");
    td_jw_str(w, td_recon_level_name(td_recon_verdict(warnings, criticals)));
    td_jw_key(w, "matched");
    td_jw_int(w, any ? atoll(PQgetvalue(res, 0, 3)) : 0);
    td_jw_key(w, "divergences");
    td_jw_int(w, warnings + criticals);
    td_jw_key(w, "last_run_at");
    if (any)
        td_jw_col_time(w, res, 0, 2);
    else
        td_jw_null(w);
    td_jw_key(w, "next_run_at");
    if (any && interval_s > 0)
        td_jw_time_ms(w, atoll(PQgetvalue(res, 0, 1)) + interval_s * 1000LL);
    else
        td_jw_null(w);
    td_jw_end(w, '}');
    PQclear(res);
    return 1;
}

void td_h_recon_status(td_req *r)
{
    static const char *const allowed[] = {NULL};
    if (!td_param_only(r, allowed))
        return;
    td_cache_respond(r, &STATUS_CACHE, status_build);
}

/* One divergence of rows[i]: columns 4.. (kind, symbol, expected, actual,
 * level, detail); 0 when an amount does not fit fixed point. */
static int divergence_write(td_jw *w, const PGresult *res, int i)
{
    static const char *const text[] = {"kind", "symbol"};
    static const char *const money[] = {"expected", "actual"};
    static const char *const more[] = {"level", "detail"};
    td_jw_obj(w);
    td_jw_col_strs(w, res, i, 4, text, 2);
    if (!td_jw_col_decs(w, res, i, 6, money, 2))
        return 0;
    td_dec e, a, d;
    int known =
        td_col_dec(res, i, 6, &e) && td_col_dec(res, i, 7, &a) && td_dec_sub(a, e, &d) == TD_OK;
    td_jw_key(w, "difference");
    td_jw_dec_or_null(w, known, known ? d : 0);
    td_jw_col_strs(w, res, i, 8, more, 2);
    td_jw_end(w, '}');
    return 1;
}

typedef struct logs_query {
    int limit;
    int64_t after;
} logs_query;

static int logs_build(td_req *r, td_jw *w)
{
    const logs_query *q = r->ctx;
    char uid[24], aft[24], lim[16];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(aft, sizeof aft, "%" PRId64, q->after);
    snprintf(lim, sizeof lim, "%d", q->limit + 1); /* one extra run: is there a next page? */
    const char *p[] = {uid, aft, lim};
    PGresult *res = td_req_query(r, "recon_logs", 3, p);
    if (!res)
        return 0;
    int n = PQntuples(res), runs = 0, i = 0, ok = 1;
    const char *last = NULL;
    td_jw_obj(w);
    td_jw_key(w, "items");
    td_jw_arr(w);
    while (ok && i < n) {
        const char *id = PQgetvalue(res, i, 0);
        if (runs == q->limit)
            break; /* the extra run */
        runs++;
        last = id;
        /* This run's rows: its divergences of the caller's, or one NULL row. */
        int end = i, warnings = 0, criticals = 0;
        while (end < n && strcmp(PQgetvalue(res, end, 0), id) == 0) {
            if (!PQgetisnull(res, end, 4)) {
                warnings += strcmp(PQgetvalue(res, end, 8), "warning") == 0;
                criticals += strcmp(PQgetvalue(res, end, 8), "critical") == 0;
            }
            end++;
        }
        static const char *const times[] = {"started_at", "finished_at"};
        td_jw_obj(w);
        td_jw_key(w, "id");
        td_jw_str(w, id);
        td_jw_col_times(w, res, i, 1, times, 2);
        td_jw_key(w, "level");
        td_jw_str(w, td_recon_level_name(td_recon_verdict(warnings, criticals)));
        td_jw_key(w, "matched");
        td_jw_int(w, atoll(PQgetvalue(res, i, 3)));
        td_jw_key(w, "divergences");
        td_jw_arr(w);
        for (; ok && i < end; i++)
            if (!PQgetisnull(res, i, 4))
                ok = divergence_write(w, res, i);
        td_jw_end(w, ']');
        td_jw_end(w, '}');
        i = end;
    }
    td_jw_end(w, ']');
    td_jw_key(w, "next_cursor");
    if (ok && i < n && last) {
        char cur[24];
        td_cursor_encode(strtoll(last, NULL, 10), cur, sizeof cur);
        td_jw_str(w, cur);
    } else {
        td_jw_null(w);
    }
    td_jw_end(w, '}');
    PQclear(res);
    if (!ok)
        td_resp_error(r, TD_ERR_INTERNAL, "a stored divergence does not fit fixed point");
    return ok;
}

void td_h_recon_logs(td_req *r)
{
    static const char *const allowed[] = {"limit", "cursor", NULL};
    logs_query *q = td_arena_alloc(r->arena, sizeof *q);
    td_list_query page = {0};
    if (!td_param_only(r, allowed) || !td_param_page(r, &page))
        return;
    q->limit = page.limit;
    q->after = page.after;
    r->ctx = q;
    td_cache_respond(r, &LOGS_CACHE, logs_build);
}
