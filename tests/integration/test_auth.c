/*
 * test_auth.c - login, tokens, sessions and the error envelope, through
 * nginx against the real API (see tests/integration/run.sh).
 *
 * Login is rate limited per client address (every attempt), and for
 * failed logins per username + address (test env: 6/min, burst 2) and per
 * username from all addresses (12/min, burst 5).  So each test logs in as its own fresh user
 * (created with `tradedesk user add`) from its own loopback address, and the rate-limit tests run
 * last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PASS "correct horse battery"

static const char *demo_password(void)
{
    const char *p = getenv("TRADEDESK_DEMO_PASSWORD");
    return p && *p ? p : "tradedesk";
}

static int fresh_client(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return 0;
}

/* A new user, logged in: token (and session id when sid != NULL). */
static void new_session(const char *prefix, char *user, size_t ucap, char *token, size_t tcap)
{
    assert_int_equal(itest_user_add(prefix, PASS, user, ucap), 0);
    assert_int_equal(itest_login(user, PASS, token, tcap), 200);
    assert_true(token[0] != '\0');
}

static void assert_unauthorized(itest_response *r)
{
    ITEST_ERROR(r, 401, "unauthorized");
    const char *wa = itest_header(r, "www-authenticate");
    if (!wa || strncmp(wa, "Bearer", 6) != 0) {
        fprintf(stderr, "    expected WWW-Authenticate: Bearer ...\n");
        itest_dump(r);
        fail();
    }
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* ---------------------------------------------------------------- login */

static void login_demo_user(void **state)
{
    (void)state;
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", demo_password());
    itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, body);
    ITEST_STATUS(r, 200);
    const char *tok = itest_json_str(r, "access_token");
    assert_non_null(tok);
    assert_int_equal(count_char(tok, '.'), 2);
    assert_string_equal(itest_json_str(r, "token_type"), "Bearer");
    json_object *exp = itest_json_get(r, "expires_in");
    assert_non_null(exp);
    assert_true(json_object_is_type(exp, json_type_int));
    const char *ttl = getenv("TRADEDESK_JWT_TTL");
    assert_int_equal(json_object_get_int(exp), ttl ? atoi(ttl) : 900);
    const char *sid = itest_json_str(r, "session_id");
    assert_non_null(sid);
    assert_true(strlen(sid) > 0);
    assert_non_null(itest_header(r, "x-request-id"));

    /* The token is accepted. */
    itest_response *s = itest_get_auth("/api/v1/auth/sessions", tok);
    ITEST_STATUS(s, 200);
    itest_free(s);
    itest_free(r);
}

static void wrong_password_and_unknown_user_look_alike(void **state)
{
    (void)state;
    char user[64], body[256];
    assert_int_equal(itest_user_add("wp", PASS, user, sizeof user), 0);

    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"not the password\"}", user);
    itest_response *a = itest_http("POST", "/api/v1/auth/login", NULL, body);
    ITEST_ERROR(a, 401, "invalid_credentials");

    snprintf(body, sizeof body, "{\"username\":\"nosuch%ux\",\"password\":\"%s\"}",
             (unsigned)getpid(), PASS);
    itest_response *b = itest_http("POST", "/api/v1/auth/login", NULL, body);
    ITEST_ERROR(b, 401, "invalid_credentials");

    assert_string_equal(itest_json_str(a, "error.message"), itest_json_str(b, "error.message"));
    itest_free(a);
    itest_free(b);
}

/* ------------------------------------------------------------- sessions */

