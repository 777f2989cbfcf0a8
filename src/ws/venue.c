/*
 * venue.c - the exchange WebSocket client; see venue.h.
 *
 * One connection per client.  Its life: connect -> send the subscribe
 * messages (paced) -> messages through the parser to the hooks; on a
 * close or a failed connect, a retry after a full-jitter delay; on stop,
 * the unsubscribe messages, then a normal close when the venue confirms
 * the last one (matched by its request id where the venue echoes one).
 * Never logs market data; a silent close and a venue's shutdown notice
 * are logged (warn, info), state changes go to the hooks.
 */
#include "ws/venue.h"
#include "core/clock.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define BINANCE_MAX_AGE_MS (23LL * 3600 * 1000) /* the venue cuts at 24 h */
#define STOP_GRACE_MS 1000                      /* for the venue to confirm an unsubscribe */
#define WATCHDOG_MS 1000

/* ---- control messages, in each venue's protocol (pure) -------------- */

typedef struct out_text {
    char *p;
    size_t len, cap;
    int full;
} out_text;

static void put(out_text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_text *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = 1;
    else
        o->len += (size_t)n;
}

/* The symbols in the venue's spelling as JSON strings, comma-separated,
 * each followed by each of posts[] (Binance: "btcusdt@trade"); how many
 * symbols the venue can spell. */
static int symbol_items(out_text *o, td_spelling sp, const char *const *symbols, int n,
                        const char *const *posts, int nposts)
{
    int k = 0, items = 0;
    for (int p = 0; p < nposts; p++)
        for (int i = 0; i < n; i++) {
            char v[TD_SYMBOL_STR_MAX];
            if (td_symbol_to_venue(sp, symbols[i], v, sizeof v) != TD_OK)
                continue;
            put(o, "%s\"%s%s\"", items++ ? "," : "", v, posts[p]);
            if (p == 0)
                k++;
        }
    return k;
}

int td_venue_messages(td_venue v, td_venue_op op, const char *const *symbols, int nsymbols,
                      int64_t first_id, char msgs[][TD_VENUE_MSG_MAX], int cap)
{
    int unsub = op == TD_VENUE_UNSUBSCRIBE, n = 0;
    out_text o;
#define START()                                                                                    \
    do {                                                                                           \
        if (n == cap)                                                                              \
            return -1;                                                                             \
        o = (out_text){msgs[n], 0, TD_VENUE_MSG_MAX, 0};                                           \
        msgs[n][0] = '\0';                                                                         \
    } while (0)
#define FINISH()                                                                                   \
    do {                                                                                           \
        if (o.full)                                                                                \
            return -1;                                                                             \
        n++;                                                                                       \
    } while (0)
    switch (v) {
    case TD_VENUE_BINANCE: {
        /* One message for every stream: few control messages per second. */
        static const char *const streams[] = {"@miniTicker", "@bookTicker", "@trade", "@kline_1m"};
        START();
        put(&o, "{\"method\":\"%s\",\"params\":[", unsub ? "UNSUBSCRIBE" : "SUBSCRIBE");
        if (!symbol_items(&o, TD_SPELL_BINANCE_STREAM, symbols, nsymbols, streams, 4))
            return -1;
        put(&o, "],\"id\":%lld}", (long long)first_id);
        FINISH();
        break;
    }
    case TD_VENUE_COINBASE: {
        static const char *const none[] = {""};
        START();
        put(&o, "{\"type\":\"%s\",\"product_ids\":[", unsub ? "unsubscribe" : "subscribe");
        if (!symbol_items(&o, TD_SPELL_COINBASE, symbols, nsymbols, none, 1))
            return -1;
        put(&o, "],\"channels\":[\"ticker\",\"matches\",\"heartbeat\"]}");
        FINISH();
        break;
    }
    case TD_VENUE_KRAKEN: {
        static const char *const none[] = {""};
        /* channel, what subscribe adds, what both add */
        static const char *const ch[][3] = {
            {"ticker", "", ""},
            {"trade", ",\"snapshot\":false", ""},
            {"ohlc", ",\"snapshot\":false", ",\"interval\":1"},
        };
        for (int c = 0; c < 3; c++) {
            START();
            put(&o, "{\"method\":\"%s\",\"params\":{\"channel\":\"%s\",\"symbol\":[",
                unsub ? "unsubscribe" : "subscribe", ch[c][0]);
            if (!symbol_items(&o, TD_SPELL_KRAKEN, symbols, nsymbols, none, 1))
                return -1;
            put(&o, "]%s%s},\"req_id\":%lld}", ch[c][2], unsub ? "" : ch[c][1],
                (long long)(first_id + c));
            FINISH();
        }
        break;
    }
    default:
        return -1;
    }
#undef START
#undef FINISH
    return n;
}

