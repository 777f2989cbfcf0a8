/*
 * feed.h - the exchange message parsers: one pure function per venue,
 * bytes of one WebSocket message in, market events (domain/market.h) or a
 * control message out.
 *
 * Pure: no I/O, no clock (recv_ms is the caller's to stamp), no global
 * state; the parser object only holds a reusable JSON tokener.  A message a
 * parser cannot read is TD_EINVAL with out->error saying why, never a crash
 * and never a partial event: the caller (ws/venue.c's client, the engine's
 * replay) counts and logs it and carries on.
 * Prices and sizes go from the message's text to fixed point
 * (td_dec_parse_number), never through a double.  Symbols come out
 * canonical (domain/symbol.h).
 */
#ifndef TD_WS_FEED_H
#define TD_WS_FEED_H

#include <stddef.h>

#include "domain/market.h"
#include "domain/td.h"

typedef enum td_feed_msg {
    TD_FEED_EVENTS = 1,  /* out->n events (n may be 0: an empty snapshot) */
    TD_FEED_ACK,         /* a subscription was confirmed */
    TD_FEED_HEARTBEAT,   /* the venue's keep-alive (or a pong) */
    TD_FEED_STATUS,      /* system status, connection info */
    TD_FEED_VENUE_ERROR, /* the venue reports an error; out->error has its words */
    TD_FEED_SHUTDOWN,    /* the venue is about to close the connection: reconnect */
    TD_FEED_IGNORED,     /* well formed, of no use here (another channel or event) */
} td_feed_msg;

/* Kraken sends up to 50 trades in a snapshot; more are cut, and counted. */
#define TD_FEED_MAX_EVENTS 64

typedef struct td_feed_result {
    td_feed_msg msg;
    size_t n;
    size_t dropped; /* events past TD_FEED_MAX_EVENTS or unreadable entries of a list */
    td_market_event ev[TD_FEED_MAX_EVENTS];
    int64_t req_id; /* a reply's request id as the venue echoed it (Binance "id", Kraken
                       "req_id"); 0 when it carries none */
    char error[160];
} td_feed_result;

typedef enum td_venue { TD_VENUE_BINANCE = 1, TD_VENUE_COINBASE, TD_VENUE_KRAKEN } td_venue;

typedef struct td_feed_parser td_feed_parser;

/* NULL on OOM.  One per adapter (not shared between threads). */
td_feed_parser *td_feed_parser_new(void);
void td_feed_parser_free(td_feed_parser *p);

/*
 * Parse one message of a venue: Binance (raw or combined streams:
 * 24hrMiniTicker, bookTicker, trade, aggTrade, kline; subscribe replies and
 * errors), Coinbase Exchange (ticker, match/last_match, heartbeat,
 * subscriptions, error), Kraken WebSocket v2 (ticker, trade, ohlc,
 * heartbeat, status, method replies).  TD_OK with *out filled, or TD_EINVAL
 * with out->error set.  out is overwritten either way.
 */
td_status td_feed_parse(td_feed_parser *p, td_venue v, const char *msg, size_t len,
                        td_feed_result *out);

/* "binance", "coinbase", "kraken" (static strings), and back: 0 when name
 * is not a venue. */
const char *td_venue_name(td_venue v);
td_venue td_venue_from_name(const char *name);

#endif
