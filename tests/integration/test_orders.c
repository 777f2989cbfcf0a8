/*
 * test_orders.c - the conditional-order API through nginx against the real
 * API, PostgreSQL and Redis: creating stop-loss, take-profit and trailing
 * orders and OCO brackets, every validation refusal (with nothing left
 * behind: rows are counted in psql), client_order_id duplicates, the
 * Idempotency-Key (replay, another body, 8 concurrent duplicates), cancel
 * (and 409 on an order that is not active; an OCO leg takes its sibling
 * along), the database's triggers (an OCO leg firing cancels the other, a
 * position closed by psql expires its orders, NOTIFY), another user's ids
 * answering 404, the cache made stale by every write, and GET /fills paging
 * with `since` over rows inserted by psql (the engine writes fills later).
 *
 * Each test works as users of its own, so counts are exact.  The demo
 * prices are old: every test stamps them fresh first; the teardown seeds
 * the demo data again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDERS "/api/v1/orders/conditional"
#define OCO "/api/v1/orders/oco"

typedef struct tuser {
    char name[64], id[24], token[2048];
} tuser;

static void tuser_new(tuser *u)
{
    assert_int_equal(itest_user_add("ord", "orders-pass-1", u->name, sizeof u->name), 0);
    itest_token(u->name, u->token, sizeof u->token);
    assert_int_equal(
        itest_sql(u->id, sizeof u->id, "SELECT id FROM users WHERE username = '%s'", u->name), 0);
}

/* A position of u, returned as its id. */
static void position_new(const tuser *u, const char *symbol, const char *side, const char *qty,
                         char *id, size_t cap)
{
    assert_int_equal(itest_sql(id, cap,
                               "INSERT INTO positions (user_id, symbol, side, quantity, "
                               "entry_price) VALUES (%s, '%s', '%s', %s, 100) RETURNING id",
                               u->id, symbol, side, qty),
                     0);
}

static long long count(const char *fmt, const char *arg)
{
    char q[512], out[64];
    snprintf(q, sizeof q, fmt, arg);
    assert_int_equal(itest_sql(out, sizeof out, "%s", q), 0);
    return atoll(out);
}

static long long orders_of(const tuser *u)
{
    return count("SELECT count(*) FROM conditional_orders WHERE user_id = %s", u->id);
}

static itest_response *send(const char *method, const char *path, const tuser *u, const char *extra,
                            const char *body)
{
    char auth[2100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
    const char *h[] = {auth, extra, NULL};
    return itest_http(method, path, h, body);
}

static itest_response *post(const char *path, const tuser *u, const char *body)
{
    return send("POST", path, u, NULL, body);
}

static itest_response *get(const char *path, const tuser *u)
{
    return send("GET", path, u, NULL, NULL);
}

static const char *str(const itest_response *r, const char *dotted)
{
    const char *v = itest_json_str(r, dotted);
    if (!v)
        itest_dump(r);
    assert_non_null(v);
    return v;
}

static void expect_str(const itest_response *r, const char *dotted, const char *want)
{
    assert_string_equal(str(r, dotted), want);
}

static void expect_null(const itest_response *r, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(r->json, key, &v));
    assert_null(v);
}

static int fresh_prices(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return itest_sql(NULL, 0, "UPDATE prices_latest SET updated_at = now()") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return itest_cli("seed demo", NULL, NULL, 0) == 0 ? 0 : -1;
}

/* BTC-USDT is 106562.08 in the demo prices. */
#define SELL_STOP "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\","
#define QTY "\"quantity\":\"0.01\""

/* -------------------------------------------------------------- create */

