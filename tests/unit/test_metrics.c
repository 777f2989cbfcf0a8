/*
 * test_metrics.c - unit tests for the shared-memory Prometheus metrics
 * (core/metrics.c) and GET /metrics (api/metrics_handler.c).
 *
 * Cross-process aggregation is tested the way production uses it: the test
 * process plays the master, forks children that record, and renders what
 * they left in the shared mapping.  Children never call cmocka asserts (a
 * failure would unwind into the runner inside the child); they report with
 * their exit status.  The rendered text must pass `promtool check metrics`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/handlers/metrics_handler.h"
#include "api/router.h"
#include "core/metrics.h"

static const char *const ROUTES[] = {"/api/v1/positions", "/api/v1/positions/{id}"};
#define NROUTES TD_ARRAY_LEN(ROUTES)

static td_arena g_arena;

static int setup_small(void **state)
{
    (void)state;
    td_arena_init(&g_arena, 64 * 1024);
    return td_metrics_init(ROUTES, NROUTES, "test") == TD_OK ? 0 : -1;
}

static int setup_arena_only(void **state)
{
    (void)state;
    td_arena_init(&g_arena, 64 * 1024);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    td_metrics_shutdown(); /* the next test starts uninitialised */
    td_arena_free(&g_arena);
    return 0;
}

static const char *render(void)
{
    size_t len = 0;
    char *s = td_metrics_render(&g_arena, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

/* The sample line for series (name plus labels exactly as rendered), or NULL. */
static const char *find_series(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; (p = strstr(p, series)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return p;
    return NULL;
}

static double value_of(const char *text, const char *series)
{
    const char *p = find_series(text, series);
    if (!p)
        fail_msg("series missing: %s\n--- rendered:\n%s", series, text);
    return strtod(p + strlen(series) + 1, NULL);
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, len) == 0;
    return n;
}

/* Every sample's series (text before the value) appears once. */
static void assert_series_unique(const char *text)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        *sp = '\0';
        const char *first = find_series(text, line);
        assert_non_null(first);
        if (find_series(first + 1, line))
            fail_msg("series rendered twice: %s", line);
    }
    free(copy);
}

static void wait_ok(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("child %d failed: status 0x%x", (int)pid, st);
}

/* ---- uninitialised -------------------------------------------------------- */

static void test_noop_when_uninitialised(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Never initialised in this process: teardown of earlier tests
         * unmapped, and this test has no setup. */
        td_metrics_request(0, 200, 0.01);
        td_metrics_request(SIZE_MAX, 999, -1);
        td_metrics_count(TD_M_CACHE_HIT);
        td_metrics_count(TD_M_COUNTER_MAX);
        td_metrics_register_pid(0, getpid());
        td_metrics_forget_pid(getpid());
        td_arena a;
        td_arena_init(&a, 4096);
        size_t len = 0;
        char *s = td_metrics_render(&a, &len);
        if (!s || len != strlen(s))
            _exit(2);
        if (!strstr(s, "tradedesk_build_info{version=\"" TD_VERSION "\"} 1\n"))
            _exit(3);
        if (strstr(s, "tradedesk_http") || strstr(s, "cache_hits") || strstr(s, "process_"))
            _exit(4);
        td_arena_free(&a);
        _exit(0);
    }
    wait_ok(pid);
}

static void test_bad_init_leaves_metrics_disabled(void **state)
{
    (void)state;
    const char *names[] = {"/a", NULL};
    assert_int_equal(td_metrics_init(names, 2, "t"), TD_EINVAL);
    assert_int_equal(td_metrics_init(ROUTES, TD_METRICS_MAX_ROUTES + 1, "t"), TD_EINVAL);
    td_metrics_count(TD_M_CACHE_HIT); /* no-op, must not crash */
    assert_null(strstr(render(), "tradedesk_cache_hits_total"));
    /* No routes at all is fine (a program without HTTP). */
    assert_int_equal(td_metrics_init(NULL, 0, "t"), TD_OK);
    td_metrics_count(TD_M_CACHE_HIT);
    assert_int_equal(value_of(render(), "tradedesk_cache_hits_total"), 1);
}

/* ---- aggregation ---------------------------------------------------------- */

#define CHILDREN 4
#define PER_CHILD 5000

