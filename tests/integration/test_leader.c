/*
 * test_leader.c - two engines at once: exactly one holds the leader lease
 * (engine/lease.c) and says so in /health; when it is killed the other
 * takes over once the lease expires, with a larger fencing token that
 * PostgreSQL's fence now holds; one stopped with SIGTERM hands over at
 * once (it releases the lease).
 *
 * Engine A is the stack's (stack.sh start engine); engine B is started here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

/* A released lease is taken on the next renewal (every second), slack included. */
#define TD_LEASE_WAIT_MS 2500

static char g_listen[2][64];
static pid_t g_b;

static pid_t start_b(void)
{
    return itest_engine_spawn(g_listen[1]);
}

static void stop_b(int sig)
{
    if (g_b > 0) {
        kill(g_b, sig);
        waitpid(g_b, NULL, 0);
        g_b = 0;
    }
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        int port = itest_free_port();
        if (port < 0)
            return -1;
        snprintf(g_listen[i], sizeof g_listen[i], "127.0.0.1:%d", port);
    }
    setenv("TRADEDESK_ENGINE_LISTEN", g_listen[0], 1);
    if (itest_stack("start engine") != 0)
        return -1;
    g_b = start_b();
    return g_b > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stop_b(SIGTERM);
    int rc = itest_stack("stop engine");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* 1: engine i leads, 0: it does not, -1: it does not answer. */
static int leads(int i, long long *token)
{
    char cmd[256], out[8192];
    snprintf(cmd, sizeof cmd, "curl -s -m 2 http://%s/health", g_listen[i]);
    if (itest_sh(cmd, out, sizeof out) != 0 || !strstr(out, "\"leader\""))
        return -1;
    const char *t = strstr(out, "\"fencing_token\":");
    if (token)
        *token = t ? atoll(t + strlen("\"fencing_token\":")) : 0;
    return strstr(out, "\"leader\":true") != NULL;
}

/* Which engine leads alone with a token above min, waiting up to ms; -1
 * if none does by then. */
static int sole_leader_above(long long min, long long ms, long long *token)
{
    long long deadline = itest_now_ms() + ms;
    do {
        long long t0 = 0, t1 = 0;
        int a = leads(0, &t0), b = leads(1, &t1);
        if (a == 1 && b != 1 && t0 > min) {
            *token = t0;
            return 0;
        }
        if (b == 1 && a != 1 && t1 > min) {
            *token = t1;
            return 1;
        }
        usleep(100 * 1000);
    } while (itest_now_ms() < deadline);
    return -1;
}

static int sole_leader(long long ms, long long *token)
{
    return sole_leader_above(0, ms, token);
}

static long long fence(void)
{
    return itest_psql_int("SELECT token FROM engine_fence WHERE name = 'monitor'");
}

static void exactly_one_leads(void **state)
{
    (void)state;
    /* As after Redis lost its counter: the fence is far ahead of it.  The
     * leader notices within a renewal and a token above it takes over. */
    assert_int_equal(itest_psql("SELECT engine_fence_advance(5000)", NULL, 0), 0);
    long long token = 0;
    int who = sole_leader_above(5000, 10000, &token);
    assert_true(who >= 0);
    assert_int_equal(fence(), token);
    /* And stays so: no flapping between renewals. */
    usleep(2500 * 1000);
    long long again = 0;
    assert_int_equal(sole_leader(0, &again), who);
    assert_int_equal(again, token);
}

static void killed_leader_is_replaced(void **state)
{
    (void)state;
    long long token = 0, next = 0;
    int who = sole_leader(10000, &token);
    assert_true(who >= 0);
    long long t0 = itest_now_ms();
    if (who == 1) {
        stop_b(SIGKILL);
    } else {
        int pid = itest_pid("engine");
        assert_true(pid > 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
    }
    /* The lease (3 s) must expire first; then the other takes it. */
    assert_int_equal(sole_leader(8000, &next), 1 - who);
    fprintf(stderr, "    takeover after %lld ms\n", itest_now_ms() - t0);
    assert_true(next > token);
    assert_int_equal(fence(), next);

    /* Bring the dead one back for the next test. */
    if (who == 1) {
        g_b = start_b();
    } else {
        itest_stack("stop engine");
        assert_int_equal(itest_stack("start engine"), 0);
    }
}

static void sigterm_hands_over(void **state)
{
    (void)state;
    long long token = 0, next = 0;
    /* Both up again, one of them leading. */
    long long deadline = itest_now_ms() + 10000;
    while ((leads(0, NULL) < 0 || leads(1, NULL) < 0) && itest_now_ms() < deadline)
        usleep(100 * 1000);
    int who = sole_leader(10000, &token);
    assert_true(who >= 0);
    long long t0 = itest_now_ms();
    if (who == 1)
        stop_b(SIGTERM);
    else
        assert_int_equal(itest_stack("stop engine"), 0);
    /* Released: the other takes it on its next renewal, not after 3 s. */
    assert_int_equal(sole_leader(TD_LEASE_WAIT_MS, &next), 1 - who);
    fprintf(stderr, "    handover after %lld ms\n", itest_now_ms() - t0);
    assert_true(next > token);
    if (who == 0)
        assert_int_equal(itest_stack("start engine"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exactly_one_leads),
        cmocka_unit_test(killed_leader_is_replaced),
        cmocka_unit_test(sigterm_hands_over),
    };
    return cmocka_run_group_tests_name("leader", tests, setup, teardown);
}
