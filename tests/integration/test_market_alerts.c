/*
 * test_market_alerts.c - the engine's market-condition alerts end to end,
 * each kind raised and cleared by a venue's ticks.
 *
 * 1. A replay:FILE recording of Binance messages for BTC-USDT with a 10%
 *    price gap, a wide top of book and a four-second silence, each alert
 *    seen raised in GET /api/v1/guards/market-alerts (value, threshold,
 *    unit, severity, since) and then cleared (cleared_at, active false)
 *    once the market is calm again; the engine's counters and log lines;
 *    the list's filters and pages; bad parameters and a missing token
 *    refused with the JSON error envelope; a restarted engine keeps the
 *    rows of the alerts still true and clears one it does not hold.
 * 2. Two local exchange servers (tests/integration/fake_exchange.mjs,
 *    Binance and Coinbase) behind the median oracle: both swinging 2%
 *    every second raise `volatility` (1-second returns here,
 *    TRADEDESK_ALERT_VOLATILITY_INTERVAL_S=1, over a window of five), a
 *    steady price clears it; the two quoting 5% apart raise
 *    `source_divergence`, agreeing again clears it; while one of them is
 *    silent (stale) a lone fresh source is no divergence.
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

#include "domain/decimal.h"
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

/* An empty market_alerts table, alice's token, and the engine started
 * with the settings as they are now: 0, or -1. */
static int start_engine(void)
{
    if (itest_psql("DELETE FROM market_alerts", NULL, 0) != 0)
        return -1;
    itest_token("alice", g_token, sizeof g_token);
    snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %s", g_token);
    return itest_engine_start(g_listen, sizeof g_listen) == 0 ? 0 : -1;
}

/* The engine stopped, the group's settings unset and the demo data seeded
 * again (other tests read the seeded prices): 0, or -1. */
static int stop_engine(const char *const *vars, size_t n)
{
    int rc = itest_stack("stop engine");
    for (size_t i = 0; i < n; i++)
        unsetenv(vars[i]);
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

static const char *const REPLAY_VARS[] = {
    "TRADEDESK_FEEDS", "TRADEDESK_PRICE_STALE_MS", "TRADEDESK_ALERT_STALE_S",
    "TRADEDESK_ALERT_STALE_CRITICAL_S", "TRADEDESK_ALERT_CLEAR_S"};

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
    return start_engine();
}

static int teardown(void **state)
{
    (void)state;
    return stop_engine(REPLAY_VARS, sizeof REPLAY_VARS / sizeof *REPLAY_VARS);
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

/* The newest alert of kind raised (within 15 s) with these fields (value
 * -1: any above the threshold); its id and since into id and since. */
static void expect_raised(const char *kind, const char *severity, long long value,
                          long long threshold, const char *unit, char id[32], char since[40])
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
    snprintf(id, 32, "%s", member(a, "id"));
    snprintf(since, 40, "%s", member(a, "since"));
    itest_free(r);
}

/* That alert (id, since) cleared within 15 s. */
static void expect_cleared(const char *kind, const char *id, const char *since)
{
    itest_response *r = NULL;
    json_object *a = wait_alert(kind, 0, 15000, &r);
    assert_non_null(a);
    assert_string_equal(member(a, "id"), id); /* the same alert, now cleared */
    assert_string_equal(member(a, "since"), since);
    assert_non_null(member(a, "cleared_at"));
    assert_true(strcmp(member(a, "cleared_at"), since) >= 0);
    itest_free(r);
}

/* One alert raised then cleared (by what the market does next): its
 * fields both times. */