static void test_cross_process_aggregation(void **state)
{
    (void)state;
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        assert_true(pids[c] >= 0);
        if (pids[c] == 0) {
            /* All children at once: concurrent adds on shared cells. */
            for (int i = 0; i < PER_CHILD; i++) {
                td_metrics_request(0, 200, 0.0002);
                td_metrics_count(TD_M_CACHE_HIT);
            }
            if (c == 0) {
                td_metrics_request(1, 404, 0.2);
                td_metrics_request(NROUTES, 404, 0.001);     /* the reserved index */
                td_metrics_request(NROUTES + 7, 405, 0.001); /* out of range: unmatched too */
                td_metrics_count(TD_M_DB_ERROR);
                td_metrics_count(TD_M_WORKER_RESTART);
            }
            _exit(0);
        }
    }
    for (int c = 0; c < CHILDREN; c++)
        wait_ok(pids[c]);

    const char *t = render();
    assert_int_equal(
        value_of(t, "tradedesk_http_requests_total{route=\"/api/v1/positions\",status=\"200\"}"),
        CHILDREN * PER_CHILD);
    assert_int_equal(
        value_of(t,
                 "tradedesk_http_requests_total{route=\"/api/v1/positions/{id}\",status=\"404\"}"),
        1);
    assert_int_equal(
        value_of(t, "tradedesk_http_requests_total{route=\"unmatched\",status=\"404\"}"), 1);
    assert_int_equal(
        value_of(t, "tradedesk_http_requests_total{route=\"unmatched\",status=\"405\"}"), 1);
    assert_int_equal(value_of(t, "tradedesk_cache_hits_total"), CHILDREN * PER_CHILD);
    assert_int_equal(value_of(t, "tradedesk_db_errors_total"), 1);
    assert_int_equal(value_of(t, "tradedesk_worker_restarts_total"), 1);
    assert_int_equal(value_of(t, "tradedesk_cache_misses_total"), 0);
    assert_int_equal(
        value_of(t, "tradedesk_http_request_duration_seconds_count{route=\"/api/v1/positions\"}"),
        CHILDREN * PER_CHILD);
    assert_float_equal(
        value_of(t, "tradedesk_http_request_duration_seconds_sum{route=\"/api/v1/positions\"}"),
        CHILDREN * PER_CHILD * 0.0002, 1e-6);
    /* Series appear on first use: no zero lines for codes never answered. */
    assert_null(find_series(
        t, "tradedesk_http_requests_total{route=\"/api/v1/positions\",status=\"500\"}"));
}

/* Cache outcomes per route, from every process, and the stats' reset
 * (which never takes the Prometheus counters back). */
static void test_cache_outcomes_per_route(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 3; i++)
            td_metrics_cache(0, TD_CACHE_HIT);
        td_metrics_cache(0, TD_CACHE_LOCAL_HIT);
        td_metrics_cache(1, TD_CACHE_MISS);
        _exit(0);
    }
    wait_ok(pid);
    td_metrics_cache(0, TD_CACHE_MISS);
    uint64_t n[TD_CACHE_OUTCOMES];
    assert_true(td_metrics_cache_read(0, n));
    assert_int_equal(n[TD_CACHE_HIT], 3);
    assert_int_equal(n[TD_CACHE_LOCAL_HIT], 1);
    assert_int_equal(n[TD_CACHE_MISS], 1);
    assert_false(td_metrics_cache_read(NROUTES, n)); /* no such route */
    const char *t = render();
    assert_int_equal(value_of(t, "tradedesk_cache_requests_total{route=\"/api/v1/positions\","
                                 "outcome=\"hit\"}"),
                     3);
    assert_int_equal(value_of(t, "tradedesk_cache_requests_total{route=\"/api/v1/positions/{id}\","
                                 "outcome=\"miss\"}"),
                     1);
    assert_int_equal(value_of(t, "tradedesk_cache_hits_total"), 4); /* a local hit is a hit */
    assert_int_equal(value_of(t, "tradedesk_cache_local_hits_total"), 1);
    double before = td_metrics_cache_reset_at();
    td_metrics_cache_reset();
    assert_true(td_metrics_cache_reset_at() >= before);
    assert_true(td_metrics_cache_read(0, n));
    assert_int_equal(n[TD_CACHE_HIT] + n[TD_CACHE_LOCAL_HIT] + n[TD_CACHE_MISS], 0);
    td_metrics_cache(0, TD_CACHE_HIT);
    assert_true(td_metrics_cache_read(0, n));
    assert_int_equal(n[TD_CACHE_HIT], 1);
    t = render();
    assert_int_equal(value_of(t, "tradedesk_cache_requests_total{route=\"/api/v1/positions\","
                                 "outcome=\"hit\"}"),
                     4);
}

