/*
 * test_market_alerts.c - the engine's market-condition alerts end to end:
 * a replay:FILE recording of Binance messages for BTC-USDT with a 10%
 * price gap, a wide top of book and a four-second silence, each alert
 * seen raised in GET /api/v1/guards/market-alerts (value, threshold,
 * unit, severity, since) and then cleared (cleared_at, active false) once
 * the market is calm again; the engine's counters and log lines; the
 * list's filters and pages; bad parameters and a missing token refused
 * with the JSON error envelope; a restarted engine keeps the rows of the
 * alerts still true and clears one it does not hold.  The volatility and source divergence
 * rules need minutes of returns or several sources: unit tests
 * (tests/unit/domain/test_market_alert.c).
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

#define ALERTS "/api/v1/guards/market-alerts"

static char g_token[2048], g_listen[64], g_auth[2100];

/* The recording: times relative to its first line (the replay plays it at
 * the recorded pace from the engine's start). */
static void write_recording(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    long long t0 = 1700000000000LL;
    int id = 0;
#define TRADE(ms, px)                                                                              \
    fprintf(f,                                                                                     \
            "%lld binance {\"e\":\"trade\",\"E\":%lld,\"s\":\"BTCUSDT\",\"t\":%d,\"p\":\"%s\","    \
            "\"q\":\"0.01\",\"T\":%lld,\"m\":false}\n",                                            \
            t0 + (ms), t0 + (ms), ++id, (px), t0 + (ms))
#define BOOK(ms, bid, ask)                                                                         \
    fprintf(f,                                                                                     \
            "%lld binance {\"u\":%d,\"s\":\"BTCUSDT\",\"b\":\"%s\",\"B\":\"1\",\"a\":\"%s\","      \
            "\"A\":\"1\"}\n",                                                                      \
            t0 + (ms), ++id, (bid), (ask))
    BOOK(0, "99.99", "100.01");
    /* Steady at 100 for 4 s: the engine has won the lease meanwhile. */
    for (int ms = 0; ms < 4000; ms += 100)
        TRADE(ms, "100.00");
    /* 100 -> 110: a gap of 1000 bp (warning above 500, critical above 1500). */
    for (int ms = 4000; ms <= 6000; ms += 100)
        TRADE(ms, "110.00");
    /* 109 / 111: 2 over a mid of 110, 181 bp (warning above 50). */
    BOOK(4500, "109.00", "111.00");
    BOOK(5500, "109.99", "110.01");
    /* Silent from 6 s to 10 s: no fresh price for more than 2 s; then
     * steady long enough for the test to see it cleared before the end. */
    for (int ms = 10000; ms <= 25000; ms += 100)
        TRADE(ms, "110.00");
#undef TRADE
#undef BOOK
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/alerts_recording.txt", getenv("TD_TEST_VAR"));
    write_recording(path);
    char feeds[600];
    snprintf(feeds, sizeof feeds, "replay:%s", path);
    setenv("TRADEDESK_FEEDS", feeds, 1);
    setenv("TRADEDESK_PRICE_STALE_MS", "1000", 1);
    setenv("TRADEDESK_ALERT_STALE_S", "2", 1);
    setenv("TRADEDESK_ALERT_STALE_CRITICAL_S", "3600", 1);
    setenv("TRADEDESK_ALERT_CLEAR_S", "3", 1);
    if (itest_psql("DELETE FROM market_alerts", NULL, 0) != 0)
        return -1;
    itest_token("alice", g_token, sizeof g_token);
    snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %s", g_token);
    return itest_engine_start(g_listen, sizeof g_listen) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop engine");
    const char *vars[] = {"TRADEDESK_FEEDS", "TRADEDESK_PRICE_STALE_MS", "TRADEDESK_ALERT_STALE_S",
                          "TRADEDESK_ALERT_STALE_CRITICAL_S", "TRADEDESK_ALERT_CLEAR_S"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* GET path with the token, past the response cache. */
static itest_response *get(const char *path)
{
    const char *h[] = {g_auth, "Cache-Control: no-cache", NULL};
    return itest_http("GET", path, h, NULL);
}

/* The newest alert of symbol and kind once `active` is as asked (within
 * timeout_ms); NULL when it never was.  The response goes to *out. */
static json_object *wait_alert_of(const char *symbol, const char *kind, int active, int timeout_ms,
                                  itest_response **out)
{
    char path[256];
    snprintf(path, sizeof path, ALERTS "?symbol=%s&kind=%s&limit=1", symbol, kind);
    long long until = itest_now_ms() + timeout_ms;
    for (;;) {
        itest_response *r = get(path);
        ITEST_STATUS(r, 200);
        json_object *items = itest_json_get(r, "items");
        if (items && json_object_array_length(items) > 0) {
            json_object *a = json_object_array_get_idx(items, 0), *v;
            if (json_object_object_get_ex(a, "active", &v) &&
                json_object_get_boolean(v) == active) {
                *out = r;
                return a;
            }
        }
        if (itest_now_ms() > until) {
            itest_dump(r);
            itest_free(r);
            return NULL;
        }
        itest_free(r);
        usleep(100 * 1000);
    }
}

static json_object *wait_alert(const char *kind, int active, int timeout_ms, itest_response **out)
{
    return wait_alert_of("BTC-USDT", kind, active, timeout_ms, out);
}

static const char *member(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static long long member_int(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static int member_null(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && v == NULL;
}

/* One alert raised then cleared: its fields both times. */
static void raised_then_cleared(const char *kind, const char *severity, long long value,
                                long long threshold, const char *unit)
{
    itest_response *r = NULL;
    json_object *a = wait_alert(kind, 1, 15000, &r);
    assert_non_null(a);
    assert_string_equal(member(a, "symbol"), "BTC-USDT");
    assert_string_equal(member(a, "kind"), kind);
    assert_string_equal(member(a, "severity"), severity);
    if (value >= 0)
        assert_int_equal(member_int(a, "value"), value);
    else
        assert_true(member_int(a, "value") > threshold);
    assert_int_equal(member_int(a, "threshold"), threshold);
    assert_string_equal(member(a, "unit"), unit);
    assert_non_null(member(a, "since"));
    assert_true(member_null(a, "cleared_at"));
    char id[32], since[40];
    snprintf(id, sizeof id, "%s", member(a, "id"));
    snprintf(since, sizeof since, "%s", member(a, "since"));
    itest_free(r);

    a = wait_alert(kind, 0, 15000, &r);
    assert_non_null(a);
    assert_string_equal(member(a, "id"), id); /* the same alert, now cleared */
    assert_string_equal(member(a, "since"), since);
    assert_non_null(member(a, "cleared_at"));
    assert_true(strcmp(member(a, "cleared_at"), since) >= 0);
    itest_free(r);
}

static void gap_raised_and_cleared(void **state)
{
    (void)state;
    raised_then_cleared("price_gap", "warning", 1000, 500, "bp");
}

static void spread_raised_and_cleared(void **state)
{
    (void)state;
    raised_then_cleared("spread", "warning", 181, 50, "bp");
}

static void stale_raised_and_cleared(void **state)
{
    (void)state;
    raised_then_cleared("stale_feed", "warning", -1, 2000, "ms");
}

/* Lines of the engine's log holding text. */
static int log_lines(const char *text)
{
    char cmd[512], out[32];
    snprintf(cmd, sizeof cmd, "grep -cF '%s' %s/log/engine.log", text, getenv("TD_TEST_VAR"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    return atoi(out);
}

/* Counted on the engine's /metrics (promtool-clean) and logged, each way. */
static void counted_and_logged(void **state)
{
    (void)state;
    char cmd[512], out[256];
    snprintf(cmd, sizeof cmd,
             "curl -s -m 5 http://%s/metrics | grep -E "
             "'^tradedesk_engine_market_alerts_(raised|cleared)_total\\{kind=\"price_gap\"' "
             "| grep -v critical | awk '{print $2}' | tr '\\n' ' '",
             g_listen);
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    long long raised = -1, cleared = -1;
    assert_int_equal(sscanf(out, "%lld %lld", &raised, &cleared), 2);
    assert_true(raised >= 1);
    assert_true(cleared >= 1);
    /* The whole scrape stays valid Prometheus text. */
    snprintf(cmd, sizeof cmd, "curl -s -m 5 http://%s/metrics | promtool check metrics", g_listen);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
    assert_true(log_lines("market alert raised: BTC-USDT price_gap warning, 1000 bp above 500") >=
                1);
    assert_true(log_lines("market alert cleared: BTC-USDT price_gap") >= 1);
}

/* Newest first; pages by cursor; the filters. */
static void pages_and_filters(void **state)
{
    (void)state;
    itest_response *r = get(ALERTS "?symbol=BTC-USDT&active=false&limit=1");
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_int_equal(json_object_array_length(items), 1);
    long long first = atoll(member(json_object_array_get_idx(items, 0), "id"));
    const char *cur = itest_json_str(r, "next_cursor");
    assert_non_null(cur); /* three cleared alerts at least */
    char path[256];
    snprintf(path, sizeof path, ALERTS "?symbol=BTC-USDT&active=false&limit=1&cursor=%s", cur);
    itest_free(r);
    r = get(path);
    ITEST_STATUS(r, 200);
    items = itest_json_get(r, "items");
    assert_int_equal(json_object_array_length(items), 1);
    json_object *older = json_object_array_get_idx(items, 0);
    assert_true(atoll(member(older, "id")) < first);
    assert_false(member_null(older, "cleared_at"));
    itest_free(r);

    /* Another symbol's alerts only (ETH-USDT is never quoted: stale). */
    r = get(ALERTS "?symbol=ETH-USDT&kind=stale_feed");
    ITEST_STATUS(r, 200);
    items = itest_json_get(r, "items");
    for (size_t i = 0; i < json_object_array_length(items); i++)
        assert_string_equal(member(json_object_array_get_idx(items, i), "symbol"), "ETH-USDT");
    itest_free(r);
    /* Cached for everybody: bob gets the entry alice's request stored. */
    r = itest_get_auth(ALERTS "?kind=price_gap&limit=7", g_token);
    ITEST_STATUS(r, 200);
    char bob[2048];
    itest_token("bob", bob, sizeof bob);
    itest_response *b = itest_get_auth(ALERTS "?kind=price_gap&limit=7", bob);
    ITEST_STATUS(b, 200);
    assert_string_equal(itest_header(b, "x-cache"), "HIT");
    assert_string_equal(b->body, r->body);
    itest_free(b);
    itest_free(r);
}

static void bad_parameters(void **state)
{
    (void)state;
    const char *bad[] = {ALERTS "?limit=0",         ALERTS "?limit=201",
                         ALERTS "?active=yes",      ALERTS "?kind=gap",
                         ALERTS "?symbol=btc-usdt", ALERTS "?cursor=nope",
                         ALERTS "?severity=warning"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        itest_response *r = get(bad[i]);
        ITEST_ERROR(r, 400, "invalid_parameter");
        itest_free(r);
    }
    itest_response *r = itest_get_auth(ALERTS, NULL);
    ITEST_ERROR(r, 401, "unauthorized");
    itest_free(r);
}

/* A restarted engine makes the table its own once it has watched the
 * market a while: an alert still true keeps its row (ETH-USDT, never
 * quoted, is stale again), one it does not hold is cleared. */
static void restart_keeps_the_table(void **state)
{
    (void)state;
    itest_response *r = NULL;
    json_object *a = wait_alert_of("ETH-USDT", "stale_feed", 1, 10000, &r);
    assert_non_null(a);
    char id[32], since[40];
    snprintf(id, sizeof id, "%s", member(a, "id"));
    snprintf(since, sizeof since, "%s", member(a, "since"));
    itest_free(r);
    /* An active alert no engine holds (left by a predecessor, say). */
    assert_int_equal(itest_psql("INSERT INTO market_alerts (symbol, kind, severity, value, "
                                "threshold, unit, since) VALUES ('BTC-USDT', 'volatility', "
                                "'warning', 150, 100, 'bp', now() - interval '1 hour')",
                                NULL, 0),
                     0);
    assert_int_equal(itest_stack("stop engine"), 0);
    assert_int_equal(itest_engine_start(g_listen, sizeof g_listen), 0);
    /* The first sync: 2 s (the stale threshold) + 5 s after the start. */
    a = wait_alert("volatility", 0, 20000, &r);
    assert_non_null(a);
    assert_int_equal(member_int(a, "value"), 150);
    itest_free(r);
    a = wait_alert_of("ETH-USDT", "stale_feed", 1, 1000, &r);
    assert_non_null(a);
    assert_string_equal(member(a, "id"), id);
    assert_string_equal(member(a, "since"), since);
    itest_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gap_raised_and_cleared),   cmocka_unit_test(spread_raised_and_cleared),
        cmocka_unit_test(stale_raised_and_cleared), cmocka_unit_test(counted_and_logged),
        cmocka_unit_test(pages_and_filters),        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(restart_keeps_the_table),
    };
    return cmocka_run_group_tests_name("market_alerts", tests, setup, teardown);
}
