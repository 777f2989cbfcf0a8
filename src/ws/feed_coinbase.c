/*
 * coinbase.c - Coinbase Exchange WebSocket feed: ticker, match and
 * last_match, heartbeat, subscriptions, error.  Pure; see feed.h.
 *
 * A ticker becomes a ticker event carrying the top of book; trades come
 * from the matches channel only, so a trade is never counted twice.  A
 * match's "side" is the maker order's side: the taker did the opposite.
 */
#include "ws/feed_json.h"

#include <stdio.h>
#include <string.h>

static td_status ticker(fj_val o, td_feed_result *out)
{
    td_market_event e = {.kind = TD_MKT_TICKER};
    if (!fj_symbol(o, "product_id", TD_SPELL_COINBASE, e.symbol, sizeof e.symbol) ||
        !fj_dec(o, "price", &e.price) || !fj_time(o, "time", &e.event_ms))
        return fj_fail(out, "ticker without a known product_id, price or time");
    e.has_book = fj_dec(o, "best_bid", &e.bid) && fj_dec(o, "best_ask", &e.ask);
    if (e.has_book) {
        fj_dec(o, "best_bid_size", &e.bid_qty);
        fj_dec(o, "best_ask_size", &e.ask_qty);
    }
    fj_dec(o, "volume_24h", &e.volume);
    fj_push(out, &e);
    return TD_OK;
}

static td_status match(fj_val o, td_feed_result *out)
{
    td_market_event e = {.kind = TD_MKT_TRADE};
    if (!fj_symbol(o, "product_id", TD_SPELL_COINBASE, e.symbol, sizeof e.symbol) ||
        !fj_dec(o, "price", &e.price) || !fj_dec(o, "size", &e.qty) ||
        !fj_time(o, "time", &e.event_ms) || !fj_id(o, "trade_id", e.trade_id, sizeof e.trade_id))
        return fj_fail(out, "match without product_id, price, size, time or trade_id");
    if (fj_is(o, "side", "buy"))
        e.side = TD_SIDE_SELL;
    else if (fj_is(o, "side", "sell"))
        e.side = TD_SIDE_BUY;
    else
        return fj_fail(out, "match without a side");
    fj_push(out, &e);
    return TD_OK;
}

td_status td_coinbase_parse(fj_val root, td_feed_result *out)
{
    size_t n;
    const char *t = fj_str(root, "type", &n);
    if (!t)
        return fj_fail(out, "no type");
    if (n == 6 && memcmp(t, "ticker", 6) == 0)
        return ticker(root, out);
    if ((n == 5 && memcmp(t, "match", 5) == 0) || (n == 10 && memcmp(t, "last_match", 10) == 0))
        return match(root, out);
    if (n == 9 && memcmp(t, "heartbeat", 9) == 0)
        return fj_control(out, TD_FEED_HEARTBEAT);
    if (n == 13 && memcmp(t, "subscriptions", 13) == 0)
        return fj_control(out, TD_FEED_ACK);
    if (n == 5 && memcmp(t, "error", 5) == 0) {
        size_t ml = 0, rl = 0;
        const char *m = fj_str(root, "message", &ml), *r = fj_str(root, "reason", &rl);
        snprintf(out->error, sizeof out->error, "%.*s%s%.*s", m ? (int)(ml > 100 ? 100 : ml) : 0,
                 m ? m : "", r ? ": " : "", r ? (int)(rl > 50 ? 50 : rl) : 0, r ? r : "");
        return fj_control(out, TD_FEED_VENUE_ERROR);
    }
    return fj_control(out, TD_FEED_IGNORED);
}