static void sessions_list_has_current(void **state)
{
    (void)state;
    char user[64], token[4096];
    assert_int_equal(itest_user_add("sl", PASS, user, sizeof user), 0);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "username", json_object_new_string(user));
    json_object_object_add(o, "password", json_object_new_string(PASS));
    itest_response *login =
        itest_http("POST", "/api/v1/auth/login", NULL, json_object_to_json_string(o));
    json_object_put(o);
    ITEST_STATUS(login, 200);
    snprintf(token, sizeof token, "%s", itest_json_str(login, "access_token"));
    const char *sid = itest_json_str(login, "session_id");
    assert_non_null(sid);

    itest_response *r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_non_null(items);
    assert_true(json_object_is_type(items, json_type_array));
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i), *v;
        assert_true(json_object_object_get_ex(it, "id", &v));
        assert_true(json_object_object_get_ex(it, "created_at", NULL));
        assert_true(json_object_object_get_ex(it, "expires_at", NULL));
        json_object *cur;
        assert_true(json_object_object_get_ex(it, "current", &cur));
        assert_true(json_object_is_type(cur, json_type_boolean));
        if (strcmp(json_object_get_string(v), sid) == 0) {
            assert_true(json_object_get_boolean(cur));
            found = 1;
        } else {
            assert_false(json_object_get_boolean(cur));
        }
    }
    if (!found) {
        fprintf(stderr, "    session %s not in the list\n", sid);
        itest_dump(r);
        fail();
    }
    itest_free(r);
    itest_free(login);
}

static void logout_revokes_the_session(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("lo", user, sizeof user, token, sizeof token);

    itest_response *r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    itest_free(r);

    r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    ITEST_STATUS(r, 204);
    assert_int_equal(r->body_len, 0);
    itest_free(r);

    r = itest_get_auth("/api/v1/auth/sessions", token);
    assert_unauthorized(r);
    itest_free(r);
    r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    assert_unauthorized(r);
    itest_free(r);
}

/* Every worker keeps checked sessions in memory: a logout served by one
 * worker must reach the others before their next request. */
static void revocation_reaches_every_worker(void **state)
{
    (void)state;
    for (int round = 0; round < 10; round++) {
        char user[64], token[4096];
        new_session("rv", user, sizeof user, token, sizeof token);
        for (int i = 0; i < 6; i++) { /* warm every worker's memory */
            itest_response *r = itest_get_auth("/api/v1/auth/sessions", token);
            ITEST_STATUS(r, 200);
            itest_free(r);
        }
        itest_response *r = itest_post_auth("/api/v1/auth/logout", token, NULL);
        ITEST_STATUS(r, 204);
        itest_free(r);
        for (int i = 0; i < 6; i++) {
            r = itest_get_auth("/api/v1/auth/sessions", token);
            assert_unauthorized(r);
            itest_free(r);
        }
    }
}

static void logout_all_revokes_every_session(void **state)
{
    (void)state;
    char user[64], t1[4096], t2[4096];
    new_session("la", user, sizeof user, t1, sizeof t1);
    assert_int_equal(itest_login(user, PASS, t2, sizeof t2), 200);
    assert_string_not_equal(t1, t2);

    itest_response *r = itest_post_auth("/api/v1/auth/logout-all", t1, NULL);
    ITEST_STATUS(r, 200);
    json_object *n = itest_json_get(r, "revoked");
    assert_non_null(n);
    assert_true(json_object_is_type(n, json_type_int));
    assert_int_equal(json_object_get_int(n), 2);
    itest_free(r);

    r = itest_get_auth("/api/v1/auth/sessions", t1);
    assert_unauthorized(r);
    itest_free(r);
    r = itest_get_auth("/api/v1/auth/sessions", t2);
    assert_unauthorized(r);
    itest_free(r);
}

/* --------------------------------------------------------------- tokens */

static void missing_and_garbage_tokens(void **state)
{
    (void)state;
    const char *bad[] = {
        "garbage", "a.b.c",
        ("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
         "eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwiZXhwIjo5OTk5OTk5OTk5fQ."), /* alg:none */
    };
    itest_response *r = itest_get_auth("/api/v1/auth/sessions", NULL);
    assert_unauthorized(r);
    itest_free(r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = itest_get_auth("/api/v1/auth/sessions", bad[i]);
        assert_unauthorized(r);
        itest_free(r);
    }
    const char *basic[] = {"Authorization: Basic YWxpY2U6dHJhZGVkZXNr", NULL};
    r = itest_http("GET", "/api/v1/auth/sessions", basic, NULL);
    assert_unauthorized(r);
    itest_free(r);
}