static void test_histogram_cumulative(void **state)
{
    (void)state;
    /* le bounds are inclusive: 0.0005 falls in le="0.0005". */
    const double d[] = {0.0001, 0.0005, 0.003, 0.7, 10.0, -1.0 /* clamps to 0 */};
    for (size_t i = 0; i < TD_ARRAY_LEN(d); i++)
        td_metrics_request(0, 200, d[i]);
    const char *t = render();

    static const char *const le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
                                     "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "+Inf"};
    static const int want[] = {3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 6};
    double prev = 0;
    char series[256];
    for (size_t i = 0; i < TD_ARRAY_LEN(le); i++) {
        snprintf(series, sizeof series,
                 "tradedesk_http_request_duration_seconds_bucket{route=\"/api/v1/positions\","
                 "le=\"%s\"}",
                 le[i]);
        double v = value_of(t, series);
        assert_true(v >= prev);
        assert_int_equal(v, want[i]);
        prev = v;
    }
    assert_int_equal(
        value_of(t, "tradedesk_http_request_duration_seconds_count{route=\"/api/v1/positions\"}"),
        prev);
    assert_float_equal(
        value_of(t, "tradedesk_http_request_duration_seconds_sum{route=\"/api/v1/positions\"}"),
        0.0001 + 0.0005 + 0.003 + 0.7 + 10.0, 1e-9);
    /* A route never hit has no histogram lines. */
    assert_null(strstr(t, "route=\"/api/v1/positions/{id}\""));
    assert_int_equal(
        count_lines_starting(t, "# TYPE tradedesk_http_request_duration_seconds histogram\n"), 1);
}

static void test_unknown_status_is_other(void **state)
{
    (void)state;
    /* Statuses missing from core/errors.h's list. */
    const int odd[] = {418, 302, 599, 0, -1, 451};
    for (size_t i = 0; i < TD_ARRAY_LEN(odd); i++)
        td_metrics_request(1, odd[i], 0.001);
    td_metrics_request(1, 422, 0.001);
    const char *t = render();
    assert_int_equal(
        value_of(
            t, "tradedesk_http_requests_total{route=\"/api/v1/positions/{id}\",status=\"other\"}"),
        TD_ARRAY_LEN(odd));
    assert_int_equal(
        value_of(t,
                 "tradedesk_http_requests_total{route=\"/api/v1/positions/{id}\",status=\"422\"}"),
        1);
    assert_null(strstr(t, "status=\"418\""));
    assert_null(strstr(t, "status=\"451\""));
}

static void test_every_counter_rendered(void **state)
{
    (void)state;
    static const char *const names[TD_M_COUNTER_MAX] = {
        [TD_M_CACHE_HIT] = "tradedesk_cache_hits_total",
        [TD_M_CACHE_MISS] = "tradedesk_cache_misses_total",
        [TD_M_CACHE_BYPASS] = "tradedesk_cache_bypass_total",
        [TD_M_CACHE_ERROR] = "tradedesk_cache_errors_total",
        [TD_M_CACHE_LOCAL_HIT] = "tradedesk_cache_local_hits_total",
        [TD_M_DB_ERROR] = "tradedesk_db_errors_total",
        [TD_M_DB_TIMEOUT] = "tradedesk_db_timeouts_total",
        [TD_M_DB_SHED] = "tradedesk_db_shed_total",
        [TD_M_REDIS_ERROR] = "tradedesk_redis_errors_total",
        [TD_M_WORKER_RESTART] = "tradedesk_worker_restarts_total",
        [TD_M_RATE_LIMITED] = "tradedesk_login_rate_limited_total",
        [TD_M_LOGIN_BUSY] = "tradedesk_login_busy_total",
    };
    for (int c = 0; c < TD_M_COUNTER_MAX; c++)
        for (int i = 0; i <= c; i++)
            td_metrics_count((td_counter)c);
    td_metrics_count(TD_M_COUNTER_MAX); /* out of range: ignored */
    td_metrics_count((td_counter)-1);
    const char *t = render();
    char line[128];
    for (int c = 0; c < TD_M_COUNTER_MAX; c++) {
        assert_non_null(names[c]);
        assert_int_equal(value_of(t, names[c]), c + 1);
        snprintf(line, sizeof line, "# TYPE %s counter\n", names[c]);
        assert_non_null(strstr(t, line));
        snprintf(line, sizeof line, "# HELP %s ", names[c]);
        assert_non_null(strstr(t, line));
    }
    assert_non_null(
        strstr(t, "tradedesk_build_info{program=\"test\",version=\"" TD_VERSION "\"} 1\n"));
}

