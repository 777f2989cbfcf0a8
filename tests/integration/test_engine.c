/*
 * test_engine.c - tradedesk-engine against the real stack: started by the
 * stack script with the simulator feed, its prices reach GET
 * /api/v1/prices through PostgreSQL, its candles fill the candles table,
 * its own /health and /metrics answer, SIGTERM stops it cleanly, a
 * restart continues the candle series it left, and TRADEDESK_RT_PRIORITY
 * puts its threads under SCHED_FIFO (or, refused, warns).
 *
 * The engine moves prices_latest, which other tests read as the demo seed
 * left it: the teardown stops the engine and seeds the demo data again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static char g_engine_url[96];

static int setup(void **state)
{
    (void)state;
    char listen[64];
    setenv("TRADEDESK_SIM_STEP_MS", "50", 1);
    int rc = itest_engine_start(listen, sizeof listen);
    snprintf(g_engine_url, sizeof g_engine_url, "http://%s", listen);
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop engine");
    /* Put the demo prices back for the tests that read them. */
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

static void engine_get(const char *path, char *out, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 %s%s", g_engine_url, path);
    assert_int_equal(itest_sh(cmd, out, cap), 0);
}

/* The simulator's prices reach the API through prices_latest, fresh and
 * moving. */
static void prices_reach_the_api(void **state)
{
    (void)state;
    char token[4096];
    assert_int_equal(itest_login("alice", "tradedesk", token, sizeof token), 200);
    char auth[4200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = {auth, "Cache-Control: no-cache", NULL};

    /* The seed says binance; the engine's simulator takes over. */
    char first[40] = "";
    long long deadline = itest_now_ms() + 10000;
    while (!first[0] && itest_now_ms() < deadline) {
        itest_response *r = itest_http("GET", "/api/v1/prices/BTC-USDT", h, NULL);
        ITEST_STATUS(r, 200);
        if (strcmp(itest_json_str(r, "source"), "sim") == 0)
            snprintf(first, sizeof first, "%s", itest_json_str(r, "updated_at"));
        itest_free(r);
        if (!first[0])
            usleep(100 * 1000);
    }
    assert_true(first[0] != '\0');

    int moved = 0;
    while (!moved && itest_now_ms() < deadline + 5000) {
        usleep(300 * 1000);
        itest_response *r = itest_http("GET", "/api/v1/prices/BTC-USDT", h, NULL);
        ITEST_STATUS(r, 200);
        json_object *stale = itest_json_get(r, "stale");
        assert_non_null(stale);
        assert_false(json_object_get_boolean(stale));
        moved = strcmp(itest_json_str(r, "updated_at"), first) > 0;
        itest_free(r);
    }
    assert_true(moved);
}

static void health_and_metrics(void **state)
{
    (void)state;
    char body[32768]; /* /metrics: the shared metrics, then the engine's */
    engine_get("/health", body, sizeof body);
    assert_non_null(strstr(body, "\"status\":\"ok\""));
    assert_non_null(strstr(body, "\"source\":\"sim\""));
    assert_non_null(strstr(body, "\"postgres\":\"ok\""));
    engine_get("/metrics", body, sizeof body);
    assert_non_null(strstr(body, "tradedesk_engine_events_total "));
    assert_non_null(strstr(body, "tradedesk_engine_feed_messages_total{source=\"sim\"} "));
    assert_non_null(strstr(body, "tradedesk_build_info"));
    /* The publisher's Redis side: commands, pipelines, and the receive ->
     * Redis-confirmed histogram (empty with the simulator alone). */
    assert_non_null(strstr(body, "tradedesk_engine_redis_commands_total "));
    assert_non_null(strstr(body, "tradedesk_engine_redis_pipelines_total "));
    assert_non_null(strstr(body, "tradedesk_engine_publish_latency_seconds_bucket{le=\"+Inf\"} "));
    engine_get("/nope", body, sizeof body);
    assert_non_null(strstr(body, "not_found"));
}

/* Wait (bounded) until redis-cli ARGS prints something containing want. */
static int redis_shows(const char *args, const char *want, int timeout_ms)
{
    char out[4096];
    long long deadline = itest_now_ms() + timeout_ms;
    do {
        out[0] = '\0';
        if (itest_redis_cli(args, out, sizeof out) == 0 && strstr(out, want))
            return 1;
        usleep(100 * 1000);
    } while (itest_now_ms() < deadline);
    return 0;
}

static long long pg_price_ms(void)
{
    return itest_psql_int(
        "SELECT (extract(epoch FROM updated_at) * 1000)::bigint FROM prices_latest"
        " WHERE symbol = 'BTC-USDT'");
}

/* PostgreSQL's price keeps moving and /health keeps answering (the loop
 * is not waiting on Redis). */
static void loop_and_postgres_go_on(void)
{
    long long before = pg_price_ms(), deadline = itest_now_ms() + 10000, now = before;
    while (now <= before && itest_now_ms() < deadline) {
        usleep(200 * 1000);
        now = pg_price_ms();
    }
    assert_true(now > before);
    char body[8192];
    engine_get("/health", body, sizeof body);
    assert_non_null(strstr(body, "\"postgres\":\"ok\""));
}

/* Prices and trades reach Redis; a stalled Redis, then a stopped one,
 * never stops the loop or the PostgreSQL writes; once Redis is back the
 * engine reconnects and writes the current prices again. */
static void redis_outage(void **state)
{
    (void)state;
    assert_true(redis_shows("GET td:px:BTC-USDT", "\"source\":\"sim\"", 10000));
    assert_true(redis_shows("LRANGE td:trades:BTC-USDT 0 0", "\"price\"", 10000));

    int pid = itest_pid("redis");
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    loop_and_postgres_go_on();
    assert_int_equal(kill(pid, SIGCONT), 0);

    assert_int_equal(itest_stack("stop redis"), 0);
    loop_and_postgres_go_on();
    assert_int_equal(itest_stack("start redis"), 0);
    assert_true(redis_shows("GET td:px:BTC-USDT", "\"source\":\"sim\"", 10000));
}

static int redis_back(void **state)
{
    (void)state;
    int pid = itest_pid("redis");
    if (pid > 0)
        kill(pid, SIGCONT);
    return itest_stack("start redis") == 0 ? 0 : -1;
}

/* Every symbol gets a forming 1m bar with a sane range; the 1d series too. */
static void candles_fill(void **state)
{
    (void)state;
    long long deadline = itest_now_ms() + 10000, n = 0;
    while (n < 5 && itest_now_ms() < deadline) {
        n = itest_psql_int("SELECT count(DISTINCT symbol) FROM candles WHERE interval = '1m'");
        if (n < 5)
            usleep(200 * 1000);
    }
    assert_int_equal(n, 5);
    assert_int_equal(
        itest_psql_int("SELECT count(*) FROM candles WHERE NOT (low <= open AND low <= "
                       "close AND high >= open AND high >= close)"),
        0);
    assert_true(itest_psql_int("SELECT count(*) FROM candles WHERE interval = '1d'") >= 5);
}

/* SIGTERM: a clean stop; a restart continues the series it left. */
static void restart_continues_candles(void **state)
{
    (void)state;
    char cmd[512], out[64];
    assert_int_equal(itest_stack("stop engine"), 0);
    snprintf(cmd, sizeof cmd, "grep -c '\"msg\":\"stopped\"' %s/log/engine.log",
             getenv("TD_TEST_VAR"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    assert_true(atoi(out) >= 1);
    long long rows = itest_psql_int("SELECT count(*) FROM candles");
    assert_int_equal(itest_stack("start engine"), 0);
    snprintf(cmd, sizeof cmd, "grep -c 'continuing [0-9]* candle series' %s/log/engine.log",
             getenv("TD_TEST_VAR"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    assert_true(atoi(out) >= 1);
    /* Within the same minute no second bar appears for a series. */
    assert_int_equal(itest_psql_int("SELECT count(*) FROM (SELECT symbol, interval, open_time FROM "
                                    "candles GROUP BY 1, 2, 3 HAVING count(*) > 1) d"),
                     0);
    assert_true(itest_psql_int("SELECT count(*) FROM candles") >= rows);
}

/* The scheduling policy of every thread of pid (stat's 41st field: 0
 * SCHED_OTHER, 1 SCHED_FIFO), -1 when they differ or cannot be read; the
 * number of threads into *n. */
static int threads_policy(int pid, int *n)
{
    char cmd[256], out[4096];
    snprintf(cmd, sizeof cmd,
             "for t in /proc/%d/task/*/stat; do sed 's/.*) //' \"$t\" | cut -d' ' -f39; done",
             pid);
    if (itest_sh(cmd, out, sizeof out) != 0)
        return -1;
    int policy = -1;
    *n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), (*n)++) {
        int p = atoi(line);
        if (*n > 0 && p != policy)
            return -1;
        policy = p;
    }
    return policy;
}

/* Whether this process may put a child under SCHED_FIFO at prio. */
static int fifo_allowed(int prio)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct sched_param sp = {.sched_priority = prio};
        _exit(sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? 0 : 1);
    }
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

static void engine_restart(const char *wrap)
{
    assert_int_equal(itest_stack("stop engine"), 0);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' start engine", wrap, getenv("TD_TEST_STACK"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
}

/* TRADEDESK_RT_PRIORITY: the loop and the threads it starts (the relay's,
 * the guard's) run under SCHED_FIFO at that priority, and /metrics says so;
 * without the capability the engine warns and serves under the normal
 * scheduler. */
static void realtime_priority(void **state)
{
    (void)state;
    char body[32768];
    int allowed = fifo_allowed(3), n = 0;
    setenv("TRADEDESK_RT_PRIORITY", "3", 1);
    engine_restart("");
    engine_get("/metrics", body, sizeof body);
    assert_non_null(strstr(body, allowed ? "\ntradedesk_engine_realtime_priority 3\n"
                                         : "\ntradedesk_engine_realtime_priority 0\n"));
    assert_int_equal(threads_policy(itest_pid("engine"), &n), allowed ? 1 : 0);
    assert_true(n >= 2); /* the loop and the relay at least */

    if (allowed) { /* the same settings without CAP_SYS_NICE */
        engine_restart("setpriv --bounding-set=-sys_nice --inh-caps=-sys_nice");
        engine_get("/metrics", body, sizeof body);
        assert_non_null(strstr(body, "\ntradedesk_engine_realtime_priority 0\n"));
        assert_int_equal(threads_policy(itest_pid("engine"), &n), 0);
        engine_get("/health", body, sizeof body);
        assert_non_null(strstr(body, "\"status\":\"ok\""));
        char cmd[512], out[64];
        snprintf(cmd, sizeof cmd, "grep -c 'TRADEDESK_RT_PRIORITY=3 refused' %s/log/engine.log",
                 getenv("TD_TEST_VAR"));
        assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
        assert_true(atoi(out) >= 1);
    }
}

static int normal_scheduler(void **state)
{
    (void)state;
    unsetenv("TRADEDESK_RT_PRIORITY");
    return itest_stack("restart engine") == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prices_reach_the_api),
        cmocka_unit_test(health_and_metrics),
        cmocka_unit_test_teardown(redis_outage, redis_back),
        cmocka_unit_test(candles_fill),
        cmocka_unit_test(restart_continues_candles),
        cmocka_unit_test_teardown(realtime_priority, normal_scheduler),
    };
    return cmocka_run_group_tests_name("engine", tests, setup, teardown);
}
