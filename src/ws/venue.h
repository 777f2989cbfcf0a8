/*
 * venue.h - the one WebSocket client of an exchange (Binance, Coinbase,
 * Kraken v2), shared by tradedesk-engine (its adapters) and `tradedesk
 * feed test`: connect to the venue's URL, subscribe in its own protocol,
 * hand every message through the venue's pure parser (ws/feed.h) to the
 * caller's hooks, reconnect with exponential back-off and full jitter
 * (0.5 s doubling to 30 s) and resubscribe, close a connection that has
 * been silent too long (and a Binance one before its 24-hour limit), and
 * on stop unsubscribe before closing.
 *
 * Control messages (subscribe, unsubscribe) are paced per venue: Binance
 * allows 5 incoming messages a second per connection, pings and pongs
 * included, so it gets at most one every 300 ms.  libwebsockets answers
 * the venues' pings itself.
 *
 * Everything runs on the caller's libwebsockets loop (its context must
 * list TD_VENUE_PROTOCOL); nothing here is thread-safe and nothing blocks.
 */
#ifndef TD_WS_VENUE_H
#define TD_WS_VENUE_H

#include <libwebsockets.h>

#include "ws/feed.h"

#define TD_VENUE_RX_MAX (256 * 1024) /* a market message is far smaller; more is garbage */
#define TD_VENUE_MSG_MAX 32768       /* one control message */
#define TD_VENUE_MAX_MSGS 4          /* control messages per operation */

/* The protocol a context must list for the client, e.g.
 *     static struct lws_protocols p[] = {TD_VENUE_PROTOCOL, {NULL, NULL, 0, 0, 0, NULL, 0}};
 * (a macro so it can initialise static arrays). */
int td_venue_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
#define TD_VENUE_PROTOCOL                                                                          \
    {                                                                                              \
        "td-feed", td_venue_callback, 0, TD_VENUE_RX_MAX, 0, NULL, 0                               \
    }

typedef enum td_venue_op { TD_VENUE_SUBSCRIBE, TD_VENUE_UNSUBSCRIBE } td_venue_op;

/*
 * The control messages of op for these canonical symbols in the venue's
 * protocol, into msgs (NUL-terminated); their request ids are first_id,
 * first_id + 1, ... (Binance "id", Kraken "req_id"; Coinbase has none).
 * Binance: one (UN)SUBSCRIBE of <sym>@miniTicker, @bookTicker, @trade and
 * @kline_1m; Coinbase: one (un)subscribe to ticker, matches, heartbeat;
 * Kraken v2: ticker, trade and ohlc (interval 1).  A symbol the venue
 * cannot spell is left out.  Returns how many messages, or -1 when no
 * symbol is left or a message would not fit.  Pure.
 */
int td_venue_messages(td_venue v, td_venue_op op, const char *const *symbols, int nsymbols,
                      int64_t first_id, char msgs[][TD_VENUE_MSG_MAX], int cap);

/* What the client reports, on the loop, with the caller's arg.  state is
 * a static string: "connected" (why NULL, or "subscribed" once the venue
 * confirms), "disconnected", "reconnecting" (once per scheduled attempt,
 * why says what failed), "error" (a bad URL, or the venue's own words). */
typedef struct td_venue_hooks {
    void (*on_state)(void *arg, const char *state, const char *why);
    /* Every message the parser read: events (recv_ms stamped), acks,
     * heartbeats, venue errors...; r->msg says which.  r is the client's
     * and is overwritten by the next message. */
    void (*on_message)(void *arg, td_feed_result *r, int64_t recv_ms);
    /* A message the parser refused (or one over TD_VENUE_RX_MAX). */
    void (*on_error)(void *arg, const char *why, int64_t recv_ms);
} td_venue_hooks;

typedef struct td_venue_opts {
    td_venue venue;
    const char *url;            /* ws:// or wss://host[:port]/path */
    const char *name;           /* for log lines: "binance" */
    const char *const *symbols; /* canonical BASE-QUOTE, copied into messages at start */
    int nsymbols;
    int silence_ms; /* no message for this long: close and reconnect */
} td_venue_opts;

typedef struct td_venue_client td_venue_client;

/* Builds the messages and starts connecting.  TD_EINVAL: the venue can
 * spell none of the symbols; TD_ENOMEM.  hooks and arg must outlive the
 * client. */
td_status td_venue_client_start(struct lws_context *ctx, const td_venue_opts *o,
                                const td_venue_hooks *hooks, void *arg, td_venue_client **out);

/* No more reconnects; a subscribed connection sends its unsubscribes
 * (paced) and closes once the venue confirms the last one, or after a
 * second; any other connection closes at once. */
void td_venue_client_stop(td_venue_client *c);

/* 1 once a stopped client has no connection left. */
int td_venue_client_closed(const td_venue_client *c);

/* Serve ctx until every stopped client of c[0..n) is closed, at most
 * timeout_ms. */
void td_venue_clients_drain(struct lws_context *ctx, td_venue_client *const *c, int n,
                            int timeout_ms);

/* Stop every client before destroying its context (a close would
 * otherwise schedule a retry on it); free them after lws_context_destroy.
 * NULL is fine. */
void td_venue_client_free(td_venue_client *c);

#endif
