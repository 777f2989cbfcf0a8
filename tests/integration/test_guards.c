/*
 * test_guards.c - the drawdown guard end to end (engine/guard.c,
 * sql/011_drawdown.sql, handlers/guards.c), with a snapshot every second:
 * a trader whose long loses value is a warning, then critical; with
 * TRADEDESK_GUARD_ACTION=block their next conditional order and OCO are
 * 409 guard_tripped until an admin resets the guard, or until the level
 * falls back below critical; with `close` their positions are closed once,
 * as fills, however many runs and engine restarts follow.  Each event is
 * an audit row and an outbox row for the user's `orders` channel.  Bad
 * input to the routes gets the error envelope and changes nothing.
 *
 * Prices are the test's: the symbols here are inactive instruments, which
 * no engine quotes, so their prices_latest rows move only when the test
 * writes them (the guard marks positions at prices_latest, as the API's
 * portfolio does).
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
#include "wsclient.h"

#define GUARD "/api/v1/guards/drawdown"
#define ORDERS "/api/v1/orders/conditional"

static long long g_block, g_close, g_admin; /* users' ids */
static char g_tok_block[2048], g_tok_close[2048], g_tok_admin[2048], g_listen[64];

static void set_price(const char *symbol, const char *price)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE prices_latest SET price = %s, updated_at = now() WHERE symbol = '%s'", price,
             symbol);
    assert_int_equal(itest_psql(sql, NULL, 0), 0);
}

/* An order of user's filled at price by fill_orders() as the app: opens
 * (buy) a long. */
static void open_long(long long user, const char *symbol, const char *qty, const char *price)
{
    long long order = itest_sql_int(
        "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity, "
        "trigger_price) VALUES (%lld, 'dd' || substr(md5(random()::text), 1, 20), 'stop_loss', "
        "'buy', '%s', %s, 100000000) RETURNING id",
        user, symbol, qty);
    char sql[512], out[64];
    snprintf(sql, sizeof sql,
             "SELECT outcome FROM fill_orders((SELECT token FROM engine_fence), ARRAY[%lld]"
             "::bigint[], ARRAY[%s]::numeric[], ARRAY[now()])",
             order, price);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    assert_string_equal(out, "filled");
}

static int engine_up(const char *action)
{
    setenv("TRADEDESK_GUARD_ACTION", action, 1);
    return itest_engine_start(g_listen, sizeof g_listen);
}

