/*
 * test_env_file.c - one configuration path for every program, end to end:
 * bin/tradedesk run with `env -i` and only TRADEDESK_ENV_FILE mints a token
 * the running API accepts; the file wins over the environment; migrate runs
 * without a JWT secret; a misspelt name in the file is refused; and
 * tradedesk-api started from an env file picks up a changed file on SIGHUP.
 *
 * The env files live in TD_TEST_VAR and hold the stack's own settings (the
 * ones run.sh exported to this process).  The SIGHUP test restarts the API
 * without the file in its teardown, so later tests see the usual stack.
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

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through tests/integration/run.sh)", name);
    return v;
}

/* Writes TD_TEST_VAR/<name> with `extra` lines after the stack's wiring
 * (database, Redis, JWT secret, sql dir); returns its path (static).  The
 * database URL is the CLI's (the owner role) unless the file is the API's
 * (api.env: the application role, as the stack hands the programs). */
static const char *write_env_file(const char *name, int with_secret, const char *extra)
{
    const char *db = strncmp(name, "api", 3) == 0 ? env_or_fail("TD_APP_DATABASE_URL")
                                                  : env_or_fail("TRADEDESK_DATABASE_URL");
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", env_or_fail("TD_TEST_VAR"), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "# written by test_env_file.c\n"
            "TRADEDESK_DATABASE_URL=%s\n"
            "export TRADEDESK_REDIS_URL='%s'\n"
            "TRADEDESK_SQL_DIR=\"%s\"\n",
            db, env_or_fail("TRADEDESK_REDIS_URL"), env_or_fail("TRADEDESK_SQL_DIR"));
    if (with_secret)
        fprintf(f, "TRADEDESK_JWT_SECRET=%s\n", env_or_fail("TRADEDESK_JWT_SECRET"));
    fputs(extra ? extra : "", f);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Runs `env -i [vars] bin/tradedesk args`: nothing of this process's
 * environment reaches it.  stdout (trailing newline cut) into out, stderr
 * into errout; returns the exit status. */
