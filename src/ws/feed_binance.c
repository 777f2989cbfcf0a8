/*
 * binance.c - Binance spot WebSocket streams (raw /ws and combined
 * /stream?streams=): 24hrMiniTicker, bookTicker, trade, aggTrade, kline;
 * subscribe replies ({"result":null,"id":1}), errors ({"error":{...}} or
 * {"code":..,"msg":..}) and serverShutdown.  Pure; see feed.h.
 */
#include "ws/feed_json.h"

#include <stdio.h>
#include <string.h>

/* "1m" -> 60 ... "1M" (a month) is not a fixed length: refused. */
static int interval_s(const char *s, size_t n)
{
    if (n < 2)
        return 0;
    int v = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > 1000)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    switch (s[n - 1]) {
    case 's':
        return v;
    case 'm':
        return v * 60;
    case 'h':
        return v * 3600;
    case 'd':
        return v * 86400;
    case 'w':
        return v * 7 * 86400;
    }
    return 0;
}

static td_status ticker(fj_val o, td_feed_result *out)
{
    td_market_event e = {.kind = TD_MKT_TICKER};
    if (!fj_symbol(o, "s", TD_SPELL_BINANCE, e.symbol, sizeof e.symbol) ||
        !fj_dec(o, "c", &e.price) || !fj_i64(o, "E", &e.event_ms))
        return fj_fail(out, "24hrMiniTicker without a known s, c or E");
    fj_dec(o, "v", &e.volume); /* 24 h base volume, when sent */
    fj_push(out, &e);
    return TD_OK;
}

static td_status book(fj_val o, td_feed_result *out)
{
    td_market_event e = {.kind = TD_MKT_BOOK, .has_book = 1};
    if (!fj_symbol(o, "s", TD_SPELL_BINANCE, e.symbol, sizeof e.symbol) ||
        !fj_dec(o, "b", &e.bid) || !fj_dec(o, "B", &e.bid_qty) || !fj_dec(o, "a", &e.ask) ||
        !fj_dec(o, "A", &e.ask_qty))
        return fj_fail(out, "bookTicker without s, b, B, a or A");
    fj_i64(o, "E", &e.event_ms); /* spot sends none; futures do */
    fj_push(out, &e);
    return TD_OK;
}

static td_status trade(fj_val o, const char *id_key, td_feed_result *out)
{
    td_market_event e = {.kind = TD_MKT_TRADE};
    int maker;
    if (!fj_symbol(o, "s", TD_SPELL_BINANCE, e.symbol, sizeof e.symbol) ||
        !fj_dec(o, "p", &e.price) || !fj_dec(o, "q", &e.qty) ||
        !fj_id(o, id_key, e.trade_id, sizeof e.trade_id) || !fj_bool(o, "m", &maker))
        return fj_fail(out, "trade without s, p, q, %s or m", id_key);
    if (!fj_i64(o, "T", &e.event_ms) && !fj_i64(o, "E", &e.event_ms))
        return fj_fail(out, "trade without a time");
    /* m: the buyer was the maker, so the taker sold. */
    e.side = maker ? TD_SIDE_SELL : TD_SIDE_BUY;
    fj_push(out, &e);
    return TD_OK;
}

static td_status kline(fj_val o, td_feed_result *out)
{
    fj_val k = fj_get(o, "k");
    td_market_event e = {.kind = TD_MKT_CANDLE};
    size_t in;
    const char *iv = fj_str(k, "i", &in);
    int closed;
    if (!fj_symbol(o, "s", TD_SPELL_BINANCE, e.symbol, sizeof e.symbol) || !iv ||
        !(e.interval_s = interval_s(iv, in)) || !fj_i64(k, "t", &e.open_ms) ||
        !fj_dec(k, "o", &e.open) || !fj_dec(k, "h", &e.high) || !fj_dec(k, "l", &e.low) ||
        !fj_dec(k, "c", &e.close) || !fj_dec(k, "v", &e.volume) || !fj_i64(k, "n", &e.trades) ||
        !fj_bool(k, "x", &closed))
        return fj_fail(out, "kline without s or k.{i,t,o,h,l,c,v,n,x}");
    fj_i64(o, "E", &e.event_ms);
    e.closed = closed;
    e.price = e.close;
    fj_push(out, &e);
    return TD_OK;
}

static td_status event(fj_val o, td_feed_result *out)
{
    if (fj_type(o) != TD_JR_OBJECT)
        return fj_fail(out, "not an object");
    size_t n;
    const char *e = fj_str(o, "e", &n);
    if (!e) {
        /* Replies and errors carry an id; the spot bookTicker has no "e". */
        fj_i64(o, "id", &out->req_id);
        fj_val err = fj_get(o, "error");
        if (fj_ok(err) || (fj_ok(fj_get(o, "code")) && fj_ok(fj_get(o, "msg")))) {
            size_t ml;
            const char *msg = fj_str(fj_ok(err) ? err : o, "msg", &ml);
            snprintf(out->error, sizeof out->error, "%.*s", msg ? (int)(ml > 150 ? 150 : ml) : 0,
                     msg ? msg : "");
            out->msg = TD_FEED_VENUE_ERROR;
            return TD_OK;
        }
        if (fj_ok(fj_get(o, "id")) && fj_ok(fj_get(o, "result")))
            return fj_control(out, TD_FEED_ACK);
        if (fj_ok(fj_get(o, "u")) && fj_ok(fj_get(o, "b")))
            return book(o, out);
        return fj_control(out, TD_FEED_IGNORED);
    }
    if (n == 14 && memcmp(e, "24hrMiniTicker", 14) == 0)
        return ticker(o, out);
    if (n == 5 && memcmp(e, "trade", 5) == 0)
        return trade(o, "t", out);
    if (n == 8 && memcmp(e, "aggTrade", 8) == 0)
        return trade(o, "a", out);
    if (n == 5 && memcmp(e, "kline", 5) == 0)
        return kline(o, out);
    if (n == 10 && memcmp(e, "bookTicker", 10) == 0)
        return book(o, out);
    if (n == 14 && memcmp(e, "serverShutdown", 14) == 0)
        return fj_control(out, TD_FEED_SHUTDOWN);
    return fj_control(out, TD_FEED_IGNORED);
}

td_status td_binance_parse(fj_val root, td_feed_result *out)
{
    /* Combined streams wrap the payload: {"stream":"btcusdt@trade","data":{...}}. */
    fj_val data = fj_get(root, "data");
    if (fj_ok(data) && fj_str(root, "stream", NULL))
        root = data;
    if (fj_type(root) == TD_JR_ARRAY) { /* !miniTicker@arr */
        for (fj_val x = fj_first(root); fj_ok(x); x = fj_next(root, x)) {
            td_feed_result one;
            one.n = 0;
            one.dropped = 0;
            if (event(x, &one) != TD_OK ||
                one.msg != TD_FEED_EVENTS) {
                out->dropped++;
                continue;
            }
            for (size_t k = 0; k < one.n; k++)
                fj_push(out, &one.ev[k]);
        }
        out->msg = TD_FEED_EVENTS;
        return TD_OK;
    }
    return event(root, out);
}
