/*
 * test_feed_cli.c - `tradedesk feed test` against a local server speaking
 * each venue's protocol (tests/integration/fake_exchange.mjs): for
 * Binance, Coinbase and Kraken it connects, subscribes, counts tickers,
 * trades and (Binance, Kraken) candles, reports latency, unsubscribes
 * before it closes, and exits 0; --redis reports the PING of the stack's
 * Redis.  It exits 1 when the venue is silent and when nothing listens,
 * and 2 on bad usage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static char g_out[32768];

/* Run `tradedesk ARGS` with stderr folded into g_out; its exit status. */
static int feed(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/tradedesk' %s 2>&1; echo \"exit=$?\"", getenv("TD_TEST_BIN"),
             args);
    itest_sh(cmd, g_out, sizeof g_out);
    const char *e = strstr(g_out, "exit=");
    assert_non_null(e);
    return atoi(e + 5);
}

/* The count on the summary's line for kind ("  ticker        41"), -1 none. */
static long long count(const char *kind)
{
    char key[64];
    snprintf(key, sizeof key, "\n  %s ", kind);
    const char *p = strstr(g_out, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void stats(int port, char *out, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 'http://127.0.0.1:%d/control/stats'", port);
    assert_int_equal(itest_sh(cmd, out, cap), 0);
}

static void venue_reports(const char *venue, const char *path, int candles, int redis)
{
    int port = itest_free_port();
    assert_true(port > 0);
    int fake = itest_fake_exchange(venue, port);
    assert_true(fake > 0);
    char args[512];
    snprintf(args, sizeof args,
             "feed test --exchange %s --symbol BTC-USDT --url ws://127.0.0.1:%d%s --duration 2%s",
             venue, port, path, redis ? " --redis" : "");
    int rc = feed(args);
    if (rc != 0 || count("ticker") <= 0 || count("trade") <= 0 || (candles && count("candle") <= 0))
        fprintf(stderr, "    tradedesk %s:\n%s\n", args, g_out);
    assert_int_equal(rc, 0);
    assert_true(count("ticker") > 0);
    assert_true(count("trade") > 0);
    if (candles)
        assert_true(count("candle") > 0);
    assert_int_equal(count("parse errors"), 0);
    assert_non_null(strstr(g_out, "connected"));
    assert_non_null(strstr(g_out, "subscription acknowledged"));
    assert_non_null(strstr(g_out, "latency ms    avg "));
    assert_non_null(strstr(g_out, " p99 "));
    if (redis)
        assert_non_null(strstr(g_out, "redis         PING "));
    /* It left the way the engine does: unsubscribed, then closed. */
    char st[8192];
    stats(port, st, sizeof st);
    if (!strstr(st, "\"unsubscribes\":") || strstr(st, "\"unsubscribes\":0,"))
        fprintf(stderr, "    no unsubscribe: %s\n", st);
    assert_null(strstr(st, "\"unsubscribes\":0,"));
    itest_fake_exchange_stop(fake);
}

static void binance(void **state)
{
    (void)state;
    venue_reports("binance", "/ws", 1, 1);
}

static void coinbase(void **state)
{
    (void)state;
    venue_reports("coinbase", "/", 0, 0);
}

static void kraken(void **state)
{
    (void)state;
    venue_reports("kraken", "/v2", 1, 0);
}

/* Connected and subscribed, but not one market event: exit 1. */
static void silent_venue(void **state)
{
    (void)state;
    int port = itest_free_port();
    int fake = itest_fake_exchange("binance", port);
    assert_true(fake > 0);
    char cmd[256], out[64];
    snprintf(cmd, sizeof cmd, "curl -s -m 5 'http://127.0.0.1:%d/control/silence?on=1'", port);
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    char args[256];
    snprintf(args, sizeof args,
             "feed test --exchange binance --symbol BTC-USDT --url ws://127.0.0.1:%d/ws "
             "--duration 2",
             port);
    int rc = feed(args);
    itest_fake_exchange_stop(fake);
    if (rc != 1)
        fprintf(stderr, "%s\n", g_out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(g_out, "no market event"));
    assert_int_equal(count("ticker"), 0);
}

/* Nothing listens: exit 1, saying it cannot connect. */
static void nothing_listens(void **state)
{
    (void)state;
    int port = itest_free_port();
    char args[256];
    snprintf(args, sizeof args,
             "feed test --exchange kraken --symbol BTC-USDT --url ws://127.0.0.1:%d/v2 "
             "--duration 1",
             port);
    int rc = feed(args);
    if (rc != 1)
        fprintf(stderr, "%s\n", g_out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(g_out, "cannot connect"));
}

static void usage_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "feed",
        "feed check --exchange binance --symbol BTC-USDT",
        "feed test --symbol BTC-USDT",
        "feed test --exchange binance",
        "feed test --exchange bitfinex --symbol BTC-USDT",
        "feed test --exchange binance --symbol btcusdt",
        "feed test --exchange binance --symbol BTC/USDT",
        "feed test --exchange binance --symbol BTC-USDT --duration 0",
        "feed test --exchange binance --symbol BTC-USDT --duration ten",
        "feed test --exchange binance --symbol BTC-USDT --url http://127.0.0.1:1/",
        "feed test --exchange binance --symbol BTC-USDT --verbose",
        "feed test --exchange binance --symbol",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = feed(bad[i]);
        if (rc != 2)
            fprintf(stderr, "    tradedesk %s: exit %d\n%s\n", bad[i], rc, g_out);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(g_out, "usage: tradedesk feed test"));
    }
    feed("feed test --exchange binance --symbol btcusdt");
    assert_non_null(strstr(g_out, "not a canonical BASE-QUOTE symbol"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binance),         cmocka_unit_test(coinbase),
        cmocka_unit_test(kraken),          cmocka_unit_test(silent_venue),
        cmocka_unit_test(nothing_listens), cmocka_unit_test(usage_errors),
    };
    return cmocka_run_group_tests_name("feed_cli", tests, NULL, NULL);
}
