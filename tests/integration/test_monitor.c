/*
 * test_monitor.c - conditional orders fire on the right tick and nowhere
 * else, against the real stack: tradedesk-engine follows a local server
 * speaking Binance's protocol (fake_exchange.mjs, each symbol's price set
 * exactly), its monitor fires a stop-loss, a take-profit and a trailing
 * stop placed on a trader's positions, and each is filled once: the fill
 * at the firing tick's price, the position reduced, the fill in the user's
 * Redis Stream.  Before its tick each order stays active.  A trailing
 * stop's high is written back and survives a restart; an OCO bracket
 * placed over REST fires one leg and cancels the other; closing a position
 * expires its order and the monitor lets it go at once.
 *
 * The orders are in place before the engine starts (it loads them when it
 * wins the lease).
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

static int g_fake, g_user;
static char g_fake_url[64], g_engine[64];
static long long g_stop, g_take, g_trail, g_resume;

static void price(const char *venue_symbol, const char *p)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 '%s/control/price?s=%s&p=%s&fixed=1'", g_fake_url,
             venue_symbol, p);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
}

/* A long position of 1 at 100 and an order on it. */
static long long order_on_position(const char *symbol, const char *type, const char *fields,
                                   const char *values)
{
    long long pos = itest_sql_int("INSERT INTO positions (user_id, symbol, side, quantity, entry_price) "
                           "VALUES (%d, '%s', 'long', 1, 100) RETURNING id",
                           g_user, symbol);
    assert_true(pos > 0);
    return itest_sql_int("INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
                  "quantity, position_id, %s) VALUES (%d, 'm' || substr(md5(random()::text), 1, "
                  "20), '%s', 'sell', '%s', 0.5, %lld, %s) RETURNING id",
                  fields, g_user, type, symbol, pos, values);
}

static int setup(void **state)
{
    (void)state;
    int port = itest_free_port();
    if (port < 0)
        return -1;
    char v[128];
    if ((g_user = (int)itest_user_cash("monitor_user", "1000")) <= 0)
        return -1;
    g_stop = order_on_position("BTC-USDT", "stop_loss", "trigger_price", "95");
    g_take = order_on_position("ETH-USDT", "take_profit", "trigger_price", "110");
    g_trail = order_on_position("SOL-USDT", "trailing_stop", "callback_rate", "5");
    g_resume = order_on_position("BNB-USDT", "trailing_stop", "callback_rate", "10");

    snprintf(g_fake_url, sizeof g_fake_url, "http://127.0.0.1:%d", port);
    if ((g_fake = itest_fake_exchange("binance", port)) <= 0)
        return -1;
    price("BTCUSDT", "100");
    price("ETHUSDT", "100");
    price("SOLUSDT", "100");
    price("BNBUSDT", "100");
    setenv("TRADEDESK_FEEDS", "binance", 1);
    snprintf(v, sizeof v, "ws://127.0.0.1:%d/ws", port);
    setenv("TRADEDESK_BINANCE_WS_URL", v, 1);
    return itest_engine_start(g_engine, sizeof g_engine) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop engine");
    itest_fake_exchange_stop(g_fake);
    unsetenv("TRADEDESK_FEEDS");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

static void status_of(long long id, char *out, size_t cap)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT status FROM conditional_orders WHERE id = %lld", id);
    assert_int_equal(itest_psql(sql, out, cap), 0);
}

static int wait_status(long long id, const char *want, int ms)
{
    char out[64] = "";
    long long deadline = itest_now_ms() + ms;
    do {
        status_of(id, out, sizeof out);
        if (strcmp(out, want) == 0)
            return 1;
        usleep(100 * 1000);
    } while (itest_now_ms() < deadline);
    fprintf(stderr, "    order %lld is %s, waited for %s\n", id, out, want);
    return 0;
}

static int active_in_engine(void)
{
    return (int)itest_engine_metric(g_engine, "tradedesk_engine_orders_active");
}

