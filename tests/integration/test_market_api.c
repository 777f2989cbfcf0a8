/*
 * test_market_api.c - the public market data endpoints through nginx against
 * the real stack, with tradedesk-engine running the simulator:
 * GET /api/v1/candles (newest first, pages by cursor and by `before`),
 * /trades, /orderbook/{symbol}, /market/feeds and /prices without a token;
 * every bad parameter a 400; unknown symbols 404; the per-address limit;
 * 503 when the engine stops reporting or Redis is down; and the sampled
 * price history the engine writes.
 *
 * The engine moves prices_latest: the teardown stops it and seeds the demo
 * data again, like test_engine.
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

static int setup(void **state)
{
    (void)state;
    char listen[64];
    setenv("TRADEDESK_SIM_STEP_MS", "50", 1);
    setenv("TRADEDESK_PRICE_HISTORY_INTERVAL_S", "1", 1);
    return itest_engine_start(listen, sizeof listen) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop engine");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* Each test asks from an address of its own: the per-address limit one
 * test fills never refuses another's requests. */
static int fresh_client(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return 0;
}

static itest_response *get(const char *path)
{
    const char *h[] = {"Cache-Control: no-cache", NULL};
    return itest_http("GET", path, h, NULL);
}

static void psql(const char *sql, char *out, size_t cap)
{
    assert_int_equal(itest_psql(sql, out, cap), 0);
}

/* GET path until it answers 200 (the engine has published), at most 10 s. */
static itest_response *get_ready(const char *path)
{
    long long deadline = itest_now_ms() + 10000;
    for (;;) {
        itest_response *r = get(path);
        if (r->status == 200 || itest_now_ms() > deadline)
            return r;
        itest_free(r);
        usleep(100 * 1000);
    }
}

static size_t items(const itest_response *r)
{
    json_object *a = itest_json_get(r, "items");
    assert_non_null(a);
    return json_object_array_length(a);
}

static const char *item_str(const itest_response *r, size_t i, const char *key)
{
    json_object *it = json_object_array_get_idx(itest_json_get(r, "items"), i), *v;
    assert_non_null(it);
    assert_true(json_object_object_get_ex(it, key, &v));
    return json_object_get_string(v);
}

/* ------------------------------------------------------------ public */

static void market_data_needs_no_token(void **state)
{
    (void)state;
    const char *paths[] = {"/api/v1/prices",
                           "/api/v1/prices/BTC-USDT",
                           "/api/v1/candles?symbol=BTC-USDT",
                           "/api/v1/trades?symbol=BTC-USDT",
                           "/api/v1/orderbook/BTC-USDT",
                           "/api/v1/market/feeds"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        itest_response *r = get_ready(paths[i]);
        ITEST_STATUS(r, 200);
        assert_non_null(itest_header(r, "RateLimit-Remaining"));
        itest_free(r);
    }
}

/* -------------------------------------------------------------- candles */

/* Five closed hourly bars long ago, so paging has something to page. */
static void insert_old_bars(void)
{
    char out[64];
    psql("INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume, "
         "trades, closed) SELECT 'SOL-USDT', '1h', timestamptz '2020-01-01 00:00Z' + g * "
         "interval '1 hour', 100 + g, 101 + g, 99 + g, 100.5 + g, g, g, true FROM "
         "generate_series(0, 4) g ON CONFLICT DO NOTHING",
         out, sizeof out);
}

static void candles_page_newest_first(void **state)
{
    (void)state;
    insert_old_bars();
    const char *first = "/api/v1/candles?symbol=SOL-USDT&interval=1h&limit=2"
                        "&before=2020-01-02T00:00:00.000Z";
    itest_response *r = get(first);
    ITEST_STATUS(r, 200);
    assert_int_equal(items(r), 2);
    assert_string_equal(item_str(r, 0, "open_time"), "2020-01-01T04:00:00.000Z");
    assert_string_equal(item_str(r, 1, "open_time"), "2020-01-01T03:00:00.000Z");
    assert_string_equal(item_str(r, 0, "open"), "104.00");
    assert_string_equal(item_str(r, 0, "close"), "104.50");
    assert_string_equal(item_str(r, 0, "volume"), "4.00");
    const char *cursor = itest_json_str(r, "next_cursor");
    assert_non_null(cursor);

    /* Follow the cursors to the end: every bar once, in order. */
    char path[256], seen[5][32];
    size_t n = 0;
    snprintf(seen[n++], sizeof seen[0], "%s", item_str(r, 0, "open_time"));
    snprintf(seen[n++], sizeof seen[0], "%s", item_str(r, 1, "open_time"));
    while (cursor) {
        snprintf(path, sizeof path, "/api/v1/candles?symbol=SOL-USDT&interval=1h&limit=2&cursor=%s",
                 cursor);
        itest_response *next = get(path);
        ITEST_STATUS(next, 200);
        for (size_t i = 0; i < items(next); i++) {
            assert_true(n < 5);
            snprintf(seen[n++], sizeof seen[0], "%s", item_str(next, i, "open_time"));
        }
        itest_free(r);
        r = next;
        cursor = itest_json_str(r, "next_cursor");
    }
    itest_free(r);
    assert_int_equal(n, 5);
    assert_string_equal(seen[4], "2020-01-01T00:00:00.000Z");
}

