/*
 * market.h - one market event, as every feed adapter emits it and the
 * oracle, candles, order monitor and stream consume it.
 *
 * Plain data, no I/O: adapters fill it from an exchange's message (symbol
 * already canonical, prices and sizes already fixed point), the engine
 * stamps the receive time.  Sizes are bounded so an event is copied by
 * value through rings and queues without allocation.
 */
#ifndef TD_DOMAIN_MARKET_H
#define TD_DOMAIN_MARKET_H

#include "domain/decimal.h"
#include "domain/symbol.h"

typedef enum td_market_kind {
    TD_MKT_TICKER = 1, /* last price (and 24 h figures when the venue sends them) */
    TD_MKT_TRADE,      /* one trade */
    TD_MKT_BOOK,       /* top of book: best bid and ask with sizes */
    TD_MKT_CANDLE,     /* an OHLCV bar the venue built */
} td_market_kind;

typedef enum td_side {
    TD_SIDE_NONE = 0,
    TD_SIDE_BUY = 1, /* the taker bought (the trade lifted the ask) */
    TD_SIDE_SELL = 2,
} td_side;

#define TD_TRADE_ID_MAX 40

typedef struct td_market_event {
    td_market_kind kind;
    char symbol[TD_SYMBOL_STR_MAX]; /* canonical BASE-QUOTE */
    int64_t event_ms;               /* the venue's event time; 0 when it sends none */
    int64_t recv_ms;                /* when the engine received it (set by the caller) */
    int source;                     /* the engine's index of the source it came from (the market sets it) */

    /* ticker: price (last); trade: price and qty, side, trade_id */
    td_dec price;
    td_dec qty;
    td_side side;
    char trade_id[TD_TRADE_ID_MAX];

    /* book, and tickers that carry the top of book */
    td_dec bid, bid_qty, ask, ask_qty;
    int has_book;

    /* candle: [open_ms, open_ms + interval_s) */
    int64_t open_ms;
    int interval_s;
    td_dec open, high, low, close, volume;
    int64_t trades;
    int closed; /* the venue says the bar is final */
} td_market_event;

#endif