/* Re-sign a real token's claims with exp moved to now+delta. */
static char *resign(const char *token, long delta)
{
    const char *secret = getenv("TRADEDESK_JWT_SECRET");
    assert_non_null(secret);
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_decode(&jwt, token, (const unsigned char *)secret, (int)strlen(secret)),
                     0);
    assert_int_equal(jwt_get_alg(jwt), JWT_ALG_HS256);
    jwt_del_grants(jwt, "exp");
    assert_int_equal(jwt_add_grant_int(jwt, "exp", (long)time(NULL) + delta), 0);
    char *out = jwt_encode_str(jwt);
    assert_non_null(out);
    jwt_free(jwt);
    return out;
}

static void expired_and_tampered_tokens(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("ex", user, sizeof user, token, sizeof token);

    /* Control: the same claims re-signed with a future exp are accepted,
     * so the refusal below is about exp and nothing else. */
    char *fresh = resign(token, 600);
    itest_response *r = itest_get_auth("/api/v1/auth/sessions", fresh);
    ITEST_STATUS(r, 200);
    itest_free(r);
    free(fresh);

    char *expired = resign(token, -120);
    r = itest_get_auth("/api/v1/auth/sessions", expired);
    assert_unauthorized(r);
    itest_free(r);
    free(expired);

    /* A flipped signature character. */
    size_t n = strlen(token);
    token[n - 2] = token[n - 2] == 'A' ? 'B' : 'A';
    r = itest_get_auth("/api/v1/auth/sessions", token);
    assert_unauthorized(r);
    itest_free(r);
}

static void cli_token_works(void **state)
{
    (void)state;
    char token[4096];
    assert_int_equal(itest_cli("token alice", NULL, token, sizeof token), 0);
    assert_int_equal(count_char(token, '.'), 2);
    itest_response *r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    itest_free(r);
}

/* ------------------------------------------------------- request layer */

static void unknown_path_and_wrong_method(void **state)
{
    (void)state;
    itest_response *r = itest_http("GET", "/api/v1/no/such/thing", NULL, NULL);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);

    r = itest_http("GET", "/api/v1/auth/login", NULL, NULL);
    ITEST_ERROR(r, 405, "method_not_allowed");
    const char *allow = itest_header(r, "allow");
    assert_non_null(allow);
    assert_non_null(strstr(allow, "POST"));
    itest_free(r);

    r = itest_http("DELETE", "/api/v1/auth/sessions", NULL, NULL);
    ITEST_ERROR(r, 405, "method_not_allowed");
    allow = itest_header(r, "allow");
    assert_non_null(allow);
    assert_non_null(strstr(allow, "GET"));
    itest_free(r);

    /* Outside /api/, nginx answers with the same envelope. */
    r = itest_http("GET", "/no-such-page", NULL, NULL);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);
}

static void request_id_is_echoed(void **state)
{
    (void)state;
    char id[64], hdr[96];
    snprintf(id, sizeof id, "itest-%u-7f3a", (unsigned)getpid());
    snprintf(hdr, sizeof hdr, "X-Request-ID: %s", id);
    const char *h[] = {hdr, NULL};

    itest_response *r = itest_http("GET", "/health", h, NULL);
    assert_non_null(itest_header(r, "x-request-id"));
    assert_string_equal(itest_header(r, "x-request-id"), id);
    itest_free(r);

    r = itest_http("GET", "/api/v1/no/such/thing", h, NULL);
    ITEST_ERROR(r, 404, "not_found");
    assert_string_equal(itest_header(r, "x-request-id"), id);
    itest_free(r);

    /* Without one, the response still carries an id; two requests differ. */
    itest_response *a = itest_http("GET", "/health", NULL, NULL);
    itest_response *b = itest_http("GET", "/health", NULL, NULL);
    assert_non_null(itest_header(a, "x-request-id"));
    assert_non_null(itest_header(b, "x-request-id"));
    assert_true(strlen(itest_header(a, "x-request-id")) > 0);
    assert_string_not_equal(itest_header(a, "x-request-id"), itest_header(b, "x-request-id"));
    itest_free(a);
    itest_free(b);
}

