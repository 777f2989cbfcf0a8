/*
 * test_fills.c - sql/007_fills.sql against the real PostgreSQL: a fired
 * order is filled exactly once however often fill_orders() is called with
 * it; the fill reduces or closes its position with the realized P&L back
 * in cash, never takes more than the position holds, opens a position when
 * the order has none (rejected when cash does not cover it); every fill
 * has one outbox row; a batch with a stale fencing token changes nothing.
 * Run as tradedesk_app, the role the engine logs in as.
 *
 * Each test works on a user of its own (created here), so the demo data
 * other tests read stays as the seed left it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static int g_user;

/* A fresh user with 1,000 USDT. */
static int new_user(void **state)
{
    (void)state;
    static int n;
    char name[64];
    snprintf(name, sizeof name, "fills%d_%d", n++, (int)getpid());
    g_user = (int)itest_user_cash(name, "1000");
    return g_user > 0 ? 0 : -1;
}

#define sql_text(out, cap, ...) assert_int_equal(itest_sql((out), (cap), __VA_ARGS__), 0)

static long long position(const char *side, const char *qty, const char *entry)
{
    return itest_sql_int("INSERT INTO positions (user_id, symbol, side, quantity, entry_price) VALUES "
             "(%d, 'BTC-USDT', '%s', %s, %s) RETURNING id",
             g_user, side, qty, entry);
}

static long long order(const char *type, const char *side, const char *qty, long long pos)
{
    char pos_s[24] = "NULL";
    if (pos > 0)
        snprintf(pos_s, sizeof pos_s, "%lld", pos);
    return itest_sql_int("INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
             "quantity, trigger_price, position_id) VALUES (%d, 'c' || substr(md5(random()::text), 1, 20), "
             "'%s', '%s', 'BTC-USDT', %s, 90, %s) RETURNING id",
             g_user, type, side, qty, pos_s);
}

#define FENCE "(SELECT token FROM engine_fence WHERE name = 'monitor')"

/* fill_orders() as the engine calls it, as tradedesk_app, with this
 * fencing token (0: the current one); its first row. */
static int fill(long long fence, long long id, const char *price, char *out, size_t cap)
{
    char sql[512], token[80];
    snprintf(token, sizeof token, "%lld", fence);
    snprintf(sql, sizeof sql,
             "SELECT outcome, fill_id FROM fill_orders(%s, ARRAY[%lld]::bigint[], "
             "ARRAY[%s]::numeric[], ARRAY[now()])",
             fence ? token : FENCE, id, price);
    return itest_psql_as("app", sql, out, cap);
}

static void reduce_then_close(void **state)
{
    (void)state;
    char out[256];
    long long pos = position("long", "1", "100");
    long long o1 = order("stop_loss", "sell", "0.4", pos);
    assert_true(o1 > 0);

    /* 0.4 sold at 90: P&L (90 - 100) × 0.4 = -4; cash 1000 + 40 - 4. */
    assert_int_equal(fill(0, o1, "90", out, sizeof out), 0);
    assert_non_null(strstr(out, "filled|"));
    sql_text(out, sizeof out, "SELECT quantity, status, realized_pnl FROM positions WHERE id = %lld",
         pos);
    assert_string_equal(out, "0.60000000|open|-4.00000000");
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "1036.00000000");
    sql_text(out, sizeof out,
         "SELECT status, triggered_price, filled_at >= triggered_at FROM conditional_orders "
         "WHERE id = %lld",
         o1);
    assert_string_equal(out, "filled|90.00000000|t");

    /* Again (a retry, a second engine): nothing more. */
    assert_int_equal(fill(0, o1, "80", out, sizeof out), 0);
    assert_non_null(strstr(out, "skipped|"));
    assert_int_equal(itest_sql_int("SELECT count(*) FROM fills WHERE order_id = %lld", o1), 1);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox WHERE topic = 'fills' AND payload->>'order_id' "
                       "= '%lld'",
                       o1),
                     1);
    sql_text(out, sizeof out,
         "SELECT payload->>'price', payload->>'quantity', payload->>'realized_pnl', "
         "key = '%d', payload->>'created_at' ~ '^\\d{4}-\\d\\d-\\d\\dT.*\\.\\d{3}Z$' FROM outbox "
         "WHERE payload->>'order_id' = '%lld'",
         g_user, o1);
    assert_string_equal(out, "90.00|0.40|-4.00|t|t");

    /* An order for more than is left takes what is left and closes it;
     * the position's other order expires with it (sql/006's trigger) and
     * does not fill. */
    long long o3 = order("stop_loss", "sell", "0.1", pos);
    long long o2 = order("take_profit", "sell", "5", pos);
    assert_int_equal(fill(0, o2, "110", out, sizeof out), 0);
    sql_text(out, sizeof out,
         "SELECT f.quantity, p.status, p.quantity, p.realized_pnl FROM fills f JOIN positions p "
         "ON p.id = f.position_id WHERE f.order_id = %lld",
         o2);
    assert_string_equal(out, "0.60000000|closed|0.60000000|2.00000000"); /* -4 + 6 */
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "1102.00000000"); /* + 60 + 6 */
    /* No reverse position opened. */
    assert_int_equal(itest_sql_int("SELECT count(*) FROM positions WHERE user_id = %d AND side = 'short'",
                       g_user),
                     0);

    sql_text(out, sizeof out, "SELECT status, cancel_reason FROM conditional_orders WHERE id = %lld",
         o3);
    assert_string_equal(out, "expired|position_closed");
    assert_int_equal(fill(0, o3, "90", out, sizeof out), 0);
    assert_non_null(strstr(out, "skipped|"));
}

