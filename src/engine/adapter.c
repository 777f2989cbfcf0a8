/*
 * adapter.c - one WebSocket client connection per exchange in
 * TRADEDESK_FEEDS (Binance, Coinbase, Kraken v2): connect to the venue's URL
 * (TRADEDESK_<VENUE>_WS_URL), subscribe to the instruments' tickers, tops
 * of book and trades in the venue's own protocol, hand every message to
 * the venue's pure parser (feeds/) and the events to the market.
 *
 * It reconnects with exponential back-off and full jitter (0.5 s doubling
 * to 30 s), resubscribes, closes a connection that has been silent for
 * TRADEDESK_FEED_SILENCE_MS (and a Binance one before its 24-hour limit),
 * and reports each state change (connected, disconnected, reconnecting,
 * error) in the log, /health and on Redis' `td:market` channel.  A message
 * a parser refuses is counted and logged (rate-limited), never fatal.
 * libwebsockets answers the venues' pings itself.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "engine/feeds/feed.h"
#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX (256 * 1024) /* a market message is far smaller; more is garbage */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define BINANCE_MAX_AGE_MS (23LL * 3600 * 1000) /* the venue cuts at 24 h */
#define SUB_MAX 4

typedef struct td_adapter {
    td_engine *e;
    int source;
    td_venue venue;
    char url[256];
    struct lws *wsi;
    td_feed_parser *parser;
    lws_sorted_usec_list_t retry, watchdog;
    int attempt;
    int64_t connected_ms;
    char *rx;
    size_t rx_len;
    int rx_overflow;
    char *sub[SUB_MAX]; /* subscribe messages, LWS_PRE headroom each */
    size_t sub_len[SUB_MAX];
    int nsub, sent;
    uint64_t rng;
    int64_t last_error_log_ms;
} td_adapter;

static td_adapter g_adapters[TD_ENGINE_MAX_SOURCES];

static void set_state(td_adapter *a, const char *state, const char *why)
{
    td_feed_state *f = &a->e->feeds[a->source];
    if (f->state == state)
        return;
    f->state = state;
    if (why && *why)
        td_info("feed %s: %s (%s)", f->name, state, why);
    else
        td_info("feed %s: %s", f->name, state);
    char msg[256];
    snprintf(msg, sizeof msg, "{\"source\":\"%s\",\"state\":\"%s\",\"at\":%lld}", f->name, state,
             (long long)td_wall_ms());
    redisReply *r = td_redis_cmd(a->e->redis, "PUBLISH " TD_CHANNEL_MARKET " %s", msg);
    if (r)
        freeReplyObject(r);
}

/* ---- subscribe messages, in each venue's protocol ------------------- */

static int add_sub(td_adapter *a, const char *text)
{
    if (a->nsub == SUB_MAX)
        return -1;
    size_t n = strlen(text);
    char *b = malloc(LWS_PRE + n + 1);
    if (!b)
        return -1;
    memcpy(b + LWS_PRE, text, n + 1);
    a->sub[a->nsub] = b;
    a->sub_len[a->nsub++] = n;
    return 0;
}

/* The instruments in the venue's spelling as comma-separated JSON strings
 * (no brackets), each name followed by post (Binance: "btcusdt@trade");
 * how many.  A symbol the venue cannot spell is left out. */
static int symbol_items(td_adapter *a, td_spelling sp, const char *post, char *out, size_t cap)
{
    size_t k = 0;
    int n = 0;
    out[0] = '\0';
    for (int i = 0; i < td_market_nsymbols(a->e->market) && k + 64 < cap; i++) {
        char v[TD_SYMBOL_STR_MAX];
        if (td_symbol_to_venue(sp, td_market_symbol(a->e->market, i), v, sizeof v) != TD_OK)
            continue;
        k += (size_t)snprintf(out + k, cap - k, "%s\"%s%s\"", n ? "," : "", v, post);
        n++;
    }
    return n;
}