static void oversized_body_is_413(void **state)
{
    (void)state;
    const char *lim = getenv("TRADEDESK_MAX_BODY_BYTES");
    size_t max = lim ? (size_t)atol(lim) : 64 * 1024;
    size_t n = max + 1024;
    char *body = malloc(n + 1);
    assert_non_null(body);
    /* Valid JSON, so only the size is wrong. */
    int k = snprintf(body, n + 1, "{\"username\":\"alice\",\"password\":\"");
    memset(body + k, 'x', n - (size_t)k - 2);
    memcpy(body + n - 2, "\"}", 2);
    body[n] = '\0';
    itest_response *r = itest_http_n("POST", "/api/v1/auth/login", NULL, body, n);
    ITEST_ERROR(r, 413, "payload_too_large");
    itest_free(r);
    free(body);
}

/* Over nginx's client_max_body_size (1m) nginx answers itself, with the
 * page nginx/errors.conf prints from the error table. */
static void body_over_nginx_limit_is_413(void **state)
{
    (void)state;
    size_t n = 1100 * 1024;
    char *body = malloc(n + 1);
    assert_non_null(body);
    memset(body, 'x', n);
    body[n] = '\0';
    itest_response *r = itest_http_n("POST", "/api/v1/auth/login", NULL, body, n);
    ITEST_ERROR(r, 413, "payload_too_large");
    const char *ct = itest_header(r, "content-type");
    assert_non_null(ct);
    assert_non_null(strstr(ct, "application/json"));
    itest_free(r);
    free(body);
}

static void bad_json_and_missing_fields(void **state)
{
    (void)state;
    char body[256];
    const char *bad[] = {"{\"username\":", "not json", "{\"username\":\"a\",}", "[1,2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, bad[i]);
        ITEST_ERROR(r, 400, "invalid_json");
        itest_free(r);
    }
    snprintf(body, sizeof body, "{\"username\":\"nopw%ux\"}", (unsigned)getpid());
    itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, body);
    ITEST_ERROR(r, 400, "invalid_request");
    itest_free(r);
    r = itest_http("POST", "/api/v1/auth/login", NULL, "{\"password\":\"x\"}");
    ITEST_ERROR(r, 400, "invalid_request");
    itest_free(r);
    snprintf(body, sizeof body, "{\"username\":42,\"password\":\"x\"}");
    r = itest_http("POST", "/api/v1/auth/login", NULL, body);
    ITEST_ERROR(r, 400, "invalid_request");
    itest_free(r);
}

/* ---------------------------------------------------------- rate limits */

/* Same user from a new address each time: failures hit the per-username
 * limit over all addresses.  (Successes no longer count against it; see
 * test_login_limits.c.) */
static void login_rate_limit_per_username(void **state)
{
    (void)state;
    char user[64], body[256];
    assert_int_equal(itest_user_add("rl", PASS, user, sizeof user), 0);
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"wrong\"}", user);
    int failed = 0;
    for (int i = 0; i < 12; i++) {
        itest_client_ip(itest_fresh_ip());
        itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, body);
        if (r->status == 401) {
            failed++;
            itest_free(r);
            continue;
        }
        assert_true(failed >= 1); /* the first attempts are answered */
        ITEST_RATE_LIMITED(r);
        itest_free(r);
        return;
    }
    fail_msg("12 failed logins of one user within seconds were never refused");
}

