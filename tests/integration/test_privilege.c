/*
 * test_privilege.c - least privilege in the running stack: who may connect
 * to which socket, what the API's database role may do, and tokens kept out
 * of nginx's logs.
 *
 * A local user of no importance (tdtest-nobody, created here when missing)
 * reaches none of the sockets in VAR/run: not the API's FastCGI socket (it
 * would get /metrics around nginx's allow list and forge REMOTE_ADDR), not
 * PostgreSQL's, not Redis'.  nginx's worker user (www-data) reaches the
 * API's and no other.  Each check is a connect() in a child that dropped to
 * that user, so it tests the kernel's answer, not a mode we read.  The
 * API's database role (tradedesk_app, via `stack.sh psql --as app`) may
 * read and write rows but not create, alter or drop a table or read
 * pg_authid, and the API's connections really use it.  A query string
 * with access_token gets nginx's 400 and never reaches the access log.
 *
 * The socket tests need root (to become other users); they are skipped
 * otherwise.  Tests never change the stack: nothing to restore.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY "tdtest-nobody"
#define NGINX_USER "www-data"

static const char *var_dir(void)
{
    const char *v = getenv("TD_TEST_VAR");
    if (!v || !*v)
        fail_msg("TD_TEST_VAR is not set (run through tests/integration/run.sh)");
    return v;
}

/* The sockets of the stack, in the order of the bits connect_as returns. */
enum { SOCK_API = 1, SOCK_PG = 2, SOCK_REDIS = 4 };
static const char *const k_sockets[] = {"api.sock", ".s.PGSQL.5432", "redis.sock"};

static void sock_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/run/%s", var_dir(), name);
}

/* 0 when connect() to the unix socket at path succeeds, else errno. */
static int try_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return errno;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof a.sun_path) {
        close(fd);
        return ENAMETOOLONG;
    }
    memcpy(a.sun_path, path, n + 1);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* Connects to every socket as `user` (in a child that became that user,
 * its own groups only) and returns the SOCK_* bits of those that accepted. */
static int connect_as(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw)
        fail_msg("no user %s", user);
    char paths[3][512];
    for (int i = 0; i < 3; i++) {
        sock_path(paths[i], sizeof paths[i], k_sockets[i]);
        struct stat st;
        if (stat(paths[i], &st) != 0) /* as root: exists for anyone */
            fail_msg("%s is missing: %s", paths[i], strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
            setuid(pw->pw_uid) != 0 || setuid(0) == 0)
            _exit(0x80);
        int ok = 0;
        for (int i = 0; i < 3; i++) {
            int e = try_connect(paths[i]);
            fprintf(stderr, "    as %s: connect %s: %s\n", user, paths[i],
                    e ? strerror(e) : "accepted");
            if (!e)
                ok |= 1 << i;
        }
        _exit(ok);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0x80); /* could not become the user */
    return WEXITSTATUS(st);
}

static void need_root(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "    skipped: needs root to act as other local users\n");
        skip();
    }
}

static int setup_nobody(void **state)
{
    (void)state;
    if (geteuid() == 0 && !getpwnam(NOBODY) &&
        system("useradd --system --no-create-home --shell /usr/sbin/nologin " NOBODY) != 0 &&
        !getpwnam(NOBODY)) /* another run made it meanwhile */
        return -1;
    return 0;
}

/* ------------------------------------------------------------ the sockets */

static void other_user_reaches_no_socket(void **state)
{
    (void)state;
    need_root();
    assert_int_equal(connect_as(NOBODY), 0);
}

/* nginx must keep reaching the API (or it answers 502), and only that. */
static void nginx_user_reaches_only_the_api(void **state)
{
    (void)state;
    need_root();
    assert_int_equal(connect_as(NGINX_USER), SOCK_API);
}

/* What the kernel enforced above, as modes: nobody learns anything from a
 * later change of VAR/run's mode alone. */
static void socket_modes(void **state)
{
    (void)state;
    char p[512];
    struct stat st;

    sock_path(p, sizeof p, "api.sock");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0660);
    if (geteuid() == 0) {
        struct group *g = getgrnam(NGINX_USER);
        assert_non_null(g);
        assert_int_equal(st.st_gid, g->gr_gid);
    }
    for (int i = 1; i < 3; i++) {
        sock_path(p, sizeof p, k_sockets[i]);
        assert_int_equal(stat(p, &st), 0);
        if (st.st_mode & 077)
            fail_msg("%s is mode %o: others may connect", p, st.st_mode & 07777);
    }
    snprintf(p, sizeof p, "%s/run", var_dir());
    assert_int_equal(stat(p, &st), 0);
    if (st.st_mode & 027) /* nobody else writes; others cannot even enter */
        fail_msg("%s is mode %o", p, st.st_mode & 07777);
}

/* /metrics: still there for loopback through nginx, and a FastCGI client
 * on the socket is exactly what the tests above keep out. */
static void metrics_through_nginx_for_loopback(void **state)
{
    (void)state;
    itest_client_ip("127.0.0.1");
    itest_response *r = itest_http("GET", "/metrics", NULL, NULL);
    ITEST_STATUS(r, 200);
    assert_non_null(strstr(r->body, "# TYPE"));
    itest_free(r);
    itest_client_ip(NULL);
}

/* ------------------------------------------------------ the database role */


static void app_role_reads_and_writes_rows(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(itest_psql_as("app", "SELECT count(*) > 0 FROM users", out, sizeof out), 0);
    assert_string_equal(out, "t");
    /* A write that changes nothing, inside a transaction rolled back. */
    assert_int_equal(itest_psql_as("app",
                             "BEGIN; UPDATE users SET username = username WHERE false; "
                             "DELETE FROM fills WHERE false; ROLLBACK;",
                             NULL, 0),
                     0);
}