static void raised_then_cleared(const char *kind, const char *severity, long long value,
                                long long threshold, const char *unit)
{
    char id[32], since[40];
    expect_raised(kind, severity, value, threshold, unit, id, since);
    expect_cleared(kind, id, since);
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

/* 2. Two venues behind the median oracle. */

static int g_fake[2];
static char g_fake_url[2][64];
static const char *const VENUES[2] = {"binance", "coinbase"};
static const char *const VENUE_SYMBOL[2] = {"BTCUSDT", "BTC-USDT"}; /* BTC-USDT at each */
static const char *const VENUE_VARS[] = {
    "TRADEDESK_FEEDS",
    "TRADEDESK_ORACLE",
    "TRADEDESK_BINANCE_WS_URL",
    "TRADEDESK_COINBASE_WS_URL",
    "TRADEDESK_PRICE_STALE_MS",
    "TRADEDESK_ALERT_VOLATILITY_BP",
    "TRADEDESK_ALERT_VOLATILITY_CRITICAL_BP",
    "TRADEDESK_ALERT_VOLATILITY_WINDOW_MIN",
    "TRADEDESK_ALERT_VOLATILITY_INTERVAL_S",
    "TRADEDESK_ALERT_DIVERGENCE_BP",
    "TRADEDESK_ALERT_DIVERGENCE_CRITICAL_BP",
    "TRADEDESK_ALERT_CLEAR_S",
};

/* GET a fake exchange's control URL (what: "price?...", "silence?on=1"). */
static void control(int venue, const char *what)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -sf -m 5 -o /dev/null '%s/control/%s'", g_fake_url[venue],
             what);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
}

/* Venue quotes BTC-USDT at exactly price from now on. */
static void quote(int venue, const char *price)
{
    char what[128];
    snprintf(what, sizeof what, "price?s=%s&p=%s&fixed=1", VENUE_SYMBOL[venue], price);
    control(venue, what);
}

static int setup_venues(void **state)
{
    (void)state;
    char v[128];
    for (int i = 0; i < 2; i++) {
        int port = itest_free_port();
        if (port <= 0 || (g_fake[i] = itest_fake_exchange(VENUES[i], port)) <= 0)
            return -1;
        snprintf(g_fake_url[i], sizeof g_fake_url[i], "http://127.0.0.1:%d", port);
        snprintf(v, sizeof v, "ws://127.0.0.1:%d%s", port, i == 0 ? "/ws" : "/");
        setenv(i == 0 ? "TRADEDESK_BINANCE_WS_URL" : "TRADEDESK_COINBASE_WS_URL", v, 1);
        quote(i, "1000");
    }
    setenv("TRADEDESK_FEEDS", "binance,coinbase", 1);
    setenv("TRADEDESK_ORACLE", "median", 1);
    setenv("TRADEDESK_PRICE_STALE_MS", "1500", 1);
    /* Returns over a second, five of them: a 2% swing is ~200 bp. */
    setenv("TRADEDESK_ALERT_VOLATILITY_INTERVAL_S", "1", 1);
    setenv("TRADEDESK_ALERT_VOLATILITY_WINDOW_MIN", "5", 1);
    setenv("TRADEDESK_ALERT_VOLATILITY_BP", "50", 1);
    setenv("TRADEDESK_ALERT_VOLATILITY_CRITICAL_BP", "5000", 1);
    setenv("TRADEDESK_ALERT_DIVERGENCE_BP", "300", 1);
    setenv("TRADEDESK_ALERT_DIVERGENCE_CRITICAL_BP", "1000", 1);
    setenv("TRADEDESK_ALERT_CLEAR_S", "2", 1);
    return start_engine();
}

static int teardown_venues(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        itest_fake_exchange_stop(g_fake[i]);
        g_fake[i] = 0;
    }
    return stop_engine(VENUE_VARS, sizeof VENUE_VARS / sizeof *VENUE_VARS);
}

/* The newest BTC-USDT alert of kind is active now (no wait). */
static int active_now(const char *kind)
{
    itest_response *r = NULL;
    json_object *a = wait_alert(kind, 1, 0, &r);
    itest_free(r);
    return a != NULL;
}

/* The engine's tradedesk_engine_market_alerts_raised_total of kind, both
 * severities. */
static long long raised_total(const char *kind)
{
    char cmd[512], out[64];
    snprintf(cmd, sizeof cmd,
             "curl -sf -m 5 http://%s/metrics | grep -F "
             "'tradedesk_engine_market_alerts_raised_total{kind=\"%s\"' "
             "| awk '{n += $2} END {print n + 0}'",
             g_listen, kind);
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    return atoll(out);
}