/* ---- the client ----------------------------------------------------- */

struct td_venue_client {
    struct lws_context *ctx;
    td_venue venue;
    char url[256], name[32];
    td_venue_hooks hooks;
    void *arg;
    int silence_ms;
    int pace_ms; /* between two control messages */

    struct lws *wsi;
    td_feed_parser *parser;
    lws_sorted_usec_list_t retry, watchdog, pace, grace;
    int attempt;
    uint64_t rng;
    int64_t connected_ms, last_rx_ms, last_ctl_ms;

    char *rx;
    size_t rx_len;
    int rx_overflow;

    /* [0, nsub) subscribe, [nsub, nsub + nunsub) unsubscribe; each with
     * LWS_PRE bytes of headroom before the text. */
    char *msg[2 * TD_VENUE_MAX_MSGS];
    size_t msg_len[2 * TD_VENUE_MAX_MSGS];
    int nsub, nunsub;
    int next, until; /* messages [next, until) are due on this connection */
    int64_t last_unsub_id;

    int stopping;
    int closing; /* close at the next WRITEABLE */
    td_feed_result r;
};

static void report(td_venue_client *c, const char *state, const char *why)
{
    if (c->hooks.on_state)
        c->hooks.on_state(c->arg, state, why);
}

static void connect_now(td_venue_client *c);

static void on_retry(lws_sorted_usec_list_t *sul)
{
    td_venue_client *c = lws_container_of(sul, td_venue_client, retry);
    if (!c->stopping)
        connect_now(c);
}

/* Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)]. */
static void schedule_retry(td_venue_client *c, const char *why)
{
    if (c->stopping)
        return;
    int shift = c->attempt < 16 ? c->attempt : 16;
    int64_t ceiling = (int64_t)BACKOFF_MIN_MS << shift;
    if (ceiling > BACKOFF_MAX_MS)
        ceiling = BACKOFF_MAX_MS;
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    int64_t delay = (int64_t)(c->rng % (uint64_t)(ceiling + 1));
    c->attempt++;
    report(c, "reconnecting", why);
    lws_sul_schedule(c->ctx, 0, &c->retry, on_retry, delay * LWS_US_PER_MS);
}

static void connect_now(td_venue_client *c)
{
    char buf[sizeof c->url];
    snprintf(buf, sizeof buf, "%s", c->url);
    const char *proto = NULL, *addr = NULL, *path = NULL;
    int port = 0;
    if (lws_parse_uri(buf, &proto, &addr, &port, &path) != 0) {
        report(c, "error", "bad URL");
        return;
    }
    char fullpath[256];
    snprintf(fullpath, sizeof fullpath, "/%s", path);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = addr;
    ci.port = port;
    ci.path = fullpath;
    ci.host = addr;
    ci.origin = addr;
    ci.protocol = NULL;
    ci.local_protocol_name = "td-feed";
    ci.ssl_connection =
        strcmp(proto, "wss") == 0 || strcmp(proto, "https") == 0 ? LCCSCF_USE_SSL : 0;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    c->next = c->until = 0;
    c->closing = 0;
    c->rx_len = 0;
    c->rx_overflow = 0;
    if (!lws_client_connect_via_info(&ci))
        schedule_retry(c, "connect failed");
}

/* Once a second: a silent connection (or a Binance one near 24 h) is
 * closed, and the close reconnects it. */
