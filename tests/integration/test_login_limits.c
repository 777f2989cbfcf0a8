/*
 * test_login_limits.c - the login rate limit when Redis misbehaves, and the
 * login handler's other guards, through nginx against the real API (see
 * tests/integration/run.sh: TRADEDESK_LOGIN_RATE=6, BURST=2, 2 workers).
 *
 * Each test uses its own fresh users and loopback addresses, so the limits
 * one test fills never refuse another's attempts.  A test that changes
 * Redis' configuration puts it back in its teardown, failed or not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PASS "correct horse battery"

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

static int fresh_client(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return 0;
}

static itest_response *login(const char *user, const char *pass)
{
    char body[512];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pass);
    return itest_http("POST", "/api/v1/auth/login", NULL, body);
}

/* ------------------------------------------- Redis refusing writes (4) */

/* maxmemory 1 with noeviction: every command that may write (the GCRA
 * script's SET) gets "OOM command not allowed", reads still answer. */
static int redis_refuses_writes(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    if (itest_redis_cli("CONFIG SET maxmemory-policy noeviction", NULL, 0) != 0 ||
        itest_redis_cli("CONFIG SET maxmemory 1", NULL, 0) != 0)
        return -1;
    return 0;
}

static int redis_accepts_writes(void **state)
{
    (void)state;
    return itest_redis_cli("CONFIG SET maxmemory 0", NULL, 0) == 0 ? 0 : -1;
}

/* The script's error reply is an outage, not "allowed": each worker limits
 * from its own memory, headers and all, and a correct password is refused
 * like a wrong one until the window has passed. */
static void login_limit_holds_while_redis_refuses_writes(void **state)
{
    (void)state;
    char user[64];
    assert_int_equal(itest_user_add("oom", PASS, user, sizeof user), 0);
    /* 6/min with burst 2 is 3 failures per worker before the limit. */
    int workers = env_int("TRADEDESK_WORKERS", 2);
    int per_worker = env_int("TRADEDESK_LOGIN_BURST", 2) + 1;
    int attempts = 0, first_refusal = 0, refused_in_a_row = 0;
    /* Every worker must refuse: several 429s in a row, whichever answers. */
    while (refused_in_a_row < 2 * workers && attempts < 40) {
        itest_response *r = login(user, "wrong password");
        attempts++;
        if (r->status == 429) {
            ITEST_RATE_LIMITED(r);
            refused_in_a_row++;
            if (!first_refusal)
                first_refusal = attempts;
        } else {
            ITEST_ERROR(r, 401, "invalid_credentials");
            refused_in_a_row = 0;
        }
        itest_free(r);
    }
    if (!first_refusal)
        fail_msg("%d wrong passwords while Redis refused writes were never refused", attempts);
    assert_true(first_refusal <= per_worker * workers + 1);
    assert_int_equal(refused_in_a_row, 2 * workers);

    /* The right password is refused too: the limit is checked before it. */
    for (int i = 0; i < 2 * workers; i++) {
        itest_response *r = login(user, PASS);
        ITEST_RATE_LIMITED(r);
        itest_free(r);
    }
    /* Until the window passes (one emission interval, 10 s here). */
    long long deadline = itest_now_ms() + 30000;
    long st = 429;
    while (st == 429 && itest_now_ms() < deadline) {
        itest_response *r = login(user, PASS);
        st = r->status;
        if (st == 429)
            ITEST_RATE_LIMITED(r);
        else
            ITEST_STATUS(r, 200);
        itest_free(r);
        if (st == 429)
            usleep(500 * 1000);
    }
    assert_int_equal(st, 200);
}

/* ------------------------------------------------ lockout by strangers (8) */

/* Wrong passwords for user until one is refused (a fresh address for each
 * when fresh_ip): the attempt that got the 429, 0 when none did. */
static int failures_until_refused(const char *user, int max, int fresh_ip)
{
    for (int i = 1; i <= max; i++) {
        if (fresh_ip)
            itest_client_ip(itest_fresh_ip());
        itest_response *r = login(user, "wrong password");
        long st = r->status;
        if (st == 429)
            ITEST_RATE_LIMITED(r);
        else
            ITEST_ERROR(r, 401, "invalid_credentials");
        itest_free(r);
        if (st == 429)
            return i;
    }
    return 0;
}

/* A stranger failing the password from elsewhere fills only the bucket of
 * their own address: the owner's right password from theirs still works. */