static void test_methods_and_duplicate_routes(void **state)
{
    (void)state;
    const char *methods[] = {"GET", "DELETE", "GET", NULL};
    const char *patterns[] = {"/x/{id}", "/x/{id}", "/x/{id}", "/we\"ird\\path"};
    assert_int_equal(td_metrics_init_routes(methods, patterns, 4, "test"), TD_OK);
    td_metrics_request(0, 200, 0.001);
    td_metrics_request(2, 200, 0.001); /* same method and pattern as 0: same series */
    td_metrics_request(1, 204, 0.001);
    td_metrics_request(3, 200, 0.001);
    const char *t = render();
    assert_int_equal(
        value_of(t,
                 "tradedesk_http_requests_total{method=\"GET\",route=\"/x/{id}\",status=\"200\"}"),
        2);
    assert_int_equal(
        value_of(
            t, "tradedesk_http_requests_total{method=\"DELETE\",route=\"/x/{id}\",status=\"204\"}"),
        1);
    assert_int_equal(
        value_of(t, "tradedesk_http_requests_total{route=\"/we\\\"ird\\\\path\",status=\"200\"}"),
        1);
    assert_int_equal(
        value_of(t,
                 "tradedesk_http_request_duration_seconds_count{method=\"GET\",route=\"/x/{id}\"}"),
        2);
    assert_series_unique(t);
}

/* ---- process metrics ------------------------------------------------------ */

static volatile uint64_t g_sink; /* keeps the busy loop from being optimised away */

static void burn_cpu(double seconds)
{
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do {
        for (int i = 0; i < 100000; i++)
            g_sink += (uint64_t)i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    } while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < seconds);
}