static int build_subscriptions(td_adapter *a)
{
    char items[2048], msg[8192];
    switch (a->venue) {
    case TD_VENUE_BINANCE: {
        /* One message for every stream: the venue allows 5 control
         * messages a second per connection. */
        char t[2048], b[2048], tr[2048];
        if (!symbol_items(a, TD_SPELL_BINANCE_STREAM, "@miniTicker", t, sizeof t))
            return -1;
        symbol_items(a, TD_SPELL_BINANCE_STREAM, "@bookTicker", b, sizeof b);
        symbol_items(a, TD_SPELL_BINANCE_STREAM, "@trade", tr, sizeof tr);
        snprintf(msg, sizeof msg, "{\"method\":\"SUBSCRIBE\",\"params\":[%s,%s,%s],\"id\":1}", t, b,
                 tr);
        return add_sub(a, msg);
    }
    case TD_VENUE_COINBASE:
        if (!symbol_items(a, TD_SPELL_COINBASE, "", items, sizeof items))
            return -1;
        snprintf(msg, sizeof msg,
                 "{\"type\":\"subscribe\",\"product_ids\":[%s],"
                 "\"channels\":[\"ticker\",\"matches\",\"heartbeat\"]}",
                 items);
        return add_sub(a, msg);
    case TD_VENUE_KRAKEN:
        if (!symbol_items(a, TD_SPELL_KRAKEN, "", items, sizeof items))
            return -1;
        snprintf(msg, sizeof msg,
                 "{\"method\":\"subscribe\",\"params\":{\"channel\":\"ticker\",\"symbol\":[%s]}}",
                 items);
        if (add_sub(a, msg) != 0)
            return -1;
        snprintf(msg, sizeof msg,
                 "{\"method\":\"subscribe\",\"params\":{\"channel\":\"trade\",\"symbol\":[%s],"
                 "\"snapshot\":false}}",
                 items);
        return add_sub(a, msg);
    }
    return -1;
}

/* ---- connecting and reconnecting ------------------------------------ */

static void connect_now(td_adapter *a);

static void on_retry(lws_sorted_usec_list_t *sul)
{
    td_adapter *a = lws_container_of(sul, td_adapter, retry);
    if (!a->e->stopping)
        connect_now(a);
}

/* Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)]. */
static void schedule_retry(td_adapter *a, const char *why)
{
    if (a->e->stopping)
        return;
    int shift = a->attempt < 16 ? a->attempt : 16;
    int64_t ceiling = (int64_t)BACKOFF_MIN_MS << shift;
    if (ceiling > BACKOFF_MAX_MS)
        ceiling = BACKOFF_MAX_MS;
    a->rng ^= a->rng << 13;
    a->rng ^= a->rng >> 7;
    a->rng ^= a->rng << 17;
    int64_t delay = (int64_t)(a->rng % (uint64_t)(ceiling + 1));
    a->attempt++;
    a->e->feeds[a->source].reconnects++;
    set_state(a, "reconnecting", why);
    lws_sul_schedule(a->e->lws, 0, &a->retry, on_retry, delay * LWS_US_PER_MS);
}

static void connect_now(td_adapter *a)
{
    char buf[sizeof a->url];
    snprintf(buf, sizeof buf, "%s", a->url);
    const char *proto = NULL, *addr = NULL, *path = NULL;
    int port = 0;
    if (lws_parse_uri(buf, &proto, &addr, &port, &path) != 0) {
        set_state(a, "error", "bad URL");
        return;
    }
    char fullpath[256];
    snprintf(fullpath, sizeof fullpath, "/%s", path);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = a->e->lws;
    ci.address = addr;
    ci.port = port;
    ci.path = fullpath;
    ci.host = addr;
    ci.origin = addr;
    ci.protocol = NULL;
    ci.local_protocol_name = "td-feed";
    ci.ssl_connection =
        strcmp(proto, "wss") == 0 || strcmp(proto, "https") == 0 ? LCCSCF_USE_SSL : 0;
    ci.opaque_user_data = a;
    ci.pwsi = &a->wsi;
    a->sent = 0;
    a->rx_len = 0;
    a->rx_overflow = 0;
    if (!lws_client_connect_via_info(&ci))
        schedule_retry(a, "connect failed");
}

/* Once a second: a silent connection (or a Binance one near 24 h) is
 * closed, and the close reconnects it. */
