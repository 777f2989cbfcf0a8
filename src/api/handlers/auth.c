/*
 * auth.c - login, logout, logout-all and the session list.
 *
 * Login answers an unknown user and a wrong password with the same status,
 * code and message, and spends one Argon2id verification on each, so neither
 * the answer nor its timing tells which usernames exist.
 */
#include "api/app.h"
#include "api/worker_cache.h"
#include "core/jsonw.h"
#include "api/ratelimit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/password.h"
#include "store/keys.h"
#include "store/session.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const td_db_stmt td_auth_stmts[] = {
    {"user_by_name", "SELECT id, password_hash, role, disabled FROM users WHERE username = $1", 1,
     1},
    {"session_list",
     "SELECT id, " TD_SQL_EPOCH_MS("created_at") ", " TD_SQL_EPOCH_MS(
         "expires_at") ", client_addr, user_agent FROM sessions"
                       " WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()"
                       " ORDER BY created_at DESC, id LIMIT 100",
     1, 1},
};
const size_t td_auth_nstmts = TD_ARRAY_LEN(td_auth_stmts);

static const char *string_field(json_object *o, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Usernames are compared case-insensitively: fold before lookup and limits. */
static char *username_fold(td_req *r, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return NULL;
    char *out = td_arena_strndup(r->arena, s, n);
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return out;
}

static void rate_headers(td_req *r, const td_rate_result *rl)
{
    char v[24];
    snprintf(v, sizeof v, "%d", rl->limit);
    td_resp_header(r, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%d", rl->remaining);
    td_resp_header(r, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%d", rl->reset_s);
    td_resp_header(r, "RateLimit-Reset", v);
}

/* Per username and per client address, checked and consumed together. */
static int login_allowed(td_req *r, const char *username)
{
    const td_config *c = &r->app->cfg;
    td_rate_rule rules[2] = {
        {td_arena_printf(r->arena, TD_KEY_RL_LOGIN_IP, r->remote_addr), c->login_ip_rate_per_min,
         c->login_ip_burst},
        {td_arena_printf(r->arena, TD_KEY_RL_LOGIN_USER, username), c->login_rate_per_min,
         c->login_burst},
    };
    td_rate_result rl;
    td_status st = td_ratelimit_check(r->app->redis, rules, 2, &rl);
    if (st == TD_EUNAVAIL)
        td_warn("login rate limit: Redis unavailable, limiting per worker");
    else if (st != TD_OK)
        return 1; /* a malformed script reply: Argon2id still bounds guessing */
    rate_headers(r, &rl);
    if (rl.allowed)
        return 1;
    char v[24];
    snprintf(v, sizeof v, "%d", rl.retry_after_s);
    td_resp_header(r, "Retry-After", v);
    td_metrics_count(TD_M_RATE_LIMITED);
    td_resp_error(r, TD_ERR_RATE_LIMITED, "too many login attempts; retry in %d s",
                  rl.retry_after_s);
    return 0;
}

static void bad_credentials(td_req *r)
{
    td_resp_error(r, TD_ERR_INVALID_CREDENTIALS, NULL);
}

void td_h_login(td_req *r)
{
    json_object *body = td_req_json_object(r);
    if (!body)
        return;
    const char *user = string_field(body, "username");
    const char *pass = string_field(body, "password");
    if (!user || !pass) {
        td_resp_error(r, TD_ERR_INVALID_REQUEST, "username and password are required strings");
        return;
    }
    char *folded = username_fold(r, user);
    if (!folded || strlen(pass) > TD_PASSWORD_MAX_LEN) {
        td_resp_error(r, TD_ERR_INVALID_REQUEST,
                      "username must be 1-64 characters and password at most %d bytes",
                      TD_PASSWORD_MAX_LEN);
        return;
    }
    if (!login_allowed(r, folded))
        return;

    const char *p[] = {folded};
    PGresult *res = td_req_query(r, "user_by_name", 1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, 3)[0] == 't') {
        PQclear(res);
        td_password_burn(pass);
        bad_credentials(r);
        return;
    }
    int64_t user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    char role[16];
    snprintf(role, sizeof role, "%s", PQgetvalue(res, 0, 2));
    td_status st = td_password_verify(PQgetvalue(res, 0, 1), pass);
    PQclear(res);
    if (st != TD_OK) {
        bad_credentials(r);
        return;
    }

    char sid[TD_SID_LEN + 1];
    int ttl = r->app->cfg.jwt_ttl_s;
    st = td_session_create(r->app->db, r->app->redis, user_id, ttl, r->remote_addr, r->user_agent,
                           sid);
    if (st != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    char token[2048];
    if (td_token_mint(&r->app->tok, user_id, role, sid, time(NULL), ttl, token, sizeof token) !=
        TD_OK) {
        td_resp_error(r, TD_ERR_INTERNAL, "could not issue a token");
        return;
    }
    r->user_id = user_id;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "access_token");
    td_jw_str(&w, token);
    td_jw_key(&w, "token_type");
    td_jw_str(&w, "Bearer");
    td_jw_key(&w, "expires_in");
    td_jw_int(&w, ttl);
    td_jw_key(&w, "session_id");
    td_jw_str(&w, sid);
    td_jw_key(&w, "user_id");
    td_jw_str(&w, uid);
    td_jw_key(&w, "role");
    td_jw_str(&w, role);
    td_jw_end(&w, '}');
    explicit_bzero(token, sizeof token);
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_raw(r, 200, "application/json", b.data, b.len);
}

/* The revocation is in PostgreSQL: tell the siblings first (the epoch and
 * the user's fence, in shared memory, so none trusts its memory or Redis'
 * positive entry of the session from now on), then Redis.  A Redis that
 * refuses or stalls cannot undo it: checks bypass Redis until its mark
 * catches up, so the answer is the same either way. */
static void revoked(td_req *r, td_revoked *rv, char kind, const char *id)
{
    td_wc_epoch_seen(rv->epoch);
    td_wc_user_changed(r->user_id);
    td_session_announce(r->app->redis, rv, kind, id);
    td_revoked_free(rv);
}

void td_h_logout(td_req *r)
{
    td_revoked rv;
    td_status st = td_session_revoke(r->app->db, r->sid, r->user_id, &rv);
    if (st != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    revoked(r, &rv, TD_INVAL_SESSION, r->sid);
    td_resp_empty(r, 204);
}

void td_h_logout_all(td_req *r)
{
    td_revoked rv;
    td_status st = td_session_revoke(r->app->db, NULL, r->user_id, &rv);
    if (st != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    int n = rv.n;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    revoked(r, &rv, TD_INVAL_SESSIONS, uid);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "revoked");
    td_jw_int(&w, n);
    td_jw_end(&w, '}');
    td_resp_raw(r, 200, "application/json", b.data, b.len);
}

void td_h_sessions(td_req *r)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    const char *p[] = {uid};
    PGresult *res = td_req_query(r, "session_list", 1, p);
    if (!res)
        return;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "items");
    td_jw_arr(&w);
    for (int i = 0; i < PQntuples(res); i++) {
        td_jw_obj(&w);
        td_jw_key(&w, "id");
        td_jw_str(&w, PQgetvalue(res, i, 0));
        td_jw_key(&w, "created_at");
        td_jw_time_ms(&w, strtoll(PQgetvalue(res, i, 1), NULL, 10));
        td_jw_key(&w, "expires_at");
        td_jw_time_ms(&w, strtoll(PQgetvalue(res, i, 2), NULL, 10));
        td_jw_key(&w, "client_addr");
        td_jw_str(&w, PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3));
        td_jw_key(&w, "user_agent");
        td_jw_str(&w, PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4));
        td_jw_key(&w, "current");
        td_jw_bool(&w, strcmp(PQgetvalue(res, i, 0), r->sid) == 0);
        td_jw_end(&w, '}');
    }
    PQclear(res);
    td_jw_end(&w, ']');
    td_jw_key(&w, "next_cursor");
    td_jw_null(&w);
    td_jw_end(&w, '}');
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_raw(r, 200, "application/json", b.data, b.len);
}
