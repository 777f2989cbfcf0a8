/*
 * test_revocation.c - a revoked session stays revoked whatever Redis does
 * (refuses writes, stalls, comes back from an old snapshot) and however it
 * was revoked (logout, logout-all, the CLI, psql), on every worker.
 *
 * Each test warms the session into every worker's memory and into Redis
 * first (TRADEDESK_WORKERS=2; a burst of requests reaches both), so what
 * it checks is that neither copy outlives the revocation.  Redis is
 * driven with redis-cli on the stack's socket and with SIGSTOP/SIGCONT of
 * its pid; every test restores Redis in its teardown, also after a failure.
 * Deadlines have margins over the promises they check (docs: same instance
 * before the response; others within TD_SESSION_RECHECK_MS, 1 s).
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
#include <sys/types.h>
#include <unistd.h>

#define PASS "correct horse battery"
#define BURST 24       /* requests that reach both workers */
#define WITHIN_MS 2500 /* ~1.5 s promised, plus a loaded machine's margin */
#define HOLD_MS 3000   /* how long a refusal is watched to stay */
#define SESSIONS "/api/v1/auth/sessions"

static int g_stopped_pid;

/* Whatever a test did to Redis, undone (also when it failed half way). */
static int restore_redis(void **state)
{
    (void)state;
    if (g_stopped_pid) {
        kill(g_stopped_pid, SIGCONT);
        g_stopped_pid = 0;
    }
    itest_redis_cli("CONFIG SET maxmemory 0", NULL, 0);
    return 0;
}

static int fresh_client(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return 0;
}

static void new_session(const char *prefix, char *user, size_t ucap, char *token, size_t tcap)
{
    assert_int_equal(itest_user_add(prefix, PASS, user, ucap), 0);
    assert_int_equal(itest_login(user, PASS, token, tcap), 200);
}

/* Every one of n requests answers `status`. */
static void burst(const char *token, long status, int n, const char *what)
{
    for (int i = 0; i < n; i++) {
        itest_response *r = itest_get_auth(SESSIONS, token);
        if (r->status != status) {
            fprintf(stderr, "    %s: request %d of %d answered %ld, expected %ld\n", what, i + 1, n,
                    r->status, status);
            itest_dump(r);
            fail();
        }
        itest_free(r);
    }
}

