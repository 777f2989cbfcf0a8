/*
 * test_venues.c - the engine's exchange adapters end to end: for Binance,
 * Coinbase and Kraken, a local server speaking that venue's WebSocket
 * protocol (tests/integration/fake_exchange.mjs), the engine pointed at it
 * with TRADEDESK_FEEDS=<venue>,sim.  Prices follow the venue's ticks all
 * the way to GET /api/v1/prices, survive a dropped connection (the adapter
 * reconnects and resubscribes), go stale on silence and fall back to the
 * simulator, and come back when the venue speaks again; the engine
 * subscribes to candles too (Binance kline_1m, Kraken ohlc) and
 * unsubscribes on SIGTERM before it closes; and replay:FILE, a
 * recording of Binance messages played through the same parser.
 *
 * The teardown stops the engine and seeds the demo data again (other tests
 * read the seeded prices).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static char g_token[4096];
static char g_fake_url[64], g_engine_url[160];
static int g_fake;

static void get_url(const char *url, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 '%s'", url);
    int rc = itest_sh(cmd, out, cap);
    if (rc != 0)
        fprintf(stderr, "    %s failed (%d)\n", cmd, rc);
    assert_int_equal(rc, 0);
}

static void control(const char *what)
{
    char url[256], out[256];
    snprintf(url, sizeof url, "%s/control/%s", g_fake_url, what);
    get_url(url, out, sizeof out);
}

/* The API's answer for BTC-USDT: its source, and its price. */
static void price_now(char *source, size_t scap, char *price, size_t pcap)
{
    char auth[4200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", g_token);
    const char *h[] = {auth, "Cache-Control: no-cache", NULL};
    itest_response *r = itest_http("GET", "/api/v1/prices/BTC-USDT", h, NULL);
    ITEST_STATUS(r, 200);
    /* A stale price (left by an earlier test with this source) is no one's now. */
    json_object *stale = itest_json_get(r, "stale");
    snprintf(source, scap, "%s",
             stale && json_object_get_boolean(stale) ? "(stale)" : itest_json_str(r, "source"));
    snprintf(price, pcap, "%s", itest_json_str(r, "price"));
    itest_free(r);
}

static int wait_source(const char *want, int timeout_ms, char *price, size_t pcap)
{
    long long until = itest_now_ms() + timeout_ms;
    char source[32] = "";
    while (itest_now_ms() < until) {
        price_now(source, sizeof source, price, pcap);
        if (strcmp(source, want) == 0)
            return 1;
        usleep(100 * 1000);
    }
    fprintf(stderr, "    source is %s, waited for %s\n", source, want);
    return 0;
}

static void start_fake(const char *venue, int port)
{
    snprintf(g_fake_url, sizeof g_fake_url, "http://127.0.0.1:%d", port);
    g_fake = itest_fake_exchange(venue, port);
    assert_true(g_fake > 0);
}

static void stop_fake(void)
{
    itest_fake_exchange_stop(g_fake);
    g_fake = 0;
}

/* How many clean stops the engine's log records. */
static long stopped_lines(void)
{
    char cmd[512], out[32];
    snprintf(cmd, sizeof cmd, "grep -c '\"msg\":\"stopped\"' %s/log/engine.log || true",
             getenv("TD_TEST_VAR"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    return atol(out);
}

static void run_venue(const char *venue, const char *url_var, const char *path,
                      const char *venue_symbol, const char *candle_sub)
{
    int port = itest_free_port(), eport = itest_free_port();
    assert_true(port > 0 && eport > 0);
    start_fake(venue, port);
    char v[128];
    snprintf(v, sizeof v, "%s,sim", venue);
    setenv("TRADEDESK_FEEDS", v, 1);
    snprintf(v, sizeof v, "ws://127.0.0.1:%d%s", port, path);
    setenv(url_var, v, 1);
    snprintf(v, sizeof v, "127.0.0.1:%d", eport);
    setenv("TRADEDESK_ENGINE_LISTEN", v, 1);
    snprintf(g_engine_url, sizeof g_engine_url, "http://%s", v);
    setenv("TRADEDESK_PRICE_STALE_MS", "1500", 1);
    setenv("TRADEDESK_FEED_SILENCE_MS", "1500", 1);
    setenv("TRADEDESK_SIM_STEP_MS", "100", 1);
    snprintf(v, sizeof v, "price?s=%s&p=12345.67", venue_symbol);
    control(v); /* far from the simulator's ~106k: the price says its source */
    assert_int_equal(itest_stack("start engine"), 0);

    /* 1. The venue's ticks reach the API. */
    char price[40];
    assert_true(wait_source(venue, 10000, price, sizeof price));
    if (!(atof(price) > 12000 && atof(price) < 12700))
        fail_msg("the %s price is %s, not about 12345.67", venue, price);

    /* 1b. Two prices within TD_LATEST_EVERY_MS: the value Redis keeps for
     * new readers (td:px:<sym>, SET at most every 100 ms) ends at the
     * second, and stays there. */
    snprintf(v, sizeof v, "price?s=%s&p=12001.25&fixed=1", venue_symbol);
    control(v);
    snprintf(v, sizeof v, "price?s=%s&p=12002.75&fixed=1", venue_symbol);
    control(v);
    char px[512] = "";
    long long px_until = itest_now_ms() + 5000;
    while (!strstr(px, "\"price\":\"12002.75\"") && itest_now_ms() < px_until) {
        usleep(50 * 1000);
        itest_redis_cli("GET td:px:BTC-USDT", px, sizeof px);
    }
    assert_non_null(strstr(px, "\"price\":\"12002.75\""));
    usleep(400 * 1000);
    itest_redis_cli("GET td:px:BTC-USDT", px, sizeof px);
    assert_non_null(strstr(px, "\"price\":\"12002.75\""));
    snprintf(v, sizeof v, "price?s=%s&p=12345.67", venue_symbol);
    control(v); /* moving again */

    /* 2. A dropped connection: the adapter reconnects and resubscribes. */
    char stats[8192], health[4096], url[200], want[128];
    snprintf(url, sizeof url, "%s/control/stats", g_fake_url);
    get_url(url, stats, sizeof stats);
    snprintf(want, sizeof want, "\"%s\"", candle_sub); /* kline_1m / ohlc / matches */
    if (!strstr(stats, want))
        fprintf(stderr, "    %s not subscribed: %s\n", want, stats);
    assert_non_null(strstr(stats, want));
    /* The drop is announced on td:market (for the stream's `market` channel). */
    char sub[600], events[512];
    snprintf(sub, sizeof sub,
             "timeout 4 redis-cli -s '%s' SUBSCRIBE td:market > '%s/market.%s' 2>&1 &",
             getenv("TRADEDESK_REDIS_URL") + 5, getenv("TD_TEST_VAR"), venue);
    assert_int_equal(itest_sh(sub, NULL, 0), 0);
    usleep(300 * 1000);
    control("drop");
    long long until = itest_now_ms() + 15000;
    int back = 0;
    while (!back && itest_now_ms() < until) {
        usleep(200 * 1000);
        get_url(url, stats, sizeof stats);
        back = strstr(stats, "\"connections\":1") && !strstr(stats, "\"subscribes\":1,");
    }
    assert_true(back);
    snprintf(sub, sizeof sub, "sleep 4; grep -c '\"source\":\"%s\",\"state\":\"reconnecting\"' '%s/market.%s'",
             venue, getenv("TD_TEST_VAR"), venue);
    assert_int_equal(itest_sh(sub, events, sizeof events), 0);
    assert_true(atoi(events) >= 1);
    snprintf(url, sizeof url, "%s/health", g_engine_url);
    get_url(url, health, sizeof health);
    json_object *h = json_tokener_parse(health), *feeds, *f0, *rc;
    assert_non_null(h);
    assert_true(json_object_object_get_ex(h, "feeds", &feeds));
    f0 = json_object_array_get_idx(feeds, 0); /* the venue: first in TRADEDESK_FEEDS */
    assert_true(json_object_object_get_ex(f0, "reconnects", &rc));
    assert_true(json_object_get_int(rc) >= 1);
    json_object_put(h);
    assert_true(wait_source(venue, 5000, price, sizeof price));

    /* 3. Silence: stale after TRADEDESK_PRICE_STALE_MS, the simulator takes
     * over; the silent connection is closed and reopened meanwhile. */
    control("silence?on=1");
    assert_true(wait_source("sim", 10000, price, sizeof price));

    /* 4. The venue speaks again: back to it. */
    control("silence?on=0");
    assert_true(wait_source(venue, 15000, price, sizeof price));

    /* 5. SIGTERM: the engine unsubscribes what it subscribed, then closes,
     * and stops by itself (the stack kills an engine that does not within
     * 15 s: its log then lacks this stop's "stopped"). */
    long stopped = stopped_lines();
    assert_int_equal(itest_stack("stop engine"), 0);
    assert_int_equal(stopped_lines(), stopped + 1);
    snprintf(url, sizeof url, "%s/control/stats", g_fake_url);
    get_url(url, stats, sizeof stats);
    char *uns = strstr(stats, "\"unsubscribed\":");
    if (!strstr(stats, "\"unsubscribes\":0,") && uns && strstr(uns, want)) {
        /* ok */
    } else {
        fprintf(stderr, "    no unsubscribe of %s on SIGTERM: %s\n", want, stats);
        fail();
    }
    stop_fake();
}

static int setup(void **state)
{
    (void)state;
    return itest_login("alice", "tradedesk", g_token, sizeof g_token) == 200 ? 0 : -1;
}

/* After each venue, pass or fail: no engine, no fake server left. */
static int after_venue(void **state)
{
    (void)state;
    stop_fake();
    return itest_stack("stop engine") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return itest_cli("seed demo", NULL, NULL, 0) == 0 ? 0 : -1;
}

static void binance(void **state)
{
    (void)state;
    run_venue("binance", "TRADEDESK_BINANCE_WS_URL", "/ws", "BTCUSDT", "btcusdt@kline_1m");
}

static void coinbase(void **state)
{
    (void)state;
    /* Coinbase quotes BTC-USD; the engine's instrument is BTC-USDT, which
     * Coinbase spells BTC-USDT too. */
    run_venue("coinbase", "TRADEDESK_COINBASE_WS_URL", "/", "BTC-USDT", "matches");
}

static void kraken(void **state)
{
    (void)state;
    run_venue("kraken", "TRADEDESK_KRAKEN_WS_URL", "/v2", "BTC/USDT", "ohlc");
}

/* replay:FILE: a recording of Binance messages through the same parser;
 * its prices win while it plays, the simulator takes over after its end. */
static void replay(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/recording.txt", getenv("TD_TEST_VAR"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# a recording for test_venues\n\n");
    long long t0 = 1700000000000LL;
    for (int i = 0; i < 40; i++) /* 4 s of trades, then the end */
        fprintf(f,
                "%lld binance {\"e\":\"trade\",\"E\":%lld,\"s\":\"BTCUSDT\",\"t\":%d,"
                "\"p\":\"23456.%02d\",\"q\":\"0.01\",\"T\":%lld,\"m\":false}\n",
                t0 + i * 100, t0 + i * 100, i, i, t0 + i * 100);
    fprintf(f, "not a recorded line\n");
    fclose(f);
    char v[600];
    snprintf(v, sizeof v, "replay:%s,sim", path);
    setenv("TRADEDESK_FEEDS", v, 1);
    setenv("TRADEDESK_REPLAY_SPEED", "1", 1);
    setenv("TRADEDESK_PRICE_STALE_MS", "1500", 1);
    int eport = itest_free_port();
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", eport);
    setenv("TRADEDESK_ENGINE_LISTEN", listen, 1);
    snprintf(g_engine_url, sizeof g_engine_url, "http://%s", listen);
    assert_int_equal(itest_stack("start engine"), 0);

    char price[40];
    assert_true(wait_source("replay", 10000, price, sizeof price));
    assert_true(atof(price) >= 23456 && atof(price) < 23457);
    /* After the last line, stale, then the simulator. */
    assert_true(wait_source("sim", 15000, price, sizeof price));
    char url[200], health[4096];
    snprintf(url, sizeof url, "%s/health", g_engine_url);
    get_url(url, health, sizeof health);
    assert_non_null(strstr(health, "\"source\":\"replay\",\"state\":\"disconnected\""));
    assert_non_null(strstr(health, "\"parse_errors\":1"));
    unsetenv("TRADEDESK_REPLAY_SPEED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(binance, after_venue),
        cmocka_unit_test_teardown(coinbase, after_venue),
        cmocka_unit_test_teardown(kraken, after_venue),
        cmocka_unit_test_teardown(replay, after_venue),
    };
    return cmocka_run_group_tests_name("venues", tests, setup, teardown);
}
