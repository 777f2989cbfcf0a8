/*
 * users.c - `tradedesk user add NAME [--role admin]`, `user disable NAME`,
 * `user enable NAME`, `user role NAME ROLE` and
 * `tradedesk token NAME [--ttl SECONDS]`.
 *
 * user add stores an Argon2id hash of the password read from stdin and an
 * empty cash account, in one statement.  disable and role end the user's
 * sessions: not here, but in PostgreSQL's trigger on users
 * (sql/002_revocation.sql), so psql and every other path do the same, and
 * the API's workers learn of it within TD_SESSION_RECHECK_MS.  token
 * records a session row first (PostgreSQL is the source of truth for
 * sessions) and only then prints a JWT naming it.  None may ever print,
 * log or store a plain password.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/password.h"
#include "core/token.h"
#include "store/keys.h"
#include "store/session.h"

const td_db_stmt cli_user_stmts[] = {
    /* One statement, so a user never exists without an account. */
    {"cli_user_add",
     "WITH u AS (INSERT INTO users (username, password_hash, role)"
     "           VALUES ($1, $2, $3) RETURNING id)"
     " INSERT INTO accounts (user_id) SELECT id FROM u RETURNING user_id",
     3, 0},
    {"cli_user_lookup", "SELECT id, role, disabled FROM users WHERE username = $1", 1, 1},
    /* The trigger users_revoke_sessions revokes on disable and on a role
     * change (a no-op update of either revokes nothing). */
    {"cli_user_disable", "UPDATE users SET disabled = true WHERE username = $1 RETURNING id", 1, 0},
    {"cli_user_enable", "UPDATE users SET disabled = false WHERE username = $1 RETURNING id", 1, 0},
    {"cli_user_role", "UPDATE users SET role = $2 WHERE username = $1 RETURNING id", 2, 0},
};
const size_t cli_user_nstmts = TD_ARRAY_LEN(cli_user_stmts);

#define USER_ADD_USAGE "usage: tradedesk user add NAME [--role admin]"
#define USER_USAGE                                                                                 \
    "usage: tradedesk user add NAME [--role admin] | user disable NAME | user enable NAME | "      \
    "user role NAME user|admin"
#define TOKEN_USAGE "usage: tradedesk token NAME [--ttl SECONDS]"
#define TOKEN_TTL_MAX (366L * 24 * 3600)

/* Same rule as the users.username CHECK: 1-64 of [a-z0-9_.-]. */
static int username_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
              *s == '-'))
            return 0;
    return 1;
}

/* First line of stdin, without its line ending, in a malloc'd buffer the
 * caller wipes and frees.  On a terminal it prompts and turns echo off. */
static char *read_password(size_t *cap_out)
{
    struct termios saved;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        fputs("password: ", stderr);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        cli_fail("no password on stdin (the first line of stdin is the password)");
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';

    const char *why = NULL;
    if (n == 0)
        why = "empty password refused";
    else if (strlen(line) != (size_t)n)
        why = "password contains a NUL byte";
    else if (n > TD_PASSWORD_MAX_LEN)
        why = "password too long";
    if (why) {
        explicit_bzero(line, cap);
        free(line);
        cli_fail("%s", why);
        return NULL;
    }
    *cap_out = cap;
    return line;
}

static int user_add(const td_config *cfg, int argc, char **argv)
{
    const char *name = NULL, *role = "user";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0) {
            if (++i == argc)
                return cli_usage_error("--role needs a value (" USER_ADD_USAGE ")");
            role = argv[i];
        } else if (strncmp(argv[i], "--role=", 7) == 0) {
            role = argv[i] + 7;
        } else if (argv[i][0] == '-' || name) {
            return cli_usage_error("unexpected argument '%s' (" USER_ADD_USAGE ")", argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (!name)
        return cli_usage_error("user add needs a NAME (" USER_ADD_USAGE ")");
    if (strcmp(role, "user") != 0 && strcmp(role, "admin") != 0)
        return cli_usage_error("--role must be 'user' or 'admin', not '%s'", role);
    if (!username_valid(name)) {
        cli_fail("invalid user name '%s': use 1 to 64 of a-z 0-9 _ . -", name);
        return CLI_EXIT_FAIL;
    }

    size_t pwcap = 0;
    char *pw = read_password(&pwcap);
    if (!pw)
        return CLI_EXIT_FAIL;
    char hash[TD_PASSWORD_HASH_MAX];
    td_status st = td_password_hash(pw, hash, sizeof hash);
    explicit_bzero(pw, pwcap);
    free(pw);
    if (st != TD_OK) {
        cli_fail("cannot hash the password (status %d)", (int)st);
        return CLI_EXIT_FAIL;
    }

    td_db *db = cli_db_connect(cfg);
    if (!db)
        return CLI_EXIT_FAIL;

    const char *params[] = {name, hash, role};
    PGresult *r = td_db_exec(db, "cli_user_add", 3, params, &st);
    int rc = CLI_EXIT_FAIL;
    if (st == TD_ECONFLICT)
        cli_fail("user '%s' already exists", name);
    else if (!r)
        cli_db_fail(db, "create user");
    else {
        printf("created user %s (id %s, role %s)\n", name, PQgetvalue(r, 0, 0), role);
        rc = CLI_EXIT_OK;
    }
    PQclear(r);
    td_db_close(db);
    return rc;
}

/* One UPDATE of the named user through stmt; says what it did. */
static int user_update(const td_config *cfg, const char *stmt, const char *name, const char *role,
                       const char *done)
{
    if (!username_valid(name)) {
        cli_fail("invalid user name '%s': use 1 to 64 of a-z 0-9 _ . -", name);
        return CLI_EXIT_FAIL;
    }
    td_db *db = cli_db_connect(cfg);
    if (!db)
        return CLI_EXIT_FAIL;
    const char *params[] = {name, role};
    td_status st;
    PGresult *r = td_db_exec(db, stmt, role ? 2 : 1, params, &st);
    int rc = CLI_EXIT_FAIL;
    if (!r)
        cli_db_fail(db, "update user");
    else if (PQntuples(r) != 1)
        cli_fail("no user named '%s'", name);
    else {
        printf("%s %s (id %s)\n", done, name, PQgetvalue(r, 0, 0));
        rc = CLI_EXIT_OK;
    }
    PQclear(r);
    td_db_close(db);
    return rc;
}

int cli_user(const td_config *cfg, int argc, char **argv)
{
    const char *cmd = argc >= 1 ? argv[0] : "";
    if (strcmp(cmd, "add") == 0)
        return user_add(cfg, argc - 1, argv + 1);
    if (strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0) {
        if (argc != 2)
            return cli_usage_error("user %s needs exactly one NAME (" USER_USAGE ")", cmd);
        return cmd[0] == 'd' ? user_update(cfg, "cli_user_disable", argv[1], NULL,
                                           "disabled user (sessions revoked)")
                             : user_update(cfg, "cli_user_enable", argv[1], NULL, "enabled user");
    }
    if (strcmp(cmd, "role") == 0) {
        if (argc != 3)
            return cli_usage_error("user role needs NAME and ROLE (" USER_USAGE ")");
        if (strcmp(argv[2], "user") != 0 && strcmp(argv[2], "admin") != 0)
            return cli_usage_error("ROLE must be 'user' or 'admin', not '%s'", argv[2]);
        return user_update(cfg, "cli_user_role", argv[1], argv[2],
                           "role set (sessions revoked if it changed) for user");
    }
    return cli_usage_error("unknown user command%s%s (" USER_USAGE ")", argc ? " " : "", cmd);
}

static int parse_ttl(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || s[0] < '0' || s[0] > '9' || v < 1 || v > TOKEN_TTL_MAX)
        return -1;
    *out = v;
    return 0;
}