static void create_and_read(void **state)
{
    (void)state;
    tuser u;
    tuser_new(&u);
    itest_response *r = post(
        ORDERS, &u, SELL_STOP QTY ",\"trigger_price\":\"100000.5\",\"client_order_id\":\"my-1\"}");
    ITEST_STATUS(r, 201);
    char id[24];
    snprintf(id, sizeof id, "%s", str(r, "id"));
    expect_str(r, "client_order_id", "my-1");
    expect_str(r, "type", "stop_loss");
    expect_str(r, "side", "sell");
    expect_str(r, "quantity", "0.01");
    expect_str(r, "trigger_price", "100000.50");
    expect_str(r, "status", "active");
    expect_null(r, "callback_rate");
    expect_null(r, "oco_group_id");
    expect_null(r, "cancel_reason");
    expect_null(r, "triggered_at");
    assert_string_equal(itest_header(r, "Cache-Control"), "no-store");
    itest_free(r);

    /* Take-profit buy below the price; a trailing sell without activation
     * (armed at once by the engine) and one activating above the price. */
    r = post(ORDERS, &u,
             "{\"type\":\"take_profit\",\"side\":\"buy\",\"symbol\":\"BTC-USDT\"," QTY
             ",\"trigger_price\":\"90000\"}");
    ITEST_STATUS(r, 201);
    assert_true(strncmp(str(r, "client_order_id"), "td-", 3) == 0); /* named by the server */
    itest_free(r);
    r = post(ORDERS, &u,
             "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
             ",\"callback_rate\":\"1.5\",\"activation_price\":\"110000\"}");
    ITEST_STATUS(r, 201);
    expect_str(r, "callback_rate", "1.50");
    expect_str(r, "activation_price", "110000.00");
    expect_null(r, "trigger_price");
    expect_null(r, "extreme_price");
    assert_false(json_object_get_boolean(itest_json_get(r, "armed")));
    itest_free(r);
    /* Without an activation price it arms at creation, from the price now. */
    r = post(ORDERS, &u,
             "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
             ",\"callback_rate\":\"2\"}");
    ITEST_STATUS(r, 201);
    assert_true(json_object_get_boolean(itest_json_get(r, "armed")));
    char now_px[40];
    itest_sql(now_px, sizeof now_px,
              "SELECT td_money_text(price) FROM prices_latest WHERE symbol = 'BTC-USDT'");
    expect_str(r, "extreme_price", now_px);
    itest_free(r);
    assert_int_equal(orders_of(&u), 4);

    char path[128];
    snprintf(path, sizeof path, ORDERS "/%s", id);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    expect_str(r, "id", id);
    expect_str(r, "status", "active");
    itest_free(r);

    /* The list: keyset pages of one, then filters. */
    r = get(ORDERS "?limit=2", &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 2);
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", str(r, "next_cursor"));
    itest_free(r);
    snprintf(path, sizeof path, ORDERS "?limit=3&cursor=%s", cursor);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 2);
    assert_null(itest_json_get(r, "next_cursor"));
    itest_free(r);
    r = get(ORDERS "?status=active&symbol=BTC-USDT", &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 4);
    itest_free(r);
    r = get(ORDERS "?status=filled", &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 0);
    itest_free(r);

    const char *bad[] = {ORDERS "?status=open", ORDERS "?limit=0", ORDERS "?cursor=zz",
                         ORDERS "?colour=red", ORDERS "/abc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = get(bad[i], &u);
        ITEST_ERROR(r, 400, "invalid_parameter");
        itest_free(r);
    }
}

/* --------------------------------------------------------- refusals */

typedef struct refusal {
    long status;
    const char *code;
    const char *body;
} refusal;

static void run_refusals(const tuser *u, const char *path, const refusal *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        itest_response *r = post(path, u, t[i].body);
        if (r->status != t[i].status)
            fprintf(stderr, "    case %zu: %s\n", i, t[i].body);
        ITEST_ERROR(r, t[i].status, t[i].code);
        itest_free(r);
    }
}

