/*
 * test_health.c - health checks, and the API riding out a Redis or
 * PostgreSQL outage: the tests stop and restart the stack's real servers
 * with `stack.sh stop|start` (see tests/integration/run.sh).
 *
 * Every wait is a bounded poll; teardowns restart whatever a test stopped,
 * so one failure does not cascade into the next test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <stdio.h>
#include <string.h>

#define PASS "health check pass"
#define WAIT_MS 20000

static int fresh_client(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return 0;
}

static int restart_redis(void **state)
{
    (void)state;
    return itest_stack("start redis") == 0 ? 0 : -1;
}

static int restart_pg(void **state)
{
    (void)state;
    return itest_stack("start pg") == 0 ? 0 : -1;
}

static void assert_check(itest_response *r, const char *name, const char *status)
{
    char path[64];
    snprintf(path, sizeof path, "checks.%s.status", name);
    const char *s = itest_json_str(r, path);
    if (!s || strcmp(s, status) != 0) {
        fprintf(stderr, "    expected %s = \"%s\"\n", path, status);
        itest_dump(r);
        fail();
    }
    snprintf(path, sizeof path, "checks.%s.latency_ms", name);
    json_object *ms = itest_json_get(r, path);
    assert_non_null(ms);
    assert_true(json_object_is_type(ms, json_type_int) ||
                json_object_is_type(ms, json_type_double));
    assert_true(json_object_get_double(ms) >= 0);
}

/* Poll until `path` answers `status` with JSON status `value`; fail after
 * WAIT_MS with the last answer. */
static itest_response *wait_health(const char *path, long status, const char *value)
{
    long long t0 = itest_now_ms();
    itest_response *r = itest_poll(path, status, "status", value, WAIT_MS);
    const char *got = itest_json_str(r, "status");
    if (r->status != status || !got || strcmp(got, value) != 0) {
        fprintf(stderr, "    %s did not become %ld \"%s\" within %d ms\n", path, status, value,
                WAIT_MS);
        itest_dump(r);
        fail();
    }
    fprintf(stderr, "    %s: %ld \"%s\" after %lld ms\n", path, status, value, itest_now_ms() - t0);
    return r;
}

/* Several answers in a row, so every worker (not just one) is covered. */
static void assert_steady(const char *path, long status, const char *value)
{
    for (int i = 0; i < 8; i++) {
        itest_response *r = itest_http("GET", path, NULL, NULL);
        ITEST_STATUS(r, status);
        assert_non_null(itest_json_str(r, "status"));
        assert_string_equal(itest_json_str(r, "status"), value);
        itest_free(r);
    }
}

static void health_ok(void **state)
{
    (void)state;
    const char *paths[] = {"/health", "/api/v1/monitoring/health"};
    for (size_t i = 0; i < 2; i++) {
        itest_response *r = itest_http("GET", paths[i], NULL, NULL);
        ITEST_STATUS(r, 200);
        assert_non_null(r->json);
        assert_string_equal(itest_json_str(r, "status"), "ok");
        assert_check(r, "postgres", "ok");
        assert_check(r, "redis", "ok");
        const char *ct = itest_header(r, "content-type");
        assert_non_null(ct);
        assert_non_null(strstr(ct, "application/json"));
        assert_non_null(itest_header(r, "x-request-id"));
        itest_free(r);
    }
}

static void health_degraded_without_redis(void **state)
{
    (void)state;
    char user[64], token[4096];
    assert_int_equal(itest_user_add("hr", PASS, user, sizeof user), 0);

    assert_int_equal(itest_stack("stop redis"), 0);
    itest_response *r = wait_health("/health", 200, "degraded");
    assert_check(r, "postgres", "ok");
    assert_check(r, "redis", "down");
    itest_free(r);
    assert_steady("/api/v1/monitoring/health", 200, "degraded");

    /* Sessions fall back to PostgreSQL: login and the token keep working. */
    assert_int_equal(itest_login(user, PASS, token, sizeof token), 200);
    r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    itest_free(r);

    assert_int_equal(itest_stack("start redis"), 0);
    r = wait_health("/health", 200, "ok");
    assert_check(r, "redis", "ok");
    itest_free(r);
    assert_steady("/health", 200, "ok");

    /* Redis loses nothing that matters: the session made during the outage
     * is still valid once Redis is back (and empty). */
    r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    itest_free(r);
}

static void health_down_without_postgres(void **state)
{
    (void)state;
    char user[64], token[4096];
    assert_int_equal(itest_user_add("hp", PASS, user, sizeof user), 0);

    assert_int_equal(itest_stack("stop pg"), 0);
    itest_response *r = wait_health("/health", 503, "down");
    assert_check(r, "postgres", "down");
    itest_free(r);
    assert_steady("/health", 503, "down");

    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, PASS);
    r = itest_http("POST", "/api/v1/auth/login", NULL, body);
    ITEST_ERROR(r, 503, "unavailable");
    itest_free(r);

    /* The same workers reconnect on their own: no API restart. */
    assert_int_equal(itest_stack("start pg"), 0);
    r = wait_health("/health", 200, "ok");
    assert_check(r, "postgres", "ok");
    itest_free(r);
    assert_steady("/health", 200, "ok");
    assert_steady("/api/v1/monitoring/health", 200, "ok");

    assert_int_equal(itest_login(user, PASS, token, sizeof token), 200);
    r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    itest_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(health_ok, fresh_client),
        cmocka_unit_test_setup_teardown(health_degraded_without_redis, fresh_client, restart_redis),
        cmocka_unit_test_setup_teardown(health_down_without_postgres, fresh_client, restart_pg),
    };
    return cmocka_run_group_tests_name("health", tests, NULL, NULL);
}
