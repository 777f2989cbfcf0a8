/*
 * test_fills.c - sql/007_fills.sql against the real PostgreSQL: a fired
 * order is filled exactly once however often fill_orders() is called with
 * it; the fill reduces or closes its position with the realized P&L back
 * in cash, never takes more than the position holds, opens a position when
 * the order has none (rejected when cash does not cover it); every fill
 * has one outbox row; a batch with a stale fencing token changes nothing.
 * Batches are filled set-based (sql/008) with the rules applied in the
 * batch's order, one order after another as before: the batch tests below
 * are what a set-based fill could get wrong (a running quantity per
 * position, OCO legs side by side, cash spent by the earlier orders, a
 * position closed and then opened again within one batch).
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

/* The user's orders that sql/024's active_orders gets wrong: an active
 * order missing from it, an order in it that is not active, or its copy
 * of the user or the symbol not the order's. */
static long long active_orders_astray(int user)
{
    return itest_sql_int(
        "SELECT count(*) FROM conditional_orders o FULL JOIN active_orders a ON a.order_id = o.id"
        " WHERE coalesce(o.user_id, a.user_id) = %d AND ((o.status = 'active') IS DISTINCT FROM"
        " (a.order_id IS NOT NULL) OR a.user_id <> o.user_id OR a.symbol <> o.symbol)",
        user);
}

/* After every test here, whichever writers changed the user's orders (a
 * fill, a rejection, an expiry, an OCO sibling, a cancel). */
static int active_orders_in_step(void **state)
{
    (void)state;
    long long astray = active_orders_astray(g_user);
    if (astray != 0)
        fprintf(stderr, "    active_orders: %lld of user %d's orders astray\n", astray, g_user);
    return astray == 0 ? 0 : -1;
}

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
             "SELECT string_agg(outcome, ',' ORDER BY f.ordinality) FROM fill_orders(" FENCE ", "
             "ARRAY[%lld, %lld, %lld]::bigint[], ARRAY[10, 20, 30]::numeric[], "
             "array_fill(now(), ARRAY[3])) "
             "WITH ORDINALITY AS f",
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

/* fill_orders() over a batch (ids and prices, comma-separated); the
 * outcomes in the batch's order, comma-separated, into out. */
static int fill_batch(const char *ids, const char *prices, char *out, size_t cap)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(outcome, ',' ORDER BY f.ordinality) FROM fill_orders(" FENCE ", "
             "ARRAY[%s]::bigint[], ARRAY[%s]::numeric[], "
             "array_fill(now(), ARRAY[cardinality(ARRAY[%s]::bigint[])])) "
             "WITH ORDINALITY AS f",
             ids, prices, ids);
    return itest_psql_as("app", sql, out, cap);
}

/* Each of these orders' (comma-separated ids) status/cancel_reason, by id,
 * comma-separated, into out. */
static void order_states(const char *ids, char *out, size_t cap)
{
    sql_text(out, cap,
             "SELECT string_agg(status || '/' || coalesce(cancel_reason, '-'), ',' ORDER BY id) "
             "FROM conditional_orders WHERE id IN (%s)",
             ids);
}

/* The fills of these orders (comma-separated ids), each as the expression
 * what, by order id, comma-separated, into out. */
static void fills_of(const char *ids, const char *what, char *out, size_t cap)
{
    sql_text(out, cap, "SELECT string_agg(%s, ',' ORDER BY order_id) FROM fills WHERE order_id IN (%s)",
             what, ids);
}

/* An OCO bracket of two orders (take profit, stop loss) of this side and
 * quantity, on position pos (0: none). */
static void oco_pair(const char *side, const char *qty, long long pos, long long *tp, long long *sl)
{
    char pos_s[24] = "NULL";
    if (pos > 0)
        snprintf(pos_s, sizeof pos_s, "%lld", pos);
    long long g = itest_sql_int("INSERT INTO oco_groups (user_id) VALUES (%d) RETURNING id", g_user);
    assert_true(g > 0);
    *tp = itest_sql_int("INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
                        "quantity, trigger_price, position_id, oco_group_id) VALUES (%d, 'tp%lld', "
                        "'take_profit', '%s', 'BTC-USDT', %s, 90, %s, %lld) RETURNING id",
                        g_user, g, side, qty, pos_s, g);
    *sl = itest_sql_int("INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
                        "quantity, trigger_price, position_id, oco_group_id) VALUES (%d, 'sl%lld', "
                        "'stop_loss', '%s', 'BTC-USDT', %s, 90, %s, %lld) RETURNING id",
                        g_user, g, side, qty, pos_s, g);
    assert_true(*tp > 0 && *sl > 0);
}

