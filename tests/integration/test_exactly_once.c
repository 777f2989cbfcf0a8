/*
 * test_exactly_once.c - fills exactly once under failure: two engines at
 * once against 10,000 active orders of 100 users, all fired by one move
 * of the price; the leader is killed mid-way and the other takes over;
 * PostgreSQL and Redis restarted under it.  At the end every order is
 * filled exactly once (10,000 fills, no more), every outbox row delivered,
 * and each user's Stream holds each of their fills once.
 *
 * Engine A is the stack's; engine B is started here.  Prices come from a
 * local Binance (fake_exchange.mjs) at exactly the set price.
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

#define USERS 100
#define PER_USER 100
#define ORDERS (USERS * PER_USER)

static int g_fake;
static pid_t g_b;
static char g_fake_url[64], g_listen[2][64];

static void price(const char *p)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 '%s/control/price?s=BNBUSDT&p=%s&fixed=1'",
             g_fake_url, p);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
}

static pid_t start_b(void)
{
    return itest_engine_spawn(g_listen[1]);
}

static int setup(void **state)
{
    (void)state;
    int port = itest_free_port();
    for (int i = 0; i < 2; i++) {
        int p = itest_free_port();
        if (p < 0)
            return -1;
        snprintf(g_listen[i], sizeof g_listen[i], "127.0.0.1:%d", p);
    }
    if (port < 0)
        return -1;
    /* 100 users with cash, each with 100 buy stop orders on BNB-USDT at
     * triggers from 601 to 700: a move from 600 to 700 fires them all. */
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (username, password_hash, role) SELECT 'once' || g, "
             "(SELECT password_hash FROM users WHERE username = 'alice'), 'user' FROM "
             "generate_series(1, %d) g; "
             "INSERT INTO accounts (user_id, cash_balance) SELECT id, 1000000 FROM users WHERE "
             "username LIKE 'once%%'; "
             "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
             "quantity, trigger_price) SELECT u.id, 'once-' || k, 'stop_loss', 'buy', "
             "'BNB-USDT', 0.01, 600 + k FROM users u, generate_series(1, %d) k WHERE u.username "
             "LIKE 'once%%'",
             USERS, PER_USER);
    if (itest_psql(sql, NULL, 0) != 0)
        return -1;
    snprintf(g_fake_url, sizeof g_fake_url, "http://127.0.0.1:%d", port);
    if ((g_fake = itest_fake_exchange("binance", port)) <= 0)
        return -1;
    price("600");
    char v[128];
    setenv("TRADEDESK_FEEDS", "binance", 1);
    snprintf(v, sizeof v, "ws://127.0.0.1:%d/ws", port);
    setenv("TRADEDESK_BINANCE_WS_URL", v, 1);
    setenv("TRADEDESK_ENGINE_LISTEN", g_listen[0], 1);
    /* Long enough that a leader cut off from Redis still leads while a
     * test fires an order under it. */
    setenv("TRADEDESK_LEADER_LEASE_MS", "9000", 1);
    if (itest_stack("start engine") != 0)
        return -1;
    g_b = start_b();
    return g_b > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (g_b > 0) {
        kill(g_b, SIGTERM);
        waitpid(g_b, NULL, 0);
    }
    int rc = itest_stack("stop engine");
    itest_fake_exchange_stop(g_fake);
    unsetenv("TRADEDESK_FEEDS");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

static long long active_orders(void)
{
    return itest_psql_int("SELECT count(*) FROM conditional_orders o JOIN users u ON u.id = "
                          "o.user_id WHERE u.username LIKE 'once%' AND o.status = 'active'");
}

static long long fills(void)
{
    return itest_psql_int("SELECT count(*) FROM fills f JOIN users u ON u.id = f.user_id WHERE "
                          "u.username LIKE 'once%'");
}