/* Redis stopped: each worker limits logins from its own memory, so
 * guessing stays bounded (per worker) instead of unlimited. */
static void login_rate_limit_without_redis(void **state)
{
    (void)state;
    char user[64], body[256];
    assert_int_equal(itest_user_add("rlr", PASS, user, sizeof user), 0);
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"wrong\"}", user);
    assert_int_equal(itest_stack("stop redis"), 0);
    int refused = 0, attempts = 0;
    while (!refused && attempts < 30) {
        itest_client_ip(itest_fresh_ip());
        itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, body);
        attempts++;
        if (r->status == 429) {
            ITEST_RATE_LIMITED(r);
            refused = 1;
        } else {
            ITEST_ERROR(r, 401, "invalid_credentials");
        }
        itest_free(r);
    }
    assert_int_equal(itest_stack("start redis"), 0);
    /* Workers reconnect at most once a second: wait until every one of them
     * is back on Redis, so the next test's limits are Redis's again. */
    usleep(1200 * 1000);
    for (int i = 0; i < 4; i++)
        itest_free(itest_poll("/health", 200, "status", "ok", 5000));
    assert_true(refused);
    /* From a new address each time the per-username limit over all
     * addresses binds: burst + 1 failures per worker. */
    int per_worker = atoi(getenv("TRADEDESK_LOGIN_USER_BURST")) + 1;
    assert_true(attempts <= per_worker * atoi(getenv("TRADEDESK_WORKERS")) + 1);
}

/* Many users from one address: the per-address limit (bob last, as the
 * brief suggests, with unknown users to fill the address budget). */
static void login_rate_limit_per_address(void **state)
{
    (void)state;
    char body[256];
    for (int i = 0; i < 60; i++) {
        snprintf(body, sizeof body, "{\"username\":\"ip%ux%d\",\"password\":\"nope\"}",
                 (unsigned)getpid(), i);
        itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, body);
        if (r->status == 401) {
            itest_free(r);
            continue;
        }
        assert_true(i >= 1);
        ITEST_RATE_LIMITED(r);
        itest_free(r);
        /* The address is now blocked for every user, bob included. */
        r = itest_http("POST", "/api/v1/auth/login", NULL,
                       "{\"username\":\"bob\",\"password\":\"tradedesk\"}");
        ITEST_RATE_LIMITED(r);
        itest_free(r);
        return;
    }
    fail_msg("60 logins from one address within seconds were never refused");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(login_demo_user, fresh_client),
        cmocka_unit_test_setup(wrong_password_and_unknown_user_look_alike, fresh_client),
        cmocka_unit_test_setup(sessions_list_has_current, fresh_client),
        cmocka_unit_test_setup(logout_revokes_the_session, fresh_client),
        cmocka_unit_test_setup(revocation_reaches_every_worker, fresh_client),
        cmocka_unit_test_setup(logout_all_revokes_every_session, fresh_client),
        cmocka_unit_test_setup(missing_and_garbage_tokens, fresh_client),
        cmocka_unit_test_setup(expired_and_tampered_tokens, fresh_client),
        cmocka_unit_test_setup(cli_token_works, fresh_client),
        cmocka_unit_test_setup(unknown_path_and_wrong_method, fresh_client),
        cmocka_unit_test_setup(request_id_is_echoed, fresh_client),
        cmocka_unit_test_setup(oversized_body_is_413, fresh_client),
        cmocka_unit_test_setup(body_over_nginx_limit_is_413, fresh_client),
        cmocka_unit_test_setup(bad_json_and_missing_fields, fresh_client),
        cmocka_unit_test_setup(login_rate_limit_per_username, fresh_client),
        cmocka_unit_test_setup(login_rate_limit_without_redis, fresh_client),
        cmocka_unit_test_setup(login_rate_limit_per_address, fresh_client),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