/* The user's orders whose newest order event (sql/010) does not show the
 * status the order has: each change, by whichever path, has its event. */
static long long orders_without_their_event(int user)
{
    return itest_sql_int(
        "SELECT count(*) FROM conditional_orders c WHERE c.user_id = %d AND c.status IS DISTINCT"
        " FROM (SELECT payload->'data'->>'status' FROM outbox WHERE topic = 'orders' AND key ="
        " c.user_id::text AND payload->'data'->>'id' = c.id::text ORDER BY id DESC LIMIT 1)",
        user);
}

/* Several orders of one position in one batch, more than it holds: each
 * takes what the earlier ones left, the one that empties it closes it, the
 * later ones (and the position's order outside the batch) expire. */
static void one_position_many_orders(void **state)
{
    (void)state;
    char out[512], ids[256];
    long long pos = position("long", "1", "100");
    long long o1 = order("stop_loss", "sell", "0.4", pos), o2 = order("take_profit", "sell", "0.5", pos),
              o3 = order("stop_loss", "sell", "0.3", pos), o4 = order("stop_loss", "sell", "0.2", pos),
              out_of_batch = order("take_profit", "sell", "0.1", pos);
    snprintf(ids, sizeof ids, "%lld, %lld, %lld, %lld", o1, o2, o3, o4);
    assert_int_equal(fill_batch(ids, "110, 110, 110, 110", out, sizeof out), 0);
    assert_string_equal(out, "filled,filled,filled,skipped");
    fills_of(ids, "quantity::text", out, sizeof out);
    assert_string_equal(out, "0.40000000,0.50000000,0.10000000"); /* the last takes what is left */
    /* Closed with the quantity it had when it closed; P&L 10 × 1 in all. */
    sql_text(out, sizeof out, "SELECT status, quantity, realized_pnl FROM positions WHERE id = %lld",
             pos);
    assert_string_equal(out, "closed|0.10000000|10.00000000");
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "1110.00000000");
    snprintf(ids, sizeof ids, "%lld, %lld", o4, out_of_batch);
    order_states(ids, out, sizeof out);
    assert_string_equal(out, "expired/position_closed,expired/position_closed");
    assert_int_equal(
        itest_sql_int("SELECT count(*) FROM outbox WHERE topic = 'fills' AND key = '%d'", g_user), 3);
    assert_int_equal(orders_without_their_event(g_user), 0);
}

/* Both legs of an OCO bracket fire in one batch: the first fills, the
 * other is cancelled by it (whichever comes first in the batch). */
static void oco_pair_in_one_batch(void **state)
{
    (void)state;
    char out[512], ids[128];
    long long pos = position("long", "2", "100");
    long long tp, sl, tp2, sl2;
    oco_pair("sell", "1", pos, &tp, &sl);
    oco_pair("sell", "1", pos, &tp2, &sl2);
    snprintf(ids, sizeof ids, "%lld, %lld, %lld, %lld", tp, sl, sl2, tp2);
    assert_int_equal(fill_batch(ids, "120, 80, 80, 120", out, sizeof out), 0);
    assert_string_equal(out, "filled,skipped,filled,skipped");
    order_states(ids, out, sizeof out);
    assert_string_equal(out, "filled/-,cancelled/oco,cancelled/oco,filled/-");
    assert_int_equal(itest_sql_int("SELECT count(*) FROM fills WHERE order_id IN (%s)", ids), 2);
    /* One leg at 120 (+20), one at 80 (-20): the position closed at 0. */
    sql_text(out, sizeof out, "SELECT status, realized_pnl FROM positions WHERE id = %lld", pos);
    assert_string_equal(out, "closed|0.00000000");
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "1200.00000000");    /* The legs the fold skipped and sql/006 cancelled (OCO) have their event. */
    assert_int_equal(orders_without_their_event(g_user), 0);
}

/* Two users in one batch: each order moves its own user's cash and
 * position, and its outbox row names its user. */