int cli_token(const td_config *cfg, int argc, char **argv)
{
    const char *name = NULL, *ttl_arg = NULL;
    long ttl = cfg->jwt_ttl_s;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--ttl") == 0) {
            if (++i == argc)
                return cli_usage_error("--ttl needs a value (" TOKEN_USAGE ")");
            ttl_arg = argv[i];
        } else if (strncmp(argv[i], "--ttl=", 6) == 0) {
            ttl_arg = argv[i] + 6;
        } else if (argv[i][0] == '-' || name) {
            return cli_usage_error("unexpected argument '%s' (" TOKEN_USAGE ")", argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (!name)
        return cli_usage_error("token needs a NAME (" TOKEN_USAGE ")");
    if (ttl_arg && parse_ttl(ttl_arg, &ttl) != 0)
        return cli_usage_error("--ttl must be a whole number of seconds from 1 to %ld, not '%s'",
                               TOKEN_TTL_MAX, ttl_arg);

    td_db *db = cli_db_connect(cfg);
    if (!db)
        return CLI_EXIT_FAIL;

    int rc = CLI_EXIT_FAIL;
    char user_id[24], role[16], sid[TD_SID_LEN + 1], token[TD_TOKEN_MAX_LEN] = "";
    td_redis *rd = NULL;
    const char *who[] = {name};
    td_status st;
    PGresult *r = td_db_exec(db, "cli_user_lookup", 1, who, &st);
    if (!r) {
        cli_db_fail(db, "look up user");
        goto out;
    }
    if (PQntuples(r) != 1) {
        cli_fail("no user named '%s'", name);
        goto out;
    }
    if (strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
        cli_fail("user '%s' is disabled", name);
        goto out;
    }
    snprintf(user_id, sizeof user_id, "%s", PQgetvalue(r, 0, 0));
    snprintf(role, sizeof role, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    r = NULL;

    /* The same session the API's login makes (store/session.c), then a
     * token for it; a token that cannot be minted revokes the session, so
     * a config problem leaves nothing usable behind. */
    int64_t uid = strtoll(user_id, NULL, 10);
    rd = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    st = td_session_create(db, rd, uid, (int)ttl, NULL, "tradedesk-cli", sid);
    if (st != TD_OK) {
        cli_db_fail(db, "record session");
        goto out;
    }
    td_token_config tc = {
        .secret = cfg->jwt_secret,
        .secret_len = strlen(cfg->jwt_secret),
        .issuer = cfg->jwt_issuer[0] ? cfg->jwt_issuer : NULL,
        .audience = cfg->jwt_audience[0] ? cfg->jwt_audience : NULL,
        .leeway_s = 0,
    };
    st = td_token_mint(&tc, uid, role, sid, time(NULL), ttl, token, sizeof token);
    if (st != TD_OK) {
        td_revoked rv;
        if (td_session_revoke(db, sid, uid, &rv) == TD_OK) {
            td_session_announce(rd, &rv, TD_INVAL_SESSION, sid);
            td_revoked_free(&rv);
        }
        cli_fail("cannot mint a token (status %d; check TRADEDESK_JWT_*)", (int)st);
        goto out;
    }
    printf("%s\n", token);
    rc = CLI_EXIT_OK;
out:
    explicit_bzero(token, sizeof token);
    PQclear(r);
    td_redis_close(rd);
    td_db_close(db);
    return rc;
}