/* The engine's own bars: the current minute's is forming, every bar sane. */
static void candles_from_the_engine(void **state)
{
    (void)state;
    itest_response *r = get_ready("/api/v1/candles?symbol=BTC-USDT&interval=1m&limit=5");
    ITEST_STATUS(r, 200);
    assert_true(items(r) >= 1);
    json_object *bar = json_object_array_get_idx(itest_json_get(r, "items"), 0), *closed;
    assert_true(json_object_object_get_ex(bar, "closed", &closed));
    assert_false(json_object_get_boolean(closed));
    assert_true(atof(item_str(r, 0, "low")) <= atof(item_str(r, 0, "high")));
    itest_free(r);
}

/* ------------------------------------------------------ trades and book */

static void trades_newest_first(void **state)
{
    (void)state;
    /* Only this engine's trades (an earlier test's venue may have left some). */
    assert_int_equal(itest_redis_cli("DEL td:trades:BTC-USDT", NULL, 0), 0);
    itest_response *r = get_ready("/api/v1/trades?symbol=BTC-USDT&limit=3");
    ITEST_STATUS(r, 200);
    long long deadline = itest_now_ms() + 5000;
    while (items(r) < 3 && itest_now_ms() < deadline) {
        itest_free(r);
        usleep(200 * 1000);
        r = get("/api/v1/trades?symbol=BTC-USDT&limit=3");
    }
    assert_int_equal(items(r), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(item_str(r, i, "source"), "sim");
        const char *side = item_str(r, i, "side");
        assert_true(strcmp(side, "buy") == 0 || strcmp(side, "sell") == 0);
        assert_true(atof(item_str(r, i, "quantity")) > 0);
        if (i > 0) /* RFC 3339 with fixed width: text order is time order */
            assert_true(strcmp(item_str(r, i - 1, "time"), item_str(r, i, "time")) >= 0);
    }
    itest_free(r);
}

static void orderbook_top(void **state)
{
    (void)state;
    itest_response *r = get_ready("/api/v1/orderbook/ETH-USDT");
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "symbol"), "ETH-USDT");
    assert_string_equal(itest_json_str(r, "source"), "sim");
    assert_true(atof(itest_json_str(r, "bid")) < atof(itest_json_str(r, "ask")));
    assert_true(json_object_get_int64(itest_json_get(r, "age_ms")) >= 0);
    assert_false(json_object_get_boolean(itest_json_get(r, "stale")));
    itest_free(r);
}

static void feeds_report_the_simulator(void **state)
{
    (void)state;
    itest_response *r = get_ready("/api/v1/market/feeds");
    ITEST_STATUS(r, 200);
    assert_int_equal(items(r), 1);
    assert_string_equal(item_str(r, 0, "source"), "sim");
    assert_string_equal(item_str(r, 0, "state"), "connected");
    assert_true(atoll(item_str(r, 0, "messages")) > 0);
    assert_true(atoll(item_str(r, 0, "events")) > 0);
    assert_non_null(itest_json_str(r, "updated_at"));
    itest_free(r);
}

/* ----------------------------------------------------------- bad input */

