/*
 * test_admin.c - the response cache's administration through nginx
 * (handlers/admin.c): admin only (401 anonymous, 403 for a user); Redis'
 * health; per-route stats that count what the cache did and start from
 * zero on reset; a clear that makes a cached response (in Redis and in the
 * workers' memory) a MISS at once, in O(1); 503 while Redis is down.  And
 * the monitoring endpoints: a 5xx (PostgreSQL stalled under a request)
 * shows up grouped by route and code with its request id, and as a slow
 * request whose time went to the database.  The API runs here with a
 * 500 ms PostgreSQL deadline and a 100 ms slow threshold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char admin[2048], alice[2048];

static int setup(void **state)
{
    (void)state;
    itest_token("admin", admin, sizeof admin);
    itest_token("alice", alice, sizeof alice);
    setenv("TRADEDESK_DB_TIMEOUT_MS", "500", 1);
    setenv("TRADEDESK_SLOW_REQUEST_MS", "100", 1);
    return itest_api_restart();
}

static int teardown(void **state)
{
    (void)state;
    itest_pg_signal(SIGCONT); /* first, whatever happened */
    unsetenv("TRADEDESK_DB_TIMEOUT_MS");
    unsetenv("TRADEDESK_SLOW_REQUEST_MS");
    int rc = itest_stack("stop engine");
    rc |= itest_cli("seed demo", NULL, NULL, 0); /* the engine moved the demo's prices */
    rc |= itest_stack("restart api");
    return rc == 0 ? 0 : -1;
}

static itest_response *call(const char *method, const char *path, const char *token)
{
    return method[0] == 'P' ? itest_post_auth(path, token, NULL) : itest_get_auth(path, token);
}

static void admin_only(void **state)
{
    (void)state;
    static const char *const paths[][2] = {{"GET", "/api/v1/admin/redis/health"},
                                           {"GET", "/api/v1/admin/redis/stats"},
                                           {"POST", "/api/v1/admin/redis/clear"},
                                           {"POST", "/api/v1/admin/redis/reset-stats"}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        itest_response *r = call(paths[i][0], paths[i][1], NULL);
        ITEST_ERROR(r, 401, "unauthorized");
        itest_free(r);
        r = call(paths[i][0], paths[i][1], alice);
        ITEST_ERROR(r, 403, "forbidden");
        itest_free(r);
    }
    itest_response *r = call("GET", "/api/v1/admin/redis/stats?x=1", admin);
    ITEST_ERROR(r, 400, "invalid_parameter");
    itest_free(r);
}

static void redis_health(void **state)
{
    (void)state;
    itest_response *r = call("GET", "/api/v1/admin/redis/health", admin);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "status"), "ok");
    assert_non_null(itest_json_str(r, "version"));
    assert_true(json_object_get_int64(itest_json_get(r, "connected_clients")) >= 1);
    assert_true(json_object_get_int64(itest_json_get(r, "used_memory_bytes")) > 0);
    itest_free(r);
}

/* The route's entry of GET .../stats: its outcome `what`, -1 when absent. */
static long long route_stat(const char *route, const char *what)
{
    itest_response *r = call("GET", "/api/v1/admin/redis/stats", admin);
    ITEST_STATUS(r, 200);
    json_object *routes = itest_json_get(r, "routes"), *v;
    long long n = -1;
    for (size_t i = 0; routes && i < json_object_array_length(routes); i++) {
        json_object *o = json_object_array_get_idx(routes, i), *rt;
        if (json_object_object_get_ex(o, "route", &rt) &&
            strcmp(json_object_get_string(rt), route) == 0 &&
            json_object_object_get_ex(o, what, &v))
            n = json_object_get_int64(v);
    }
    assert_non_null(itest_json_get(r, "redis"));
    itest_free(r);
    return n;
}

static const char *xcache(const itest_response *r)
{
    const char *x = itest_header(r, "X-Cache");
    return x ? x : "";
}