/* The engine leads, follows the venue and has loaded the three orders. */
static void engine_monitors(void **state)
{
    (void)state;
    long long deadline = itest_now_ms() + 15000;
    while (active_in_engine() < 3 && itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_true(active_in_engine() >= 3);
}

/* The order as its owner reads it over REST (cached for 2 s). */
static void api_status(long long id, char *out, size_t cap)
{
    char token[4096], path[96];
    itest_token("monitor_user", token, sizeof token);
    snprintf(path, sizeof path, "/api/v1/orders/conditional/%lld", id);
    itest_response *r = itest_get_auth(path, token);
    ITEST_STATUS(r, 200);
    snprintf(out, cap, "%s", itest_json_str(r, "status"));
    itest_free(r);
}

/* Held above the trigger, then exactly at it: fires there, at 95. */
static void stop_loss_fires_at_its_trigger(void **state)
{
    (void)state;
    char out[256];
    price("BTCUSDT", "96");
    usleep(800 * 1000);
    status_of(g_stop, out, sizeof out);
    assert_string_equal(out, "active"); /* 96 is not 95 */
    api_status(g_stop, out, sizeof out); /* now in the API's cache */
    assert_string_equal(out, "active");
    price("BTCUSDT", "95");
    assert_true(wait_status(g_stop, "filled", 5000));
    /* The fill made the owner's cached answers stale at once: the API
     * says filled well within the cache's 2 s. */
    long long deadline = itest_now_ms() + 500;
    do {
        api_status(g_stop, out, sizeof out);
    } while (strcmp(out, "filled") != 0 && itest_now_ms() < deadline);
    assert_string_equal(out, "filled");
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT f.price, f.quantity, p.quantity, p.status FROM fills f JOIN positions p ON "
             "p.id = f.position_id WHERE f.order_id = %lld",
             g_stop);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "95.00000000|0.50000000|0.50000000|open");

    /* And over REST: the owner's fill, and the position it reduced. */
    char token[4096], path[96], id[24];
    itest_token("monitor_user", token, sizeof token);
    itest_response *r = itest_get_auth("/api/v1/fills?symbol=BTC-USDT", token);
    ITEST_STATUS(r, 200);
    json_object *fill = json_object_array_get_idx(itest_json_get(r, "items"), 0), *v;
    assert_non_null(fill);
    assert_true(json_object_object_get_ex(fill, "price", &v));
    assert_string_equal(json_object_get_string(v), "95.00");
    assert_true(json_object_object_get_ex(fill, "quantity", &v));
    assert_string_equal(json_object_get_string(v), "0.50");
    assert_true(json_object_object_get_ex(fill, "position_id", &v));
    snprintf(id, sizeof id, "%s", json_object_get_string(v));
    itest_free(r);
    snprintf(path, sizeof path, "/api/v1/positions/%s", id);
    r = itest_get_auth(path, token);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "quantity"), "0.50");
    assert_string_equal(itest_json_str(r, "status"), "open");
    assert_string_equal(itest_json_str(r, "realized_pnl"), "-2.50"); /* (95 - 100) × 0.5 */
    itest_free(r);
}

/* An order that is already due at the current price when the engine
 * learns of it (written by something that did not check the price, the
 * venue quiet meanwhile) fires within about a second without a tick:
 * the monitor shows each index its price once a second. */
static void order_due_without_a_tick_fires(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 '%s/control/silence?on=1'", g_fake_url);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
    usleep(300 * 1000); /* pushes already on their way are in */
    /* BTC-USDT is at 95 (above); a sell stop at 96 on what is left of
     * its position is due at once. */
    long long id = itest_sql_int(
        "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity, "
        "position_id, trigger_price) SELECT %d, 'due-without-tick', 'stop_loss', 'sell', "
        "'BTC-USDT', 0.25, id, 96 FROM positions WHERE user_id = %d AND symbol = 'BTC-USDT' "
        "AND status = 'open' RETURNING id",
        g_user, g_user);
    int filled = id > 0 && wait_status(id, "filled", 3000);
    snprintf(cmd, sizeof cmd, "curl -s -m 5 '%s/control/silence?on=0'", g_fake_url);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
    assert_true(id > 0);
    assert_true(filled);
    char sql[128], out[64];
    snprintf(sql, sizeof sql, "SELECT price FROM fills WHERE order_id = %lld", id);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "95.00000000");
}

/* A gap straight through the trigger fills at the tick that crossed it. */
static void take_profit_fires_on_a_gap(void **state)
{
    (void)state;
    char out[256];
    price("ETHUSDT", "109.99");
    usleep(800 * 1000);
    status_of(g_take, out, sizeof out);
    assert_string_equal(out, "active");
    price("ETHUSDT", "112.5");
    assert_true(wait_status(g_take, "filled", 5000));
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT price FROM fills WHERE order_id = %lld", g_take);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "112.50000000");
}

/* 5 %: a high of 120, then 114.01 holds, 114 (= 120 × 0.95) fires. */
static void trailing_stop_follows_the_high(void **state)
{
    (void)state;
    char out[256];
    price("SOLUSDT", "120");
    usleep(800 * 1000);
    price("SOLUSDT", "114.01");
    usleep(800 * 1000);
    status_of(g_trail, out, sizeof out);
    assert_string_equal(out, "active");
    price("SOLUSDT", "114");
    assert_true(wait_status(g_trail, "filled", 5000));
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT price FROM fills WHERE order_id = %lld", g_trail);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "114.00000000");
}