static int cli_clean(const char *vars, const char *args, char *out, size_t cap, char *errout,
                     size_t errcap)
{
    char errpath[512], cmd[4096];
    snprintf(errpath, sizeof errpath, "%s/itest-env-stderr.%d", env_or_fail("TD_TEST_VAR"),
             (int)getpid());
    snprintf(cmd, sizeof cmd, "env -i %s '%s/tradedesk' %s </dev/null 2>'%s'", vars,
             env_or_fail("TD_TEST_BIN"), args, errpath);
    fprintf(stderr, "    $ %s\n", cmd);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    int st = pclose(p);
    FILE *e = fopen(errpath, "r");
    assert_non_null(e);
    n = fread(errout, 1, errcap - 1, e);
    errout[n] = '\0';
    fclose(e);
    unlink(errpath);
    if (errout[0])
        fprintf(stderr, "    stderr: %s", errout);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The token works against the API: its session is listed, its data served. */
static void assert_token_accepted(const char *token)
{
    assert_true(strlen(token) > 20);
    itest_response *r = itest_get_auth("/api/v1/auth/sessions", token);
    ITEST_STATUS(r, 200);
    itest_free(r);
    r = itest_get_auth("/api/v1/portfolio", token);
    ITEST_STATUS(r, 200);
    assert_non_null(itest_json_str(r, "cash_balance"));
    itest_free(r);
}

static void cli_token_from_env_file_alone(void **state)
{
    (void)state;
    char vars[1024], token[4096], err[2048];
    const char *path = write_env_file("cli.env", 1, NULL);
    snprintf(vars, sizeof vars, "TRADEDESK_ENV_FILE='%s'", path);
    assert_int_equal(cli_clean(vars, "token alice", token, sizeof token, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_token_accepted(token);
}

/* The control: without the file, `env -i` leaves the CLI no secret. */
static void cli_without_env_file_has_no_secret(void **state)
{
    (void)state;
    char out[4096], err[2048];
    assert_int_equal(cli_clean("", "token alice", out, sizeof out, err, sizeof err), 1);
    assert_string_equal(out, "");
    assert_string_equal(err, "tradedesk: TRADEDESK_JWT_SECRET: not set (need at least 32 bytes)\n");
}

/* Wrong values in the environment lose to the file's. */
static void env_file_wins_over_environment(void **state)
{
    (void)state;
    char vars[2048], token[4096], err[2048];
    const char *path = write_env_file("wins.env", 1, NULL);
    snprintf(vars, sizeof vars,
             "TRADEDESK_ENV_FILE='%s' TRADEDESK_JWT_SECRET=not-the-secret-of-this-stack-at-all "
             "TRADEDESK_DATABASE_URL='host=/nonexistent dbname=nothing'",
             path);
    assert_int_equal(cli_clean(vars, "token alice", token, sizeof token, err, sizeof err), 0);
    assert_token_accepted(token);
}

/* need_secret: migrate runs from a file without a JWT secret (and finds
 * sql/ through the file's TRADEDESK_SQL_DIR); token refuses to. */
static void migrate_runs_without_secret(void **state)
{
    (void)state;
    char vars[1024], out[4096], err[2048];
    const char *path = write_env_file("nosecret.env", 0, NULL);
    snprintf(vars, sizeof vars, "TRADEDESK_ENV_FILE='%s'", path);
    assert_int_equal(cli_clean(vars, "migrate", out, sizeof out, err, sizeof err), 0);
    assert_int_equal(cli_clean(vars, "token alice", out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "TRADEDESK_JWT_SECRET: not set"));
}

static void misspelt_name_in_file_refused(void **state)
{
    (void)state;
    char vars[1024], out[4096], err[2048], want[1024];
    const char *path =
        write_env_file("typo.env", 1, "TRADEDESK_JWT_TTL=60\nTRADEDESK_JWT_TLL=60\n");
    snprintf(vars, sizeof vars, "TRADEDESK_ENV_FILE='%s'", path);
    assert_int_equal(cli_clean(vars, "token alice", out, sizeof out, err, sizeof err), 1);
    assert_string_equal(out, "");
    snprintf(want, sizeof want,
             "tradedesk: TRADEDESK_ENV_FILE: %s:7: TRADEDESK_JWT_TLL is not a setting "
             "(see `tradedesk settings`)\n",
             path);
    assert_string_equal(err, want);
}

/* ------------------------------------------------------ the API's reload */

/* A valid login body of exactly n bytes for a user nobody has, from an
 * address nobody used: only its size can make it a 413.  Past the size
 * check, a password over 1024 bytes is a 400, a shorter one a 401. */
static long login_of_size(size_t n)
{
    static int k;
    char *body = malloc(n + 1);
    assert_non_null(body);
    int h =
        snprintf(body, n + 1, "{\"username\":\"envfile%d-%d\",\"password\":\"", (int)getpid(), ++k);
    memset(body + h, 'x', n - (size_t)h - 2);
    memcpy(body + n - 2, "\"}", 2);
    body[n] = '\0';
    itest_client_ip(itest_fresh_ip());
    itest_response *r = itest_http_n("POST", "/api/v1/auth/login", NULL, body, n);
    long st = r->status;
    if (st == 413)
        ITEST_ERROR(r, 413, "payload_too_large");
    itest_free(r);
    free(body);
    return st;
}

static void api_reloads_env_file_on_sighup(void **state)
{
    (void)state;
    const char *path = write_env_file("api.env", 1, "TRADEDESK_MAX_BODY_BYTES=4096\n");
    setenv("TRADEDESK_ENV_FILE", path, 1);
    assert_int_equal(itest_stack("restart api"), 0);

    /* Started from the file: 4096 bytes pass, 5000 do not. */
    assert_int_equal(login_of_size(2000), 400);
    assert_int_equal(login_of_size(5000), 413);

    /* Rewritten in place, then SIGHUP: the new workers read 1024. */
    path = write_env_file("api.env", 1, "TRADEDESK_MAX_BODY_BYTES=1024\n");
    pid_t m = itest_api_pid();
    assert_int_equal(kill(m, SIGHUP), 0);
    long long deadline = itest_now_ms() + 15000;
    long st;
    while ((st = login_of_size(2000)) != 413 && itest_now_ms() < deadline) {
        assert_int_equal(st, 400); /* an old worker */
        usleep(100 * 1000);
    }
    assert_int_equal(st, 413);
    assert_int_equal(itest_api_pid(), m);

    /* A broken file on SIGHUP: refused, the running settings stay. */
    write_env_file("api.env", 1, "TRADEDESK_MAX_BODY_BYTES=lots\n");
    assert_int_equal(kill(m, SIGHUP), 0);
    usleep(500 * 1000);
    assert_int_equal(kill(m, 0), 0);
    assert_int_equal(login_of_size(2000), 413);
    st = login_of_size(900);
    assert_true(st == 401 || st == 429);
}

static int restart_api_without_file(void **state)
{
    (void)state;
    char path[512];
    unsetenv("TRADEDESK_ENV_FILE");
    int rc = itest_stack("restart api");
    snprintf(path, sizeof path, "%s/api.env", getenv("TD_TEST_VAR"));
    unlink(path);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_token_from_env_file_alone),
        cmocka_unit_test(cli_without_env_file_has_no_secret),
        cmocka_unit_test(env_file_wins_over_environment),
        cmocka_unit_test(migrate_runs_without_secret),
        cmocka_unit_test(misspelt_name_in_file_refused),
        cmocka_unit_test_teardown(api_reloads_env_file_on_sighup, restart_api_without_file),
    };
    return cmocka_run_group_tests_name("one configuration path", tests, NULL, NULL);
}