/* The API's BTC-USDT price reaches want, a whole number (within 10 s). */
static void wait_price(long long want)
{
    long long until = itest_now_ms() + 10000;
    td_dec px = -1;
    while (itest_now_ms() < until) {
        itest_response *r = get("/api/v1/prices/BTC-USDT");
        ITEST_STATUS(r, 200);
        const char *p = itest_json_str(r, "price");
        if (!p || td_dec_parse(p, strlen(p), &px) != TD_OK)
            px = -1;
        itest_free(r);
        if (px == want * TD_DEC_SCALE)
            return;
        usleep(100 * 1000);
    }
    fprintf(stderr, "    BTC-USDT at %lld (1e-%d), waited for %lld\n", (long long)px, TD_DEC_DIGITS,
            want);
    fail();
}

/* Both venues swing between 1000 and 1020 once a second (the pace of the
 * returns, not a timing bar) until volatility is raised; then steady at
 * 1000: five zero returns calm the window and the hold clears it. */
static void volatility_raised_and_cleared(void **state)
{
    (void)state;
    wait_price(1000);
    int raised = 0;
    for (int k = 1; k <= 30 && !raised; k++) {
        const char *p = k % 2 ? "1020" : "1000";
        quote(0, p);
        quote(1, p);
        usleep(1000 * 1000);
        raised = active_now("volatility");
    }
    assert_true(raised);
    char id[32], since[40];
    /* value: above 50 (the exact one depends on where the seconds fell). */
    expect_raised("volatility", "warning", -1, 50, "bp", id, since);
    quote(0, "1000");
    quote(1, "1000");
    expect_cleared("volatility", id, since);
}

/* 950 and 1050: the median (their mean) stays at 1000 and each source is
 * 50 / 1000 = 500 bp from it; both back at 1000, it clears. */
static void divergence_raised_and_cleared(void **state)
{
    (void)state;
    quote(1, "1050");
    quote(0, "950");
    char id[32], since[40];
    expect_raised("source_divergence", "warning", 500, 300, "bp", id, since);
    quote(0, "1000");
    quote(1, "1000");
    expect_cleared("source_divergence", id, since);
}

/* Coinbase silent: once the price is Binance's alone (Coinbase's 1010 is
 * stale), Binance moving to 900 is a price gap but no divergence (a lone
 * fresh source); Coinbase speaking again at 1000 makes two fresh sources
 * 50 / 950 = 526 bp from their median: raised; Binance back at 1000
 * clears it. */
static void divergence_needs_two_fresh_sources(void **state)
{
    (void)state;
    quote(1, "1010");
    wait_price(1005);
    control(1, "silence?on=1");
    wait_price(1000);
    long long gaps = raised_total("price_gap"), divs = raised_total("source_divergence");
    quote(0, "900");
    /* The gap of the move to 900 (1000 bp) is judged and counted with the
     * same event's divergence. */
    long long until = itest_now_ms() + 10000;
    while (raised_total("price_gap") == gaps && itest_now_ms() < until)
        usleep(100 * 1000);
    assert_true(raised_total("price_gap") > gaps);
    assert_int_equal(raised_total("source_divergence"), divs);
    assert_false(active_now("source_divergence"));

    quote(1, "1000");
    control(1, "silence?on=0");
    char id[32], since[40];
    expect_raised("source_divergence", "warning", 526, 300, "bp", id, since);
    assert_int_equal(raised_total("source_divergence"), divs + 1);
    quote(0, "1000");
    expect_cleared("source_divergence", id, since);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gap_raised_and_cleared),   cmocka_unit_test(spread_raised_and_cleared),
        cmocka_unit_test(stale_raised_and_cleared), cmocka_unit_test(counted_and_logged),
        cmocka_unit_test(pages_and_filters),        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(restart_keeps_the_table),
    };
    const struct CMUnitTest venues[] = {
        cmocka_unit_test(volatility_raised_and_cleared),
        cmocka_unit_test(divergence_raised_and_cleared),
        cmocka_unit_test(divergence_needs_two_fresh_sources),
    };
    int failed = cmocka_run_group_tests_name("market_alerts", tests, setup, teardown);
    return failed + cmocka_run_group_tests_name("market_alerts_venues", venues, setup_venues,
                                                teardown_venues);
}