static void refusals_leave_nothing(void **state)
{
    (void)state;
    tuser u, other;
    tuser_new(&u);
    tuser_new(&other);
    char mine[24], closed[24], theirs[24], eth[24], small[24];
    position_new(&u, "BTC-USDT", "long", "0.5", mine, sizeof mine);
    position_new(&u, "SOL-USDT", "short", "2", small, sizeof small);
    position_new(&u, "ETH-USDT", "long", "1", eth, sizeof eth);
    position_new(&other, "BTC-USDT", "long", "1", theirs, sizeof theirs);
    /* closed: a second BTC long of u, closed at once */
    assert_int_equal(
        itest_sql(
            closed, sizeof closed,
            "INSERT INTO positions (user_id, symbol, side, quantity, entry_price, status, "
            "closed_at) VALUES (%s, 'BTC-USDT', 'long', 1, 100, 'closed', now()) RETURNING id",
            u.id),
        0);
    assert_int_equal(itest_sql(NULL, 0,
                               "INSERT INTO instruments (symbol, base, quote) VALUES "
                               "('ZZQ-USDT', 'ZZQ', 'USDT') ON CONFLICT DO NOTHING; "
                               "DELETE FROM prices_latest WHERE symbol = 'ZZQ-USDT'; "
                               "UPDATE prices_latest SET updated_at = now() - interval '1 hour' "
                               "WHERE symbol = 'XRP-USDT'"),
                     0);

    char b[16][256];
    snprintf(b[0], sizeof b[0],
             SELL_STOP QTY ",\"trigger_price\":\"100000\",\"position_id\":\"%s\"}", theirs);
    snprintf(b[1], sizeof b[1],
             SELL_STOP QTY ",\"trigger_price\":\"100000\",\"position_id\":\"%s\"}", closed);
    snprintf(b[2], sizeof b[2],
             "{\"type\":\"stop_loss\",\"side\":\"buy\",\"symbol\":\"BTC-USDT\"," QTY
             ",\"trigger_price\":\"110000\",\"position_id\":\"%s\"}",
             mine);
    snprintf(b[3], sizeof b[3],
             SELL_STOP QTY ",\"trigger_price\":\"100000\",\"position_id\":\"%s\"}", eth);
    snprintf(b[4], sizeof b[4],
             SELL_STOP "\"quantity\":\"0.50000001\",\"trigger_price\":\"100000\",\"position_id\":"
                       "\"%s\"}",
             mine);
    snprintf(b[5], sizeof b[5],
             "{\"type\":\"take_profit\",\"side\":\"sell\",\"symbol\":\"SOL-USDT\","
             "\"quantity\":\"1\",\"trigger_price\":\"170\",\"position_id\":\"%s\"}",
             small);
    const refusal t[] = {
        {400, "invalid_json", "{\"type\":"},
        {400, "invalid_json", "[1]"},
        {400, "invalid_request", SELL_STOP QTY ",\"trigger_price\":\"100000\",\"colour\":\"red\"}"},
        {400, "invalid_request",
         "{\"type\":\"stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"trigger_price\":\"100000\"}"},
        {400, "invalid_request",
         "{\"type\":\"stop_loss\",\"side\":\"short\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"trigger_price\":\"100000\"}"},
        {400, "invalid_request", SELL_STOP "\"quantity\":\"0\",\"trigger_price\":\"100000\"}"},
        {400, "invalid_request", SELL_STOP "\"quantity\":\"-1\",\"trigger_price\":\"100000\"}"},
        {400, "invalid_request", SELL_STOP "\"quantity\":0.01,\"trigger_price\":\"100000\"}"},
        {400, "invalid_request",
         SELL_STOP "\"quantity\":\"0.000000001\",\"trigger_price\":\"100000\"}"},
        {400, "invalid_request", SELL_STOP "\"trigger_price\":\"100000\"}"},
        {400, "invalid_request", SELL_STOP QTY "}"},
        {400, "invalid_request", SELL_STOP QTY ",\"trigger_price\":\"1e5\"}"},
        {400, "invalid_request",
         SELL_STOP QTY ",\"trigger_price\":\"100000\",\"callback_rate\":\"1\"}"},
        {400, "invalid_request",
         SELL_STOP QTY ",\"trigger_price\":\"100000\",\"activation_price\":\"1\"}"},
        {400, "invalid_request",
         "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY "}"},
        {400, "invalid_request",
         "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"callback_rate\":\"1\",\"trigger_price\":\"100000\"}"},
        {400, "invalid_request",
         "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"callback_rate\":\"0.09\"}"},
        {400, "invalid_request",
         "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"callback_rate\":\"10.01\"}"},
        {400, "invalid_request",
         SELL_STOP QTY ",\"trigger_price\":\"100000\",\"client_order_id\":\"bad id!\"}"},
        {400, "invalid_request",
         SELL_STOP QTY ",\"trigger_price\":\"100000\",\"position_id\":\"x1\"}"},
        {400, "invalid_request",
         "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"btcusdt\"," QTY
         ",\"trigger_price\":\"1\"}"},
        {422, "unknown_symbol",
         "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"NOPE-USDT\"," QTY
         ",\"trigger_price\":\"1\"}"},
        {422, "price_unavailable",
         "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"ZZQ-USDT\"," QTY
         ",\"trigger_price\":\"1\"}"},
        {422, "price_unavailable",
         "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"XRP-USDT\"," QTY
         ",\"trigger_price\":\"1\"}"},
        /* at the price (<= fires) and beyond it */
        {422, "would_trigger_immediately", SELL_STOP QTY ",\"trigger_price\":\"106562.08\"}"},
        {422, "would_trigger_immediately", SELL_STOP QTY ",\"trigger_price\":\"110000\"}"},
        {422, "would_trigger_immediately",
         "{\"type\":\"stop_loss\",\"side\":\"buy\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"trigger_price\":\"100000\"}"},
        {422, "would_trigger_immediately",
         "{\"type\":\"take_profit\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"trigger_price\":\"100000\"}"},
        {422, "would_trigger_immediately",
         "{\"type\":\"trailing_stop\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"callback_rate\":\"1\",\"activation_price\":\"100000\"}"},
        {422, "position_not_found",
         SELL_STOP QTY ",\"trigger_price\":\"100000\",\"position_id\":\"999999999\"}"},
        {422, "position_not_found", b[0]},
        {409, "position_not_open", b[1]},
        {422, "position_mismatch", b[2]},
        {422, "position_mismatch", b[3]},
        {422, "quantity_exceeds_position", b[4]},
        {422, "position_mismatch", b[5]}, /* a short closes with buy */
    };
    run_refusals(&u, ORDERS, t, sizeof t / sizeof *t);

    /* A bad Idempotency-Key header. */
    itest_response *r = send("POST", ORDERS, &u, "Idempotency-Key: has space",
                             SELL_STOP QTY ",\"trigger_price\":\"100000\"}");
    ITEST_ERROR(r, 400, "invalid_request");
    itest_free(r);

    /* OCO refusals. */
    const refusal o[] = {
        {400, "invalid_request",
         "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"take_profit\":{\"trigger_price\":\"120000\"}}"},
        {400, "invalid_request",
         "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"take_profit\":{\"trigger_price\":\"120000\",\"callback_rate\":\"1\"},"
         "\"stop_loss\":{\"trigger_price\":\"100000\"}}"},
        {400, "invalid_request",
         "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"take_profit\":\"120000\",\"stop_loss\":{\"trigger_price\":\"100000\"}}"},
        {422, "would_trigger_immediately",
         "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"take_profit\":{\"trigger_price\":\"100000\"},"
         "\"stop_loss\":{\"trigger_price\":\"90000\"}}"},
        {422, "would_trigger_immediately",
         "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"take_profit\":{\"trigger_price\":\"120000\"},"
         "\"stop_loss\":{\"trigger_price\":\"110000\"}}"},
        {409, "duplicate_client_order_id",
         "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
         ",\"take_profit\":{\"trigger_price\":\"120000\",\"client_order_id\":\"same\"},"
         "\"stop_loss\":{\"trigger_price\":\"90000\",\"client_order_id\":\"same\"}}"},
    };
    run_refusals(&u, OCO, o, sizeof o / sizeof *o);

    assert_int_equal(orders_of(&u), 0);
    assert_int_equal(count("SELECT count(*) FROM oco_groups WHERE user_id = %s", u.id), 0);
    assert_int_equal(count("SELECT count(*) FROM idempotency_keys WHERE user_id = %s", u.id), 0);
    assert_int_equal(orders_of(&other), 0);
}

