/*
 * auth.c - login, logout, logout-all and the session list.
 *
 * Login answers an unknown user and a wrong password with the same status,
 * code and message, and spends one Argon2id verification on each, so neither
 * the answer nor its timing tells which usernames exist.
 */
#include "api/app.h"
#include "api/login_gate.h"
#include "api/worker_cache.h"
#include "core/jsonw.h"
#include "api/ratelimit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/password.h"
#include "core/utf8.h"
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

/* The login limits, what serious services do against both guessing and
 * lockout by strangers: every attempt counts against the client address;
 * only failures count against the username, strictly per username and
 * address (strangers elsewhere cannot lock the owner out) and more loosely
 * for the username from all addresses together (distributed guessing).
 * All three are checked before the password is: a refusal must not depend
 * on whether the password was right, and Argon2id is the expensive part.
 * So each attempt consumes from all three up front, and one that turns out
 * not to be a failure is refunded from the username rules. */
typedef struct login_limits {
    td_rate_rule rules[3]; /* address, then the failure-only ones */
    int local;             /* decided in this worker's memory */
} login_limits;

#define FAILURE_RULES 1 /* rules[FAILURE_RULES..] count failures only */

static int login_allowed(td_req *r, const char *username, login_limits *lim)
{
    const td_config *c = &r->app->cfg;
    const char *addr = r->remote_addr;
    lim->rules[0] = (td_rate_rule){td_arena_printf(r->arena, TD_KEY_RL_LOGIN_IP, addr),
                                   c->login_ip_rate_per_min, c->login_ip_burst, "login-address"};
    lim->rules[1] =
        (td_rate_rule){td_arena_printf(r->arena, TD_KEY_RL_LOGIN_USER_IP, addr, username),
                       c->login_rate_per_min, c->login_burst, "login-failures"};
    lim->rules[2] = (td_rate_rule){td_arena_printf(r->arena, TD_KEY_RL_LOGIN_USER, username),
                                   c->login_user_rate, c->login_user_burst, "login-user-failures"};
    return td_ratelimit_answer(r, lim->rules, 3, "login attempts", &lim->local);
}

/* This attempt was no failed guess (right password, or nothing verified). */
static void login_not_a_failure(td_req *r, const login_limits *lim)
{
    td_ratelimit_refund(r->app->redis, lim->rules + FAILURE_RULES, 3 - FAILURE_RULES, lim->local);
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
    login_limits lim;
    if (!login_allowed(r, folded, &lim))
        return;

    const char *p[] = {folded};
    PGresult *res = td_req_query(r, "user_by_name", 1, p);
    if (!res) {
        login_not_a_failure(r, &lim);
        return;
    }
    /* An unknown or disabled user costs one verification too (a dummy
     * hash), so neither the answer nor its timing tells them apart. */
    int known = PQntuples(res) == 1 && PQgetvalue(res, 0, 3)[0] != 't';
    int64_t user_id = known ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    char role[16] = "";
    const char *hash = NULL;
    if (known) {
        snprintf(role, sizeof role, "%s", PQgetvalue(res, 0, 2));
        hash = td_arena_strdup(r->arena, PQgetvalue(res, 0, 1));
    }
    PQclear(res);

    int seat = td_login_gate_enter();
    if (seat < 0) {
        login_not_a_failure(r, &lim); /* nothing was guessed */
        td_metrics_count(TD_M_LOGIN_BUSY);
        td_resp_header(r, "Retry-After", "1");
        td_resp_error(r, TD_ERR_UNAVAILABLE,
                      "too many logins are being checked at once; retry in 1 s");
        return;
    }
    td_status st = TD_EDENIED;
    if (known)
        st = td_password_verify(hash, pass);
    else
        td_password_burn(pass);
    td_login_gate_leave(seat);
    if (st != TD_OK) {
        bad_credentials(r);
        return;
    }
    login_not_a_failure(r, &lim);

    /* The header is bytes; the sessions row (a UTF8 database) takes text. */
    char ua[TD_USER_AGENT_MAX + 1];
    td_utf8_sanitize(r->user_agent, strlen(r->user_agent), ua, sizeof ua);
    char sid[TD_SID_LEN + 1];
    int ttl = r->app->cfg.jwt_ttl_s;
    st = td_session_create(r->app->db, r->app->redis, user_id, ttl, r->remote_addr, ua, sid);
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
    td_resp_json_nostore(r, 200, b.data, b.len);
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
    td_resp_json_nostore(r, 200, b.data, b.len);
}
