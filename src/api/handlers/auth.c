/*
 * auth.c - login, logout, logout-all and the session list.
 *
 * Login answers an unknown user and a wrong password with the same status,
 * code and message, and spends one Argon2id verification on each, so neither
 * the answer nor its timing tells which usernames exist.
 */
#include "api/app.h"
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

#define TS_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

const td_db_stmt td_auth_stmts[] = {
    {"user_by_name", "SELECT id, password_hash, role, disabled FROM users WHERE username = $1", 1,
     1},
    {"session_list",
     "SELECT id, " TS_UTC("created_at") ", " TS_UTC(
         "expires_at") ", client_addr, user_agent "
                       "FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > "
                       "now() "
                       "ORDER BY created_at DESC, id LIMIT 100",
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
    td_resp_error(r, 429, "rate_limited", "too many login attempts; retry in %d s",
                  rl.retry_after_s);
    return 0;
}

static void bad_credentials(td_req *r)
{
    td_resp_error(r, 401, "invalid_credentials", "invalid username or password");
}

void td_h_login(td_req *r)
{
    json_object *body = td_req_json_object(r);
    if (!body)
        return;
    const char *user = string_field(body, "username");
    const char *pass = string_field(body, "password");
    if (!user || !pass) {
        td_resp_error(r, 400, "invalid_request", "username and password are required strings");
        return;
    }
    char *folded = username_fold(r, user);
    if (!folded || strlen(pass) > TD_PASSWORD_MAX_LEN) {
        td_resp_error(r, 400, "invalid_request",
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
        td_resp_error(r, 500, "internal", "could not issue a token");
        return;
    }
    r->user_id = user_id;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "access_token", json_object_new_string(token));
    json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
    json_object_object_add(o, "expires_in", json_object_new_int(ttl));
    json_object_object_add(o, "session_id", json_object_new_string(sid));
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    json_object_object_add(o, "user_id", json_object_new_string(uid));
    json_object_object_add(o, "role", json_object_new_string(role));
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_json(r, 200, o);
}

void td_h_logout(td_req *r)
{
    td_status st = td_session_revoke(r->app->db, r->app->redis, r->sid, r->user_id);
    if (st != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    td_resp_empty(r, 204);
}

void td_h_logout_all(td_req *r)
{
    int n = 0;
    td_status st = td_session_revoke_all(r->app->db, r->app->redis, r->user_id, &n);
    if (st != TD_OK) {
        td_resp_status_error(r, st);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "revoked", json_object_new_int(n));
    td_resp_json(r, 200, o);
}

void td_h_sessions(td_req *r)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    const char *p[] = {uid};
    PGresult *res = td_req_query(r, "session_list", 1, p);
    if (!res)
        return;
    json_object *items = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "id", json_object_new_string(PQgetvalue(res, i, 0)));
        json_object_object_add(s, "created_at", json_object_new_string(PQgetvalue(res, i, 1)));
        json_object_object_add(s, "expires_at", json_object_new_string(PQgetvalue(res, i, 2)));
        json_object_object_add(s, "client_addr", json_object_new_string(PQgetvalue(res, i, 3)));
        json_object_object_add(s, "user_agent", json_object_new_string(PQgetvalue(res, i, 4)));
        json_object_object_add(s, "current",
                               json_object_new_boolean(strcmp(PQgetvalue(res, i, 0), r->sid) == 0));
        json_object_array_add(items, s);
    }
    PQclear(res);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "next_cursor", NULL);
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_json(r, 200, o);
}