static void strangers_do_not_lock_out_the_owner(void **state)
{
    (void)state;
    char user[64], owner_ip[64];
    assert_int_equal(itest_user_add("own", PASS, user, sizeof user), 0);
    snprintf(owner_ip, sizeof owner_ip, "%s", itest_fresh_ip());
    int strict = env_int("TRADEDESK_LOGIN_BURST", 2) + 1;

    itest_client_ip(itest_fresh_ip()); /* the stranger */
    assert_int_equal(failures_until_refused(user, 10, 0), strict + 1);
    itest_response *r = login(user, PASS); /* refused there, right password or not */
    ITEST_RATE_LIMITED(r);
    itest_free(r);

    itest_client_ip(owner_ip);
    r = login(user, "typo");
    ITEST_ERROR(r, 401, "invalid_credentials");
    itest_free(r);
    r = login(user, PASS);
    ITEST_STATUS(r, 200);
    itest_free(r);
}

/* Failures from a new address each time: the per-username limit over all
 * addresses (looser than the per-address one) still refuses them. */
static void distributed_guessing_hits_the_username_limit(void **state)
{
    (void)state;
    char user[64];
    assert_int_equal(itest_user_add("dist", PASS, user, sizeof user), 0);
    int global = env_int("TRADEDESK_LOGIN_USER_BURST", 5) + 1;
    int at = failures_until_refused(user, 3 * global, 1);
    if (!at)
        fail_msg("%d failures for one user from as many addresses were never refused", 3 * global);
    /* Past the per-address limit; one more allowed if a slow machine let
     * an emission interval (5 s) pass. */
    assert_true(at >= global + 1 && at <= global + 2);
}

/* A correct password costs nothing: many logins in a row all pass, and the
 * failure budget is untouched afterwards. */
static void successes_do_not_use_up_the_limit(void **state)
{
    (void)state;
    char user[64];
    assert_int_equal(itest_user_add("succ", PASS, user, sizeof user), 0);
    int strict = env_int("TRADEDESK_LOGIN_BURST", 2) + 1;
    for (int i = 0; i < 3 * strict; i++) {
        itest_response *r = login(user, PASS);
        ITEST_STATUS(r, 200);
        assert_non_null(itest_header(r, "ratelimit-remaining"));
        itest_free(r);
    }
    assert_int_equal(failures_until_refused(user, 10, 0), strict + 1);
}

/* ------------------------------------------ a non-UTF-8 User-Agent (6) */

/* The current session's user_agent in GET /api/v1/auth/sessions. */
static char *current_user_agent(const char *token)
{
    itest_response *r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_non_null(items);
    char *ua = NULL;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *s = json_object_array_get_idx(items, i), *cur, *v;
        if (json_object_object_get_ex(s, "current", &cur) && json_object_get_boolean(cur) &&
            json_object_object_get_ex(s, "user_agent", &v))
            ua = strdup(json_object_get_string(v));
    }
    itest_free(r);
    assert_non_null(ua);
    return ua;
}

static void login_with_latin1_user_agent(void **state)
{
    (void)state;
    char user[64], body[256];
    assert_int_equal(itest_user_add("ua", PASS, user, sizeof user), 0);
    const char *hdr[] = {"User-Agent: Mozilla caf\xe9", NULL};
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"wrong\"}", user);
    itest_response *r = itest_http("POST", "/api/v1/auth/login", hdr, body);
    ITEST_ERROR(r, 401, "invalid_credentials");
    itest_free(r);

    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, PASS);
    r = itest_http("POST", "/api/v1/auth/login", hdr, body);
    ITEST_STATUS(r, 200);
    char *token = strdup(itest_json_str(r, "access_token"));
    itest_free(r);
    char *ua = current_user_agent(token);
    assert_string_equal(ua, "Mozilla caf\xEF\xBF\xBD"); /* U+FFFD */
    free(ua);
    free(token);
}