/* A trailing stop's high survives a restart: 10 % from a high of 150 is
 * 135, so after the restart 136 holds and 135 fires (a high forgotten in
 * the restart would have started again at 136). */
static void trailing_high_survives_a_restart(void **state)
{
    (void)state;
    char out[128], sql[160];
    price("BNBUSDT", "150");
    snprintf(sql, sizeof sql,
             "SELECT armed, extreme_price FROM conditional_orders WHERE id = %lld", g_resume);
    long long deadline = itest_now_ms() + 5000;
    do {
        usleep(200 * 1000);
        assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    } while (strcmp(out, "t|150.00000000") != 0 && itest_now_ms() < deadline);
    assert_string_equal(out, "t|150.00000000"); /* written back within a second or so */
    assert_int_equal(itest_stack("stop engine"), 0);
    price("BNBUSDT", "136");
    assert_int_equal(itest_stack("start engine"), 0);
    usleep(2500 * 1000); /* leading, loaded, ticked at 136 */
    status_of(g_resume, out, sizeof out);
    assert_string_equal(out, "active");
    price("BNBUSDT", "135");
    assert_true(wait_status(g_resume, "filled", 8000));
    snprintf(sql, sizeof sql, "SELECT price FROM fills WHERE order_id = %lld", g_resume);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "135.00000000");
}

/* An OCO bracket placed over REST on a position: the stop-loss leg fires
 * on its tick, the take-profit leg is cancelled (oco) in the same
 * transaction, and the engine does not fire it later. */
static void oco_one_fires_the_other_cancels(void **state)
{
    (void)state;
    char token[4096], body[512], tp[24], sl[24], out[64];
    long long pos = itest_sql_int("INSERT INTO positions (user_id, symbol, side, quantity, entry_price) "
                           "VALUES (%d, 'XRP-USDT', 'long', 1, 100) RETURNING id",
                           g_user);
    price("XRPUSDT", "100");
    itest_token("monitor_user", token, sizeof token);
    snprintf(body, sizeof body,
             "{\"side\":\"sell\",\"symbol\":\"XRP-USDT\",\"quantity\":\"1\",\"position_id\":"
             "\"%lld\",\"take_profit\":{\"trigger_price\":\"130\"},\"stop_loss\":{\"trigger_price\":"
             "\"80\"}}",
             pos);
    /* The API judges the triggers against the current price: wait for
     * the venue's 100 to be it. */
    itest_response *r = NULL;
    long long deadline = itest_now_ms() + 5000;
    for (;;) {
        r = itest_post_auth("/api/v1/orders/oco", token, body);
        if (r->status == 201 || itest_now_ms() > deadline)
            break;
        itest_free(r);
        usleep(200 * 1000);
    }
    ITEST_STATUS(r, 201);
    json_object *legs = itest_json_get(r, "orders"), *v;
    assert_true(json_object_object_get_ex(json_object_array_get_idx(legs, 0), "id", &v));
    snprintf(tp, sizeof tp, "%s", json_object_get_string(v));
    assert_true(json_object_object_get_ex(json_object_array_get_idx(legs, 1), "id", &v));
    snprintf(sl, sizeof sl, "%s", json_object_get_string(v));
    itest_free(r);

    usleep(500 * 1000); /* NOTIFY: the monitor holds both */
    price("XRPUSDT", "79.5");
    assert_true(wait_status(atoll(sl), "filled", 5000));
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status, cancel_reason FROM conditional_orders WHERE id = %s",
             tp);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "cancelled|oco");
    /* The cancelled leg never fires, even on its own trigger. */
    price("XRPUSDT", "131");
    usleep(1500 * 1000);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM fills WHERE order_id = %s", tp);
    assert_int_equal(itest_psql_int(sql), 0);
}

/* Orders follow their position: closed in psql, its order expires (the
 * database's trigger), the monitor drops it at once (NOTIFY), and its
 * trigger price later fills nothing. */