static void opens_without_a_position(void **state)
{
    (void)state;
    char out[256];
    /* A buy with no short to close opens a long: 2 × 100 out of cash. */
    long long o = order("stop_loss", "buy", "2", 0);
    assert_int_equal(fill(0, o, "100", out, sizeof out), 0);
    assert_non_null(strstr(out, "filled|"));
    sql_text(out, sizeof out,
         "SELECT side, quantity, entry_price, status FROM positions WHERE user_id = %d", g_user);
    assert_string_equal(out, "long|2.00000000|100.00000000|open");
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "800.00000000");

    /* Another adds to it at the average price. */
    o = order("stop_loss", "buy", "2", 0);
    assert_int_equal(fill(0, o, "200", out, sizeof out), 0);
    sql_text(out, sizeof out, "SELECT quantity, entry_price FROM positions WHERE user_id = %d",
         g_user);
    assert_string_equal(out, "4.00000000|150.00000000");

    /* One that cash does not cover is rejected, nothing else moves. */
    o = order("stop_loss", "buy", "100", 0);
    assert_int_equal(fill(0, o, "100", out, sizeof out), 0);
    assert_non_null(strstr(out, "rejected|"));
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "400.00000000");
    assert_int_equal(itest_sql_int("SELECT count(*) FROM fills WHERE order_id = %lld", o), 0);
}

static void stale_fence_changes_nothing(void **state)
{
    (void)state;
    char out[256];
    long long o = order("stop_loss", "buy", "1", 0);
    long long f = itest_sql_int("SELECT token FROM engine_fence WHERE name = 'monitor'");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT engine_fence_advance(%lld)", f + 1000);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    assert_string_equal(out, "t");
    /* The old leader's batch is refused whole. */
    assert_int_not_equal(fill(f + 999, o, "100", out, sizeof out), 0);
    assert_non_null(strstr(out, "stale fencing token"));
    sql_text(out, sizeof out, "SELECT status FROM conditional_orders WHERE id = %lld", o);
    assert_string_equal(out, "active");
    /* An older token cannot move the fence back. */
    snprintf(sql, sizeof sql, "SELECT engine_fence_advance(%lld)", f + 5);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    assert_string_equal(out, "f");
    /* The leader's goes through. */
    assert_int_equal(fill(f + 1000, o, "100", out, sizeof out), 0);
    assert_non_null(strstr(out, "filled|"));
}

static void batch_of_many(void **state)
{
    (void)state;
    char out[256];
    long long a = order("stop_loss", "buy", "1", 0), b = order("take_profit", "buy", "1", 0);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(outcome, ',' ORDER BY n) FROM fill_orders(" FENCE ", "
             "ARRAY[%lld, %lld, %lld]::bigint[], ARRAY[10, 20, 30]::numeric[], "
             "array_fill(now(), ARRAY[3])) "
             "WITH ORDINALITY AS f(order_id, fill_id, outcome, n)",
             a, b, a);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    assert_string_equal(out, "filled,filled,skipped"); /* a twice in one batch: once */
    assert_int_equal(itest_sql_int("SELECT count(*) FROM fills WHERE order_id IN (%lld, %lld)", a, b), 2);
    /* Mismatched arrays are refused. */
    snprintf(sql, sizeof sql,
             "SELECT * FROM fill_orders(" FENCE ", ARRAY[%lld]::bigint[], ARRAY[]::numeric[], "
             "ARRAY[now()])",
             a);
    assert_int_not_equal(itest_psql_as("app", sql, out, sizeof out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(reduce_then_close, new_user),
        cmocka_unit_test_setup(opens_without_a_position, new_user),
        cmocka_unit_test_setup(stale_fence_changes_nothing, new_user),
        cmocka_unit_test_setup(batch_of_many, new_user),
    };
    return cmocka_run_group_tests_name("fills", tests, NULL, NULL);
}