static void two_users_one_batch(void **state)
{
    (void)state;
    char out[512], ids[128], name[64];
    int first = g_user;
    long long a = order("stop_loss", "buy", "1", 0);
    snprintf(name, sizeof name, "fills_other_%d", (int)getpid());
    g_user = (int)itest_user_cash(name, "500");
    assert_true(g_user > 0);
    long long b = order("stop_loss", "buy", "2", 0);
    snprintf(ids, sizeof ids, "%lld, %lld", a, b);
    assert_int_equal(fill_batch(ids, "100, 200", out, sizeof out), 0);
    assert_string_equal(out, "filled,filled");
    sql_text(out, sizeof out,
             "SELECT string_agg(a.cash_balance || '/' || p.quantity || '@' || p.entry_price, ',' "
             "ORDER BY a.user_id) FROM accounts a JOIN positions p ON p.user_id = a.user_id "
             "WHERE a.user_id IN (%d, %d)",
             first, g_user);
    assert_string_equal(out, "900.00000000/1.00000000@100.00000000,100.00000000/2.00000000@200.00000000");
    sql_text(out, sizeof out,
             "SELECT string_agg(key || ':' || (payload->>'order_id'), ',' ORDER BY id) FROM outbox "
             "WHERE payload->>'order_id' IN ('%lld', '%lld')",
             a, b);
    char want[128];
    snprintf(want, sizeof want, "%d:%lld,%d:%lld", first, a, g_user, b);
    assert_string_equal(out, want);
}

/* Opening orders of one user whose cash covers the first: the second is
 * rejected, and a third that the cash left still covers fills. */
static void cash_covers_the_first(void **state)
{
    (void)state;
    char out[512], ids[128];
    long long o1 = order("stop_loss", "buy", "6", 0), o2 = order("stop_loss", "buy", "6", 0),
              o3 = order("take_profit", "buy", "3", 0);
    snprintf(ids, sizeof ids, "%lld, %lld, %lld", o1, o2, o3);
    assert_int_equal(fill_batch(ids, "100, 100, 100", out, sizeof out), 0);
    assert_string_equal(out, "filled,rejected,filled");
    sql_text(out, sizeof out, "SELECT status, cancel_reason FROM conditional_orders WHERE id = %lld", o2);
    assert_string_equal(out, "rejected|rejected");
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "100.00000000");
    sql_text(out, sizeof out,
             "SELECT count(*), sum(quantity), min(entry_price) FROM positions WHERE user_id = %d", g_user);
    assert_string_equal(out, "1|9.00000000|100.00000000");
}

/* Position-bound and opening orders of one symbol in one batch: a buy adds
 * to the long a bound sell is reducing (at the average price, rounded as it
 * is stored), a bound sell then closes it, and a sell without a position
 * after that opens a short. */
static void bound_and_opening_orders_mixed(void **state)
{
    (void)state;
    char out[512], ids[128];
    long long pos = position("long", "1", "100");
    long long o1 = order("stop_loss", "sell", "0.5", pos), o2 = order("stop_loss", "buy", "1", 0),
              o3 = order("take_profit", "sell", "2", pos), o4 = order("stop_loss", "sell", "0.5", 0);
    snprintf(ids, sizeof ids, "%lld, %lld, %lld, %lld", o1, o2, o3, o4);
    assert_int_equal(fill_batch(ids, "120, 131, 140, 150", out, sizeof out), 0);
    assert_string_equal(out, "filled,filled,filled,filled");
    /* o1: 0.5 at 120, +10.  o2 adds 1 at 131: entry (50 + 131) / 1.5,
     * stored 120.66666667.  o3 takes the 1.5 left at 140:
     * (140 - 120.66666667) × 1.5 = 28.999999995, stored 29.00000000. */
    fills_of(ids, "quantity || '@' || price || ':' || realized_pnl", out, sizeof out);
    assert_string_equal(out, "0.50000000@120.00000000:10.00000000,1.00000000@131.00000000:0.00000000,"
                             "1.50000000@140.00000000:29.00000000,0.50000000@150.00000000:0.00000000");
    sql_text(out, sizeof out,
             "SELECT status, quantity, entry_price, realized_pnl FROM positions WHERE id = %lld", pos);
    assert_string_equal(out, "closed|1.50000000|120.66666667|39.00000000");
    /* o4: no long left to close, so a short of its own. */
    sql_text(out, sizeof out,
             "SELECT side, quantity, entry_price, status FROM positions WHERE user_id = %d AND id <> %lld",
             g_user, pos);
    assert_string_equal(out, "short|0.50000000|150.00000000|open");
    /* 1000 + 60 - 131 + (120.66666667 × 1.5 + 28.999999995) - 75 */
    sql_text(out, sizeof out, "SELECT cash_balance FROM accounts WHERE user_id = %d", g_user);
    assert_string_equal(out, "1064.00000000");
    assert_int_equal(
        itest_sql_int("SELECT count(*) FROM outbox WHERE topic = 'fills' AND key = '%d'", g_user), 4);
    assert_int_equal(orders_without_their_event(g_user), 0);
    /* The Stream's copy says what REST says: the stored, rounded P&L. */
    sql_text(out, sizeof out,
             "SELECT payload->>'realized_pnl' FROM outbox WHERE payload->>'order_id' = '%lld'", o3);
    assert_string_equal(out, "29.00");
}