/* The leader's index among g_listen, -1 when none says so. */
static int leader(void)
{
    for (int i = 0; i < 2; i++) {
        char cmd[256], out[8192];
        snprintf(cmd, sizeof cmd, "curl -s -m 2 http://%s/health", g_listen[i]);
        if (itest_sh(cmd, out, sizeof out) == 0 && strstr(out, "\"leader\":true"))
            return i;
    }
    return -1;
}

/* The orders engine i holds, -1 when it does not answer. */
static int active_in(int i)
{
    return (int)itest_engine_metric(g_listen[i], "tradedesk_engine_orders_active");
}

static void every_order_filled_once(void **state)
{
    (void)state;
    /* Both up, one leading with every order loaded. */
    long long deadline = itest_now_ms() + 20000;
    int who = -1;
    int held = -1;
    while (itest_now_ms() < deadline) {
        who = leader();
        if (who >= 0 && (held = active_in(who)) >= ORDERS)
            break;
        usleep(200 * 1000);
    }
    assert_true(who >= 0);
    assert_true(held >= ORDERS);

    /* Half of them fire (601..650), then the leader dies. */
    price("650");
    deadline = itest_now_ms() + 20000;
    while (fills() < ORDERS / 4 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    if (who == 1) {
        kill(g_b, SIGKILL);
        waitpid(g_b, NULL, 0);
        g_b = 0;
    } else {
        int pid = itest_pid("engine");
        assert_true(pid > 0);
        kill(pid, SIGKILL);
    }
    /* PostgreSQL and Redis restart under the survivor. */
    assert_int_equal(itest_stack("stop redis"), 0);
    assert_int_equal(itest_stack("start redis"), 0);
    assert_int_equal(itest_stack("stop pg"), 0);
    assert_int_equal(itest_stack("start pg"), 0);
    /* The rest fire after the takeover. */
    price("700");
    deadline = itest_now_ms() + 60000;
    while (active_orders() != 0 && itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_int_equal(active_orders(), 0);
    assert_int_equal(fills(), ORDERS);
    assert_int_equal(itest_psql_int("SELECT count(*) FROM (SELECT order_id FROM fills GROUP BY "
                                    "order_id HAVING count(*) > 1) d"),
                     0);
    assert_int_equal(itest_psql_int("SELECT count(*) FROM conditional_orders o JOIN users u ON "
                                    "u.id = o.user_id WHERE u.username LIKE 'once%' AND o.status "
                                    "= 'filled'"),
                     ORDERS);
    /* Every outbox row delivered. */
    deadline = itest_now_ms() + 20000;
    while (itest_psql_int("SELECT count(*) FROM outbox WHERE published_at IS NULL") != 0 &&
           itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_int_equal(itest_psql_int("SELECT count(*) FROM outbox WHERE published_at IS NULL"), 0);
    assert_int_equal(itest_psql_int("SELECT count(*) FROM outbox WHERE topic = 'fills' AND "
                                    "payload->>'order_id' IN (SELECT o.id::text FROM "
                                    "conditional_orders o JOIN users u ON u.id = o.user_id WHERE "
                                    "u.username LIKE 'once%')"),
                     ORDERS);
    /* And each user's Stream holds each of their fills once, across the
     * Redis restart too (the stack's Redis keeps an append-only file). */
    long long first = itest_psql_int("SELECT min(id) FROM users WHERE username LIKE 'once%'");
    long long total = 0;
    for (long long u = first; u < first + USERS; u++) {
        char args[64], n[32];
        snprintf(args, sizeof args, "XLEN td:fills:%lld", u);
        assert_int_equal(itest_redis_cli(args, n, sizeof n), 0);
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM fills WHERE user_id = %lld", u);
        assert_int_equal(atoll(n), itest_psql_int(sql));
        total += atoll(n);
    }
    assert_int_equal(total, ORDERS);
}

/* One user's order fired and filled, as the single engine sees it. */
static long long one_order(const char *trigger)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
             "quantity, trigger_price) SELECT id, 'x' || substr(md5(random()::text), 1, 20), "
             "'stop_loss', 'buy', 'BNB-USDT', 0.01, %s FROM users WHERE username = 'once1' "
             "RETURNING id",
             trigger);
    return itest_psql_int(sql);
}

static void restart_engines(void)
{
    if (g_b > 0) {
        kill(g_b, SIGTERM);
        waitpid(g_b, NULL, 0);
        g_b = 0;
    }
    itest_stack("stop engine");
    assert_int_equal(itest_stack("start engine"), 0);
}

static long long order_fills(long long id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM fills WHERE order_id = %lld", id);
    return itest_psql_int(sql);
}

static int stream_entries(long long fill_id)
{
    char args[160], out[4096];
    snprintf(args, sizeof args,
             "XRANGE td:fills:%lld %lld-0 %lld-0",
             itest_psql_int("SELECT id FROM users WHERE username = 'once1'"), fill_id, fill_id);
    if (itest_redis_cli(args, out, sizeof out) != 0)
        return -1;
    int n = 0;
    for (const char *p = out; (p = strstr(p, "\"order_id\"")); p++)
        n++;
    return n;
}

/* Killed between the commit and the publication: Redis is away when the
 * fill commits; the engine dies; a new one delivers the fill once. */
static void killed_between_commit_and_publish(void **state)
{
    (void)state;
    restart_engines(); /* one engine: the stack's */
    price("700");
    long long deadline = itest_now_ms() + 15000;
    while (leader() != 0 && itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_int_equal(leader(), 0);
    assert_int_equal(itest_stack("stop redis"), 0);
    long long id = one_order("750"); /* the engine learns of it by NOTIFY */
    /* Without Redis the lease is not renewed: the engine leads at most
     * two thirds of its lease longer, so fire before that. */
    usleep(300 * 1000);
    price("760");
    deadline = itest_now_ms() + 5000;
    while (order_fills(id) != 1 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(order_fills(id), 1); /* committed; Redis has not seen it */
    kill(itest_pid("engine"), SIGKILL);
    assert_int_equal(itest_stack("start redis"), 0);
    itest_stack("stop engine");
    assert_int_equal(itest_stack("start engine"), 0);
    deadline = itest_now_ms() + 20000;
    while (order_fills(id) != 1 && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_int_equal(order_fills(id), 1);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT id FROM fills WHERE order_id = %lld", id);
    long long fill = itest_psql_int(sql);
    deadline = itest_now_ms() + 10000;
    while (stream_entries(fill) != 1 && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_int_equal(stream_entries(fill), 1);
}

/* Killed between the fire and the commit: PostgreSQL is frozen while the
 * fill is in flight and the engine dies; whether that transaction then
 * commits or not, the next engine ends with the order filled once. */
static void killed_between_fire_and_commit(void **state)
{
    (void)state;
    price("760");
    long long deadline = itest_now_ms() + 15000;
    while (leader() != 0 && itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_int_equal(leader(), 0);
    int before = active_in(0), after = before;
    long long id = one_order("800");
    deadline = itest_now_ms() + 5000; /* the NOTIFY brings it in */
    while ((after = active_in(0)) <= before && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_true(after > before);
    assert_true(itest_pg_signal(SIGSTOP) > 0);
    price("810"); /* fires; the batch waits on the frozen server */
    usleep(500 * 1000);
    kill(itest_pid("engine"), SIGKILL);
    assert_true(itest_pg_signal(SIGCONT) > 0);
    itest_stack("stop engine");
    assert_int_equal(itest_stack("start engine"), 0);
    deadline = itest_now_ms() + 90000; /* a load, or the minute's resync */
    while (order_fills(id) != 1 && itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_int_equal(order_fills(id), 1);
    usleep(1500 * 1000);
    assert_int_equal(order_fills(id), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_order_filled_once),
        cmocka_unit_test(killed_between_commit_and_publish),
        cmocka_unit_test(killed_between_fire_and_commit),
    };
    return cmocka_run_group_tests_name("exactly_once", tests, setup, teardown);
}
