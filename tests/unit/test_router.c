/*
 * test_router.c - unit tests for route matching (api/router.c) against a
 * table defined here, and for td_api_handle (api/dispatch.c) against the
 * real table on the paths that answer before any database or Redis call:
 * 404, 405 and every way authentication fails before the session lookup.
 *
 * The app points its database and Redis at a closed port; connections are
 * lazy, so a test that reached them would fail with 503, not hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/router.h"
#include "core/token.h"

static void h_dummy(td_req *r)
{
    td_resp_empty(r, 204);
}

static const td_route test_routes[] = {
    {"GET", "/items", h_dummy, TD_PUBLIC},                   /* 0 */
    {"POST", "/items", h_dummy, TD_USER},                    /* 1 */
    {"GET", "/items/special", h_dummy, TD_PUBLIC},           /* 2 */
    {"GET", "/items/{id}", h_dummy, TD_PUBLIC},              /* 3 */
    {"DELETE", "/items/{id}", h_dummy, TD_ADMIN},            /* 4 */
    {"GET", "/items/{id}/notes/{note}", h_dummy, TD_PUBLIC}, /* 5 */
    {"PUT", "/a/{x}/{y}/{z}/{w}", h_dummy, TD_PUBLIC},       /* 6 */
};

typedef struct fixture {
    td_arena arena;
    td_req r;
    const char *auth; /* what the fake HTTP_AUTHORIZATION returns */
    int header_calls;
} fixture;

static const char *fake_header(td_req *r, const char *env_name)
{
    fixture *f = r->source;
    f->header_calls++;
    if (strcmp(env_name, "HTTP_AUTHORIZATION") == 0)
        return f->auth;
    return NULL;
}

static td_app g_app;
static const char SECRET[] = "router-test-secret-0123456789abcdefghijk"; /* 40 bytes */

static const char *fake_env(const char *name)
{
    if (strcmp(name, "TRADEDESK_JWT_SECRET") == 0)
        return SECRET;
    if (strcmp(name, "TRADEDESK_DATABASE_URL") == 0)
        return "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=1";
    if (strcmp(name, "TRADEDESK_REDIS_URL") == 0)
        return "redis://127.0.0.1:1/0";
    if (strcmp(name, "TRADEDESK_REDIS_TIMEOUT_MS") == 0)
        return "50";
    return NULL;
}

static int group_setup(void **state)
{
    (void)state;
    td_config cfg;
    char err[256];
    assert_int_equal(sizeof SECRET - 1, 40);
    if (td_config_load(&cfg, fake_env, TD_PROG_API, 1, err, sizeof err) != TD_OK)
        fail_msg("config: %s", err);
    assert_int_equal(td_app_open(&g_app, &cfg), TD_OK);
    assert_int_equal(td_token_config_check(&g_app.tok, NULL), TD_OK);
    return 0;
}

/* td_app_close is not called: the app's statement table lives as long as
 * the process (dispatch.c), and is reachable from g_app until exit. */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    td_arena_init(&f->arena, 4096);
    td_req_init(&f->r, &f->arena, &g_app);
    snprintf(f->r.request_id, sizeof f->r.request_id, "%s", "rid-router-1");
    f->r.header = fake_header;
    f->r.source = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    td_req_end(&f->r);
    td_arena_free(&f->arena);
    free(f);
    return 0;
}

/* ---- td_route_match ------------------------------------------------------- */

static td_match match(fixture *f, const char *method, const char *path, const td_route **found,
                      char *allow, size_t cap)
{
    f->r.method = method;
    f->r.path = path;
    f->r.npath_args = 0;
    f->r.route = "-";
    return td_route_match(test_routes, TD_ARRAY_LEN(test_routes), &f->r, found, allow, cap);
}