/* ----------------------------------------------- duplicates, idempotency */

static void client_order_id_unique(void **state)
{
    (void)state;
    tuser u, other;
    tuser_new(&u);
    tuser_new(&other);
    const char *body = SELL_STOP QTY ",\"trigger_price\":\"100000\",\"client_order_id\":\"dup-1\"}";
    itest_response *r = post(ORDERS, &u, body);
    ITEST_STATUS(r, 201);
    itest_free(r);
    r = post(ORDERS, &u, body);
    ITEST_ERROR(r, 409, "duplicate_client_order_id");
    itest_free(r);
    assert_int_equal(orders_of(&u), 1);
    /* Unique per user: another user may use the same id. */
    r = post(ORDERS, &other, body);
    ITEST_STATUS(r, 201);
    itest_free(r);
}

static void idempotency_key(void **state)
{
    (void)state;
    tuser u;
    tuser_new(&u);
    const char *key = "Idempotency-Key: order-key-1";
    const char *body = SELL_STOP QTY ",\"trigger_price\":\"100000\"}";
    itest_response *first = send("POST", ORDERS, &u, key, body);
    ITEST_STATUS(first, 201);
    assert_null(itest_header(first, "Idempotent-Replayed"));

    /* The same request again, even spelled differently, and after the price
     * moved so that it would now trigger: the original answer. */
    assert_int_equal(itest_sql(NULL, 0,
                               "UPDATE prices_latest SET price = 99000, updated_at = "
                               "now() WHERE symbol = 'BTC-USDT'"),
                     0);
    const char *same[] = {body,
                          "{ \"trigger_price\" : \"100000.00\", \"quantity\":\"0.010\", "
                          "\"symbol\":\"BTC-USDT\",\"side\":\"sell\",\"type\":\"stop_loss\"}"};
    for (int i = 0; i < 2; i++) {
        itest_response *r = send("POST", ORDERS, &u, key, same[i]);
        ITEST_STATUS(r, 201);
        assert_string_equal(itest_header(r, "Idempotent-Replayed"), "true");
        assert_string_equal(r->body, first->body);
        itest_free(r);
    }
    itest_free(first);
    assert_int_equal(itest_sql(NULL, 0,
                               "UPDATE prices_latest SET price = 106562.08 "
                               "WHERE symbol = 'BTC-USDT'"),
                     0);

    /* Another body with the key: refused, and never a second order; on the
     * OCO route too. */
    itest_response *r =
        send("POST", ORDERS, &u, key, SELL_STOP QTY ",\"trigger_price\":\"99999\"}");
    ITEST_ERROR(r, 422, "idempotency_key_reused");
    itest_free(r);
    r = send("POST", OCO, &u, key,
             "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\"," QTY
             ",\"take_profit\":{\"trigger_price\":\"120000\"},"
             "\"stop_loss\":{\"trigger_price\":\"90000\"}}");
    ITEST_ERROR(r, 422, "idempotency_key_reused");
    itest_free(r);
    assert_int_equal(orders_of(&u), 1);

    /* 8 concurrent duplicates: one order, eight 201s with one body. */
    char cmd[4096], out[2048];
    snprintf(cmd, sizeof cmd,
             "seq 8 | xargs -P8 -I{} curl -s -o /dev/null -w '%%{http_code}\\n' -X POST "
             "-H 'Authorization: Bearer %s' -H 'Idempotency-Key: burst-1' "
             "-H 'Content-Type: application/json' "
             "-d '{\"type\":\"take_profit\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\","
             "\"quantity\":\"0.02\",\"trigger_price\":\"120000\"}' '%s" ORDERS "' | sort | uniq -c",
             u.token, getenv("TD_TEST_URL"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    fprintf(stderr, "    8 concurrent: %s\n", out);
    assert_non_null(strstr(out, "8 201"));
    assert_int_equal(orders_of(&u), 2);
    assert_int_equal(count("SELECT count(*) FROM idempotency_keys WHERE user_id = %s", u.id), 2);
}

/* ------------------------------------------------------------- cancel */

static void cancel_and_cache(void **state)
{
    (void)state;
    tuser u, other;
    tuser_new(&u);
    tuser_new(&other);
    itest_response *r = post(ORDERS, &u, SELL_STOP QTY ",\"trigger_price\":\"100000\"}");
    ITEST_STATUS(r, 201);
    char path[128];
    snprintf(path, sizeof path, ORDERS "/%s", str(r, "id"));
    itest_free(r);

    /* Cached: MISS, then HIT. */
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    itest_free(r);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "X-Cache"), "HIT");
    itest_free(r);
    r = get(ORDERS, &u);
    itest_free(r);

    /* Another user sees nothing of it. */
    r = get(path, &other);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);
    r = send("DELETE", path, &other, NULL, NULL);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);

    r = send("DELETE", path, &u, NULL, NULL);
    ITEST_STATUS(r, 200);
    expect_str(r, "status", "cancelled");
    expect_str(r, "cancel_reason", "user");
    assert_non_null(itest_json_str(r, "cancelled_at"));
    itest_free(r);

    /* Stale at once: the next reads miss and show the cancel. */
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "X-Cache"), "MISS");
    expect_str(r, "status", "cancelled");
    itest_free(r);
    r = get(ORDERS "?status=active", &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 0);
    itest_free(r);

    r = send("DELETE", path, &u, NULL, NULL);
    ITEST_ERROR(r, 409, "order_not_active");
    itest_free(r);
    r = send("DELETE", ORDERS "/999999999", &u, NULL, NULL);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);
    r = send("DELETE", ORDERS "/0", &u, NULL, NULL);
    ITEST_ERROR(r, 400, "invalid_parameter");
    itest_free(r);
}

