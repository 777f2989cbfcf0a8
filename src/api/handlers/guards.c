/*
 * guards.c - the drawdown guard as the API shows and enforces it (the
 * engine's guard.c judges it and writes drawdown_guards; sql/011_drawdown.sql):
 *
 *   GET  /api/v1/guards/drawdown                  the caller's guard: equity,
 *        peaks, drawdown %, level, thresholds, action, whether it tripped
 *   POST /api/v1/admin/guards/{user_id}/reset     (admin) the trip cleared and
 *        the peaks moved down to the last equity, with its audit row and
 *        outbox event (drawdown_guard_reset())
 *
 * and td_guard_allows_orders(), which the order API calls inside its
 * creating transaction: a user whose guard tripped with the `block` action
 * gets 409 guard_tripped.  The row is read FOR SHARE there, so a trip the
 * engine is committing and the order never pass each other.
 *
 * What GET shows is the engine's last snapshot (as_of); before the first
 * one the level is normal, the amounts null and the thresholds this API's
 * settings.  The engine bumps no cache generation: cached a few seconds.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"
#include "core/jsonw.h"
#include "domain/drawdown.h"
#include "store/cachegen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const td_db_stmt td_guard_api_stmts[] = {
    {"guard_get",
     "SELECT g.equity, g.peak_equity, g.peak_today, g.drawdown_pct, g.drawdown_today_pct,"
     " g.warning_pct, g.critical_pct, g.level, g.action, g.tripped_at IS NOT NULL, g.blocked, " TD_SQL_EPOCH_MS(
         "g.tripped_at") ", " TD_SQL_EPOCH_MS("g.reset_at") ", " TD_SQL_EPOCH_MS("g.updated_at")
     " FROM (SELECT 1) one LEFT JOIN drawdown_guards g ON g.user_id = $1",
     1, 1},
    /* Inside the order API's transaction: never sent twice. */
    {"guard_blocked",
     "SELECT 1 FROM drawdown_guards WHERE user_id = $1 AND blocked FOR SHARE", 1, 0},
    {"guard_reset", "SELECT drawdown_guard_reset($1, $2)", 2, 0},
};
const size_t td_guard_api_nstmts = TD_ARRAY_LEN(td_guard_api_stmts);

static const td_cache_rule DRAWDOWN_CACHE = {"gdd", 5, 1};

/* A threshold setting as the API writes amounts ("5" -> "5.00"). */
static void setting_pct(td_jw *w, const char *v)
{
    td_dec d = 0;
    int ok = td_dec_parse(v, strlen(v), &d) == TD_OK;
    td_jw_dec_or_null(w, ok, d);
}

/* guard_get's row as the DrawdownGuard object; 0 when a stored amount
 * does not fit fixed point. */
static int guard_write(td_req *r, td_jw *w, const PGresult *res)
{
    static const char *const money[] = {"equity", "peak", "peak_today", "drawdown_pct",
                                        "drawdown_today_pct"};
    static const char *const pcts[] = {"warning_pct", "critical_pct"};
    static const char *const times[] = {"tripped_at", "reset_at", "as_of"};
    const td_config *cfg = &r->app->cfg;
    int known = !PQgetisnull(res, 0, 7);
    td_jw_obj(w);
    td_jw_key(w, "guard");
    td_jw_str(w, "drawdown");
    td_jw_key(w, "level");
    td_jw_str(w, known ? PQgetvalue(res, 0, 7) : td_dd_level_name(TD_DD_NORMAL));
    if (!td_jw_col_decs(w, res, 0, 0, money, 5))
        return 0;
    td_jw_key(w, "thresholds");
    td_jw_obj(w);
    if (known) {
        if (!td_jw_col_decs(w, res, 0, 5, pcts, 2))
            return 0;
    } else {
        td_jw_key(w, pcts[0]);
        setting_pct(w, cfg->guard_warning_pct);
        td_jw_key(w, pcts[1]);
        setting_pct(w, cfg->guard_critical_pct);
    }
    td_jw_end(w, '}');
    td_jw_key(w, "action");
    td_jw_str(w, known ? PQgetvalue(res, 0, 8)
                       : td_guard_action_name((td_guard_action)cfg->guard_action));
    td_jw_key(w, "tripped");
    td_jw_bool(w, known && PQgetvalue(res, 0, 9)[0] == 't');
    td_jw_key(w, "blocked");
    td_jw_bool(w, known && PQgetvalue(res, 0, 10)[0] == 't');
    td_jw_col_times(w, res, 0, 11, times, 3);
    td_jw_key(w, "next_snapshot_at");
    if (known && cfg->guard_interval_s > 0)
        td_jw_time_ms(w, atoll(PQgetvalue(res, 0, 13)) + cfg->guard_interval_s * 1000LL);
    else
        td_jw_null(w);
    td_jw_end(w, '}');
    return 1;
}

/* The guard of user as JSON into w; 0 after answering. */
static int guard_build_of(td_req *r, td_jw *w, int64_t user)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user);
    const char *p[] = {uid};
    PGresult *res = td_req_query(r, "guard_get", 1, p);
    if (!res)
        return 0;
    int ok = guard_write(r, w, res);
    PQclear(res);
    if (!ok)
        td_resp_error(r, TD_ERR_INTERNAL, "a stored drawdown does not fit fixed point");
    return ok;
}

static int drawdown_build(td_req *r, td_jw *w)
{
    return guard_build_of(r, w, r->user_id);
}

void td_h_guard_drawdown(td_req *r)
{
    if (!td_param_none(r))
        return;
    td_cache_respond(r, &DRAWDOWN_CACHE, drawdown_build);
}

void td_h_admin_guard_reset(td_req *r)
{
    int64_t user;
    if (!td_param_none(r) || !td_path_id(r, 0, "user_id", &user))
        return;
    char uid[24], admin[24];
    snprintf(uid, sizeof uid, "%" PRId64, user);
    snprintf(admin, sizeof admin, "%" PRId64, r->user_id);
    const char *p[] = {uid, admin};
    PGresult *res = td_req_query(r, "guard_reset", 2, p);
    if (!res)
        return;
    int found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    PQclear(res);
    if (!found) {
        td_resp_error(r, TD_ERR_NOT_FOUND, "user %s has no drawdown guard (no snapshot yet)", uid);
        return;
    }
    td_cache_invalidate_user(r->app->redis, user);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    if (guard_build_of(r, &w, user))
        td_resp_json_nostore(r, 200, b.data, b.len);
}

int td_guard_allows_orders(td_req *r, const char *uid)
{
    const char *p[] = {uid};
    PGresult *res = td_req_query(r, "guard_blocked", 1, p);
    if (!res)
        return 0;
    int blocked = PQntuples(res) > 0;
    PQclear(res);
    if (blocked)
        td_resp_error(r, TD_ERR_GUARD_TRIPPED,
                      "the drawdown guard tripped at a critical drawdown: new orders are refused "
                      "until the level falls back or an admin resets it");
    return !blocked;
}