static void test_match_literal(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char allow[64];

    assert_int_equal(match(f, "GET", "/items", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[0]);
    assert_string_equal(f->r.route, "/items");
    assert_int_equal(f->r.npath_args, 0);
    assert_int_equal(match(f, "POST", "/items", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[1]);
    /* A literal wins over a placeholder listed after it. */
    assert_int_equal(match(f, "GET", "/items/special", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[2]);
    assert_int_equal(f->r.npath_args, 0);
}

static void test_match_placeholder(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char allow[64];

    assert_int_equal(match(f, "GET", "/items/42", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[3]);
    assert_string_equal(f->r.route, "/items/{id}");
    assert_int_equal(f->r.npath_args, 1);
    assert_string_equal(f->r.path_args[0], "42");

    assert_int_equal(match(f, "GET", "/items/7/notes/n-1", &rt, allow, sizeof allow),
                     TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[5]);
    assert_int_equal(f->r.npath_args, 2);
    assert_string_equal(f->r.path_args[0], "7");
    assert_string_equal(f->r.path_args[1], "n-1");

    assert_int_equal(match(f, "PUT", "/a/1/2/3/4", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_int_equal(f->r.npath_args, TD_MAX_PATH_PARAMS);
    assert_string_equal(f->r.path_args[3], "4");

    /* A placeholder is one non-empty segment. */
    assert_int_equal(match(f, "GET", "/items/7/notes", &rt, allow, sizeof allow), TD_MATCH_NO_PATH);
    assert_int_equal(match(f, "GET", "/items//notes/x", &rt, allow, sizeof allow),
                     TD_MATCH_NO_PATH);
    assert_null(rt);
}

static void test_match_placeholder_decoded(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char allow[64];

    assert_int_equal(match(f, "GET", "/items/a%20b", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_string_equal(f->r.path_args[0], "a b");
    /* An encoded slash stays inside the one segment. */
    assert_int_equal(match(f, "GET", "/items/a%2Fb", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[3]);
    assert_string_equal(f->r.path_args[0], "a/b");
    /* '+' is only a space in query strings. */
    assert_int_equal(match(f, "GET", "/items/a+b", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_string_equal(f->r.path_args[0], "a+b");
    assert_int_equal(match(f, "GET", "/items/%C3%A9", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_string_equal(f->r.path_args[0], "\xc3\xa9");
    /* Literal segments are compared raw: %73pecial is not "special". */
    assert_int_equal(match(f, "GET", "/items/%73pecial", &rt, allow, sizeof allow), TD_MATCH_FOUND);
    assert_ptr_equal(rt, &test_routes[3]);
    assert_string_equal(f->r.path_args[0], "special");

    /* A bad escape or %00 in a placeholder is no match at all. */
    static const char *const bad[] = {"/items/%zz", "/items/%", "/items/a%4", "/items/%00"};
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++) {
        if (match(f, "GET", bad[i], &rt, allow, sizeof allow) != TD_MATCH_NO_PATH)
            fail_msg("matched %s", bad[i]);
        assert_null(rt);
    }
}

static void test_match_trailing_slash(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char allow[64];

    static const char *const paths[] = {
        "/items/", "/items/42/", "/items/special/", "//items", "/items//", "items", ""};
    for (size_t i = 0; i < TD_ARRAY_LEN(paths); i++) {
        if (match(f, "GET", paths[i], &rt, allow, sizeof allow) != TD_MATCH_NO_PATH)
            fail_msg("matched \"%s\"", paths[i]);
        assert_null(rt);
        assert_string_equal(f->r.route, "-");
    }
}

static void test_match_405_allow(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char allow[64];

    assert_int_equal(match(f, "DELETE", "/items", &rt, allow, sizeof allow), TD_MATCH_NO_METHOD);
    assert_null(rt);
    assert_string_equal(allow, "GET, POST");
    assert_string_equal(f->r.route, "-");

    /* /items/special matches three routes, two of them GET: listed once. */
    assert_int_equal(match(f, "POST", "/items/special", &rt, allow, sizeof allow),
                     TD_MATCH_NO_METHOD);
    assert_string_equal(allow, "GET, DELETE");
    assert_int_equal(match(f, "PATCH", "/items/42", &rt, allow, sizeof allow), TD_MATCH_NO_METHOD);
    assert_string_equal(allow, "GET, DELETE");
    assert_int_equal(match(f, "POST", "/a/1/2/3/4", &rt, allow, sizeof allow), TD_MATCH_NO_METHOD);
    assert_string_equal(allow, "PUT");
    /* Methods are case-sensitive. */
    assert_int_equal(match(f, "get", "/items", &rt, allow, sizeof allow), TD_MATCH_NO_METHOD);
    assert_string_equal(allow, "GET, POST");
}

static void test_match_allow_small_buffer(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char buf[16];

    memset(buf, 'Z', sizeof buf);
    assert_int_equal(match(f, "POST", "/items/special", &rt, buf, 6), TD_MATCH_NO_METHOD);
    assert_string_equal(buf, "GET, "); /* cut, terminated, and nothing past the cap */
    for (size_t i = 6; i < sizeof buf; i++)
        assert_int_equal(buf[i], 'Z');
}

static void test_match_404(void **state)
{
    fixture *f = *state;
    const td_route *rt;
    char allow[64];

    static const char *const paths[] = {
        "/", "/nope", "/ITEMS", "/items/1/2", "/items/1/notes/2/3", "/itemsx", "/item", "/a/1/2/3"};
    for (size_t i = 0; i < TD_ARRAY_LEN(paths); i++) {
        if (match(f, "GET", paths[i], &rt, allow, sizeof allow) != TD_MATCH_NO_PATH)
            fail_msg("matched \"%s\"", paths[i]);
        assert_null(rt);
        assert_string_equal(allow, "");
    }
    assert_int_equal(td_route_match(test_routes, 0, &f->r, &rt, allow, sizeof allow),
                     TD_MATCH_NO_PATH);
}

/* ---- td_api_handle on the real route table -------------------------------- */

typedef struct answer {
    int status;
    char code[64];
    char message[512];
    const char *head; /* header block of r->out, "\r\n"-separated */
} answer;

static void handle(fixture *f, const char *method, const char *path, const char *auth, answer *a)
{
    f->r.method = method;
    f->r.path = path;
    f->auth = auth;
    td_api_handle(&f->r);
    assert_true(td_req_answered(&f->r));

    memset(a, 0, sizeof *a);
    a->status = f->r.status;
    const char *out = f->r.out.data;
    const char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    size_t blen = f->r.out.len - (size_t)(body - out);
    char want[64];
    snprintf(want, sizeof want, "Content-Length: %zu\r\n", blen);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
    a->head = out;

    json_object *o = json_tokener_parse(body);
    assert_non_null(o);
    json_object *e, *v;
    assert_true(json_object_object_get_ex(o, "error", &e));
    assert_true(json_object_object_get_ex(e, "code", &v));
    snprintf(a->code, sizeof a->code, "%s", json_object_get_string(v));
    assert_true(json_object_object_get_ex(e, "message", &v));
    snprintf(a->message, sizeof a->message, "%s", json_object_get_string(v));
    assert_true(json_object_object_get_ex(e, "request_id", &v));
    assert_string_equal(json_object_get_string(v), "rid-router-1");
    json_object_put(o);
}

/* Number of header lines equal to line, before the blank line. */
static int header_count(const answer *a, const char *line)
{
    int n = 0;
    size_t ll = strlen(line);
    for (const char *p = a->head;;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol || eol == p)
            break;
        if ((size_t)(eol - p) == ll && memcmp(p, line, ll) == 0)
            n++;
        p = eol + 2;
    }
    return n;
}

static void test_api_unknown_path(void **state)
{
    fixture *f = *state;
    answer a;
    handle(f, "GET", "/api/v1/nope", NULL, &a);
    assert_int_equal(a.status, 404);
    assert_string_equal(a.code, "not_found");
    assert_non_null(strstr(a.message, "/api/v1/nope"));
    assert_string_equal(f->r.route, "-");
    assert_int_equal(f->header_calls, 0);
}

static void test_api_trailing_slash_is_404(void **state)
{
    fixture *f = *state;
    answer a;
    handle(f, "POST", "/api/v1/auth/login/", NULL, &a);
    assert_int_equal(a.status, 404);
    assert_string_equal(a.code, "not_found");
}

static void test_api_wrong_method(void **state)
{
    fixture *f = *state;
    answer a;
    handle(f, "GET", "/api/v1/auth/login", NULL, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(a.code, "method_not_allowed");
    assert_int_equal(header_count(&a, "Allow: POST"), 1);
    assert_non_null(strstr(a.head, "Status: 405 Method Not Allowed\r\n"));
    assert_int_equal(f->header_calls, 0); /* no authentication for a 405 */
}

static void test_api_wrong_method_sessions(void **state)
{
    fixture *f = *state;
    answer a;
    handle(f, "DELETE", "/api/v1/auth/sessions", "Bearer x", &a);
    assert_int_equal(a.status, 405);
    assert_int_equal(header_count(&a, "Allow: GET"), 1);
}

static void expect_401(fixture *f, const char *method, const char *path, const char *auth)
{
    answer a;
    handle(f, method, path, auth, &a);
    if (a.status != 401)
        fail_msg("%s %s with \"%s\": %d", method, path, auth ? auth : "(none)", a.status);
    assert_string_equal(a.code, "unauthorized");
    assert_int_equal(header_count(&a, "WWW-Authenticate: Bearer"), 1);
    assert_non_null(strstr(a.head, "Status: 401 Unauthorized\r\n"));
    assert_string_equal(f->r.route, path); /* routed, then refused */
    assert_int_equal(f->r.user_id, 0);
    assert_string_equal(f->r.sid, "");
    assert_true(f->header_calls > 0);
}

/* Each case on a fresh request, since the first response wins. */
static void run_401(const char *method, const char *path, const char *auth)
{
    void *st;
    assert_int_equal(setup(&st), 0);
    expect_401(st, method, path, auth);
    assert_int_equal(teardown(&st), 0);
}

static void test_api_no_authorization(void **state)
{
    (void)state;
    run_401("GET", "/api/v1/auth/sessions", NULL);
    run_401("GET", "/api/v1/auth/sessions", "");
    run_401("POST", "/api/v1/auth/logout", NULL);
    run_401("POST", "/api/v1/auth/logout-all", NULL);
}

static void test_api_placeholder_route_needs_token(void **state)
{
    fixture *f = *state;
    answer a;
    handle(f, "GET", "/api/v1/positions/17", NULL, &a);
    assert_int_equal(a.status, 401);
    assert_string_equal(a.code, "unauthorized");
    assert_int_equal(header_count(&a, "WWW-Authenticate: Bearer"), 1);
    assert_string_equal(f->r.route, "/api/v1/positions/{id}");
    assert_int_equal(f->r.npath_args, 1);
    assert_string_equal(f->r.path_args[0], "17");
}

static void test_api_basic_scheme(void **state)
{
    (void)state;
    run_401("GET", "/api/v1/auth/sessions", "Basic xyz");
    run_401("GET", "/api/v1/auth/sessions", "Bearer"); /* no token after the scheme */
    run_401("GET", "/api/v1/auth/sessions", "Bearerxyz");
}

static void test_api_garbage_bearer(void **state)
{
    (void)state;
    run_401("GET", "/api/v1/auth/sessions", "Bearer garbage");
    run_401("GET", "/api/v1/auth/sessions", "Bearer ");
    run_401("GET", "/api/v1/auth/sessions", "Bearer a.b.c");
    run_401("GET", "/api/v1/auth/sessions", "bearer eyJhbGciOiJub25lIn0.e30.");
}

static void test_api_bearer_wrong_secret_or_expired(void **state)
{
    (void)state;
    char tok[1024], auth[1100];
    /* Well formed and signed, but with another secret. */
    td_token_config other = {"another-secret-0123456789abcdefghijklmnop", 41, NULL, NULL, 30};
    assert_int_equal(td_token_mint(&other, 1, "admin", "s1", time(NULL), 900, tok, sizeof tok),
                     TD_OK);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    run_401("GET", "/api/v1/auth/sessions", auth);

    /* Signed with the app's secret but expired: refused before any session lookup. */
    assert_int_equal(
        td_token_mint(&g_app.tok, 1, "admin", "s1", time(NULL) - 7200, 900, tok, sizeof tok),
        TD_OK);
    snprintf(auth, sizeof auth, "Bearer %s", tok);
    run_401("GET", "/api/v1/auth/sessions", auth);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_match_literal),
        T(test_match_placeholder),
        T(test_match_placeholder_decoded),
        T(test_match_trailing_slash),
        T(test_match_405_allow),
        T(test_match_allow_small_buffer),
        T(test_match_404),
        T(test_api_unknown_path),
        T(test_api_trailing_slash_is_404),
        T(test_api_wrong_method),
        T(test_api_wrong_method_sessions),
        T(test_api_no_authorization),
        T(test_api_placeholder_route_needs_token),
        T(test_api_basic_scheme),
        T(test_api_garbage_bearer),
        T(test_api_bearer_wrong_secret_or_expired),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