/* ---------------------------------------------------------------- OCO */

static const char *leg(const itest_response *r, int i, const char *key)
{
    json_object *o = json_object_array_get_idx(itest_json_get(r, "orders"), (size_t)i), *v;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, key, &v));
    return v ? json_object_get_string(v) : NULL;
}

static void oco_brackets(void **state)
{
    (void)state;
    tuser u;
    tuser_new(&u);
    char pos[24], body[512];
    position_new(&u, "BTC-USDT", "long", "0.5", pos, sizeof pos);
    snprintf(body, sizeof body,
             "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\",\"quantity\":\"0.5\",\"position_id\":"
             "\"%s\",\"take_profit\":{\"trigger_price\":\"120000\",\"client_order_id\":\"tp-1\"},"
             "\"stop_loss\":{\"trigger_price\":\"95000\"}}",
             pos);
    itest_response *r = post(OCO, &u, body);
    ITEST_STATUS(r, 201);
    char group[24], tp[24], sl[24], path[128];
    snprintf(group, sizeof group, "%s", str(r, "id"));
    snprintf(tp, sizeof tp, "%s", leg(r, 0, "id"));
    snprintf(sl, sizeof sl, "%s", leg(r, 1, "id"));
    assert_string_equal(leg(r, 0, "type"), "take_profit");
    assert_string_equal(leg(r, 0, "client_order_id"), "tp-1");
    assert_string_equal(leg(r, 1, "type"), "stop_loss");
    assert_string_equal(leg(r, 0, "oco_group_id"), group);
    assert_string_equal(leg(r, 1, "oco_group_id"), group);
    assert_string_equal(leg(r, 1, "position_id"), pos);
    itest_free(r);

    /* Cancelling one leg cancels both. */
    snprintf(path, sizeof path, ORDERS "/%s", sl);
    r = send("DELETE", path, &u, NULL, NULL);
    ITEST_STATUS(r, 200);
    expect_str(r, "cancel_reason", "user");
    itest_free(r);
    snprintf(path, sizeof path, ORDERS "/%s", tp);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    expect_str(r, "status", "cancelled");
    expect_str(r, "cancel_reason", "oco");
    itest_free(r);

    /* A bracket with a trailing stop leg; then one leg fires (as the
     * engine's fill transaction will move it): the other is cancelled by
     * the database in the same statement. */
    snprintf(body, sizeof body,
             "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\",\"quantity\":\"0.25\",\"position_id\":"
             "\"%s\",\"take_profit\":{\"trigger_price\":\"120000\"},"
             "\"stop_loss\":{\"callback_rate\":\"2\",\"activation_price\":\"108000\"}}",
             pos);
    r = post(OCO, &u, body);
    ITEST_STATUS(r, 201);
    assert_string_equal(leg(r, 1, "type"), "trailing_stop");
    assert_string_equal(leg(r, 1, "callback_rate"), "2.00");
    snprintf(tp, sizeof tp, "%s", leg(r, 0, "id"));
    snprintf(sl, sizeof sl, "%s", leg(r, 1, "id"));
    itest_free(r);
    assert_int_equal(itest_sql(NULL, 0,
                               "UPDATE conditional_orders SET status = 'triggered', "
                               "triggered_at = now(), triggered_price = 120001, updated_at = now() "
                               "WHERE id = %s",
                               tp),
                     0);
    char out[128];
    assert_int_equal(
        itest_sql(out, sizeof out,
                  "SELECT status || '/' || cancel_reason FROM conditional_orders WHERE id = %s",
                  sl),
        0);
    assert_string_equal(out, "cancelled/oco");
    assert_int_equal(count("SELECT count(*) FROM oco_groups WHERE user_id = %s", u.id), 2);
}