static void bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        long status;
        const char *code, *words;
    } cases[] = {
        {"/api/v1/candles", 400, "invalid_parameter", "symbol"},
        {"/api/v1/candles?symbol=btc-usdt", 400, "invalid_parameter", "symbol"},
        {"/api/v1/candles?symbol=BTC-USDT&interval=2m", 400, "invalid_parameter", "interval"},
        {"/api/v1/candles?symbol=BTC-USDT&limit=0", 400, "invalid_parameter", "limit"},
        {"/api/v1/candles?symbol=BTC-USDT&limit=1001", 400, "invalid_parameter", "limit"},
        {"/api/v1/candles?symbol=BTC-USDT&before=yesterday", 400, "invalid_parameter", "before"},
        {"/api/v1/candles?symbol=BTC-USDT&cursor=zzz", 400, "invalid_parameter", "cursor"},
        {"/api/v1/candles?symbol=BTC-USDT&cursor=p1&before=2020-01-01T00:00:00.000Z", 400,
         "invalid_parameter", "not both"},
        {"/api/v1/candles?symbol=BTC-USDT&sym=1", 400, "invalid_parameter", "sym"},
        {"/api/v1/candles?symbol=DOGE-USDT", 404, "not_found", "DOGE-USDT"},
        {"/api/v1/trades", 400, "invalid_parameter", "symbol"},
        {"/api/v1/trades?symbol=BTC-USDT&limit=101", 400, "invalid_parameter", "limit"},
        {"/api/v1/trades?symbol=DOGE-USDT", 404, "not_found", "DOGE-USDT"},
        {"/api/v1/orderbook/btc", 400, "invalid_parameter", "symbol"},
        {"/api/v1/orderbook/DOGE-USDT", 404, "not_found", "DOGE-USDT"},
        {"/api/v1/orderbook/BTC-USDT?depth=5", 400, "invalid_parameter", "depth"},
        {"/api/v1/market/feeds?x=1", 400, "invalid_parameter", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        itest_response *r = get(cases[i].path);
        if (r->status != cases[i].status)
            fail_msg("%s: %ld, expected %ld", cases[i].path, r->status, cases[i].status);
        ITEST_ERROR(r, cases[i].status, cases[i].code);
        const char *msg = itest_json_str(r, "error.message");
        if (!msg || !strstr(msg, cases[i].words))
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].path, msg ? msg : "",
                     cases[i].words);
        itest_free(r);
    }
}

/* --------------------------------------------------------- rate limit */

static void limited_per_address(void **state)
{
    (void)state;
    itest_response *r = NULL;
    int n = 0;
    for (; n < 1000; n++) {
        r = get("/api/v1/prices/BTC-USDT");
        if (r->status == 429)
            break;
        ITEST_STATUS(r, 200);
        itest_free(r);
        r = NULL;
    }
    assert_non_null(r);
    ITEST_RATE_LIMITED(r);
    itest_free(r);
    /* The burst (TRADEDESK_MARKET_BURST, 120 by default) passed first, but
     * for what the other worker still held of its lease when this one was
     * refused (api/ratelimit.h: a sixteenth of the burst, 7; 2 workers). */
    assert_true(n >= 120 - 7);

    /* Another address is not affected. */
    itest_client_ip(itest_fresh_ip());
    r = get("/api/v1/prices/BTC-USDT");
    ITEST_STATUS(r, 200);
    itest_free(r);
}

/* ------------------------------------------------------------- outages */

/* An engine that stops reporting is a 503 on /market/feeds once its
 * report expires (deleted here instead of waiting out the TTL). */
static void feeds_when_the_engine_is_gone(void **state)
{
    (void)state;
    assert_int_equal(itest_stack("stop engine"), 0);
    assert_int_equal(itest_redis_cli("DEL td:feeds", NULL, 0), 0);
    itest_response *r = get("/api/v1/market/feeds");
    ITEST_ERROR(r, 503, "unavailable");
    assert_non_null(strstr(itest_json_str(r, "error.message"), "not reporting"));
    itest_free(r);
    assert_int_equal(itest_stack("start engine"), 0);
    r = get_ready("/api/v1/market/feeds");
    ITEST_STATUS(r, 200);
    itest_free(r);
}

static void redis_down_is_503(void **state)
{
    (void)state;
    assert_int_equal(itest_stack("stop redis"), 0);
    itest_response *t = get("/api/v1/trades?symbol=BTC-USDT");
    itest_response *b = get("/api/v1/orderbook/BTC-USDT");
    itest_response *c = get("/api/v1/candles?symbol=BTC-USDT"); /* PostgreSQL still answers */
    int up = itest_stack("start redis");
    ITEST_ERROR(t, 503, "unavailable");
    ITEST_ERROR(b, 503, "unavailable");
    ITEST_STATUS(c, 200);
    itest_free(t);
    itest_free(b);
    itest_free(c);
    assert_int_equal(up, 0);
    /* Leave the API caching again (its workers reconnect by themselves
     * within a second or so) for whatever runs next on this stack. */
    int hits = 0; /* in a row: every worker answers from Redis again */
    long long deadline = itest_now_ms() + 10000;
    while (hits < 6 && itest_now_ms() < deadline) {
        itest_response *r = itest_http("GET", "/api/v1/prices", NULL, NULL);
        int hit = r->status == 200 && itest_header(r, "X-Cache") &&
                  strcmp(itest_header(r, "X-Cache"), "HIT") == 0;
        itest_free(r);
        hits = hit ? hits + 1 : 0;
        if (!hit)
            usleep(200 * 1000);
    }
    assert_true(hits >= 6);
}

/* ------------------------------------------------------- price history */