static void on_watchdog(lws_sorted_usec_list_t *sul)
{
    td_venue_client *c = lws_container_of(sul, td_venue_client, watchdog);
    if (c->stopping)
        return;
    int64_t now = td_wall_ms();
    if (c->wsi && c->connected_ms) {
        int64_t since = c->last_rx_ms > c->connected_ms ? c->last_rx_ms : c->connected_ms;
        const char *why = NULL;
        if (now - since > c->silence_ms)
            why = "silent";
        else if (c->venue == TD_VENUE_BINANCE && now - c->connected_ms > BINANCE_MAX_AGE_MS)
            why = "renewing before the 24 h limit";
        if (why) {
            td_warn("feed %s: closing the connection (%s)", c->name, why);
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
    }
    lws_sul_schedule(c->ctx, 0, &c->watchdog, on_watchdog, WATCHDOG_MS * LWS_US_PER_MS);
}

static void on_pace(lws_sorted_usec_list_t *sul)
{
    td_venue_client *c = lws_container_of(sul, td_venue_client, pace);
    if (c->wsi && c->connected_ms)
        lws_callback_on_writable(c->wsi);
}

/* The venue did not confirm the unsubscribe in time: close anyway. */
static void on_grace(lws_sorted_usec_list_t *sul)
{
    td_venue_client *c = lws_container_of(sul, td_venue_client, grace);
    if (c->wsi)
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void close_soon(td_venue_client *c)
{
    c->closing = 1;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

/* Ask for the next control message's turn, paced. */
static void want_write(td_venue_client *c)
{
    int64_t wait = c->last_ctl_ms + c->pace_ms - td_wall_ms();
    if (c->next < c->until && wait > 0)
        lws_sul_schedule(c->ctx, 0, &c->pace, on_pace, wait * LWS_US_PER_MS);
    else
        lws_callback_on_writable(c->wsi);
}

static int write_next(td_venue_client *c, struct lws *wsi)
{
    if (c->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    if (c->next >= c->until)
        return 0;
    if (td_wall_ms() - c->last_ctl_ms < c->pace_ms) {
        want_write(c);
        return 0;
    }
    int i = c->next++;
    /* lws masks a client's payload in place: send a copy, so the message
     * is intact for the next connection. */
    unsigned char *tx = malloc(LWS_PRE + c->msg_len[i]);
    if (!tx)
        return -1;
    memcpy(tx + LWS_PRE, c->msg[i] + LWS_PRE, c->msg_len[i]);
    int w = lws_write(wsi, tx + LWS_PRE, c->msg_len[i], LWS_WRITE_TEXT);
    free(tx);
    if (w < (int)c->msg_len[i])
        return -1;
    c->last_ctl_ms = td_wall_ms();
    if (c->next < c->until)
        want_write(c); /* one write per WRITEABLE */
    return 0;
}

/* Is r the venue's answer to our last unsubscribe?  Coinbase echoes no
 * id: its next `subscriptions` message is the answer. */
static int answers_unsubscribe(const td_venue_client *c, const td_feed_result *r)
{
    if (!c->stopping || c->next < c->nsub + c->nunsub)
        return 0;
    if (r->msg != TD_FEED_ACK && r->msg != TD_FEED_VENUE_ERROR)
        return 0;
    return c->venue == TD_VENUE_COINBASE ? r->msg == TD_FEED_ACK : r->req_id == c->last_unsub_id;
}

static void on_message(td_venue_client *c)
{
    int64_t now = td_wall_ms();
    c->last_rx_ms = now;
    td_feed_result *r = &c->r;
    if (td_feed_parse(c->parser, c->venue, c->rx, c->rx_len, r) != TD_OK) {
        if (c->hooks.on_error)
            c->hooks.on_error(c->arg, r->error, now);
        return;
    }
    if (r->msg == TD_FEED_EVENTS)
        for (size_t i = 0; i < r->n; i++)
            r->ev[i].recv_ms = now;
    if (c->hooks.on_message)
        c->hooks.on_message(c->arg, r, now);
    if (answers_unsubscribe(c, r)) {
        close_soon(c);
        return;
    }
    switch (r->msg) {
    case TD_FEED_VENUE_ERROR:
        report(c, "error", r->error);
        break;
    case TD_FEED_SHUTDOWN:
        td_info("feed %s: the venue announces a shutdown; reconnecting", c->name);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        break;
    case TD_FEED_ACK:
        if (!c->stopping)
            report(c, "connected", "subscribed");
        break;
    default:
        break;
    }
}

static void gone(td_venue_client *c)
{
    c->wsi = NULL;
    c->connected_ms = 0;
    lws_sul_cancel(&c->pace);
    lws_sul_cancel(&c->grace);
    if (c->stopping)
        lws_cancel_service(c->ctx); /* td_venue_clients_drain: done, stop waiting */
}

int td_venue_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    (void)user;
    td_venue_client *c = lws_get_opaque_user_data(wsi);
    if (!c)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        gone(c);
        schedule_retry(c, in && len ? (const char *)in : "connection error");
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->wsi = wsi;
        c->attempt = 0;
        c->connected_ms = td_wall_ms();
        report(c, "connected", NULL);
        if (c->stopping) {
            close_soon(c);
            break;
        }
        c->next = 0;
        c->until = c->nsub;
        want_write(c);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return write_next(c, wsi);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c->rx_len + len > TD_VENUE_RX_MAX) {
            c->rx_overflow = 1;
        } else {
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            if (c->rx_overflow) {
                c->last_rx_ms = td_wall_ms();
                if (c->hooks.on_error)
                    c->hooks.on_error(c->arg, "message over 256 KiB", c->last_rx_ms);
            } else {
                on_message(c);
            }
            c->rx_len = 0;
            c->rx_overflow = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        gone(c);
        report(c, "disconnected", NULL);
        schedule_retry(c, "closed");
        break;
    default:
        break;
    }
    return 0;
}

static td_status keep_messages(td_venue_client *c, const td_venue_opts *o, td_venue_op op,
                               int64_t first_id, int at, int *count)
{
    static char text[TD_VENUE_MAX_MSGS][TD_VENUE_MSG_MAX]; /* the loop's thread only */
    int n =
        td_venue_messages(o->venue, op, o->symbols, o->nsymbols, first_id, text, TD_VENUE_MAX_MSGS);
    if (n <= 0)
        return TD_EINVAL;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(text[i]);
        char *b = malloc(LWS_PRE + len + 1);
        if (!b)
            return TD_ENOMEM;
        memcpy(b + LWS_PRE, text[i], len + 1);
        c->msg[at + i] = b;
        c->msg_len[at + i] = len;
    }
    *count = n;
    return TD_OK;
}

td_status td_venue_client_start(struct lws_context *ctx, const td_venue_opts *o,
                                const td_venue_hooks *hooks, void *arg, td_venue_client **out)
{
    *out = NULL;
    td_venue_client *c = calloc(1, sizeof *c);
    if (!c)
        return TD_ENOMEM;
    c->ctx = ctx;
    c->venue = o->venue;
    snprintf(c->url, sizeof c->url, "%s", o->url);
    snprintf(c->name, sizeof c->name, "%s", o->name ? o->name : td_venue_name(o->venue));
    c->hooks = *hooks;
    c->arg = arg;
    c->silence_ms = o->silence_ms > 0 ? o->silence_ms : 10000;
    c->pace_ms = o->venue == TD_VENUE_BINANCE ? 300 : 0;
    c->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)td_mono_ns() ^ (uint64_t)(uintptr_t)c;
    c->parser = td_feed_parser_new();
    c->rx = malloc(TD_VENUE_RX_MAX);
    td_status st = !c->parser || !c->rx ? TD_ENOMEM : TD_OK;
    if (st == TD_OK)
        st = keep_messages(c, o, TD_VENUE_SUBSCRIBE, 1, 0, &c->nsub);
    if (st == TD_OK)
        st = keep_messages(c, o, TD_VENUE_UNSUBSCRIBE, 1 + c->nsub, c->nsub, &c->nunsub);
    if (st != TD_OK) {
        td_venue_client_free(c);
        return st;
    }
    c->last_unsub_id = c->nsub + c->nunsub;
    connect_now(c);
    lws_sul_schedule(ctx, 0, &c->watchdog, on_watchdog, WATCHDOG_MS * LWS_US_PER_MS);
    *out = c;
    return TD_OK;
}

