/*
 * engine_pipeline.c - micro-benchmark of the engine's in-process market
 * path: a Binance message's bytes -> ws/feed parser -> engine/market
 * (oracle choice, candles, trades) -> the publisher's take of what changed.
 * No network, no PostgreSQL, no Redis: what the loop itself costs per event.
 *
 *   make -C bench && build/bench/engine_pipeline [messages] [alerts]
 *
 * With `alerts`, the market alerts watch every event (engine/alert_watch:
 * the market's event listener), judged on a simulated 100 ms timer and
 * drained as the engine's timer does: what they add to each message.
 *
 * Prints events/s and the per-message latency percentiles (clock_gettime
 * around each message, so the numbers include that cost).
 */
#include "core/clock.h"
#include "ws/feed.h"
#include "engine/alert_watch.h"
#include "engine/market.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSYM 20

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int alerts = argc > 2 && strcmp(argv[2], "alerts") == 0;
    static const char *bases[NSYM] = {"BTC", "ETH", "SOL", "BNB", "XRP", "ADA", "DOGE",
                                      "TRX", "DOT", "LTC", "LINK", "AVAX", "ATOM", "XLM",
                                      "ETC", "FIL", "APT", "ARB", "OP", "NEAR"};
    char canon[NSYM][TD_SYMBOL_STR_MAX];
    const char *names[NSYM];
    for (int i = 0; i < NSYM; i++) {
        snprintf(canon[i], sizeof canon[i], "%s-USDT", bases[i]);
        names[i] = canon[i];
    }
    td_oracle_cfg cfg = {.mode = TD_ORACLE_PRIORITY, .nsources = 1, .stale_ms = 10000};
    td_market *m = td_market_new(&cfg, names, NSYM);
    td_feed_parser *p = td_feed_parser_new();
    /* The engine's defaults (TRADEDESK_ALERT_*). */
    static const td_alert_rule rules[TD_ALERT_KINDS] = {
        [TD_ALERT_STALE] = {10000, 60000, 20, 30000}, [TD_ALERT_GAP] = {500, 1500, 20, 30000},
        [TD_ALERT_VOLATILITY] = {100, 300, 20, 30000}, [TD_ALERT_SPREAD] = {50, 200, 20, 30000},
        [TD_ALERT_DIVERGENCE] = {200, 1000, 20, 30000}};
    td_alert_watch *watch = alerts ? td_alert_watch_new(m, rules, 30, 0, td_wall_ms()) : NULL;
    td_alert_transition changes[256];
    unsigned long long nchanges = 0;
    static td_feed_result r;
    char (*msgs)[256] = malloc(4096 * sizeof *msgs);
    size_t *lens = malloc(4096 * sizeof *lens);
    int64_t t0 = td_wall_ms();
    for (int i = 0; i < 4096; i++) {
        int s = i % NSYM;
        long cents = 100000 + (i * 7919) % 5000;
        if (i % 2)
            lens[i] = (size_t)snprintf(msgs[i], 256,
                                       "{\"e\":\"trade\",\"E\":%lld,\"s\":\"%sUSDT\",\"t\":%d,"
                                       "\"p\":\"%ld.%02ld\",\"q\":\"0.%05d\",\"T\":%lld,\"m\":%s}",
                                       (long long)t0, bases[s], i, cents / 100, cents % 100,
                                       i % 99999 + 1, (long long)t0, i % 3 ? "true" : "false");
        else
            lens[i] = (size_t)snprintf(msgs[i], 256,
                                       "{\"e\":\"24hrMiniTicker\",\"E\":%lld,\"s\":\"%sUSDT\","
                                       "\"c\":\"%ld.%02ld\",\"o\":\"1000.00\",\"h\":\"1100.00\","
                                       "\"l\":\"900.00\",\"v\":\"12345.678\",\"q\":\"9999\"}",
                                       (long long)t0, bases[s], cents / 100, cents % 100);
    }
    int64_t *lat = malloc((size_t)n * sizeof *lat);
    td_price_update pu[64];
    td_candle_update cu[512];
    td_market_event tr[512];
    long events = 0, bad = 0;
    int64_t start = td_mono_ns();
    for (long k = 0; k < n; k++) {
        int64_t a = td_mono_ns();
        int i = (int)(k % 4096);
        if (td_feed_parse(p, TD_VENUE_BINANCE, msgs[i], lens[i], &r) != TD_OK) {
            bad++;
            continue;
        }
        int64_t now = t0 + k / 1000; /* a thousand messages a millisecond */
        for (size_t e = 0; e < r.n; e++)
            if (td_market_apply(m, 0, &r.ev[e], now) == TD_OK)
                events++;
        if (k % 1000 == 999) { /* the publisher's round */
            td_market_take_prices(m, pu, 64);
            while (td_market_take_candles(m, cu, 512) == 512)
                ;
            while (td_market_take_trades(m, tr, 512) == 512)
                ;
        }
        if (watch && k % 100000 == 99999) { /* the 100 ms timer: 1,000 messages a ms */
            td_alert_watch_tick(watch, now);
            size_t got;
            while ((got = td_alert_watch_take(watch, changes, 256)) > 0)
                nchanges += got;
        }
        lat[k] = td_mono_ns() - a;
    }
    double secs = (double)(td_mono_ns() - start) / 1e9;
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    printf("engine pipeline%s: %ld messages, %ld events, %ld refused, %.3f s\n",
           watch ? " with market alerts" : "", n, events, bad, secs);
    if (watch)
        printf("  market alert changes: %llu\n", nchanges);
    printf("  %.0f events/s; per message p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us\n",
           (double)events / secs, lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3,
           lat[n * 999 / 1000] / 1e3, lat[n - 1] / 1e3);
    td_feed_parser_free(p);
    td_alert_watch_free(watch);
    td_market_free(m);
    return bad ? 1 : 0;
}