/* sql/016: the event of a final state (here: filled, cancelled, expired)
 * is written short in the changing transaction; the relay's batch gives it
 * with its order's columns (sql/021), which the relay renders as REST
 * shows the order (test_stream_orders compares the push with GET).  A
 * short row whose order shows another status by then (a hand edit) goes
 * out short, without its mark.  A mark given no rendering renders the
 * event itself (sql/016's order_event_rendered). */
static long long newest_event(long long o)
{
    return itest_sql_int("SELECT max(id) FROM outbox WHERE topic = 'orders' AND payload->'data'->>'id' = '%lld'",
                         o);
}

static void final_events_rendered_by_the_relay(void **state)
{
    (void)state;
    char out[256];
    long long o = order("stop_loss", "buy", "1", 0);
    assert_int_equal(fill(0, o, "100", out, sizeof out), 0);
    long long e = newest_event(o);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox WHERE id = %lld AND payload = "
                                   "jsonb_build_object('type', 'order', 'deferred', true, 'data', "
                                   "jsonb_build_object('id', '%lld', 'status', 'filled'))",
                                   e, o),
                     1);
    long long c = order("stop_loss", "buy", "1", 0);
    sql_text(NULL, 0, "UPDATE conditional_orders SET status = 'cancelled', cancel_reason = 'user', "
             "cancelled_at = now() WHERE id = %lld", c);
    long long ec = newest_event(c);
    sql_text(NULL, 0, "UPDATE conditional_orders SET status = 'expired', cancel_reason = 'expired', "
             "cancelled_at = NULL WHERE id = %lld", c);
    long long ex = newest_event(c);
    assert_true(ex > ec);
    /* The relay's batch (every unpublished row: no relay runs here). */
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox_relay_step(NULL, NULL, 1000000) b "
                                   "WHERE (b.id = %lld AND b.o_id = %lld AND b.o_status = 'filled' "
                                   "AND b.o_quantity = 1 AND b.payload IS NULL AND b.data IS NULL) "
                                   "OR (b.id = %lld AND b.o_id = %lld AND b.o_status = 'expired' "
                                   "AND b.data IS NULL) OR (b.id = %lld AND b.o_id IS NULL AND "
                                   "b.data::jsonb = jsonb_build_object('id', '%lld', 'status', "
                                   "'cancelled'))",
                                   e, o, ex, c, ec, c),
                     3);
    assert_true(itest_sql_int("SELECT count(*) FROM (SELECT outbox_mark_published(ARRAY(SELECT id "
                              "FROM outbox WHERE id IN (%lld, %lld, %lld)))) m",
                              e, ec, ex) == 1);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox x, conditional_orders o WHERE x.id = %lld "
                                   "AND o.id = %lld AND x.payload = jsonb_build_object('type', 'order', "
                                   "'data', order_event_data(o)) AND x.payload->'data'->>'status' = 'filled'",
                                   e, o),
                     1);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox x, conditional_orders o WHERE x.id = %lld "
                                   "AND o.id = %lld AND x.payload = jsonb_build_object('type', 'order', "
                                   "'data', order_event_data(o)) AND x.payload->'data'->>'status' = 'expired'",
                                   ex, c),
                     1);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox WHERE id = %lld AND payload = "
                                   "jsonb_build_object('type', 'order', 'data', "
                                   "jsonb_build_object('id', '%lld', 'status', 'cancelled'))",
                                   ec, c),
                     1);
}

/* sql/020: the relay's step marks the rows it was given, and a deferred
 * event is kept as the relay published it (the payload it hands back), not
 * rendered again from the order's row, which may have changed since; its
 * batch, read after the mark, leaves the marked rows out. */