void td_venue_client_stop(td_venue_client *c)
{
    if (!c || c->stopping)
        return;
    c->stopping = 1;
    lws_sul_cancel(&c->retry);
    lws_sul_cancel(&c->watchdog);
    if (!c->wsi)
        return;
    if (!c->connected_ms) { /* still connecting */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    lws_sul_schedule(c->ctx, 0, &c->grace, on_grace, STOP_GRACE_MS * LWS_US_PER_MS);
    if (c->next < c->nsub) { /* never fully subscribed: nothing to undo */
        close_soon(c);
        return;
    }
    c->next = c->nsub;
    c->until = c->nsub + c->nunsub;
    want_write(c);
}

int td_venue_client_closed(const td_venue_client *c)
{
    return !c || (c->stopping && !c->wsi);
}

void td_venue_clients_drain(struct lws_context *ctx, td_venue_client *const *c, int n,
                            int timeout_ms)
{
    int64_t until = td_wall_ms() + timeout_ms;
    for (;;) {
        int open = 0;
        for (int i = 0; i < n; i++)
            open += !td_venue_client_closed(c[i]);
        if (!open || td_wall_ms() >= until)
            return;
        if (lws_service(ctx, 0) < 0)
            return;
    }
}

void td_venue_client_free(td_venue_client *c)
{
    if (!c)
        return;
    td_feed_parser_free(c->parser);
    free(c->rx);
    for (int k = 0; k < c->nsub + c->nunsub; k++)
        free(c->msg[k]);
    free(c);
}