static void closing_the_position_expires_its_orders(void **state)
{
    (void)state;
    int before = active_in_engine();
    /* On what is left of the ETH position (the take-profit sold half). */
    long long id = itest_sql_int("INSERT INTO conditional_orders (user_id, client_order_id, type, side, "
                          "symbol, quantity, position_id, trigger_price) SELECT %d, 'close-1', "
                          "'stop_loss', 'sell', 'ETH-USDT', 0.1, id, 50 FROM positions WHERE "
                          "user_id = %d AND symbol = 'ETH-USDT' AND status = 'open' RETURNING id",
                          g_user, g_user);
    assert_true(id > 0);
    long long deadline = itest_now_ms() + 3000;
    while (active_in_engine() != before + 1 && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_int_equal(active_in_engine(), before + 1);
    char sql[256], out[64];
    snprintf(sql, sizeof sql,
             "UPDATE positions SET status = 'closed', closed_at = now() WHERE id = (SELECT "
             "position_id FROM conditional_orders WHERE id = %lld)",
             id);
    assert_int_equal(itest_psql(sql, NULL, 0), 0);
    snprintf(sql, sizeof sql, "SELECT status, cancel_reason FROM conditional_orders WHERE id = %lld",
             id);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    assert_string_equal(out, "expired|position_closed");
    deadline = itest_now_ms() + 3000;
    while (active_in_engine() != before && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_int_equal(active_in_engine(), before);
    price("ETHUSDT", "49");
    usleep(1500 * 1000);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM fills WHERE order_id = %lld", id);
    assert_int_equal(itest_psql_int(sql), 0);
}

/* The fills the tests above made: stop-loss, the order due without a
 * tick, take-profit, trailing, its restart, the OCO leg. */
#define FILLS 6

/* Every fill once in PostgreSQL and once in the user's Stream. */
static void each_fill_once_downstream(void **state)
{
    (void)state;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM fills WHERE user_id = %d", g_user);
    assert_int_equal(itest_psql_int(sql), FILLS);
    char args[64], out[64] = "";
    snprintf(args, sizeof args, "XLEN td:fills:%d", g_user);
    long long deadline = itest_now_ms() + 5000;
    while (atoi(out) < FILLS && itest_now_ms() < deadline) {
        itest_redis_cli(args, out, sizeof out);
        usleep(100 * 1000);
    }
    assert_int_equal(atoi(out), FILLS);
    /* The engine timed each: tick -> fill. */
    /* since the restart; the demo data's orders fire on these ticks too */
    assert_true(itest_engine_metric(g_engine, "tradedesk_engine_tick_to_fill_seconds_count") >= 1);
    /* ... and the relay, woken by those commits, timed their delivery. */
    assert_true(
        itest_engine_metric(g_engine, "tradedesk_engine_relay_wake_to_published_seconds_count") >=
        1);
    /* Those since the engine's restart went to Redis from their commit
     * (sql/025). */
    double pushed =
        itest_engine_metric(g_engine, "tradedesk_engine_fills_pushed_total{result=\"pushed\"}");
    fprintf(stderr, "    pushed since the restart: %.0f\n", pushed);
    assert_true(pushed >= 2); /* (the trailing stop's after the restart, the OCO leg) */
    /* Ticks go on; nothing fires twice. */
    price("BTCUSDT", "90");
    usleep(1500 * 1000);
    assert_int_equal(itest_psql_int(sql), FILLS);
}

static double pushes(const char *result)
{
    char series[96];
    snprintf(series, sizeof series, "tradedesk_engine_fills_pushed_total{result=\"%s\"}", result);
    return itest_engine_metric(g_engine, series);
}

/* A stop-loss of 0.5 of user's at trigger on their position of BTC-USDT
 * (1 opened for the first), placed
 * while the engine runs; waits until the monitor holds it.  Its id. */
static long long live_order(int user, const char *trigger)
{
    int before = active_in_engine();
    long long pos = itest_sql_int("INSERT INTO positions (user_id, symbol, side, quantity, entry_price) "
                                  "VALUES (%d, 'BTC-USDT', 'long', 1, 100) ON CONFLICT DO NOTHING;"
                                  " SELECT id FROM positions WHERE user_id = %d AND status = 'open'",
                                  user, user);
    long long id = itest_sql_int("INSERT INTO conditional_orders (user_id, client_order_id, type, side,"
                                 " symbol, quantity, position_id, trigger_price) VALUES (%d, 'p' ||"
                                 " substr(md5(random()::text), 1, 20), 'stop_loss', 'sell', 'BTC-USDT',"
                                 " 0.5, %lld, %s) RETURNING id",
                                 user, pos, trigger);
    long long deadline = itest_now_ms() + 5000;
    while (active_in_engine() <= before && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_true(active_in_engine() > before);
    return id;
}

/* The fill's id once order id is filled (5 s at most). */
static long long filled(long long id)
{
    assert_true(wait_status(id, "filled", 5000));
    return itest_sql_int("SELECT id FROM fills WHERE order_id = %lld", id);
}

/* How many entries of the user's Stream have this id. */
static int entries(int user, const char *entry)
{
    char args[160], out[8192];
    snprintf(args, sizeof args, "XRANGE td:fills:%d %s %s", user, entry, entry);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    int n = 0;
    for (const char *p = out; (p = strstr(p, entry)); p += strlen(entry))
        n += (p == out || p[-1] == '\n') && (p[strlen(entry)] == '\n' || !p[strlen(entry)]);
    return n;
}

/* How many messages on td:fills the test's subscriber heard of this fill
 * (written by the monitor, compact, or from the outbox's jsonb). */
static int heard_fill(long long fill)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"id\":\"%lld\"", fill);
    int n = itest_redis_heard("push", needle);
    snprintf(needle, sizeof needle, "\"id\": \"%lld\"", fill);
    return n + itest_redis_heard("push", needle);
}

/* sql/025: a fill goes to Redis from its commit, into the Stream and onto
 * td:fills once (the relay then finds it there and publishes nothing);
 * one whose user's Stream does not end with the user's previous fill is
 * not pushed (it would pass an entry the Stream must keep in order) and
 * the relay delivers it, once too. */
static void pushed_at_the_commit_in_turn(void **state)
{
    (void)state;
    int user = (int)itest_user_cash("monitor_push", "1000");
    assert_true(user > 0);
    assert_int_equal(itest_redis_listen("push", "td:fills", 20), 0);
    double pushed = pushes("pushed"), relay = pushes("relay");
    long long first = live_order(user, "85");
    price("BTCUSDT", "85");
    long long f1 = filled(first);
    char entry[48];
    snprintf(entry, sizeof entry, "%lld-0", f1);
    long long deadline = itest_now_ms() + 5000;
    while (entries(user, entry) < 1 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(entries(user, entry), 1);
    assert_true(pushes("pushed") >= pushed + 1);
    /* What the monitor pushed is what REST answers for the fill, member
     * for member (store/pgjson's fill writer, both). */
    char args[160], out[8192], token[4096], path[96];
    snprintf(args, sizeof args, "XRANGE td:fills:%d %s %s", user, entry, entry);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    const char *json = strchr(out, '{');
    assert_non_null(json);
    json_object *pushed_fill = json_tokener_parse(json);
    assert_non_null(pushed_fill);
    itest_token("monitor_push", token, sizeof token);
    snprintf(path, sizeof path, "/api/v1/fills?since=%lld", f1 - 1);
    itest_response *rest = itest_get_auth(path, token);
    ITEST_STATUS(rest, 200);
    json_object *item = json_object_array_get_idx(itest_json_get(rest, "items"), 0);
    assert_non_null(item);
    fprintf(stderr, "    pushed %s\n    REST   %s\n", json_object_to_json_string(pushed_fill),
            json_object_to_json_string(item));
    assert_true(json_object_equal(pushed_fill, item));
    json_object_put(pushed_fill);
    itest_free(rest);

    /* An entry after the first fill that is no fill of the user's (a
     * writer out of line): the next fill's previous is not the newest. */
    snprintf(args, sizeof args, "XADD td:fills:%d %lld-1 fill {}", user, f1);
    assert_int_equal(itest_redis_cli(args, NULL, 0), 0);
    long long second = live_order(user, "80");
    price("BTCUSDT", "80");
    long long f2 = filled(second);
    snprintf(entry, sizeof entry, "%lld-0", f2);
    deadline = itest_now_ms() + 5000;
    while (entries(user, entry) < 1 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(entries(user, entry), 1); /* the relay's */
    assert_true(pushes("relay") >= relay + 1);

    /* Both published once, the relay's turn included (its mark a moment
     * after; the channel heard by then). */
    usleep(500 * 1000);
    assert_int_equal(heard_fill(f1), 1);
    assert_int_equal(heard_fill(f2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_monitors),
        cmocka_unit_test(stop_loss_fires_at_its_trigger),
        cmocka_unit_test(order_due_without_a_tick_fires),
        cmocka_unit_test(take_profit_fires_on_a_gap),
        cmocka_unit_test(trailing_stop_follows_the_high),
        cmocka_unit_test(trailing_high_survives_a_restart),
        cmocka_unit_test(oco_one_fires_the_other_cancels),
        cmocka_unit_test(closing_the_position_expires_its_orders),
        cmocka_unit_test(each_fill_once_downstream),
        cmocka_unit_test(pushed_at_the_commit_in_turn),
    };
    return cmocka_run_group_tests_name("monitor", tests, setup, teardown);
}