static void step_keeps_what_it_published(void **state)
{
    (void)state;
    char out[256], published[4096];
    long long o = order("stop_loss", "buy", "1", 0);
    assert_int_equal(fill(0, o, "100", out, sizeof out), 0);
    long long e = newest_event(o);
    /* Given with its order's columns for the relay to render (sql/021). */
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox_relay_step(NULL, NULL, 1000000) "
                                   "WHERE id = %lld AND o_id = %lld AND o_status = 'filled' AND "
                                   "payload IS NULL",
                                   e, o),
                     1);
    /* What the relay published of it (its own rendering). */
    sql_text(published, sizeof published,
             "SELECT jsonb_build_object('type', 'order', 'data', order_event_data(o)) FROM "
             "conditional_orders o WHERE id = %lld",
             o);
    assert_non_null(strstr(published, "\"status\": \"filled\""));
    assert_null(strstr(published, "$p$"));
    /* Not an event (sql/010), but it shows in the rendering. */
    sql_text(NULL, 0, "UPDATE conditional_orders SET client_order_id = 'renamed' WHERE id = %lld", o);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox_relay_step(ARRAY[%lld], "
                                   "jsonb_build_array($p$%s$p$::jsonb), 1000000) WHERE id = %lld",
                                   e, published, e),
                     0);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox WHERE id = %lld AND published_at IS "
                                   "NOT NULL AND payload = $p$%s$p$::jsonb AND payload->'data'->>"
                                   "'client_order_id' <> 'renamed'",
                                   e, published),
                     1);
    /* Marked once: a second mark changes nothing. */
    sql_text(out, sizeof out, "SELECT published_at FROM outbox WHERE id = %lld", e);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox_relay_step(ARRAY[%lld], NULL, 0)", e), 0);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox WHERE id = %lld AND published_at = '%s'",
                                   e, out),
                     1);
}

/* sql/010's rule, with sql/020's locks: the step leaves out a user's order
 * events while a writer of that user is in flight (here a session holding
 * the user's shared lock, as every event writer does until it commits),
 * takes the other rows, and holds none of the users' locks once it has
 * answered; when the writer is gone the held-back event comes. */
static void step_waits_for_a_writer_in_flight(void **state)
{
    (void)state;
    char cmd[1024], out[256];
    snprintf(cmd, sizeof cmd,
             "\"%s\" psql -XAtq -c \"BEGIN; SELECT pg_advisory_xact_lock_shared(1869767781, %d);"
             " SELECT pg_sleep(60)\" >/dev/null 2>&1 &",
             getenv("TD_TEST_STACK"), g_user);
    assert_int_equal(system(cmd), 0);
    const char *writer = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = "
                         "1869767781 AND mode = 'ShareLock' AND granted";
    long long t0 = itest_now_ms();
    while (itest_psql_int(writer) != 1 && itest_now_ms() - t0 < 10000)
        usleep(50 * 1000);
    assert_int_equal(itest_psql_int(writer), 1);
    long long o = order("stop_loss", "buy", "1", 0);
    long long e = newest_event(o);
    /* A row that is not an order event goes out meanwhile. */
    long long f = itest_sql_int("INSERT INTO outbox (topic, key, payload) VALUES ('fills', '%d', "
                                "'{\"id\": \"0\"}') RETURNING id",
                                g_user);
    char all[1024];
    snprintf(cmd, sizeof cmd,
             "SELECT count(*) FILTER (WHERE id = %lld), count(*) FILTER (WHERE id = %lld)"
             " FROM outbox_relay_step(NULL, NULL, 1000000);\n"
             "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();",
             e, f);
    assert_int_equal(itest_psql_all_as(NULL, cmd, all, sizeof all), 0);
    assert_string_equal(all, "0|1\n0\n");
    sql_text(NULL, 0, "DELETE FROM outbox WHERE id = %lld", f);
    sql_text(out, sizeof out,
             "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE query LIKE '%%pg_sleep(60)%%' AND pid <> pg_backend_pid()) t");
    assert_string_equal(out, "1");
    t0 = itest_now_ms();
    while (itest_psql_int(writer) != 0 && itest_now_ms() - t0 < 10000)
        usleep(50 * 1000);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM outbox_relay_step(NULL, NULL, 1000000) "
                                   "WHERE id = %lld",
                                   e),
                     1);
}