/* A "worker" that burns CPU, says so, then waits until the pipe closes. */
static pid_t spawn_worker(int *release_fd)
{
    int hold[2], ready[2];
    assert_int_equal(pipe(hold), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(hold[1]);
        close(ready[0]);
        burn_cpu(0.3);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        char c;
        while (read(hold[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(hold[0]);
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *release_fd = hold[1];
    return pid;
}

static void test_process_metrics(void **state)
{
    (void)state;
    const char *t = render();
    assert_int_equal(value_of(t, "tradedesk_workers"), 0);
    double rss_alone = value_of(t, "process_resident_memory_bytes");
    assert_true(rss_alone > 0);
    assert_true(value_of(t, "process_open_fds") >= 3);
    double start = value_of(t, "process_start_time_seconds");
    assert_true(start > 1.6e9 && start <= (double)time(NULL) + 1);

    int release;
    pid_t w = spawn_worker(&release);
    td_metrics_register_pid(0, w);
    td_metrics_register_pid(TD_METRICS_MAX_WORKERS, 12345); /* out of range: ignored */
    td_metrics_register_pid(-1, 12345);
    t = render();
    assert_int_equal(value_of(t, "tradedesk_workers"), 1);
    assert_true(value_of(t, "process_resident_memory_bytes") > rss_alone);
    double cpu_live = value_of(t, "process_cpu_seconds_total");
    assert_true(cpu_live >= 0.25);

    /* Reaped: its CPU moves to the master's cutime, so the counter does not
     * drop across a worker restart. */
    close(release);
    wait_ok(w);
    td_metrics_forget_pid(w);
    t = render();
    assert_int_equal(value_of(t, "tradedesk_workers"), 0);
    assert_true(value_of(t, "process_cpu_seconds_total") >= cpu_live);
}

static void test_pid_table_keeps_draining_workers(void **state)
{
    (void)state;
    /* SIGHUP: slot 0 gets a new worker while the old one still drains. */
    td_metrics_register_pid(0, 40001);
    td_metrics_register_pid(1, 40002);
    td_metrics_register_pid(0, 40003);
    assert_int_equal(value_of(render(), "tradedesk_workers"), 3);
    td_metrics_forget_pid(40001); /* the old one is reaped */
    assert_int_equal(value_of(render(), "tradedesk_workers"), 2);
    td_metrics_register_pid(1, 0); /* emptied explicitly */
    assert_int_equal(value_of(render(), "tradedesk_workers"), 1);
    td_metrics_register_pid(0, 40003); /* same pid again: not a replacement */
    assert_int_equal(value_of(render(), "tradedesk_workers"), 1);
}

/* ---- the whole text through promtool ------------------------------------- */

static void test_promtool_accepts_output(void **state)
{
    (void)state;
    const char *methods[] = {"GET", "POST", "DELETE"};
    const char *patterns[] = {"/api/v1/positions", "/api/v1/orders/conditional",
                              "/api/v1/orders/conditional/{id}"};
    assert_int_equal(td_metrics_init_routes(methods, patterns, 3, "tradedesk-api"), TD_OK);
    const int codes[] = {200, 201, 204, 304, 400, 401, 403, 404,
                         405, 409, 413, 422, 429, 500, 503, 418};
    for (size_t i = 0; i < TD_ARRAY_LEN(codes); i++)
        td_metrics_request(i % 4, codes[i], 0.0003 * (double)(i + 1));
    for (int c = 0; c < TD_M_COUNTER_MAX; c++)
        td_metrics_count((td_counter)c);
    int release;
    pid_t w = spawn_worker(&release);
    td_metrics_register_pid(0, w);
    const char *t = render();
    close(release);
    wait_ok(w);

    assert_series_unique(t);
    char path[] = "/tmp/td-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    char out[] = "/tmp/td-promtool-XXXXXX";
    int ofd = mkstemp(out);
    assert_true(ofd >= 0);
    close(ofd);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s > %s 2>&1", path, out);
    int st = system(cmd);
    char msg[4096] = "";
    FILE *f = fopen(out, "r");
    if (f) {
        msg[fread(msg, 1, sizeof msg - 1, f)] = '\0';
        fclose(f);
    }
    unlink(path);
    unlink(out);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("promtool check metrics exited 0x%x (127: promtool not installed; run make "
                 "deps):\n%s\n--- input:\n%s",
                 st, msg, t);
}

/* ---- GET /metrics --------------------------------------------------------- */

static void test_handler_and_route_index(void **state)
{
    (void)state;
    assert_int_equal(td_api_metrics_init(), TD_OK);
    assert_true(td_api_nroutes > 0);

    td_req r;
    td_req_init(&r, &g_arena, NULL);
    assert_int_equal(td_api_route_index(&r), td_api_nroutes); /* route "-" */
    r.method = td_api_routes[0].method;
    r.route = td_api_routes[0].pattern;
    assert_int_equal(td_api_route_index(&r), 0);
    r.method = "PATCH"; /* no route has it */
    assert_int_equal(td_api_route_index(&r), td_api_nroutes);

    r.method = td_api_routes[0].method;
    r.status = 200;
    td_api_metrics_observe(&r);

    td_req m;
    td_req_init(&m, &g_arena, NULL);
    td_h_metrics(&m);
    assert_int_equal(m.status, 200);
    const char *out = m.out.data;
    assert_non_null(strstr(out, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert_non_null(strstr(out, "Cache-Control: no-store\r\n"));
    char series[256];
    snprintf(series, sizeof series,
             "tradedesk_http_requests_total{method=\"%s\",route=\"%s\",status=\"200\"} 1\n",
             td_api_routes[0].method, td_api_routes[0].pattern);
    assert_non_null(strstr(out, series));
    assert_non_null(strstr(out, "tradedesk_build_info{program=\"tradedesk-api\""));
    td_req_end(&m);
    td_req_end(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_noop_when_uninitialised, setup_arena_only, teardown),
        cmocka_unit_test_setup_teardown(test_bad_init_leaves_metrics_disabled, setup_arena_only,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cross_process_aggregation, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_cumulative, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_cache_outcomes_per_route, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_status_is_other, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_every_counter_rendered, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_methods_and_duplicate_routes, setup_arena_only,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_process_metrics, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_pid_table_keeps_draining_workers, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_promtool_accepts_output, setup_arena_only, teardown),
        cmocka_unit_test_setup_teardown(test_handler_and_route_index, setup_arena_only, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