/* GET and DELETE /api/v1/orders/oco/{id}: the group as POST answered it;
 * cancelling the group cancels both legs at once; a group with no active
 * leg is 409, another user's group 404 (and untouched). */
static void oco_group_read_and_cancel(void **state)
{
    (void)state;
    tuser u, other;
    tuser_new(&u);
    tuser_new(&other);
    char pos[24], body[512], group[24], tp[24], sl[24], path[128];
    position_new(&u, "BTC-USDT", "long", "0.5", pos, sizeof pos);
    snprintf(body, sizeof body,
             "{\"side\":\"sell\",\"symbol\":\"BTC-USDT\",\"quantity\":\"0.5\",\"position_id\":"
             "\"%s\",\"take_profit\":{\"trigger_price\":\"120000\"},"
             "\"stop_loss\":{\"trigger_price\":\"95000\"}}",
             pos);
    itest_response *r = post(OCO, &u, body);
    ITEST_STATUS(r, 201);
    snprintf(group, sizeof group, "%s", str(r, "id"));
    snprintf(tp, sizeof tp, "%s", leg(r, 0, "id"));
    snprintf(sl, sizeof sl, "%s", leg(r, 1, "id"));
    itest_free(r);

    snprintf(path, sizeof path, OCO "/%s", group);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_string_equal(str(r, "id"), group);
    assert_string_equal(leg(r, 0, "id"), tp);
    assert_string_equal(leg(r, 1, "id"), sl);
    assert_string_equal(leg(r, 0, "status"), "active");
    itest_free(r);

    /* Not the other user's: 404 on both, and nothing cancelled. */
    r = get(path, &other);
    ITEST_STATUS(r, 404);
    itest_free(r);
    r = send("DELETE", path, &other, NULL, NULL);
    ITEST_STATUS(r, 404);
    itest_free(r);
    assert_int_equal(count("SELECT count(*) FROM conditional_orders WHERE oco_group_id = %s "
                           "AND status = 'active'",
                           group),
                     2);

    r = send("DELETE", path, &u, NULL, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(leg(r, 0, "status"), "cancelled");
    assert_string_equal(leg(r, 1, "status"), "cancelled");
    assert_string_equal(leg(r, 0, "cancel_reason"), "user");
    assert_string_equal(leg(r, 1, "cancel_reason"), "oco");
    itest_free(r);
    /* The cached copy went stale with the write. */
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_string_equal(leg(r, 1, "status"), "cancelled");
    itest_free(r);

    r = send("DELETE", path, &u, NULL, NULL);
    ITEST_STATUS(r, 409);
    itest_free(r);
    r = get(OCO "/999999999", &u);
    ITEST_STATUS(r, 404);
    itest_free(r);
    r = get(OCO "/abc", &u);
    ITEST_STATUS(r, 400);
    itest_free(r);
}

/* ------------------------------------------------ orders follow positions */

static void position_close_expires_orders(void **state)
{
    (void)state;
    tuser u;
    tuser_new(&u);
    char pos[24], body[512], path[128];
    position_new(&u, "ETH-USDT", "short", "3", pos, sizeof pos);
    snprintf(body, sizeof body,
             "{\"type\":\"stop_loss\",\"side\":\"buy\",\"symbol\":\"ETH-USDT\",\"quantity\":\"3\","
             "\"trigger_price\":\"2800\",\"position_id\":\"%s\"}",
             pos);
    itest_response *r = post(ORDERS, &u, body);
    ITEST_STATUS(r, 201);
    snprintf(path, sizeof path, ORDERS "/%s", str(r, "id"));
    itest_free(r);
    /* one not bound to the position stays active */
    r = post(ORDERS, &u,
             "{\"type\":\"stop_loss\",\"side\":\"buy\",\"symbol\":\"ETH-USDT\",\"quantity\":\"1\","
             "\"trigger_price\":\"2900\"}");
    ITEST_STATUS(r, 201);
    itest_free(r);

    assert_int_equal(itest_sql(NULL, 0,
                               "UPDATE positions SET status = 'closed', closed_at = now() "
                               "WHERE id = %s",
                               pos),
                     0);
    const char *h = "Cache-Control: no-cache"; /* psql invalidates no cache */
    r = send("GET", path, &u, h, NULL);
    ITEST_STATUS(r, 200);
    expect_str(r, "status", "expired");
    expect_str(r, "cancel_reason", "position_closed");
    itest_free(r);
    assert_int_equal(count("SELECT count(*) FROM conditional_orders WHERE user_id = %s "
                           "AND status = 'active'",
                           u.id),
                     1);

    /* The database refuses an active order on the closed position from any
     * writer, not only the API. */
    char out[256];
    assert_int_not_equal(
        itest_sql(out, sizeof out,
                  "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
                  "quantity, trigger_price, position_id) VALUES (%s, 'psql-1', 'stop_loss', "
                  "'buy', 'ETH-USDT', 1, 2800, %s)",
                  u.id, pos),
        0);
}

/* The engine's monitor can LISTEN on td_orders: inserts and status changes
 * are announced at commit. */
static void notify_on_changes(void **state)
{
    (void)state;
    tuser u;
    tuser_new(&u);
    char out[512];
    assert_int_equal(
        itest_sql(out, sizeof out,
                  "LISTEN td_orders; "
                  "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, "
                  "quantity, trigger_price) VALUES (%s, 'n-1', 'stop_loss', 'sell', 'BTC-USDT', "
                  "1, 90000); SELECT 1;",
                  u.id),
        0);
    fprintf(stderr, "    notify: %s\n", out);
    assert_non_null(strstr(out, "td_orders"));
    assert_non_null(strstr(out, "\"op\" : \"insert\""));
}

/* -------------------------------------------------------------- fills */

static void fills_paging(void **state)
{
    (void)state;
    tuser u, other;
    tuser_new(&u);
    tuser_new(&other);
    char ids[5][24];
    for (int i = 0; i < 5; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"%s\",\"quantity\":\"1\","
                 "\"trigger_price\":\"%s\"}",
                 i < 3 ? "BTC-USDT" : "ETH-USDT", i < 3 ? "100000" : "2000");
        itest_response *r = post(ORDERS, &u, body);
        ITEST_STATUS(r, 201);
        snprintf(ids[i], sizeof ids[i], "%s", str(r, "id"));
        itest_free(r);
        /* As the engine will: fire, fill, write the fill. */
        assert_int_equal(
            itest_sql(NULL, 0,
                      "UPDATE conditional_orders SET status = 'filled', triggered_at = now(), "
                      "triggered_price = price, filled_at = now(), updated_at = now() "
                      "FROM (SELECT 99999.5 AS price) p WHERE id = %s; "
                      "INSERT INTO fills (order_id, user_id, symbol, side, quantity, price) "
                      "SELECT id, user_id, symbol, side, quantity, 99999.5 FROM conditional_orders "
                      "WHERE id = %s",
                      ids[i], ids[i]),
            0);
    }
    char first[24];
    assert_int_equal(
        itest_sql(first, sizeof first, "SELECT min(id) FROM fills WHERE user_id = %s", u.id), 0);

    itest_response *r = get("/api/v1/fills?limit=2", &u);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_int_equal(json_object_array_length(items), 2);
    json_object *f0 = json_object_array_get_idx(items, 0), *v;
    assert_true(json_object_object_get_ex(f0, "id", &v));
    assert_string_equal(json_object_get_string(v), first);
    assert_true(json_object_object_get_ex(f0, "order_id", &v));
    assert_string_equal(json_object_get_string(v), ids[0]);
    assert_true(json_object_object_get_ex(f0, "price", &v));
    assert_string_equal(json_object_get_string(v), "99999.50");
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", str(r, "next_cursor"));
    itest_free(r);

    char path[160];
    snprintf(path, sizeof path, "/api/v1/fills?limit=2&cursor=%s", cursor);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 2);
    itest_free(r);

    /* since: everything after that fill. */
    snprintf(path, sizeof path, "/api/v1/fills?since=%s", first);
    r = get(path, &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 4);
    assert_null(itest_json_get(r, "next_cursor"));
    itest_free(r);
    r = get("/api/v1/fills?symbol=ETH-USDT", &u);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 2);
    itest_free(r);
    r = get("/api/v1/fills", &other);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 0);
    itest_free(r);

    const char *bad[] = {"/api/v1/fills?since=-1", "/api/v1/fills?since=abc",
                         "/api/v1/fills?since=1&cursor=p1", "/api/v1/fills?limit=201",
                         "/api/v1/fills?order=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = get(bad[i], &u);
        ITEST_ERROR(r, 400, "invalid_parameter");
        itest_free(r);
    }

    /* A filled order cannot be cancelled. */
    snprintf(path, sizeof path, ORDERS "/%s", ids[0]);
    r = send("DELETE", path, &u, NULL, NULL);
    ITEST_ERROR(r, 409, "order_not_active");
    itest_free(r);
}

