/*
 * test_process.c - the prefork master under real signals: a killed worker
 * is replaced and counted, SIGHUP replaces every worker without failing a
 * request, and SIGTERM drains and removes the socket.
 *
 * Finds the master through VAR/run/api.pid (written by stack.sh) and its
 * workers through /proc.  The last test stops the API; run.sh starts it
 * again for the next binary, and so does this file's teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Children of the master, sorted ascending. */
static int workers(pid_t master, pid_t *out, int cap)
{
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        int pid = atoi(e->d_name);
        if (pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *rp = strrchr(buf, ')'); /* comm may hold spaces */
        char state;
        int ppid;
        if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && ppid == master && state != 'Z')
            out[n++] = pid;
    }
    closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort: a handful of pids */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            pid_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static void health_ok(void)
{
    itest_response *r = itest_http("GET", "/health", NULL, NULL);
    ITEST_STATUS(r, 200);
    itest_free(r);
}

/* Wait until the master has `want` live workers none of which is in old[]. */
static int wait_for_new_workers(pid_t master, const pid_t *old, int nold, int want)
{
    long long deadline = itest_now_ms() + 10000;
    while (itest_now_ms() < deadline) {
        pid_t now[16];
        int n = workers(master, now, 16), fresh = 0;
        for (int i = 0; i < n; i++) {
            int seen = 0;
            for (int j = 0; j < nold; j++)
                seen |= now[i] == old[j];
            fresh += !seen;
        }
        if (n == want && fresh == want)
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

static void killed_worker_is_replaced(void **state)
{
    (void)state;
    pid_t m = itest_api_pid(), before[16];
    int n = workers(m, before, 16);
    assert_int_equal(n, atoi(getenv("TRADEDESK_WORKERS")));
    long long restarts = itest_metric("tradedesk_worker_restarts_total");
    assert_true(restarts >= 0);

    assert_int_equal(kill(before[0], SIGKILL), 0);
    long long deadline = itest_now_ms() + 10000;
    int replaced = 0;
    while (!replaced && itest_now_ms() < deadline) {
        pid_t now[16];
        int k = workers(m, now, 16);
        replaced = k == n;
        for (int i = 0; i < k; i++)
            replaced &= now[i] != before[0];
        usleep(50 * 1000);
    }
    assert_true(replaced);
    for (int i = 0; i < 10; i++)
        health_ok();
    assert_int_equal(itest_metric("tradedesk_worker_restarts_total"), restarts + 1);
}

static void sighup_replaces_every_worker(void **state)
{
    (void)state;
    pid_t m = itest_api_pid(), before[16];
    int n = workers(m, before, 16);
    assert_int_equal(kill(m, SIGHUP), 0);
    /* Requests keep succeeding while the generations change over. */
    for (int i = 0; i < 20; i++)
        health_ok();
    assert_true(wait_for_new_workers(m, before, n, n));
    assert_int_equal(itest_api_pid(), m);
    health_ok();
}

/* SIGTERM while logins are in flight (each spends tens of ms in Argon2id):
 * the workers finish them, so every request the API took gets its answer. */
static void sigterm_finishes_requests_in_flight(void **state)
{
    (void)state;
    enum { N = 4 };
    char body[N][256];
    for (int i = 0; i < N; i++) { /* one user each: the login limit is per username */
        char user[64];
        assert_int_equal(itest_user_add("drain", "drain password", user, sizeof user), 0);
        snprintf(body[i], sizeof body[i], "{\"username\":\"%s\",\"password\":\"drain password\"}",
                 user);
    }
    unsetenv("TD_TEST_RECORD"); /* nginx's own 502s are not the API's contract */
    pid_t m = itest_api_pid(), kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            itest_client_ip(itest_fresh_ip());
            itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL, body[i]);
            /* 0: answered 200 by the API; 1: never reached it (nginx 502); 2: wrong */
            int rc = r->status == 200 ? 0 : r->status == 502 ? 1 : 2;
            itest_free(r);
            _exit(rc);
        }
    }
    usleep(15 * 1000);
    assert_int_equal(kill(m, SIGTERM), 0);
    int answered = 0;
    for (int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_not_equal(WEXITSTATUS(st), 2);
        answered += WEXITSTATUS(st) == 0;
    }
    assert_true(answered >= 1);
    long long deadline = itest_now_ms() + 15000;
    while (kill(m, 0) == 0 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_not_equal(kill(m, 0), 0);
    assert_int_equal(itest_stack("start api"), 0);
}

static void sigterm_drains_and_removes_socket(void **state)
{
    (void)state;
    pid_t m = itest_api_pid();
    char sock[512];
    snprintf(sock, sizeof sock, "%s/run/api.sock", getenv("TD_TEST_VAR"));
    struct stat st;
    assert_int_equal(stat(sock, &st), 0);
    assert_int_equal(kill(m, SIGTERM), 0);
    long long deadline = itest_now_ms() + 15000;
    while (kill(m, 0) == 0 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_not_equal(kill(m, 0), 0);
    pid_t left[16];
    assert_int_equal(workers(m, left, 16), 0);
    assert_int_not_equal(stat(sock, &st), 0); /* unlinked on the way out */

    /* nginx answers its own JSON 502 while the API is away (an nginx
     * answer, not the API's: kept out of the contract recording). */
    unsetenv("TD_TEST_RECORD");
    itest_response *r = itest_http("GET", "/api/v1/prices", NULL, NULL);
    ITEST_ERROR(r, 502, "bad_gateway"); /* nginx/errors.conf's page */
    itest_free(r);
}

static int restart_api(void **state)
{
    (void)state;
    return itest_stack("start api");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_worker_is_replaced),
        cmocka_unit_test(sighup_replaces_every_worker),
        cmocka_unit_test(sigterm_finishes_requests_in_flight),
        cmocka_unit_test(sigterm_drains_and_removes_socket),
    };
    return cmocka_run_group_tests_name("api process model", tests, NULL, restart_api);
}