/* sql/018: fill_orders writes its own orders' events and NOTIFYs (the
 * triggers skip its UPDATE by trigger depth), and the triggers still write
 * them for what they change in its turn (an OCO sibling, a closed
 * position's other order) and for the caller's next UPDATE in the same
 * transaction: every change has one event, in the order sql/010 wrote them
 * (the sibling's inside the orders' UPDATE, the batch's by id, the
 * position's expired order, then the caller's), and one NOTIFY on
 * td_orders, delivered at commit. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void every_change_one_event_one_notify(void **state)
{
    (void)state;
    char out[8192], sql[1024], want[256];
    long long pos = position("long", "1", "100");
    long long tp, sl;
    oco_pair("sell", "1", pos, &tp, &sl);
    long long bound = order("stop_loss", "sell", "0.5", pos), opening = order("stop_loss", "buy", "1", 0),
              too_big = order("stop_loss", "buy", "1000", 0), other = order("stop_loss", "buy", "1", 0);
    long long before = itest_sql_int("SELECT coalesce(max(id), 0) FROM outbox");
    snprintf(sql, sizeof sql,
             "LISTEN td_orders;\nBEGIN;\n"
             "SELECT string_agg(outcome, ',' ORDER BY f.ordinality) FROM fill_orders(" FENCE ", "
             "ARRAY[%lld, %lld, %lld]::bigint[], ARRAY[120, 100, 100]::numeric[], "
             "ARRAY[now(), now(), now()]) "
             "WITH ORDINALITY AS f;\n"
             "UPDATE conditional_orders SET status = 'cancelled', cancel_reason = 'user', "
             "cancelled_at = now() WHERE id = %lld;\nCOMMIT;",
             tp, opening, too_big, other);
    assert_int_equal(itest_psql_all_as("app", sql, out, sizeof out), 0);
    fprintf(stderr, "    %s\n", out);
    assert_int_equal(strncmp(out, "filled,filled,rejected\n", 23), 0);
    const struct {
        long long id;
        const char *status;
    } changed[] = {{sl, "cancelled"},  {tp, "filled"},     {opening, "filled"},
                   {too_big, "rejected"}, {bound, "expired"}, {other, "cancelled"}};
    char events[256] = "", expected[256] = "";
    sql_text(events, sizeof events,
             "SELECT string_agg((payload->'data'->>'id') || '/' || (payload->'data'->>'status'), ',' "
             "ORDER BY id) FROM outbox WHERE topic = 'orders' AND key = '%d' AND id > %lld",
             g_user, before);
    for (size_t i = 0; i < sizeof changed / sizeof *changed; i++) {
        size_t len = strlen(expected);
        snprintf(expected + len, sizeof expected - len, "%s%lld/%s", i ? "," : "", changed[i].id,
                 changed[i].status);
        /* One NOTIFY of the order, with its new status (sql/006's payload). */
        snprintf(want, sizeof want, "{\"id\" : \"%lld\", \"user_id\" : \"%d\", \"symbol\" : "
                 "\"BTC-USDT\", \"status\" : \"%s\", \"op\" : \"update\"}",
                 changed[i].id, g_user, changed[i].status);
        assert_int_equal(count_of(out, want), 1);
    }
    assert_string_equal(events, expected);
    assert_int_equal(count_of(out, "Asynchronous notification"), 6);
    assert_int_equal(orders_without_their_event(g_user), 0);
}

/* sql/024's triggers, writer by writer: an insert adds the order, an
 * update out of active removes it, one back to active (nothing does so,
 * the rules allow it) adds it again, a deleted order leaves with it. */
static void active_orders_follow_the_status(void **state)
{
    (void)state;
    long long a = order("stop_loss", "buy", "1", 0), b = order("take_profit", "buy", "1", 0);
    const char *in = "SELECT count(*) FROM active_orders WHERE order_id = %lld";
    assert_int_equal(itest_sql_int(in, a), 1);
    assert_int_equal(itest_sql_int(in, b), 1);
    itest_sql_int("WITH u AS (UPDATE conditional_orders SET status = 'expired', cancel_reason = "
                  "'expired', updated_at = now() WHERE id IN (%lld, %lld) RETURNING 1) "
                  "SELECT count(*) FROM u", a, b);
    assert_int_equal(itest_sql_int(in, a), 0);
    assert_int_equal(itest_sql_int(in, b), 0);
    assert_int_equal(itest_sql_int("WITH u AS (UPDATE conditional_orders SET status = 'active', "
                                   "cancel_reason = NULL WHERE id = %lld RETURNING 1) "
                                   "SELECT count(*) FROM u", a),
                     1);
    assert_int_equal(itest_sql_int(in, a), 1);
    assert_int_equal(itest_sql_int(in, b), 0);
    assert_int_equal(itest_sql_int("WITH d AS (DELETE FROM conditional_orders WHERE id = %lld "
                                   "RETURNING 1) SELECT count(*) FROM d", a),
                     1);
    assert_int_equal(itest_sql_int(in, a), 0);
    assert_int_equal(active_orders_astray(g_user), 0);
}