static void app_role_cannot_change_the_schema(void **state)
{
    (void)state;
    char out[1024];
    static const char *const refused[] = {
        "CREATE TABLE itest_priv (x int)",
        "CREATE TEMP TABLE itest_priv (x int)",
        "DROP TABLE fills",
        "ALTER TABLE users ADD COLUMN itest_priv int",
        "TRUNCATE outbox",
        "CREATE FUNCTION itest_priv() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "SELECT rolpassword FROM pg_authid LIMIT 1",
        "SELECT count(*) FROM schema_migrations",
        "CREATE ROLE itest_priv",
        "CREATE SCHEMA itest_priv",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int rc = itest_psql_as("app", refused[i], out, sizeof out);
        if (rc == 0)
            fail_msg("the app role was allowed: %s", refused[i]);
        if (!strstr(out, "permission denied") && !strstr(out, "must be owner"))
            fail_msg("refused for another reason: %s", out);
    }
    /* Not superuser, no role attributes, owns nothing. */
    assert_int_equal(itest_psql_as(NULL,
                             "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls "
                             "FROM pg_roles WHERE rolname = 'tradedesk_app'",
                             out, sizeof out),
                     0);
    assert_string_equal(out, "f");
    assert_int_equal(itest_psql_as(NULL,
                             "SELECT (SELECT count(*) FROM pg_class WHERE relowner = "
                             "'tradedesk_app'::regrole) + (SELECT count(*) FROM pg_namespace "
                             "WHERE nspowner = 'tradedesk_app'::regrole)",
                             out, sizeof out),
                     0);
    assert_string_equal(out, "0");
}

/* The owner role owns the tables and is no superuser either. */
static void owner_role_owns_the_tables(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(itest_psql_as(NULL,
                             "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables "
                             "WHERE schemaname = 'public'",
                             out, sizeof out),
                     0);
    assert_string_equal(out, "tradedesk_owner");
    assert_int_equal(itest_psql_as("owner", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
                             out, sizeof out),
                     0);
    assert_string_equal(out, "f");
}

/* Every connection the API holds is the app role's. */
static void api_logs_in_as_the_app_role(void **state)
{
    (void)state;
    char out[1024];
    /* /health pings PostgreSQL from whichever worker answers it. */
    for (int i = 0; i < 4; i++) {
        itest_response *r = itest_http("GET", "/health", NULL, NULL);
        ITEST_STATUS(r, 200);
        itest_free(r);
    }
    assert_int_equal(itest_psql_as(NULL,
                             "SELECT coalesce(string_agg(DISTINCT usename, ','), 'none') FROM "
                             "pg_stat_activity WHERE application_name = 'tradedesk-api'",
                             out, sizeof out),
                     0);
    assert_string_equal(out, "tradedesk_app");
}

/* ------------------------------------------------- tokens in the query */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void access_token_in_query_is_refused_and_not_logged(void **state)
{
    (void)state;
    char secret[64], path[256];
    snprintf(secret, sizeof secret, "tdsecret%dq%lld", (int)getpid(), itest_now_ms());
    static const char *const forms[] = {
        "/api/v1/positions?access_token=%s",
        "/api/v1/positions?limit=1&ACCESS_TOKEN=%s",
        "/api/v1/positions?access%%5Ftoken=%s&limit=1",
        "/health?access_token=%s",
        "/metrics?access_token=%s",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(path, sizeof path, forms[i], secret);
        itest_client_ip("127.0.0.1");
        itest_response *r = itest_http("GET", path, NULL, NULL);
        ITEST_ERROR(r, 400, "bad_request"); /* errors.conf's page, from nginx */
        itest_free(r);
    }
    itest_client_ip(NULL);
    /* A parameter that only looks alike reaches the API (whatever it makes
     * of it: kept out of the contract recording). */
    char *record = getenv("TD_TEST_RECORD") ? strdup(getenv("TD_TEST_RECORD")) : NULL;
    unsetenv("TD_TEST_RECORD");
    itest_response *r = itest_http("GET", "/health?my_access_token_count=1", NULL, NULL);
    const char *code = itest_json_str(r, "error.code");
    assert_true(r->status != 0 && !(code && strcmp(code, "bad_request") == 0));
    itest_free(r);
    if (record)
        setenv("TD_TEST_RECORD", record, 1);
    free(record);

    /* nginx writes a line per request as it ends: they are all there. */
    char logp[512];
    snprintf(logp, sizeof logp, "%s/log/nginx-access.log", var_dir());
    char *log = slurp(logp);
    if (strstr(log, secret))
        fail_msg("the token is in %s", logp);
    assert_non_null(strstr(log, "\"GET /api/v1/positions?[access_token removed]\" 400"));
    free(log);
    static const char *const others[] = {"nginx-error.log", "api.log"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(logp, sizeof logp, "%s/log/%s", var_dir(), others[i]);
        log = slurp(logp);
        if (strstr(log, secret))
            fail_msg("the token is in %s", logp);
        free(log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(other_user_reaches_no_socket),
        cmocka_unit_test(nginx_user_reaches_only_the_api),
        cmocka_unit_test(socket_modes),
        cmocka_unit_test(metrics_through_nginx_for_loopback),
        cmocka_unit_test(app_role_reads_and_writes_rows),
        cmocka_unit_test(app_role_cannot_change_the_schema),
        cmocka_unit_test(owner_role_owns_the_tables),
        cmocka_unit_test(api_logs_in_as_the_app_role),
        cmocka_unit_test(access_token_in_query_is_refused_and_not_logged),
    };
    return cmocka_run_group_tests_name("least privilege", tests, setup_nobody, NULL);
}
