/*
 * seed.c - `tradedesk seed demo`: the demo users and sql/seed_demo.sql.
 *
 * Creates or updates alice, bob (role user) and admin (role admin) with the
 * password TRADEDESK_DEMO_PASSWORD, then runs seed_demo.sql, all in one
 * transaction: a failed seed leaves the database as it was.  Running it
 * twice leaves the same state.  For local runs only: it must never be part
 * of a production deploy, since it resets those users' trading data.
 */
#include "cli/cli.h"
#include "store/cachegen.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/password.h"

const td_db_stmt cli_seed_stmts[] = {
    {"seed_user_hash", "SELECT password_hash FROM users WHERE username = $1 FOR UPDATE", 1, 0},
    /* Update-or-insert rather than ON CONFLICT, which would use up a
     * users.id value on every run. */
    {"seed_user_upsert",
     "WITH upd AS (UPDATE users SET password_hash = $2, role = $3, disabled = false"
     "             WHERE username = $1 RETURNING id),"
     " ins AS (INSERT INTO users (username, password_hash, role)"
     "         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM upd)"
     "         RETURNING id),"
     " u AS (SELECT id FROM upd UNION ALL SELECT id FROM ins)"
     " INSERT INTO accounts (user_id)"
     " SELECT id FROM u WHERE NOT EXISTS"
     "   (SELECT 1 FROM accounts a JOIN u ON a.user_id = u.id)",
     3, 0},
    {"seed_user_ids", "SELECT id FROM users WHERE username IN ('alice', 'bob', 'admin')", 0, 1},
};
const size_t cli_seed_nstmts = TD_ARRAY_LEN(cli_seed_stmts);

static const struct demo_user {
    const char *name, *role;
} demo_users[] = {
    {"alice", "user"},
    {"bob", "user"},
    {"admin", "admin"},
};

/* Creates or updates one demo user and makes sure it has an account. */
static int upsert_demo_user(td_db *db, const struct demo_user *u, const char *password)
{
    const char *who[] = {u->name};
    td_status st;
    PGresult *r = td_db_exec(db, "seed_user_hash", 1, who, &st);
    if (!r) {
        cli_db_fail(db, "look up demo user");
        return -1;
    }

    /* Keep a hash that still matches: a second seed then changes nothing,
     * while a changed TRADEDESK_DEMO_PASSWORD takes effect at once. */
    char hash[TD_PASSWORD_HASH_MAX] = "";
    if (PQntuples(r) == 1 && td_password_verify(PQgetvalue(r, 0, 0), password) == TD_OK)
        snprintf(hash, sizeof hash, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!hash[0]) {
        st = td_password_hash(password, hash, sizeof hash);
        if (st != TD_OK) {
            cli_fail("cannot hash TRADEDESK_DEMO_PASSWORD (status %d)", (int)st);
            return -1;
        }
    }

    const char *params[] = {u->name, hash, u->role};
    r = td_db_exec(db, "seed_user_upsert", 3, params, &st);
    if (!r) {
        cli_db_fail(db, "create demo user");
        return -1;
    }
    PQclear(r);
    return 0;
}

/* The seed rewrote the demo users' rows: their cached API responses are
 * stale now.  Best effort: without Redis they expire by TTL. */
static void invalidate_demo_caches(const td_config *cfg, td_db *db)
{
    td_status st;
    PGresult *r = td_db_exec(db, "seed_user_ids", 0, NULL, &st);
    td_redis *rd = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    if (rd && r)
        for (int i = 0; i < PQntuples(r); i++)
            td_cache_invalidate_user(rd, strtoll(PQgetvalue(r, i, 0), NULL, 10));
    td_redis_close(rd);
    PQclear(r);
}

int cli_seed(const td_config *cfg, int argc, char **argv)
{
    if (argc != 1 || strcmp(argv[0], "demo") != 0)
        return cli_usage_error("the only seed is 'demo' (usage: tradedesk seed demo)");

    char dir[PATH_MAX], path[PATH_MAX + 16];
    if (cli_sql_dir(cfg, dir, sizeof dir) != 0)
        return CLI_EXIT_FAIL;
    snprintf(path, sizeof path, "%s/seed_demo.sql", dir);
    char *sql = cli_read_file(path);
    if (!sql)
        return CLI_EXIT_FAIL;

    td_db *db = cli_db_connect(cfg);
    if (!db) {
        free(sql);
        return CLI_EXIT_FAIL;
    }

    int rc = CLI_EXIT_FAIL;
    if (cli_db_command(db, "BEGIN", "seed demo") != 0)
        goto out;
    for (size_t i = 0; i < TD_ARRAY_LEN(demo_users); i++)
        if (upsert_demo_user(db, &demo_users[i], cfg->demo_password) != 0)
            goto out;

    long pos;
    if (td_db_script(db, sql, &pos) != TD_OK) {
        cli_db_fail(db, "seed_demo.sql");
        goto out;
    }
    if (!td_db_in_transaction(db)) {
        cli_fail("seed_demo.sql ended the transaction itself; it must not contain COMMIT");
        goto out;
    }
    if (cli_db_command(db, "COMMIT", "seed demo") != 0)
        goto out;
    invalidate_demo_caches(cfg, db);
    printf("seeded demo data: users alice, bob (role user) and admin (role admin), "
           "password from TRADEDESK_DEMO_PASSWORD\n");
    rc = CLI_EXIT_OK;
out:
    /* Closing without COMMIT rolls back whatever was begun. */
    td_db_close(db);
    free(sql);
    return rc;
}
