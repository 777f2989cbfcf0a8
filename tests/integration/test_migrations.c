/*
 * test_migrations.c - an operator's upgrade: a database migrated to an
 * older version and holding data (the demo seed, a fill whose events are
 * still in the outbox) is migrated to the newest, as a deploy does.
 *
 * Checked: every row of the tables the migrations since FROM_VERSION
 * rewrote reads the same after; the upgraded schema is the one a fresh
 * database gets (pg_dump --schema-only of both, compared line for line);
 * and the upgraded database works: an order created before the upgrade
 * fills once, the relay's step reads the old outbox rows, and a value the
 * rules refuse is still refused (check_violation).
 *
 * Both databases are this test's own (td_upgrade, td_fresh) in the stack's
 * PostgreSQL, dropped at the end; the stack's own database is not touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

/* The last migration that had landed before the newest ones. */
#define FROM_VERSION 21

static char g_old_sql[512]; /* a directory of the migrations up to FROM_VERSION */

/* cmd run by sh with the CLI's environment pointed at database db. */
static int in_db(const char *db, const char *cmd, char *out, size_t cap)
{
    char sh[2048];
    snprintf(sh, sizeof sh, "TRADEDESK_DATABASE_URL=\"$TRADEDESK_DATABASE_URL dbname=%s\" %s 2>&1",
             db, cmd);
    int rc = itest_sh(sh, out, cap);
    fprintf(stderr, "    [%s] %s -> %d%s%.300s\n", db, cmd, rc, out && *out ? ": " : "",
            out ? out : "");
    return rc;
}

/* One value of sql in database db, as the superuser. */
static int db_sql(const char *db, const char *sql, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "\"$TD_TEST_STACK\" psql -d %s -XAtq -v ON_ERROR_STOP=1 -c \"%s\"",
             db, sql);
    return in_db(db, cmd, out, cap);
}

/* What the rewritten tables hold: their rows' text, digested per table
 * (but for the columns a migration added: sql/025's accounts.last_fill_id,
 * checked on its own). */
static void contents(const char *db, char *out, size_t cap)
{
    static const char *const tables[] = {"conditional_orders", "positions", "fills", "accounts",
                                         "outbox"};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char sql[256], v[128];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) || ':' || md5(coalesce(string_agg((to_jsonb(t) - 'last_fill_id')"
                 "::text, '|' ORDER BY t.id), '')) FROM %s t",
                 tables[i]);
        assert_int_equal(db_sql(db, sql, v, sizeof v), 0);
        used += (size_t)snprintf(out + used, cap - used, "%s=%s ", tables[i], v);
        assert_true(used < cap);
    }
}

/* fill_orders() on the order named client_order_id, at price: its outcome. */
static const char *fill_outcome(const char *client_order_id, const char *price, char *out,
                                size_t cap)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT outcome FROM fill_orders((SELECT token FROM engine_fence), ARRAY[(SELECT id "
             "FROM conditional_orders WHERE client_order_id = '%s')], ARRAY[%s]::numeric[], "
             "ARRAY[now()])",
             client_order_id, price);
    assert_int_equal(db_sql("td_upgrade", sql, out, cap), 0);
    return out;
}

static void drop_dbs(void)
{
    char out[256];
    db_sql("postgres", "DROP DATABASE IF EXISTS td_upgrade WITH (FORCE)", out, sizeof out);
    db_sql("postgres", "DROP DATABASE IF EXISTS td_fresh WITH (FORCE)", out, sizeof out);
}

static int setup(void **state)
{
    (void)state;
    char out[512], cmd[4096];
    drop_dbs();
    if (db_sql("postgres", "CREATE DATABASE td_upgrade OWNER tradedesk_owner", out, sizeof out) ||
        db_sql("postgres", "CREATE DATABASE td_fresh OWNER tradedesk_owner", out, sizeof out))
        return -1;
    snprintf(g_old_sql, sizeof g_old_sql, "%s/sql-%03d", getenv("TD_TEST_VAR"), FROM_VERSION);
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir '%s' && for f in \"$TRADEDESK_SQL_DIR\"/*.sql; do "
             "b=${f##*/}; v=${b%%%%_*}; case $v in *[!0-9]*) ln -s \"$f\" '%s/';; *) "
             "[ \"$v\" -gt %d ] || ln -s \"$f\" '%s/';; esac; done",
             g_old_sql, g_old_sql, g_old_sql, FROM_VERSION, g_old_sql);
    return itest_sh(cmd, NULL, 0) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    drop_dbs();
    return 0;
}