/* A long User-Agent is kept to its first 256 bytes, whole characters. */
static void long_user_agent_is_capped(void **state)
{
    (void)state;
    char user[64], body[256], hdr0[1200];
    assert_int_equal(itest_user_add("ual", PASS, user, sizeof user), 0);
    int n = snprintf(hdr0, sizeof hdr0, "User-Agent: x");
    for (int i = 0; i < 400; i++) /* "x" then "é"s: byte 256 is mid-character */
        n += snprintf(hdr0 + n, sizeof hdr0 - (size_t)n, "\xC3\xA9");
    const char *hdr[] = {hdr0, NULL};
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, PASS);
    itest_response *r = itest_http("POST", "/api/v1/auth/login", hdr, body);
    ITEST_STATUS(r, 200);
    char *token = strdup(itest_json_str(r, "access_token"));
    itest_free(r);
    char *ua = current_user_agent(token);
    assert_int_equal(strlen(ua), 255); /* "x" + 127 x "é" */
    assert_int_equal(strncmp(ua, hdr0 + 12, 255), 0);
    free(ua);
    free(token);
}

/* -------------------------------------------- an Argon2 flood (10) */

static char saved_workers[16];

/* Four workers but one verification at once: the test stack's two workers
 * are no more than two cores' worth, so the default bound would never bind. */
static int api_with_one_verification(void **state)
{
    (void)state;
    snprintf(saved_workers, sizeof saved_workers, "%s", getenv("TRADEDESK_WORKERS"));
    setenv("TRADEDESK_WORKERS", "4", 1);
    setenv("TRADEDESK_LOGIN_VERIFY_MAX", "1", 1);
    return itest_stack("restart api") == 0 ? 0 : -1;
}

static int api_as_before(void **state)
{
    (void)state;
    setenv("TRADEDESK_WORKERS", saved_workers, 1);
    unsetenv("TRADEDESK_LOGIN_VERIFY_MAX");
    int rc = itest_stack("restart api");
    itest_free(itest_poll("/health", 200, "status", "ok", 10000));
    return rc == 0 ? 0 : -1;
}

/* One login for an unknown user from a fresh address (no rate limit
 * applies): 0 answered 401, 1 answered 503 properly, 2 anything else. */
static int flood_one(int round, int i)
{
    char user[64];
    snprintf(user, sizeof user, "flood%ux%dx%d", (unsigned)getpid(), round, i);
    itest_client_ip(itest_fresh_ip());
    itest_response *r = login(user, "guess");
    int rc = 2;
    if (r->status == 401)
        rc = 0;
    else if (r->status == 503) {
        const char *code = itest_json_str(r, "error.code"), *ra = itest_header(r, "retry-after");
        rc = code && strcmp(code, "unavailable") == 0 && ra && atoi(ra) >= 1 ? 1 : 2;
    }
    if (rc == 2)
        itest_dump(r);
    itest_free(r);
    return rc;
}

/* Concurrent logins past the bound: some get 503 with Retry-After without
 * verifying, and the gauge never saw more than the bound verifying. */
static void argon2_flood_is_bounded(void **state)
{
    (void)state;
    enum { N = 8, ROUNDS = 5 };
    int busy = 0, answered = 0, bad = 0;
    for (int round = 0; round < ROUNDS && !busy; round++) {
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t kids[N];
        for (int i = 0; i < N; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) != 0) /* released when the parent closes */
                    _exit(2);
                _exit(flood_one(round, i));
            }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < N; i++) {
            int st;
            assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
            int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
            answered += rc == 0;
            busy += rc == 1;
            bad += rc == 2;
        }
    }
    assert_int_equal(bad, 0);
    assert_true(busy > 0);
    assert_true(answered > 0);
    itest_client_ip(NULL); /* nginx lets only 127.0.0.1 scrape */
    assert_int_equal(itest_metric("tradedesk_login_verifications_limit"), 1);
    assert_int_equal(itest_metric("tradedesk_login_verifications_peak"), 1);
    assert_true(itest_metric("tradedesk_login_busy_total") >= busy);
    assert_int_equal(itest_metric("tradedesk_login_verifications_in_flight"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(login_limit_holds_while_redis_refuses_writes,
                                        redis_refuses_writes, redis_accepts_writes),
        cmocka_unit_test_setup(strangers_do_not_lock_out_the_owner, fresh_client),
        cmocka_unit_test_setup(distributed_guessing_hits_the_username_limit, fresh_client),
        cmocka_unit_test_setup(successes_do_not_use_up_the_limit, fresh_client),
        cmocka_unit_test_setup(login_with_latin1_user_agent, fresh_client),
        cmocka_unit_test_setup(long_user_agent_is_capped, fresh_client),
        cmocka_unit_test_setup_teardown(argon2_flood_is_bounded, api_with_one_verification,
                                        api_as_before),
    };
    return cmocka_run_group_tests_name("login limits", tests, NULL, NULL);
}