/* The token is refused within ms, then by every worker, for HOLD_MS. */
static void refused_within(const char *token, int ms, const char *what)
{
    long long t0 = itest_now_ms(), deadline = t0 + ms;
    for (;;) {
        itest_response *r = itest_get_auth(SESSIONS, token);
        long st = r->status;
        itest_free(r);
        if (st == 401)
            break;
        if (itest_now_ms() > deadline) {
            fprintf(stderr, "    %s: still %ld after %d ms\n", what, st, ms);
            fail();
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "    %s: refused after %lld ms\n", what, itest_now_ms() - t0);
    burst(token, 401, BURST, what);
    long long until = itest_now_ms() + HOLD_MS;
    while (itest_now_ms() < until) {
        burst(token, 401, 2, what);
        usleep(100 * 1000);
    }
}

/* ------------------------------------------------ Redis refusing writes */

static void refuse_writes(void)
{
    char out[128];
    itest_redis_cli("CONFIG SET maxmemory-policy noeviction", out, sizeof out);
    assert_string_equal(out, "OK");
    itest_redis_cli("CONFIG SET maxmemory 1", out, sizeof out);
    assert_string_equal(out, "OK");
    itest_redis_cli("SET td:itest:probe x", out, sizeof out);
    assert_non_null(strstr(out, "OOM")); /* writes really are refused */
}

static void logout_while_redis_refuses_writes(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("rw", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before logout");

    refuse_writes();
    itest_response *r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    ITEST_STATUS(r, 204);
    itest_free(r);
    /* Same instance: no wait at all. */
    burst(token, 401, BURST, "right after logout, Redis refusing writes");
    refused_within(token, 0, "Redis refusing writes");

    itest_redis_cli("CONFIG SET maxmemory 0", NULL, 0);
    refused_within(token, 0, "after Redis accepts writes again");
}

static void logout_all_while_redis_refuses_writes(void **state)
{
    (void)state;
    char user[64], t1[4096], t2[4096];
    new_session("rwa", user, sizeof user, t1, sizeof t1);
    assert_int_equal(itest_login(user, PASS, t2, sizeof t2), 200);
    burst(t1, 200, BURST, "first session before logout-all");
    burst(t2, 200, BURST, "second session before logout-all");

    refuse_writes();
    itest_response *r = itest_post_auth("/api/v1/auth/logout-all", t1, NULL);
    ITEST_STATUS(r, 200);
    json_object *n = itest_json_get(r, "revoked");
    assert_non_null(n);
    assert_int_equal(json_object_get_int(n), 2);
    itest_free(r);
    burst(t1, 401, BURST, "first session right after logout-all");
    burst(t2, 401, BURST, "second session right after logout-all");
    refused_within(t2, 0, "Redis refusing writes");

    itest_redis_cli("CONFIG SET maxmemory 0", NULL, 0);
    refused_within(t1, 0, "first session after Redis recovers");
    refused_within(t2, 0, "second session after Redis recovers");
}

/* ------------------------------------------------------ Redis stalled */

static void psql(const char *sql_fmt, const char *user)
{
    char sql[512], args[700];
    snprintf(sql, sizeof sql, sql_fmt, user);
    snprintf(args, sizeof args, "psql -q -v ON_ERROR_STOP=1 -c \"%s\"", sql);
    assert_int_equal(itest_stack(args), 0);
}

static void logout_while_redis_is_stalled(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("st", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before the stall");

    int pid = itest_pid("redis");
    assert_int_equal(kill(pid, SIGSTOP), 0);
    g_stopped_pid = pid;
    long long t0 = itest_now_ms();
    itest_response *r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    ITEST_STATUS(r, 204); /* after at most a Redis timeout or two */
    itest_free(r);
    fprintf(stderr, "    logout took %lld ms with Redis stopped\n", itest_now_ms() - t0);
    refused_within(token, WITHIN_MS, "Redis stalled");

    kill(pid, SIGCONT);
    g_stopped_pid = 0;
    refused_within(token, 0, "after SIGCONT");
}

/* The same stall with the revocation made where this instance's sibling
 * fence cannot see it: what another API instance's logout commits (its
 * own Redis writes and PUBLISH are stuck in the stalled Redis).  Workers
 * must stop trusting their memory and learn of it from PostgreSQL. */
static void revoked_elsewhere_while_redis_is_stalled(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("ste", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before the stall");

    int pid = itest_pid("redis");
    assert_int_equal(kill(pid, SIGSTOP), 0);
    g_stopped_pid = pid;
    psql("UPDATE sessions SET revoked_at = now() WHERE user_id = "
         "(SELECT id FROM users WHERE username = '%s')",
         user);
    refused_within(token, WITHIN_MS, "revoked elsewhere, Redis stalled");

    kill(pid, SIGCONT);
    g_stopped_pid = 0;
    refused_within(token, 0, "after SIGCONT");
}

/* A stall with no logout in it: the API keeps answering (from PostgreSQL
 * once its memory is no longer trusted) and the session still works. */
static void stall_alone_logs_nobody_out(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("sa", user, sizeof user, token, sizeof token);
    burst(token, 200, 4, "before the stall");
    int pid = itest_pid("redis");
    assert_int_equal(kill(pid, SIGSTOP), 0);
    g_stopped_pid = pid;
    burst(token, 200, 8, "during the stall");
    kill(pid, SIGCONT);
    g_stopped_pid = 0;
    burst(token, 200, 8, "after the stall");
}

/* ------------------------------------------- Redis from an old snapshot */

static void restore_from_snapshot_taken_before_logout(void **state)
{
    (void)state;
    char user[64], token[4096], out[256], cmd[1024];
    new_session("rdb", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before the snapshot");

    /* The snapshot holds the session's positive entry. */
    assert_int_equal(itest_redis_cli("SAVE", out, sizeof out), 0);
    assert_string_equal(out, "OK");
    const char *var = getenv("TD_TEST_VAR");
    snprintf(cmd, sizeof cmd, "cp '%s/redis/dump.rdb' '%s/redis/before-logout.rdb'", var, var);
    assert_int_equal(system(cmd), 0);

    itest_response *r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    ITEST_STATUS(r, 204);
    itest_free(r);
    burst(token, 401, 4, "after logout");

    assert_int_equal(itest_stack("stop redis"), 0);
    snprintf(cmd, sizeof cmd, "cp '%s/redis/before-logout.rdb' '%s/redis/dump.rdb'", var, var);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(itest_stack("start redis"), 0);
    assert_int_equal(itest_redis_cli("PING", out, sizeof out), 0);

    /* Health checks first (they ping the worker's Redis connection), until
     * every worker has reconnected to the restored Redis: a dead
     * connection would send the first session check to PostgreSQL and
     * hide the stale entry.  Then the first request with the token must
     * already be refused. */
    long long until = itest_now_ms() + 1500;
    while (itest_now_ms() < until) {
        itest_response *p = itest_http("GET", "/health", NULL, NULL);
        itest_free(p);
        usleep(50 * 1000);
    }
    refused_within(token, 0, "Redis restored from before the logout");
}

/* ------------------------------------------ revoked behind the API's back */

static void disabling_a_user_in_psql_ends_their_sessions(void **state)
{
    (void)state;
    char user[64], token[4096], fresh[4096], args[128];
    new_session("dis", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before disable");

    psql("UPDATE users SET disabled = true WHERE username = '%s'", user);
    refused_within(token, WITHIN_MS, "disabled in psql");
    assert_int_equal(itest_login(user, PASS, fresh, sizeof fresh), 401);

    snprintf(args, sizeof args, "user enable %s", user);
    assert_int_equal(itest_cli(args, NULL, NULL, 0), 0);
    assert_int_equal(itest_login(user, PASS, fresh, sizeof fresh), 200);
    burst(fresh, 200, 4, "new session after enable");
    burst(token, 401, BURST, "old session after enable");
}

static void cli_disable_and_role_change_end_sessions(void **state)
{
    (void)state;
    char user[64], token[4096], args[128];
    new_session("cld", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before user disable");
    snprintf(args, sizeof args, "user disable %s", user);
    assert_int_equal(itest_cli(args, NULL, NULL, 0), 0);
    refused_within(token, WITHIN_MS, "tradedesk user disable");

    new_session("clr", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before user role");
    snprintf(args, sizeof args, "user role %s user", user); /* no change: no revocation */
    assert_int_equal(itest_cli(args, NULL, NULL, 0), 0);
    burst(token, 200, 4, "after a role update that changed nothing");
    snprintf(args, sizeof args, "user role %s admin", user);
    assert_int_equal(itest_cli(args, NULL, NULL, 0), 0);
    refused_within(token, WITHIN_MS, "tradedesk user role admin");

    snprintf(args, sizeof args, "user role %s boss", user);
    assert_int_equal(itest_cli(args, NULL, NULL, 0), 2);
    assert_int_equal(itest_cli("user disable nosuchuser-xyz", NULL, NULL, 0), 1);
}

static void deleting_a_user_ends_their_sessions(void **state)
{
    (void)state;
    char user[64], token[4096];
    new_session("del", user, sizeof user, token, sizeof token);
    burst(token, 200, BURST, "before delete");
    psql("DELETE FROM users WHERE username = '%s'", user);
    refused_within(token, WITHIN_MS, "user deleted");
}

/* Redis flushed (or replaced by an empty one): the mark is gone, so the
 * workers put every tombstone back and raise it again. */
static void flushed_redis_gets_its_tombstones_back(void **state)
{
    (void)state;
    char user[64], token[4096], out[64];
    new_session("fl", user, sizeof user, token, sizeof token);
    itest_response *r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    ITEST_STATUS(r, 204);
    itest_free(r);
    assert_int_equal(itest_redis_cli("FLUSHALL", out, sizeof out), 0);
    refused_within(token, 0, "after FLUSHALL");
    long long deadline = itest_now_ms() + WITHIN_MS;
    for (;;) {
        burst(token, 401, 1, "while the mark is repaired");
        itest_redis_cli("GET td:rev_epoch", out, sizeof out);
        if (atoll(out) > 0)
            break;
        assert_true(itest_now_ms() < deadline);
        usleep(100 * 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(logout_while_redis_refuses_writes, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(logout_all_while_redis_refuses_writes, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(logout_while_redis_is_stalled, fresh_client, restore_redis),
        cmocka_unit_test_setup_teardown(revoked_elsewhere_while_redis_is_stalled, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(stall_alone_logs_nobody_out, fresh_client, restore_redis),
        cmocka_unit_test_setup_teardown(restore_from_snapshot_taken_before_logout, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(disabling_a_user_in_psql_ends_their_sessions, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(cli_disable_and_role_change_end_sessions, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(deleting_a_user_ends_their_sessions, fresh_client,
                                        restore_redis),
        cmocka_unit_test_setup_teardown(flushed_redis_gets_its_tombstones_back, fresh_client,
                                        restore_redis),
    };
    return cmocka_run_group_tests_name("revocation", tests, NULL, NULL);
}