static void stats_reset_and_clear(void **state)
{
    (void)state;
    itest_response *r = call("POST", "/api/v1/admin/redis/reset-stats", admin);
    ITEST_STATUS(r, 200);
    assert_non_null(itest_json_str(r, "since"));
    itest_free(r);
    assert_int_equal(route_stat("/api/v1/portfolio", "misses"), -1); /* nothing since */

    /* A miss, then hits (from Redis or a worker's memory). */
    r = call("GET", "/api/v1/portfolio", alice);
    ITEST_STATUS(r, 200);
    itest_free(r);
    for (int i = 0; i < 4; i++) {
        r = call("GET", "/api/v1/portfolio", alice);
        ITEST_STATUS(r, 200);
        assert_string_equal(xcache(r), "HIT");
        itest_free(r);
    }
    assert_true(route_stat("/api/v1/portfolio", "misses") >= 1);
    assert_true(route_stat("/api/v1/portfolio", "hits") >= 4);

    /* Clear: the next request is built again, whichever worker answers. */
    r = call("POST", "/api/v1/admin/redis/clear", admin);
    ITEST_STATUS(r, 200);
    long long gen = json_object_get_int64(itest_json_get(r, "generation"));
    assert_true(gen >= 1);
    itest_free(r);
    r = call("GET", "/api/v1/portfolio", alice);
    ITEST_STATUS(r, 200);
    assert_string_equal(xcache(r), "MISS");
    itest_free(r);
    for (int i = 0; i < 4; i++) { /* and cached again after */
        r = call("GET", "/api/v1/portfolio", alice);
        assert_string_equal(xcache(r), "HIT");
        itest_free(r);
    }
    r = call("POST", "/api/v1/admin/redis/clear", admin);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_get_int64(itest_json_get(r, "generation")), gen + 1);
    itest_free(r);
    for (int i = 0; i < 2; i++) { /* each worker: its memory was dropped too */
        r = call("GET", "/api/v1/portfolio", alice);
        if (i == 0)
            assert_string_equal(xcache(r), "MISS");
        itest_free(r);
    }
}

static void redis_down_is_503(void **state)
{
    (void)state;
    assert_int_equal(itest_stack("stop redis"), 0);
    itest_response *h = call("GET", "/api/v1/admin/redis/health", admin);
    itest_response *c = call("POST", "/api/v1/admin/redis/clear", admin);
    itest_response *s = call("GET", "/api/v1/admin/redis/stats", admin);
    assert_int_equal(itest_stack("start redis"), 0);
    ITEST_ERROR(h, 503, "unavailable");
    ITEST_ERROR(c, 503, "unavailable");
    ITEST_STATUS(s, 200); /* the API's own counts, without Redis' */
    assert_null(itest_json_get(s, "redis"));
    itest_free(h);
    itest_free(c);
    itest_free(s);
}

/* The id of an item of list `key` whose member `field` equals want, or NULL. */
static json_object *item_with(json_object *items, const char *field, const char *want)
{
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *o = json_object_array_get_idx(items, i), *v;
        if (json_object_object_get_ex(o, field, &v) && json_object_get_string(v) &&
            strcmp(json_object_get_string(v), want) == 0)
            return o;
    }
    return NULL;
}

static void errors_and_slow_requests(void **state)
{
    (void)state;
    static const char *const paths[] = {"/api/v1/monitoring/errors",
                                        "/api/v1/monitoring/slow-requests"};
    for (int i = 0; i < 2; i++) {
        itest_response *r = call("GET", paths[i], alice);
        ITEST_ERROR(r, 403, "forbidden");
        itest_free(r);
    }
    /* PostgreSQL stalls under an uncached read: 503 after the deadline. */
    assert_true(itest_pg_signal(SIGSTOP) > 0);
    char auth[2100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", alice);
    const char *h[] = {auth, "Cache-Control: no-cache", NULL};
    itest_response *slow = itest_http("GET", "/api/v1/positions?limit=2", h, NULL);
    itest_pg_signal(SIGCONT);
    ITEST_ERROR(slow, 503, "unavailable");
    char rid[80];
    snprintf(rid, sizeof rid, "%s", itest_header(slow, "X-Request-ID"));
    itest_free(slow);

    itest_response *r = call("GET", "/api/v1/monitoring/errors", admin);
    ITEST_STATUS(r, 200);
    json_object *e = item_with(itest_json_get(r, "items"), "route", "/api/v1/positions"), *v;
    assert_non_null(e);
    assert_true(json_object_object_get_ex(e, "status", &v));
    assert_int_equal(json_object_get_int(v), 503);
    assert_true(json_object_object_get_ex(e, "code", &v));
    assert_string_equal(json_object_get_string(v), "unavailable");
    assert_true(json_object_object_get_ex(e, "count", &v));
    assert_true(json_object_get_int64(v) >= 1);
    assert_true(json_object_object_get_ex(e, "sample_request_ids", &v));
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), rid);
    itest_free(r);

    r = call("GET", "/api/v1/monitoring/slow-requests?limit=5", admin);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_get_int(itest_json_get(r, "threshold_ms")), 100);
    json_object *s = item_with(itest_json_get(r, "items"), "request_id", rid);
    assert_non_null(s);
    assert_true(json_object_object_get_ex(s, "duration_ms", &v));
    double total = json_object_get_double(v);
    assert_true(total >= 400);
    /* The time went to PostgreSQL: the statement, or the session check
     * before it (authentication reads PostgreSQL too); nothing else. */
    double waited = 0;
    static const char *const parts[] = {"auth_ms", "cache_ms", "db_ms"};
    for (int i = 0; i < 3; i++) {
        assert_true(json_object_object_get_ex(s, parts[i], &v));
        waited += json_object_get_double(v);
    }
    assert_true(json_object_object_get_ex(s, "other_ms", &v));
    assert_true(waited >= total * 0.9);
    assert_true(json_object_get_double(v) <= total * 0.1);
    itest_free(r);
    r = call("GET", "/api/v1/monitoring/slow-requests?limit=0", admin);
    ITEST_ERROR(r, 400, "invalid_parameter");
    itest_free(r);
}