static int setup(void **state)
{
    (void)state;
    setenv("TRADEDESK_GUARD_INTERVAL_S", "1", 1);
    /* Instruments no engine quotes (inactive), priced by the test. */
    if (itest_psql("INSERT INTO instruments (symbol, base, quote, active) VALUES "
                   "('DDA-USDT', 'DDA', 'USDT', false), ('DDB-USDT', 'DDB', 'USDT', false), "
                   "('DDC-USDT', 'DDC', 'USDT', false) ON CONFLICT DO NOTHING; "
                   "INSERT INTO prices_latest (symbol, price, source) VALUES "
                   "('DDA-USDT', 100, 'test'), ('DDB-USDT', 100, 'test'), "
                   "('DDC-USDT', 100, 'test') ON CONFLICT (symbol) DO UPDATE SET price = 100",
                   NULL, 0) != 0)
        return -1;
    g_block = itest_user_cash("dd_block", "10000");
    g_close = itest_user_cash("dd_close", "10000");
    g_admin = itest_psql_int("SELECT id FROM users WHERE username = 'admin'");
    if (g_block <= 0 || g_close <= 0 || g_admin <= 0)
        return -1;
    /* dd_block: 100 DDA at 100, all its cash; dd_close: 30 DDB and 20 DDC
     * at 100, half of it.  Both start at an equity of 10,000. */
    open_long(g_block, "DDA-USDT", "100", "100");
    open_long(g_close, "DDB-USDT", "30", "100");
    open_long(g_close, "DDC-USDT", "20", "100");
    if (engine_up("block") != 0 || itest_stack("start stream") != 0)
        return -1;
    itest_token("dd_block", g_tok_block, sizeof g_tok_block);
    itest_token("dd_close", g_tok_close, sizeof g_tok_close);
    itest_token("admin", g_tok_admin, sizeof g_tok_admin);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop stream");
    rc |= itest_stack("stop engine");
    unsetenv("TRADEDESK_GUARD_INTERVAL_S");
    unsetenv("TRADEDESK_GUARD_ACTION");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* The first line of a query's answer, into a static buffer. */
static const char *sql_text(const char *fmt, long long user)
{
    static char out[256];
    char sql[512];
    snprintf(sql, sizeof sql, fmt, user);
    out[0] = '\0';
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    return out;
}

/* Wait (15 s at most) until the query about user answers want. */
static void wait_for(const char *fmt, long long user, const char *want)
{
    long long deadline = itest_now_ms() + 15000;
    while (strcmp(sql_text(fmt, user), want) != 0 && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_string_equal(sql_text(fmt, user), want);
}

#define LEVEL "SELECT level FROM drawdown_guards WHERE user_id = %lld"
#define SNAPSHOTS "SELECT count(*) FROM equity_snapshots WHERE user_id = %lld"

/* n more snapshots of user's taken after this call. */
static void wait_runs(long long user, int n)
{
    long long base = atoll(sql_text(SNAPSHOTS, user)), deadline = itest_now_ms() + 20000;
    while (atoll(sql_text(SNAPSHOTS, user)) < base + n && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_true(atoll(sql_text(SNAPSHOTS, user)) >= base + n);
}

/* GET /guards/drawdown as token, once it shows level (the answer is cached
 * a few seconds). */
static itest_response *guard_at(const char *token, const char *level)
{
    long long deadline = itest_now_ms() + 10000;
    for (;;) {
        itest_response *r = itest_get_auth(GUARD, token);
        ITEST_STATUS(r, 200);
        const char *l = itest_json_str(r, "level");
        if ((l && strcmp(l, level) == 0) || itest_now_ms() > deadline) {
            assert_string_equal(l, level);
            return r;
        }
        itest_free(r);
        usleep(200 * 1000);
    }
}

static void json_is(const itest_response *r, const char *dotted, const char *want)
{
    const char *v = itest_json_str(r, dotted);
    if (!v || strcmp(v, want) != 0)
        itest_dump(r);
    assert_non_null(v);
    assert_string_equal(v, want);
}

static int bool_at(const itest_response *r, const char *dotted)
{
    json_object *o = itest_json_get(r, dotted);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_boolean));
    return json_object_get_boolean(o);
}

/* A guard at its peak: normal, nothing tripped or blocked. */
static void at_peak(const itest_response *r, const char *equity)
{
    json_is(r, "level", "normal");
    json_is(r, "equity", equity);
    json_is(r, "peak", equity);
    json_is(r, "peak_today", equity);
    json_is(r, "drawdown_pct", "0.00");
    assert_false(bool_at(r, "tripped"));
    assert_false(bool_at(r, "blocked"));
}

/* How many of user's guard events of kind there are. */
static long long events(long long user, const char *kind)
{
    return itest_sql_int("SELECT count(*) FROM guard_events WHERE user_id = %lld AND kind = '%s'",
                         user, kind);
}

/* The same event's outbox row: topic orders, keyed by the user, payload
 * {"type":"guard","data":{"event":kind,...}}. */
static long long outbox_events(long long user, const char *kind)
{
    return itest_sql_int("SELECT count(*) FROM outbox WHERE topic = 'orders' AND key = '%lld' "
                         "AND payload->>'type' = 'guard' AND payload->'data'->>'event' = '%s' "
                         "AND payload->'data'->>'guard' = 'drawdown'",
                         user, kind);
}

static const char ORDER_BODY[] =
    "{\"type\":\"stop_loss\",\"side\":\"buy\",\"symbol\":\"BTC-USDT\",\"quantity\":\"0.001\","
    "\"trigger_price\":\"100000000\"}";
static const char OCO_BODY[] =
    "{\"side\":\"buy\",\"symbol\":\"BTC-USDT\",\"quantity\":\"0.001\","
    "\"take_profit\":{\"trigger_price\":\"1\"},\"stop_loss\":{\"trigger_price\":\"100000000\"}}";

static void block_trips_at_critical_until_reset(void **state)
{
    (void)state;
    wait_for(LEVEL, g_block, "normal");
    itest_response *r = guard_at(g_tok_block, "normal");
    json_is(r, "guard", "drawdown");
    at_peak(r, "10000.00");
    json_is(r, "thresholds.warning_pct", "5.00");
    json_is(r, "thresholds.critical_pct", "10.00");
    json_is(r, "action", "block");
    assert_non_null(itest_json_str(r, "as_of"));
    itest_free(r);

    /* 100 DDA from 100 to 94: 6 % below the peak, a warning. */
    set_price("DDA-USDT", "94");
    wait_for(LEVEL, g_block, "warning");
    r = guard_at(g_tok_block, "warning");
    json_is(r, "equity", "9400.00");
    json_is(r, "drawdown_pct", "6.00");
    assert_false(bool_at(r, "blocked"));
    itest_free(r);
    assert_int_equal(events(g_block, "level"), 1);
    assert_int_equal(outbox_events(g_block, "level"), 1);
    r = itest_post_auth(ORDERS, g_tok_block, ORDER_BODY); /* a warning blocks nothing */
    ITEST_STATUS(r, 201);
    itest_free(r);

    /* To 85: 15 %, critical; the guard trips and blocks, and the user's
     * orders channel says so. */
    itest_ws *w = itest_ws_subscribed(g_tok_block, "[\"orders\"]");
    assert_non_null(w);
    json_object *m;
    set_price("DDA-USDT", "85");
    wait_for(LEVEL, g_block, "critical");
    for (;;) { /* the level change to critical, then the trip */
        m = itest_ws_expect(w, "guard", "orders", 10000);
        assert_non_null(m);
        if (strcmp(itest_ws_str(m, "data.event"), "tripped") == 0)
            break;
        json_object_put(m);
    }
    assert_string_equal(itest_ws_str(m, "data.guard"), "drawdown");
    assert_string_equal(itest_ws_str(m, "data.level"), "critical");
    assert_string_equal(itest_ws_str(m, "data.action"), "block");
    assert_non_null(itest_ws_str(m, "id"));
    json_object_put(m);
    itest_ws_close(w);
    assert_string_equal(
        sql_text("SELECT blocked FROM drawdown_guards WHERE user_id = %lld", g_block), "t");
    assert_int_equal(events(g_block, "tripped"), 1);
    assert_int_equal(outbox_events(g_block, "tripped"), 1);
    assert_string_equal(
        sql_text("SELECT action || ' ' || actor || ' ' || previous_level FROM guard_events "
                 "WHERE user_id = %lld AND kind = 'tripped'",
                 g_block),
        "block engine warning");
    /* The push carries the guard as it stands (asyncapi.yaml's guard). */
    assert_string_equal(
        sql_text("SELECT concat_ws(' ', d->>'level', d->>'previous_level', d->>'action', "
                 "d->>'equity', d->>'peak', d->>'drawdown_pct', d->>'critical_pct', "
                 "d->>'blocked', d->>'actor', d->>'tripped_at' IS NOT NULL, "
                 "d->>'id' = (SELECT id::text FROM guard_events WHERE user_id = o.key::bigint "
                 "AND kind = 'tripped')) FROM (SELECT key, payload->'data' AS d FROM outbox "
                 "WHERE topic = 'orders' AND key = '%lld' AND payload->'data'->>'event' = "
                 "'tripped') o",
                 g_block),
        "critical warning block 8500.00 10000.00 15.00 10.00 true engine t t");
    r = guard_at(g_tok_block, "critical");
    json_is(r, "drawdown_pct", "15.00");
    assert_true(bool_at(r, "tripped"));
    assert_true(bool_at(r, "blocked"));
    assert_non_null(itest_json_str(r, "tripped_at"));
    itest_free(r);

    long long orders_before = itest_sql_int(
        "SELECT count(*) FROM conditional_orders WHERE user_id = %lld", g_block);
    r = itest_post_auth(ORDERS, g_tok_block, ORDER_BODY);
    ITEST_ERROR(r, 409, "guard_tripped");
    itest_free(r);
    r = itest_post_auth("/api/v1/orders/oco", g_tok_block, OCO_BODY);
    ITEST_ERROR(r, 409, "guard_tripped");
    itest_free(r);
    assert_int_equal(
        itest_sql_int("SELECT count(*) FROM conditional_orders WHERE user_id = %lld", g_block),
        orders_before);
    /* Another user is not blocked. */
    r = itest_post_auth(ORDERS, g_tok_close, ORDER_BODY);
    ITEST_STATUS(r, 201);
    itest_free(r);
    /* More runs at the same price: still one trip. */
    wait_runs(g_block, 2);
    assert_int_equal(events(g_block, "tripped"), 1);

    /* The admin resets it: the peaks move down to 8,500, orders pass. */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/admin/guards/%lld/reset", g_block);
    r = itest_post_auth(path, g_tok_admin, NULL);
    ITEST_STATUS(r, 200);
    at_peak(r, "8500.00");
    assert_non_null(itest_json_str(r, "reset_at"));
    itest_free(r);
    assert_int_equal(events(g_block, "reset"), 1);
    assert_int_equal(outbox_events(g_block, "reset"), 1);
    char actor[64];
    snprintf(actor, sizeof actor, "admin:%lld", g_admin);
    assert_string_equal(
        sql_text("SELECT actor FROM guard_events WHERE user_id = %lld AND kind = 'reset'", g_block),
        actor);
    r = itest_post_auth(ORDERS, g_tok_block, ORDER_BODY);
    ITEST_STATUS(r, 201);
    itest_free(r);
    /* The next runs judge from the new peak: normal, nothing new. */
    wait_runs(g_block, 2);
    assert_string_equal(sql_text(LEVEL, g_block), "normal");
    assert_int_equal(events(g_block, "tripped"), 1);
    r = guard_at(g_tok_block, "normal"); /* the reset made the cached answer stale */
    json_is(r, "peak", "8500.00");
    itest_free(r);
}

static void block_lifts_when_the_level_falls_back(void **state)
{
    (void)state;
    /* From the peak of 8,500: 75 is 11.8 % below, critical again. */
    set_price("DDA-USDT", "75");
    wait_for("SELECT blocked FROM drawdown_guards WHERE user_id = %lld", g_block, "t");
    assert_int_equal(events(g_block, "tripped"), 2);
    itest_response *r = itest_post_auth(ORDERS, g_tok_block, ORDER_BODY);
    ITEST_ERROR(r, 409, "guard_tripped");
    itest_free(r);
    /* Back to 80: 5.9 %, a warning: the block lifts by itself. */
    set_price("DDA-USDT", "80");
    wait_for("SELECT blocked FROM drawdown_guards WHERE user_id = %lld", g_block, "f");
    assert_string_equal(sql_text(LEVEL, g_block), "warning");
    assert_int_equal(events(g_block, "cleared"), 1);
    assert_int_equal(outbox_events(g_block, "cleared"), 1);
    assert_string_equal(
        sql_text("SELECT tripped_at IS NULL FROM drawdown_guards WHERE user_id = %lld", g_block),
        "t");
    r = itest_post_auth(ORDERS, g_tok_block, ORDER_BODY);
    ITEST_STATUS(r, 201);
    itest_free(r);
}

#define FILLS "SELECT count(*) FROM fills WHERE user_id = %lld"
#define OPEN "SELECT count(*) FROM positions WHERE user_id = %lld AND status = 'open'"

static void close_closes_positions_once(void **state)
{
    (void)state;
    assert_int_equal(itest_stack("stop engine"), 0);
    assert_int_equal(engine_up("close"), 0);
    wait_runs(g_close, 1);
    assert_string_equal(sql_text(LEVEL, g_close), "normal");
    assert_string_equal(sql_text(FILLS, g_close), "2"); /* the two openings */

    /* 30 DDB and 20 DDC from 100 to 80: equity 5,000 + 4,000, 10 % down. */
    set_price("DDB-USDT", "80");
    set_price("DDC-USDT", "80");
    wait_for(LEVEL, g_close, "critical");
    assert_int_equal(events(g_close, "tripped"), 1);
    assert_string_equal(
        sql_text("SELECT action || ' ' || closed_positions FROM guard_events WHERE user_id = %lld "
                 "AND kind = 'tripped'",
                 g_close),
        "close 2");
    assert_string_equal(sql_text(OPEN, g_close), "0");
    assert_string_equal(sql_text(FILLS, g_close), "4");
    /* Closed at the price, as fills of the paper executor: cash back,
     * each fill an outbox row for the user's Stream. */
    assert_string_equal(
        sql_text("SELECT cash_balance::numeric(20,2) FROM accounts WHERE user_id = %lld", g_close),
        "9000.00");
    assert_string_equal(
        sql_text("SELECT string_agg(side || ' ' || quantity::numeric(20,2) || ' ' || "
                 "price::numeric(20,2) || ' ' || realized_pnl::numeric(20,2), ', ' ORDER BY id) "
                 "FROM fills WHERE user_id = %lld AND side = 'sell'",
                 g_close),
        "sell 30.00 80.00 -600.00, sell 20.00 80.00 -400.00");
    assert_string_equal(
        sql_text("SELECT count(*) FROM outbox WHERE topic = 'fills' AND key = '%lld'", g_close),
        "4");
    assert_int_equal(outbox_events(g_close, "tripped"), 1);
    assert_string_equal(sql_text("SELECT payload->'data'->>'closed_positions' FROM outbox WHERE "
                                 "topic = 'orders' AND key = '%lld' AND "
                                 "payload->'data'->>'event' = 'tripped'",
                                 g_close),
                        "2");
    assert_string_equal(
        sql_text("SELECT count(*) FROM conditional_orders WHERE user_id = %lld AND "
                 "client_order_id LIKE 'guard-%%' AND status = 'filled'",
                 g_close),
        "2");

    /* More runs, then a restarted engine: still one trip, one set of fills. */
    wait_runs(g_close, 2);
    assert_int_equal(itest_stack("stop engine"), 0);
    assert_int_equal(engine_up("close"), 0);
    wait_runs(g_close, 2);
    assert_int_equal(events(g_close, "tripped"), 1);
    assert_string_equal(sql_text(FILLS, g_close), "4");
    assert_string_equal(sql_text(LEVEL, g_close), "critical");

    itest_response *r = guard_at(g_tok_close, "critical");
    json_is(r, "action", "close");
    json_is(r, "equity", "9000.00");
    json_is(r, "drawdown_pct", "10.00");
    assert_true(bool_at(r, "tripped"));
    assert_false(bool_at(r, "blocked")); /* `close` closes, it does not block */
    itest_free(r);
    r = itest_get_auth("/api/v1/positions?status=open", g_tok_close);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_non_null(items);
    assert_int_equal(json_object_array_length(items), 0);
    itest_free(r);
}

static void bad_input_changes_nothing(void **state)
{
    (void)state;
    const char *resets = "SELECT count(*) || ' ' || (SELECT count(*) FROM drawdown_guards "
                         "WHERE reset_at IS NOT NULL) FROM guard_events WHERE kind = 'reset' "
                         "AND user_id = %lld";
    char before[256];
    snprintf(before, sizeof before, "%s", sql_text(resets, g_close));
    assert_string_equal(before, "0 1"); /* dd_block's reset only */

    char own[128], query[160];
    snprintf(own, sizeof own, "/api/v1/admin/guards/%lld/reset", g_close);
    snprintf(query, sizeof query, "%s?now=1", own);
    const struct {
        const char *method, *path, *token;
        long status;
        const char *code;
    } bad[] = {
        {"GET", GUARD "?level=critical", g_tok_close, 400, "invalid_parameter"},
        {"GET", GUARD, NULL, 401, "unauthorized"},
        {"POST", own, g_tok_close, 403, "forbidden"}, /* a user is not an admin */
        {"POST", own, NULL, 401, "unauthorized"},
        {"POST", "/api/v1/admin/guards/abc/reset", g_tok_admin, 400, "invalid_parameter"},
        {"POST", "/api/v1/admin/guards/0/reset", g_tok_admin, 400, "invalid_parameter"},
        {"POST", query, g_tok_admin, 400, "invalid_parameter"},
        {"POST", "/api/v1/admin/guards/9223372036854775807/reset", g_tok_admin, 404, "not_found"},
        {"GET", own, g_tok_admin, 405, "method_not_allowed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        itest_response *r = itest_http_auth(bad[i].method, bad[i].path, bad[i].token);
        ITEST_ERROR(r, bad[i].status, bad[i].code);
        itest_free(r);
    }
    assert_string_equal(sql_text(resets, g_close), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(block_trips_at_critical_until_reset),
        cmocka_unit_test(block_lifts_when_the_level_falls_back),
        cmocka_unit_test(close_closes_positions_once),
        cmocka_unit_test(bad_input_changes_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
