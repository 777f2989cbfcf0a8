/*
 * test_pg_stall.c - a stalled PostgreSQL must not take the API with it.
 *
 * Every PostgreSQL process is stopped with SIGSTOP (a frozen host: its
 * sockets accept, nothing answers; statement_timeout never fires) while
 * several clients keep uncached requests going.  Before the fix every
 * worker joined the wait and /health, /metrics and cached reads hung
 * behind them.  Now: at most TRADEDESK_DB_WORKER_SHARE of the workers wait
 * on PostgreSQL, each for the statement timeout plus a second at most;
 * others asking for it get 503 at once; /health answers "down" within
 * about a second; /metrics and cached reads answer as usual; after SIGCONT
 * the same workers recover.
 *
 * The API is restarted with 4 workers (2 may wait on PostgreSQL) and a
 * 1.5 s statement timeout, and restarted with the stack's settings in the
 * teardown, which also always sends SIGCONT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 1500
#define DEADLINE_MS (TIMEOUT_MS + 1000) /* the API's client-side deadline */
#define HOLDERS 4
#define STALL_MS 5000

static char alice[2048];
static char saved_workers[16]; /* the stack's TRADEDESK_WORKERS, put back at the end */

static itest_response *get(const char *path, const char *extra_header)
{
    char auth[2100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", alice);
    const char *h[] = {auth, extra_header, NULL};
    return itest_http("GET", path, h, NULL);
}

static itest_response *wait_healthy(void)
{
    return itest_poll("/health", 200, "status", "ok", 20000);
}

static int setup(void **state)
{
    (void)state;
    if (itest_cli("token alice --ttl 3600", NULL, alice, sizeof alice) != 0)
        return -1;
    alice[strcspn(alice, "\n")] = '\0';
    const char *w = getenv("TRADEDESK_WORKERS");
    snprintf(saved_workers, sizeof saved_workers, "%s", w ? w : "");
    setenv("TRADEDESK_WORKERS", "4", 1);
    setenv("TRADEDESK_DB_TIMEOUT_MS", "1500", 1);
    setenv("TRADEDESK_DB_WORKER_SHARE", "50", 1);
    return itest_api_restart();
}

static int teardown(void **state)
{
    (void)state;
    itest_pg_signal(SIGCONT); /* first, whatever happened */
    unsetenv("TRADEDESK_WORKERS");
    unsetenv("TRADEDESK_DB_TIMEOUT_MS");
    unsetenv("TRADEDESK_DB_WORKER_SHARE");
    if (saved_workers[0])
        setenv("TRADEDESK_WORKERS", saved_workers, 1);
    return itest_stack("restart api") == 0 ? 0 : -1;
}

static int pg_continue(void **state)
{
    (void)state;
    itest_pg_signal(SIGCONT);
    return 0;
}

/* A child that sends uncached requests until `ms` have passed; exits 0
 * when every answer was 200 or 503 and none took longer than the deadline
 * plus a margin (a hang would). */
static pid_t uncached_client(int ms)
{
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid != 0)
        return kid;
    long long end = itest_now_ms() + ms, worst = 0;
    int bad = 0, n = 0;
    while (itest_now_ms() < end) {
        long long t0 = itest_now_ms();
        itest_response *r = get("/api/v1/positions?limit=3", "Cache-Control: no-cache");
        long long took = itest_now_ms() - t0;
        worst = took > worst ? took : worst;
        bad += r->status != 200 && r->status != 503;
        n++;
        if (r->status == 503)
            usleep(50 * 1000); /* as a client honouring Retry-After would, only faster */
        itest_free(r);
    }
    fprintf(stderr, "    client %d: %d requests, slowest %lld ms, %d neither 200 nor 503\n",
            (int)getpid(), n, worst, bad);
    _exit(bad == 0 && worst < DEADLINE_MS + 2500 ? 0 : 1);
}

static long long timed(itest_response **out, const char *path, const char *extra, int auth)
{
    long long t0 = itest_now_ms();
    *out = auth ? get(path, extra) : itest_http("GET", path, NULL, NULL);
    return itest_now_ms() - t0;
}

