/*
 * kraken.c - Kraken WebSocket v2: ticker, trade and ohlc channels
 * (snapshot and update), heartbeat, status, and the replies to methods
 * (subscribe, unsubscribe, ping).  Pure; see feed.h.
 *
 * v2 sends prices and sizes as JSON numbers; they are read from their own
 * text (core/jsonr keeps it), never through a double.  Every message of a
 * channel carries a list in "data"; an entry that cannot be read is
 * counted in out->dropped and the others are kept.
 */
#include "ws/feed_json.h"

#include <stdio.h>
#include <string.h>

static int ticker(fj_val d, td_market_event *e)
{
    e->kind = TD_MKT_TICKER;
    if (!fj_symbol(d, "symbol", TD_SPELL_KRAKEN, e->symbol, sizeof e->symbol) ||
        !fj_dec(d, "last", &e->price))
        return 0;
    e->has_book = fj_dec(d, "bid", &e->bid) && fj_dec(d, "ask", &e->ask);
    if (e->has_book) {
        fj_dec(d, "bid_qty", &e->bid_qty);
        fj_dec(d, "ask_qty", &e->ask_qty);
    }
    fj_dec(d, "volume", &e->volume);
    fj_time(d, "timestamp", &e->event_ms); /* newer v2 servers send one */
    return 1;
}

static int trade(fj_val d, td_market_event *e)
{
    e->kind = TD_MKT_TRADE;
    if (!fj_symbol(d, "symbol", TD_SPELL_KRAKEN, e->symbol, sizeof e->symbol) ||
        !fj_dec(d, "price", &e->price) || !fj_dec(d, "qty", &e->qty) ||
        !fj_time(d, "timestamp", &e->event_ms) ||
        !fj_id(d, "trade_id", e->trade_id, sizeof e->trade_id))
        return 0;
    /* v2's side is the taker's. */
    if (fj_is(d, "side", "buy"))
        e->side = TD_SIDE_BUY;
    else if (fj_is(d, "side", "sell"))
        e->side = TD_SIDE_SELL;
    else
        return 0;
    return 1;
}

static int ohlc(fj_val d, td_market_event *e)
{
    int64_t minutes;
    e->kind = TD_MKT_CANDLE;
    if (!fj_symbol(d, "symbol", TD_SPELL_KRAKEN, e->symbol, sizeof e->symbol) ||
        !fj_dec(d, "open", &e->open) || !fj_dec(d, "high", &e->high) ||
        !fj_dec(d, "low", &e->low) || !fj_dec(d, "close", &e->close) ||
        !fj_dec(d, "volume", &e->volume) || !fj_i64(d, "trades", &e->trades) ||
        !fj_time(d, "interval_begin", &e->open_ms) || !fj_i64(d, "interval", &minutes) ||
        minutes < 1 || minutes > 30 * 24 * 60)
        return 0;
    e->interval_s = (int)minutes * 60;
    e->price = e->close;
    fj_time(d, "timestamp", &e->event_ms);
    return 1;
}

static td_status method_reply(fj_val root, td_feed_result *out)
{
    int ok;
    fj_i64(root, "req_id", &out->req_id);
    if (fj_is(root, "method", "pong"))
        return fj_control(out, TD_FEED_HEARTBEAT);
    if (fj_bool(root, "success", &ok) && ok)
        return fj_control(out, TD_FEED_ACK);
    size_t n = 0;
    const char *err = fj_str(root, "error", &n);
    snprintf(out->error, sizeof out->error, "%.*s", err ? (int)(n > 150 ? 150 : n) : 0,
             err ? err : "request failed");
    return fj_control(out, TD_FEED_VENUE_ERROR);
}

td_status td_kraken_parse(fj_val root, td_feed_result *out)
{
    if (fj_ok(fj_get(root, "method")))
        return method_reply(root, out);
    size_t n;
    const char *ch = fj_str(root, "channel", &n);
    if (!ch)
        return fj_fail(out, "neither a channel nor a method reply");
    if (n == 9 && memcmp(ch, "heartbeat", 9) == 0)
        return fj_control(out, TD_FEED_HEARTBEAT);
    if (n == 6 && memcmp(ch, "status", 6) == 0)
        return fj_control(out, TD_FEED_STATUS);
    int (*one)(fj_val, td_market_event *) = NULL;
    if (n == 6 && memcmp(ch, "ticker", 6) == 0)
        one = ticker;
    else if (n == 5 && memcmp(ch, "trade", 5) == 0)
        one = trade;
    else if (n == 4 && memcmp(ch, "ohlc", 4) == 0)
        one = ohlc;
    else
        return fj_control(out, TD_FEED_IGNORED);

    fj_val data = fj_get(root, "data");
    if (fj_type(data) != TD_JR_ARRAY)
        return fj_fail(out, "%.*s without a data list", (int)n, ch);
    size_t len = 0;
    out->msg = TD_FEED_EVENTS;
    for (fj_val x = fj_first(data); fj_ok(x); x = fj_next(data, x), len++) {
        td_market_event e;
        memset(&e, 0, sizeof e);
        if (one(x, &e))
            fj_push(out, &e);
        else
            out->dropped++;
    }
    if (len > 0 && out->n == 0 && out->dropped == len)
        return fj_fail(out, "no readable entry in %.*s data", (int)n, ch);
    return TD_OK;
}