static void on_watchdog(lws_sorted_usec_list_t *sul)
{
    td_adapter *a = lws_container_of(sul, td_adapter, watchdog);
    if (a->e->stopping)
        return;
    int64_t now = td_wall_ms();
    td_feed_state *f = &a->e->feeds[a->source];
    if (a->wsi && a->connected_ms) {
        int64_t since = f->last_ms > a->connected_ms ? f->last_ms : a->connected_ms;
        const char *why = NULL;
        if (now - since > a->e->cfg.feed_silence_ms)
            why = "silent";
        else if (a->venue == TD_VENUE_BINANCE && now - a->connected_ms > BINANCE_MAX_AGE_MS)
            why = "renewing before the 24 h limit";
        if (why) {
            td_warn("feed %s: closing the connection (%s)", f->name, why);
            lws_set_timeout(a->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    lws_sul_schedule(a->e->lws, 0, &a->watchdog, on_watchdog, 1000 * LWS_US_PER_MS);
}

/* ---- messages ------------------------------------------------------- */

static void on_message(td_adapter *a)
{
    td_engine *e = a->e;
    td_feed_state *f = &e->feeds[a->source];
    static td_feed_result r;
    int64_t now = td_wall_ms();
    f->messages++;
    f->last_ms = now;
    if (td_feed_parse(a->parser, a->venue, a->rx, a->rx_len, &r) != TD_OK) {
        f->parse_errors++;
        if (now - a->last_error_log_ms > 1000) { /* a storm logs once a second */
            a->last_error_log_ms = now;
            td_warn("feed %s: message refused (%s)", f->name, r.error);
        }
        return;
    }
    switch (r.msg) {
    case TD_FEED_EVENTS:
        for (size_t i = 0; i < r.n; i++) {
            r.ev[i].recv_ms = now;
            if (r.ev[i].event_ms > 0)
                f->lag_ms = now - r.ev[i].event_ms;
            if (td_market_apply(e->market, a->source, &r.ev[i], now) == TD_OK)
                f->events++;
        }
        break;
    case TD_FEED_VENUE_ERROR:
        td_warn("feed %s: the venue reports: %s", f->name, r.error);
        set_state(a, "error", r.error);
        break;
    case TD_FEED_SHUTDOWN:
        td_info("feed %s: the venue announces a shutdown; reconnecting", f->name);
        lws_set_timeout(a->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        break;
    case TD_FEED_ACK:
        set_state(a, "connected", "subscribed");
        break;
    default:
        break;
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    td_adapter *a = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!a)
            break;
        a->wsi = NULL;
        a->connected_ms = 0;
        schedule_retry(a, in && len ? (const char *)in : "connection error");
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        a->attempt = 0;
        a->connected_ms = td_wall_ms();
        set_state(a, "connected", NULL);
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (a->sent < a->nsub) {
            int i = a->sent++;
            /* lws masks a client's payload in place: send a copy, so the
             * message is intact for the next connection's resubscribe. */
            unsigned char *tx = malloc(LWS_PRE + a->sub_len[i]);
            if (!tx)
                return -1;
            memcpy(tx + LWS_PRE, a->sub[i] + LWS_PRE, a->sub_len[i]);
            int w = lws_write(wsi, tx + LWS_PRE, a->sub_len[i], LWS_WRITE_TEXT);
            free(tx);
            if (w < (int)a->sub_len[i])
                return -1;
            if (a->sent < a->nsub)
                lws_callback_on_writable(wsi); /* one write per WRITEABLE */
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (a->rx_len + len > RX_MAX) {
            a->rx_overflow = 1;
        } else {
            memcpy(a->rx + a->rx_len, in, len);
            a->rx_len += len;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (a->rx_overflow)
                a->e->feeds[a->source].parse_errors++;
            else
                on_message(a);
            a->rx_len = 0;
            a->rx_overflow = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        a->wsi = NULL;
        a->connected_ms = 0;
        set_state(a, "disconnected", NULL);
        schedule_retry(a, "closed");
        break;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols td_engine_feed_protocol = {"td-feed", callback, 0, RX_MAX, 0, NULL, 0};

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
    if (strcmp(name, "binance") == 0)
        return TD_VENUE_BINANCE;
    if (strcmp(name, "coinbase") == 0)
        return TD_VENUE_COINBASE;
    if (strcmp(name, "kraken") == 0)
        return TD_VENUE_KRAKEN;
    return 0;
}

td_status td_engine_adapter_start(td_engine *e, int source, int venue)
{
    td_adapter *a = &g_adapters[source];
    memset(a, 0, sizeof *a);
    a->e = e;
    a->source = source;
    a->venue = (td_venue)venue;
    a->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)td_mono_ns() ^ (uint64_t)source;
    snprintf(a->url, sizeof a->url, "%s", venue_url(e, a->venue));
    a->parser = td_feed_parser_new();
    a->rx = malloc(RX_MAX);
    if (!a->parser || !a->rx || build_subscriptions(a) != 0)
        return TD_ENOMEM;
    e->feeds[source].state = "disconnected";
    connect_now(a);
    lws_sul_schedule(e->lws, 0, &a->watchdog, on_watchdog, 1000 * LWS_US_PER_MS);
    return TD_OK;
}

void td_engine_adapters_stop(td_engine *e)
{
    for (int i = 0; i < e->nsources; i++) {
        td_adapter *a = &g_adapters[i];
        if (!a->e)
            continue;
        lws_sul_cancel(&a->retry);
        lws_sul_cancel(&a->watchdog);
    }
}

void td_engine_adapters_free(td_engine *e)
{
    for (int i = 0; i < e->nsources; i++) {
        td_adapter *a = &g_adapters[i];
        if (!a->e)
            continue;
        td_feed_parser_free(a->parser);
        free(a->rx);
        for (int k = 0; k < a->nsub; k++)
            free(a->sub[k]);
        memset(a, 0, sizeof *a);
    }
}