static void stalled_postgres_leaves_workers_for_the_rest(void **state)
{
    (void)state;
    /* Warm the cache on every worker (memory) and in Redis, and the session. */
    for (int i = 0; i < 12; i++) {
        itest_response *r = get("/api/v1/positions", NULL);
        ITEST_STATUS(r, 200);
        itest_free(r);
    }
    long long restarts = itest_metric("tradedesk_worker_restarts_total");
    long long shed0 = itest_metric("tradedesk_db_shed_total");
    pid_t master = itest_api_pid();

    assert_true(itest_pg_signal(SIGSTOP) > 1);
    long long stall0 = itest_now_ms();
    pid_t kids[HOLDERS];
    for (int i = 0; i < HOLDERS; i++)
        kids[i] = uncached_client(STALL_MS);
    usleep(500 * 1000); /* the holders are inside their statements */

    itest_response *r;
    for (int round = 0; round < 3; round++) {
        long long ms = timed(&r, "/health", NULL, 0);
        fprintf(stderr, "    /health: %ld in %lld ms\n", r->status, ms);
        ITEST_STATUS(r, 503);
        assert_string_equal(itest_json_str(r, "status"), "down");
        assert_string_equal(itest_json_str(r, "checks.postgres.status"), "down");
        assert_non_null(itest_json_get(r, "checks.postgres.latency_ms"));
        assert_true(ms < 1500);
        itest_free(r);

        ms = timed(&r, "/metrics", NULL, 0);
        fprintf(stderr, "    /metrics: %ld in %lld ms\n", r->status, ms);
        ITEST_STATUS(r, 200);
        assert_true(ms < 1000);
        itest_free(r);

        for (int i = 0; i < 4; i++) {
            ms = timed(&r, "/api/v1/positions", NULL, 1);
            ITEST_STATUS(r, 200);
            assert_string_equal(itest_header(r, "x-cache"), "HIT");
            assert_true(ms < 1000);
            itest_free(r);
        }

        ms = timed(&r, "/api/v1/positions?limit=2", "Cache-Control: no-cache", 1);
        fprintf(stderr, "    uncached: %ld in %lld ms\n", r->status, ms);
        ITEST_ERROR(r, 503, "unavailable");
        assert_non_null(itest_header(r, "retry-after"));
        assert_true(ms < DEADLINE_MS + 1000);
        itest_free(r);
    }
    assert_true(itest_metric("tradedesk_db_shed_total") > shed0);

    for (int i = 0; i < HOLDERS; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    fprintf(stderr, "    stalled for %lld ms\n", itest_now_ms() - stall0);
    assert_true(itest_pg_signal(SIGCONT) > 1);

    /* The same workers come back by themselves. */
    r = wait_healthy();
    ITEST_STATUS(r, 200);
    itest_free(r);
    /* A worker whose connection the stall dropped may wait out store/db's
     * reconnect throttle (one attempt a second) before it answers again:
     * within a few seconds every worker serves uncached reads. */
    long long until = itest_now_ms() + 5000;
    int in_a_row = 0;
    while (in_a_row < 8 && itest_now_ms() < until) {
        r = get("/api/v1/positions?limit=2", "Cache-Control: no-cache");
        in_a_row = r->status == 200 ? in_a_row + 1 : 0;
        if (r->status != 200 && r->status != 503)
            ITEST_STATUS(r, 200);
        itest_free(r);
        if (in_a_row == 0)
            usleep(100 * 1000);
    }
    assert_int_equal(in_a_row, 8);
    assert_int_equal(itest_api_pid(), master);
    assert_int_equal(itest_metric("tradedesk_worker_restarts_total"), restarts);
    assert_true(itest_metric("tradedesk_db_timeouts_total") > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(stalled_postgres_leaves_workers_for_the_rest, pg_continue),
    };
    return cmocka_run_group_tests_name("stalled PostgreSQL", tests, setup, teardown);
}