static void upgrade_keeps_data_and_matches_a_fresh_database(void **state)
{
    (void)state;
    char out[4096], cmd[2048], want[64];

    /* The older database, with data. */
    snprintf(cmd, sizeof cmd, "TRADEDESK_SQL_DIR='%s' \"$TD_TEST_BIN/tradedesk\" migrate",
             g_old_sql);
    assert_int_equal(in_db("td_upgrade", cmd, out, sizeof out), 0);
    snprintf(want, sizeof want, "database is at version %d", FROM_VERSION);
    assert_non_null(strstr(out, want));
    snprintf(cmd, sizeof cmd, "TRADEDESK_SQL_DIR='%s' \"$TD_TEST_BIN/tradedesk\" seed demo",
             g_old_sql);
    assert_int_equal(in_db("td_upgrade", cmd, out, sizeof out), 0);
    /* Two stops of alice's, one filled before the upgrade (its fill and
     * events left unpublished in the outbox), one left active. */
    assert_int_equal(
        db_sql("td_upgrade",
               "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
               "quantity, trigger_price) SELECT id, 'up-' || n, 'stop_loss', 'buy', 'SOL-USDT', "
               "0.5, 10000000 FROM users, generate_series(1, 2) n WHERE username = 'alice'",
               out, sizeof out),
        0);
    assert_string_equal(fill_outcome("up-1", "150.5", out, sizeof out), "filled");
    assert_int_equal(db_sql("td_upgrade",
                            "SELECT count(*) > 0 FROM outbox WHERE published_at IS NULL", out,
                            sizeof out),
                     0);
    assert_string_equal(out, "t");
    assert_int_equal(db_sql("td_upgrade", "SELECT count(*) > 0 FROM positions", out, sizeof out),
                     0);
    assert_string_equal(out, "t");
    char before[1024], after[1024];
    contents("td_upgrade", before, sizeof before);

    /* The deploy: the newest migrations over it; a fresh database beside. */
    assert_int_equal(in_db("td_upgrade", "\"$TD_TEST_BIN/tradedesk\" migrate", out, sizeof out), 0);
    assert_null(strstr(out, want));
    assert_non_null(strstr(out, "database is at version"));
    assert_int_equal(in_db("td_fresh", "\"$TD_TEST_BIN/tradedesk\" migrate", out, sizeof out), 0);

    contents("td_upgrade", after, sizeof after);
    assert_string_equal(after, before);
    /* sql/025 numbered each user's fills from those already there. */
    assert_int_equal(db_sql("td_upgrade",
                            "SELECT count(*) FILTER (WHERE last_fill_id > 0) || '/' || count(*)"
                            " FILTER (WHERE last_fill_id <> coalesce((SELECT max(f.id) FROM fills f"
                            " WHERE f.user_id = a.user_id), 0)) FROM accounts a",
                            out, sizeof out),
                     0);
    assert_string_equal(out, "2/0"); /* (alice's and bob's: the seed's and the fill above) */

    /* The same schema, line for line (the dump names no database; its
     * \restrict lines carry a random key each time). */
    snprintf(cmd, sizeof cmd,
             "d='%s'; for db in td_upgrade td_fresh; do /usr/lib/postgresql/15/bin/pg_dump -h "
             "\"$TD_TEST_VAR/run\" -U postgres --schema-only -d $db > \"$d/$db.dump\" || exit 1; "
             "grep -v '^\\\\\\(un\\)\\{0,1\\}restrict ' \"$d/$db.dump\" > \"$d/$db.schema\"; "
             "done; diff \"$d/td_fresh.schema\" \"$d/td_upgrade.schema\" | head -40",
             g_old_sql);
    assert_int_equal(in_db("td_upgrade", cmd, out, sizeof out), 0);
    assert_string_equal(out, "");

    /* It works: the order from before fills, once; the relay's step reads
     * the outbox rows written before; the rules still refuse. */
    assert_string_equal(fill_outcome("up-2", "151", out, sizeof out), "filled");
    assert_string_equal(fill_outcome("up-2", "151", out, sizeof out), "skipped");
    assert_int_equal(db_sql("td_upgrade",
                            "SELECT count(*) FROM fills f JOIN conditional_orders o ON o.id = "
                            "f.order_id WHERE o.client_order_id LIKE 'up-%'",
                            out, sizeof out),
                     0);
    assert_string_equal(out, "2");
    assert_int_equal(db_sql("td_upgrade",
                            "SELECT count(*) > 0 AND bool_and(topic IN ('fills', 'orders')) FROM "
                            "outbox_relay_step(NULL, NULL, 500)",
                            out, sizeof out),
                     0);
    assert_string_equal(out, "t");
    assert_int_not_equal(db_sql("td_upgrade",
                                "UPDATE conditional_orders SET status = 'bogus' WHERE "
                                "client_order_id = 'up-2'",
                                out, sizeof out),
                         0);
    assert_non_null(strstr(out, "violates check constraint"));
    assert_int_not_equal(db_sql("td_upgrade",
                                "UPDATE accounts SET cash_balance = -1 WHERE user_id = (SELECT id "
                                "FROM users WHERE username = 'alice')",
                                out, sizeof out),
                         0);
    assert_non_null(strstr(out, "violates check constraint"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upgrade_keeps_data_and_matches_a_fresh_database),
    };
    return cmocka_run_group_tests_name("migrations", tests, setup, teardown);
}
