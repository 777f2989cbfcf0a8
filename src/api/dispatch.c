/*
 * dispatch.c - from a parsed request to a response: route, authenticate,
 * authorize, run the handler.  No FastCGI here (see worker.c), so the same
 * path runs in unit tests.
 */
#include "api/app.h"
#include "api/ratelimit.h"
#include "core/clock.h"
#include "api/router.h"
#include "api/worker_cache.h"
#include "core/log.h"
#include "store/dbgate.h"
#include "store/keys.h"
#include "store/session.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

td_status td_app_open(td_app *app, const td_config *cfg)
{
    memset(app, 0, sizeof *app);
    app->cfg = *cfg;
    td_token_config_of(&app->cfg, &app->tok);

    /* One statement table: the session module's and every handler file's. */
    const td_db_stmts parts[] = {
        {td_session_stmts, td_session_nstmts},       {td_auth_stmts, td_auth_nstmts},
        {td_portfolio_stmts, td_portfolio_nstmts},   {td_position_stmts, td_position_nstmts},
        {td_price_stmts, td_price_nstmts},           {td_market_stmts, td_market_nstmts},
        {td_order_stmts, td_order_nstmts},           {td_fill_stmts, td_fill_nstmts},
        {td_monitoring_stmts, td_monitoring_nstmts}, {td_recon_api_stmts, td_recon_api_nstmts},
        {td_guard_api_stmts, td_guard_api_nstmts},
        {td_market_alert_stmts, td_market_alert_nstmts},
    };
    td_db_opts o = {.conninfo = cfg->database_url,
                    .application_name = "tradedesk-api",
                    .statement_timeout_ms = cfg->db_timeout_ms,
                    .gate_slots = td_dbgate_limit(cfg->workers, cfg->db_worker_share)};
    app->db = td_db_open(&o, parts, TD_ARRAY_LEN(parts));
    app->redis = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    if (!app->db || !app->redis)
        return TD_ENOMEM;
    return TD_OK;
}

void td_app_close(td_app *app)
{
    td_db_close(app->db);
    td_redis_close(app->redis);
}

PGresult *td_req_query(td_req *r, const char *stmt, int nparams, const char *const *params)
{
    td_status st;
    int64_t t0 = td_mono_ns();
    PGresult *res = td_db_exec(r->app->db, stmt, nparams, params, &st);
    r->db_ns += td_mono_ns() - t0;
    if (!res)
        td_resp_status_error(r, st);
    return res;
}

static void unauthorized(td_req *r, const char *why)
{
    td_resp_header(r, "WWW-Authenticate", "Bearer");
    td_resp_error(r, TD_ERR_UNAUTHENTICATED, "%s", why);
}

/* Verify the bearer token and its session; on failure answer and return 0. */
static int authenticate(td_req *r)
{
    const char *h = r->header(r, "HTTP_AUTHORIZATION");
    if (!h || !*h) {
        unauthorized(r, "missing bearer token");
        return 0;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        unauthorized(r, "authorization must use the Bearer scheme");
        return 0;
    }
    /* A token seen before skips the signature check; a session seen before
     * skips Redis (worker_cache.h says when that memory is trusted). */
    const char *token = h + 7;
    td_claims c;
    if (!td_wc_token_get(token, r->app->tok.leeway_s, &c)) {
        if (td_token_verify(&r->app->tok, token, time(NULL), &c) != TD_OK) {
            unauthorized(r, "invalid or expired token");
            return 0;
        }
        td_wc_token_put(token, &c);
    }
    /* Revocations this worker heard nothing about (another instance's
     * while Redis misbehaved, the CLI's, psql's) reach it here. */
    td_wc_revocation_sync(r->app->db, r->app->redis);
    if (!td_wc_session_ok(c.sid, c.user_id)) {
        uint64_t fence = td_wc_fence(c.user_id); /* before the check it vouches for */
        td_status st = td_session_check(r->app->db, r->app->redis, c.sid, c.user_id, td_wc_epoch());
        if (st == TD_EUNAVAIL) {
            td_resp_status_error(r, st);
            return 0;
        }
        if (st != TD_OK) {
            unauthorized(r, "session is no longer valid");
            return 0;
        }
        long left = (long)(c.exp - time(NULL));
        td_wc_session_put(c.sid, c.user_id, fence,
                          left < TD_SESSION_CACHE_S ? (int)left : TD_SESSION_CACHE_S);
    }
    r->user_id = c.user_id;
    memcpy(r->role, c.role, sizeof r->role);
    memcpy(r->sid, c.sid, sizeof r->sid);
    return 1;
}

/* A user's request: their reads or writes, and their client address's
 * authenticated requests, in one check (api/ratelimit.h). */
static int user_limits(td_req *r, const td_config *c)
{
    int read = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    td_rate_rule rules[2] = {
        read
            ? (td_rate_rule){td_arena_printf(r->arena, TD_KEY_RL_READ_USER, (long long)r->user_id),
                             c->read_rate_per_min, c->read_burst, "read"}
            : (td_rate_rule){td_arena_printf(r->arena, TD_KEY_RL_WRITE_USER, (long long)r->user_id),
                             c->write_rate_per_min, c->write_burst, "write"},
        {td_arena_printf(r->arena, TD_KEY_RL_ADDRESS, r->remote_addr), c->address_rate_per_min,
         c->address_burst, "address"},
    };
    /* Both atomic in Redis across workers and instances; reads (most of
     * them answered from a cache) post-paid, one Redis check per share of
     * what remains rather than per request; writes, which go to
     * PostgreSQL anyway, each checked. */
    if (read)
        return td_ratelimit_answer_postpaid(r, rules, 2, "requests");
    return td_ratelimit_answer(r, rules, 2, "writes", NULL);
}

void td_api_handle(td_req *r)
{
    const td_route *route;
    char allow[64];
    switch (td_route_match(td_api_routes, td_api_nroutes, r, &route, allow, sizeof allow)) {
    case TD_MATCH_NO_PATH:
        td_resp_error(r, TD_ERR_NOT_FOUND, "no such endpoint: %s", r->path);
        return;
    case TD_MATCH_NO_METHOD:
        td_resp_header(r, "Allow", allow);
        td_resp_error(r, TD_ERR_METHOD_NOT_ALLOWED, "%s is not allowed here; allowed: %s",
                      r->method, allow);
        return;
    case TD_MATCH_FOUND:
        r->route_slot = (size_t)(route - td_api_routes) + 1; /* counted under it, once */
        break;
    }
    const td_config *c = &r->app->cfg;
    if (route->limit == TD_LIMIT_MARKET) {
        td_rate_rule rule = {td_arena_printf(r->arena, TD_KEY_RL_MARKET_IP, r->remote_addr),
                             c->market_rate_per_min, c->market_burst, "market"};
        if (!td_ratelimit_answer_leased(r, &rule, 1, "market data requests"))
            return;
    }
    if (route->access != TD_PUBLIC) {
        int64_t t0 = td_mono_ns();
        int ok = authenticate(r);
        r->auth_ns += td_mono_ns() - t0;
        if (!ok)
            return;
        if (route->limit == TD_LIMIT_DEFAULT && !user_limits(r, c))
            return;
    }
    if (route->access == TD_ADMIN && strcmp(r->role, "admin") != 0) {
        td_resp_error(r, TD_ERR_FORBIDDEN, "this endpoint needs the admin role");
        return;
    }
    route->fn(r);
    if (!td_req_answered(r)) {
        td_error("handler for %s %s wrote no response", r->method, route->pattern);
        td_resp_error(r, TD_ERR_INTERNAL, NULL);
    }
}