static void needs_a_token(void **state)
{
    (void)state;
    const char *paths[] = {ORDERS, ORDERS "/1", "/api/v1/fills"};
    for (size_t i = 0; i < 3; i++) {
        itest_response *r = itest_http("GET", paths[i], NULL, NULL);
        ITEST_ERROR(r, 401, "unauthorized");
        itest_free(r);
    }
    itest_response *r = itest_http("POST", OCO, NULL, "{}");
    ITEST_ERROR(r, 401, "unauthorized");
    itest_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(create_and_read, fresh_prices),
        cmocka_unit_test_setup(refusals_leave_nothing, fresh_prices),
        cmocka_unit_test_setup(client_order_id_unique, fresh_prices),
        cmocka_unit_test_setup(idempotency_key, fresh_prices),
        cmocka_unit_test_setup(cancel_and_cache, fresh_prices),
        cmocka_unit_test_setup(oco_brackets, fresh_prices),
        cmocka_unit_test_setup(oco_group_read_and_cancel, fresh_prices),
        cmocka_unit_test_setup(position_close_expires_orders, fresh_prices),
        cmocka_unit_test_setup(notify_on_changes, fresh_prices),
        cmocka_unit_test_setup(fills_paging, fresh_prices),
        cmocka_unit_test(needs_a_token),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