static void price_history_sampled(void **state)
{
    (void)state;
    char out[64];
    long long deadline = itest_now_ms() + 10000, n = 0;
    while (n < 2 && itest_now_ms() < deadline) {
        psql("SELECT count(DISTINCT ts) FROM price_history WHERE symbol = 'BTC-USDT' AND "
             "source = 'sim'",
             out, sizeof out);
        n = atoll(out);
        if (n < 2)
            usleep(300 * 1000);
    }
    assert_true(n >= 2);
    /* Stamped on the interval's start (1 s here): whole seconds. */
    psql("SELECT count(*) FROM price_history WHERE source = 'sim' AND "
         "ts <> date_trunc('second', ts)",
         out, sizeof out);
    assert_string_equal(out, "0");
}

/* ------------------------------------------------------------ retention */

/* The engine deletes what is past its age (engine/retention.c, a pass at
 * start then every ten minutes): old price history, old Idempotency-Keys,
 * old published outbox rows (never the newest 50,000); younger rows stay. */
static void retention_deletes_old_rows(void **state)
{
    (void)state;
    char out[64], listen[64];
    assert_int_equal(itest_stack("stop engine"), 0);
    psql("INSERT INTO price_history (symbol, ts, price, source) VALUES "
         "('BTC-USDT', now() - interval '91 days', 1, 'old'), "
         "('BTC-USDT', now() - interval '89 days', 1, 'old')",
         NULL, 0);
    psql("INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) SELECT id, k, "
         "repeat('a', 64), now() - h FROM users, (VALUES ('retention-old', interval '25 hours'), "
         "('retention-new', interval '23 hours')) v(k, h) WHERE username = 'alice'",
         NULL, 0);
    /* Three old published rows: the first far below the newest 50,000
     * (deleted), the second among them (kept); then the newest. */
    psql("INSERT INTO outbox (id, topic, payload, created_at, published_at) SELECT m + d, "
         "'retention', '{}', now() - interval '8 days', now() - interval '8 days' FROM "
         "(SELECT coalesce(max(id), 0) AS m FROM outbox) x, (VALUES (1), (59990)) v(d); "
         "INSERT INTO outbox (id, topic, payload, created_at, published_at) SELECT max(id) + 10, "
         "'retention', '{}', now(), now() FROM outbox; "
         /* The ids given by hand: the sequence goes on after them, as it
          * would have had those rows come from it. */
         "SELECT setval(pg_get_serial_sequence('outbox', 'id'), (SELECT max(id) FROM outbox))",
         NULL, 0);
    assert_int_equal(itest_engine_start(listen, sizeof listen), 0);
    long long deadline = itest_now_ms() + 10000, left = -1;
    while (left != 0 && itest_now_ms() < deadline) {
        /* 0 once the three past their age are gone (3 retention rows -> 2). */
        psql("SELECT (SELECT count(*) FROM price_history WHERE source = 'old' AND "
             "ts < now() - interval '90 days') + (SELECT count(*) FROM idempotency_keys WHERE "
             "key = 'retention-old') + (SELECT count(*) FROM outbox WHERE topic = 'retention') - 2",
             out, sizeof out);
        left = atoll(out);
        if (left)
            usleep(200 * 1000);
    }
    assert_int_equal(left, 0);
    psql("SELECT count(*) FROM price_history WHERE source = 'old'", out, sizeof out);
    assert_string_equal(out, "1");
    psql("SELECT count(*) FROM idempotency_keys WHERE key = 'retention-new'", out, sizeof out);
    assert_string_equal(out, "1");
    psql("SELECT count(*) FROM outbox WHERE topic = 'retention'", out, sizeof out);
    assert_string_equal(out, "2");
    /* The one kept is the old one among the newest 50,000, with the newest. */
    psql("SELECT count(*) FROM outbox WHERE topic = 'retention' AND created_at < now() - "
         "interval '7 days'",
         out, sizeof out);
    assert_string_equal(out, "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(market_data_needs_no_token, fresh_client),
        cmocka_unit_test_setup(candles_page_newest_first, fresh_client),
        cmocka_unit_test_setup(candles_from_the_engine, fresh_client),
        cmocka_unit_test_setup(trades_newest_first, fresh_client),
        cmocka_unit_test_setup(orderbook_top, fresh_client),
        cmocka_unit_test_setup(feeds_report_the_simulator, fresh_client),
        cmocka_unit_test_setup(bad_input, fresh_client),
        cmocka_unit_test_setup(limited_per_address, fresh_client),
        cmocka_unit_test_setup(feeds_when_the_engine_is_gone, fresh_client),
        cmocka_unit_test_setup(redis_down_is_503, fresh_client),
        cmocka_unit_test_setup(price_history_sampled, fresh_client),
        cmocka_unit_test_setup(retention_deletes_old_rows, fresh_client),
    };
    return cmocka_run_group_tests_name("market", tests, setup, teardown);
}