/* sql/025, sql/026: each fill's row of the answer carries its user, the user's
 * fill before it (accounts.last_fill_id, moved by each fill) and the
 * fill's row as GET /api/v1/fills reads it (store/pgjson's columns, with
 * its order's trace id), for the engine to push at the commit; an entry
 * not filled carries none of them. */
static void answer_carries_the_push(void **state)
{
    (void)state;
    char out[4096], sql[1024];
    assert_int_equal(itest_sql_int("SELECT last_fill_id FROM accounts WHERE user_id = %d", g_user), 0);
    long long a = order("stop_loss", "buy", "1", 0), b = order("stop_loss", "buy", "1", 0),
              poor = order("stop_loss", "buy", "1000", 0);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(concat_ws('/', outcome, user_id = %d, prev_fill_id, f_id = fill_id),"
             " ',' ORDER BY f.ordinality) FROM fill_orders(" FENCE ", ARRAY[%lld, %lld, %lld]::bigint[],"
             " ARRAY[10, 10, 10]::numeric[], array_fill(now(), ARRAY[3])) WITH ORDINALITY AS f",
             g_user, a, poor, b);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    long long fa = itest_sql_int("SELECT id FROM fills WHERE order_id = %lld", a);
    long long fb = itest_sql_int("SELECT id FROM fills WHERE order_id = %lld", b);
    char want[256];
    /* The first fill's previous is 0 (none), the second's the first; the
     * rejected one has no user, previous or row. */
    snprintf(want, sizeof want, "filled/t/0/t,rejected,filled/t/%lld/t", fa);
    assert_string_equal(out, want);
    assert_int_equal(itest_sql_int("SELECT last_fill_id FROM accounts WHERE user_id = %d", g_user), fb);

    /* A later batch's previous is the newest fill, and its row is the
     * fill's as stored, its order's trace id with it. */
    long long c = order("stop_loss", "buy", "1", 0);
    itest_sql_int("UPDATE conditional_orders SET trace_id = '0123456789abcdef0123456789abcdef'"
                  " WHERE id = %lld RETURNING 1",
                  c);
    snprintf(sql, sizeof sql,
             "SELECT concat_ws('|', prev_fill_id, f_id, f_order_id, f_symbol, f_side, f_quantity,"
             " f_price, f_realized_pnl, f_position_id, f_created_ms, f_trace_id)"
             " FROM fill_orders(" FENCE ", ARRAY[%lld]::bigint[], ARRAY[10.5]::numeric[], ARRAY[now()])",
             c);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    char stored[4096];
    sql_text(stored, sizeof stored,
             "SELECT concat_ws('|', %lld, f.id, f.order_id, f.symbol, f.side, f.quantity, f.price,"
             " f.realized_pnl, f.position_id, (EXTRACT(EPOCH FROM f.created_at) * 1000)::bigint,"
             " o.trace_id) FROM fills f JOIN conditional_orders o ON o.id = f.order_id"
             " WHERE f.order_id = %lld",
             fb, c);
    assert_string_equal(out, stored);
    assert_non_null(strstr(out, "|0123456789abcdef0123456789abcdef"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reduce_then_close, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(opens_without_a_position, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(stale_fence_changes_nothing, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(batch_of_many, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(one_position_many_orders, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(oco_pair_in_one_batch, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(two_users_one_batch, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(cash_covers_the_first, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(bound_and_opening_orders_mixed, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(final_events_rendered_by_the_relay, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(step_keeps_what_it_published, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(step_waits_for_a_writer_in_flight, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(every_change_one_event_one_notify, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(active_orders_follow_the_status, new_user, active_orders_in_step),
        cmocka_unit_test_setup_teardown(answer_carries_the_push, new_user, active_orders_in_step),
    };
    return cmocka_run_group_tests_name("fills", tests, NULL, NULL);
}
