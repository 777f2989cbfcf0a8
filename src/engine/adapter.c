/*
 * adapter.c - the engine's side of each exchange in TRADEDESK_FEEDS
 * (Binance, Coinbase, Kraken v2): a ws/venue client per venue, pointed at
 * TRADEDESK_<VENUE>_WS_URL and subscribed to every instrument, and the
 * glue between its hooks and the engine: the source's counters
 * (td_feed_state: messages, events, parse errors, reconnects, last message,
 * lag), each state change (connected, disconnected, reconnecting, error) in
 * the log, /health and on Redis' `td:market` channel, and every market
 * event into td_market_apply.  The connection itself (subscribe,
 * back-off, silence, unsubscribe on stop) is ws/venue.c's.  A message a
 * parser refuses is counted and logged (rate-limited), never fatal.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/keys.h"
#include "ws/venue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_MS 1000 /* for every venue to confirm its unsubscribe on SIGTERM */

typedef struct td_adapter {
    td_engine *e;
    int source;
    td_venue_client *client;
    int64_t last_error_log_ms;
} td_adapter;

static td_adapter g_adapters[TD_ENGINE_MAX_SOURCES];

const struct lws_protocols td_engine_feed_protocol = TD_VENUE_PROTOCOL;

static void set_state(td_adapter *a, const char *state, const char *why)
{
    td_feed_state *f = &a->e->feeds[a->source];
    if (f->state && strcmp(f->state, state) == 0)
        return;
    f->state = state;
    if (why && *why)
        td_info("feed %s: %s (%s)", f->name, state, why);
    else
        td_info("feed %s: %s", f->name, state);
    char msg[256], at[40];
    td_rfc3339_ms(td_wall_ms(), at, sizeof at); /* JSON timestamps are RFC 3339 */
    int n = snprintf(msg, sizeof msg, "{\"source\":\"%s\",\"state\":\"%s\",\"at\":\"%s\"}", f->name,
                     state, at);
    if (n > 0 && (size_t)n < sizeof msg) /* with the next pipeline: never waits on Redis */
        td_engine_redis_publish(a->e, TD_CHANNEL_MARKET, msg, (size_t)n);
}

static void on_state(void *arg, const char *state, const char *why)
{
    td_adapter *a = arg;
    if (strcmp(state, "reconnecting") == 0)
        a->e->feeds[a->source].reconnects++;
    set_state(a, state, why);
}

static void on_message(void *arg, td_feed_result *r, int64_t now)
{
    td_adapter *a = arg;
    td_feed_state *f = &a->e->feeds[a->source];
    f->messages++;
    f->last_ms = now;
    if (r->msg == TD_FEED_VENUE_ERROR)
        td_warn("feed %s: the venue reports: %s", f->name, r->error);
    if (r->msg != TD_FEED_EVENTS)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].event_ms > 0)
            f->lag_ms = now - r->ev[i].event_ms;
        if (td_market_apply(a->e->market, a->source, &r->ev[i], now) == TD_OK)
            f->events++;
    }
}

static void on_error(void *arg, const char *why, int64_t now)
{
    td_adapter *a = arg;
    td_feed_state *f = &a->e->feeds[a->source];
    f->messages++;
    f->last_ms = now;
    f->parse_errors++;
    if (now - a->last_error_log_ms > 1000) { /* a storm logs once a second */
        a->last_error_log_ms = now;
        td_warn("feed %s: message refused (%s)", f->name, why);
    }
}

static const td_venue_hooks hooks = {on_state, on_message, on_error};

static const char *venue_url(const td_engine *e, td_venue v)
{
    switch (v) {
    case TD_VENUE_BINANCE:
        return e->cfg.binance_ws_url;
    case TD_VENUE_COINBASE:
        return e->cfg.coinbase_ws_url;
    case TD_VENUE_KRAKEN:
        return e->cfg.kraken_ws_url;
    }
    return "";
}

int td_engine_venue(const char *name)
{
    return (int)td_venue_from_name(name);
}

td_status td_engine_adapter_start(td_engine *e, int source, int venue)
{
    td_adapter *a = &g_adapters[source];
    memset(a, 0, sizeof *a);
    a->e = e;
    a->source = source;
    const char *symbols[TD_MARKET_MAX_SYMBOLS];
    int n = td_market_nsymbols(e->market);
    for (int i = 0; i < n; i++)
        symbols[i] = td_market_symbol(e->market, i);
    td_venue_opts o = {.venue = (td_venue)venue,
                       .url = venue_url(e, (td_venue)venue),
                       .name = e->feeds[source].name,
                       .symbols = symbols,
                       .nsymbols = n,
                       .silence_ms = e->cfg.feed_silence_ms};
    e->feeds[source].state = "disconnected";
    return td_venue_client_start(e->lws, &o, &hooks, a, &a->client);
}

void td_engine_adapters_stop(td_engine *e)
{
    td_venue_client *open[TD_ENGINE_MAX_SOURCES];
    int n = 0;
    for (int i = 0; i < e->nsources; i++)
        if (g_adapters[i].client) {
            td_venue_client_stop(g_adapters[i].client);
            open[n++] = g_adapters[i].client;
        }
    if (n)
        td_venue_clients_drain(e->lws, open, n, STOP_MS);
}

void td_engine_adapters_free(td_engine *e)
{
    for (int i = 0; i < e->nsources; i++) {
        td_venue_client_free(g_adapters[i].client);
        memset(&g_adapters[i], 0, sizeof g_adapters[i]);
    }
}