/* Each part with its own status; the engine's own report from Redis. */
static void health_detailed(void **state)
{
    (void)state;
    itest_response *r = call("GET", "/api/v1/monitoring/health/detailed", alice);
    ITEST_ERROR(r, 403, "forbidden");
    itest_free(r);
    r = call("GET", "/api/v1/monitoring/health/detailed", admin);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "checks.postgres.status"), "ok");
    assert_string_equal(itest_json_str(r, "checks.redis.status"), "ok");
    assert_true(json_object_get_int(itest_json_get(r, "checks.postgres.connections")) >= 1);
    assert_int_equal(json_object_get_int(itest_json_get(r, "checks.api.workers_alive")),
                     json_object_get_int(itest_json_get(r, "checks.api.workers")));
    assert_true(json_object_get_int64(itest_json_get(r, "checks.api.rss_bytes")) > 0);
    assert_true(json_object_get_int64(itest_json_get(r, "checks.disk.free_bytes")) > 0);
    /* No engine yet: nothing fires, and the whole says so. */
    assert_int_equal(json_object_array_length(itest_json_get(r, "checks.engines")), 0);
    assert_string_equal(itest_json_str(r, "status"), "down");
    itest_free(r);

    char listen[64];
    assert_int_equal(itest_engine_start(listen, sizeof listen), 0);
    long long deadline = itest_now_ms() + 15000;
    json_object *eng = NULL, *rep = NULL, *v;
    while (itest_now_ms() < deadline) {
        r = call("GET", "/api/v1/monitoring/health/detailed", admin);
        json_object *list = itest_json_get(r, "checks.engines");
        eng =
            list && json_object_array_length(list) == 1 ? json_object_array_get_idx(list, 0) : NULL;
        if (eng && json_object_object_get_ex(eng, "reported", &rep) &&
            json_object_object_get_ex(rep, "leader", &v) && json_object_get_boolean(v))
            break;
        itest_free(r);
        r = NULL;
        usleep(300 * 1000);
    }
    assert_non_null(r);
    assert_true(json_object_object_get_ex(eng, "status", &v));
    assert_string_equal(json_object_get_string(v), "ok");
    assert_true(json_object_object_get_ex(rep, "fencing_token", &v));
    assert_true(json_object_get_int64(v) >= 1);
    assert_true(json_object_object_get_ex(rep, "active_orders", &v));
    assert_true(json_object_get_int64(v) >= 0);
    assert_true(json_object_object_get_ex(rep, "rss_bytes", &v));
    assert_true(json_object_get_int64(v) > 0);
    assert_true(json_object_object_get_ex(rep, "feeds", &v));
    assert_true(json_object_array_length(v) >= 1);
    assert_string_not_equal(itest_json_str(r, "status"), "down");
    itest_free(r);
    assert_int_equal(itest_stack("stop engine"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admin_only),
        cmocka_unit_test(redis_health),
        cmocka_unit_test(stats_reset_and_clear),
        cmocka_unit_test(redis_down_is_503),
        cmocka_unit_test(errors_and_slow_requests),
        cmocka_unit_test(health_detailed),
    };
    return cmocka_run_group_tests_name("admin", tests, setup, teardown);
}
