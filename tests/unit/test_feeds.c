/*
 * test_feeds.c - the venue parsers against messages in each exchange's own
 * format (as their documentation shows them): events out with canonical
 * symbols, fixed-point prices from the text, the venue's time, the taker's
 * side; control messages recognised; malformed input refused whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ws/feed.h"

static td_feed_parser *P;
static td_feed_result R;

static int setup(void **state)
{
    (void)state;
    P = td_feed_parser_new();
    return P ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    td_feed_parser_free(P);
    return 0;
}

static td_feed_result *ok(td_venue v, const char *msg)
{
    td_status st = td_feed_parse(P, v, msg, strlen(msg), &R);
    if (st != TD_OK)
        fprintf(stderr, "    refused: %s\n    %s\n", R.error, msg);
    assert_int_equal(st, TD_OK);
    return &R;
}

static void bad(td_venue v, const char *msg)
{
    assert_int_equal(td_feed_parse(P, v, msg, strlen(msg), &R), TD_EINVAL);
    assert_int_equal(R.n, 0);
    assert_true(R.error[0] != '\0');
}

static void binance_messages(void **state)
{
    (void)state;
    td_feed_result *r =
        ok(TD_VENUE_BINANCE, "{\"e\":\"24hrMiniTicker\",\"E\":1672515782136,\"s\":\"BTCUSDT\","
                             "\"c\":\"16542.67000000\",\"o\":\"16500.00000000\",\"h\":\"16600.1\","
                             "\"l\":\"16400\",\"v\":\"1234.56789000\",\"q\":\"20428000.12\"}");
    assert_int_equal(r->msg, TD_FEED_EVENTS);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ev[0].kind, TD_MKT_TICKER);
    assert_string_equal(r->ev[0].symbol, "BTC-USDT");
    assert_int_equal(r->ev[0].price, 1654267000000LL);
    assert_int_equal(r->ev[0].event_ms, 1672515782136LL);

    r = ok(TD_VENUE_BINANCE, "{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\","
                             "\"B\":\"31.21000000\",\"a\":\"25.36520000\",\"A\":\"40.66000000\"}");
    assert_int_equal(r->ev[0].kind, TD_MKT_BOOK);
    assert_string_equal(r->ev[0].symbol, "BNB-USDT");
    assert_int_equal(r->ev[0].bid, 2535190000LL);
    assert_int_equal(r->ev[0].ask_qty, 4066000000LL);

    /* Combined stream wrapper; m=true: the buyer was the maker, the taker sold. */
    r = ok(TD_VENUE_BINANCE,
           "{\"stream\":\"ethbtc@trade\",\"data\":{\"e\":\"trade\",\"E\":1672515782140,"
           "\"s\":\"ETHBTC\",\"t\":12345,\"p\":\"0.07410000\",\"q\":\"1.50000000\","
           "\"T\":1672515782139,\"m\":true,\"M\":true}}");
    assert_int_equal(r->ev[0].kind, TD_MKT_TRADE);
    assert_string_equal(r->ev[0].symbol, "ETH-BTC");
    assert_string_equal(r->ev[0].trade_id, "12345");
    assert_int_equal(r->ev[0].side, TD_SIDE_SELL);
    assert_int_equal(r->ev[0].qty, 150000000LL);
    assert_int_equal(r->ev[0].event_ms, 1672515782139LL);

    r = ok(TD_VENUE_BINANCE,
           "{\"e\":\"kline\",\"E\":1672515782136,\"s\":\"BTCUSDT\",\"k\":{\"t\":1672515780000,"
           "\"T\":1672515839999,\"s\":\"BTCUSDT\",\"i\":\"1m\",\"f\":100,\"L\":200,"
           "\"o\":\"16540.00\",\"c\":\"16542.67\",\"h\":\"16550.00\",\"l\":\"16530.10\","
           "\"v\":\"12.5\",\"n\":101,\"x\":false,\"q\":\"206000\",\"V\":\"6\",\"Q\":\"99000\","
           "\"B\":\"0\"}}");
    assert_int_equal(r->ev[0].kind, TD_MKT_CANDLE);
    assert_int_equal(r->ev[0].interval_s, 60);
    assert_int_equal(r->ev[0].open_ms, 1672515780000LL);
    assert_int_equal(r->ev[0].high, 1655000000000LL);
    assert_int_equal(r->ev[0].trades, 101);
    assert_int_equal(r->ev[0].closed, 0);

    /* All-market array: the readable entries, the others counted. */
    r = ok(TD_VENUE_BINANCE, "[{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"BTCUSDT\",\"c\":\"1.0\"},"
                             "{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"NOPE\",\"c\":\"1.0\"},"
                             "{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"ETHUSDT\",\"c\":\"2.0\"}]");
    assert_int_equal(r->n, 2);
    assert_int_equal(r->dropped, 1);
    assert_string_equal(r->ev[1].symbol, "ETH-USDT");

    assert_int_equal(ok(TD_VENUE_BINANCE, "{\"result\":null,\"id\":1}")->msg, TD_FEED_ACK);
    r = ok(TD_VENUE_BINANCE, "{\"error\":{\"code\":2,\"msg\":\"Invalid request: unknown "
                             "property\"},\"id\":3}");
    assert_int_equal(r->msg, TD_FEED_VENUE_ERROR);
    assert_non_null(strstr(r->error, "Invalid request"));
    assert_int_equal(ok(TD_VENUE_BINANCE, "{\"e\":\"serverShutdown\",\"E\":1}")->msg,
                     TD_FEED_SHUTDOWN);
    assert_int_equal(ok(TD_VENUE_BINANCE, "{\"e\":\"depthUpdate\",\"E\":1}")->msg, TD_FEED_IGNORED);

    /* A price as a float would be refused: money is text. */
    bad(TD_VENUE_BINANCE, "{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"BTCUSDT\",\"c\":true}");
    bad(TD_VENUE_BINANCE, "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"1\","
                          "\"q\":\"1\",\"T\":1}"); /* no m */
    bad(TD_VENUE_BINANCE, "{\"e\":\"kline\",\"E\":1,\"s\":\"BTCUSDT\",\"k\":{\"i\":\"1M\"}}");
}

static void coinbase_messages(void **state)
{
    (void)state;
    td_feed_result *r =
        ok(TD_VENUE_COINBASE,
           "{\"type\":\"ticker\",\"sequence\":37475248783,\"product_id\":\"ETH-USD\","
           "\"price\":\"1285.22\",\"open_24h\":\"1310.79\",\"volume_24h\":\"245532.79269678\","
           "\"low_24h\":\"1280.52\",\"high_24h\":\"1313.8\",\"volume_30d\":\"9788783.60117027\","
           "\"best_bid\":\"1285.04\",\"best_bid_size\":\"0.46688654\",\"best_ask\":\"1285.27\","
           "\"best_ask_size\":\"1.56637040\",\"side\":\"buy\",\"time\":\"2022-10-19T23:28:22."
           "061769Z\","
           "\"trade_id\":370843401,\"last_size\":\"11.4396987\"}");
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ev[0].kind, TD_MKT_TICKER);
    assert_string_equal(r->ev[0].symbol, "ETH-USD");
    assert_int_equal(r->ev[0].price, 128522000000LL);
    assert_int_equal(r->ev[0].event_ms, 1666222102061LL);
    assert_true(r->ev[0].has_book);
    assert_int_equal(r->ev[0].bid_qty, 46688654LL);

    /* The maker sold: the taker bought. */
    r = ok(TD_VENUE_COINBASE, "{\"type\":\"match\",\"trade_id\":10,\"sequence\":50,"
                              "\"maker_order_id\":\"ac928c66-ca53-498f-9c13-a110027a60e8\","
                              "\"taker_order_id\":\"132fb6ae-456b-4654-b4e0-d681ac05cea1\","
                              "\"time\":\"2014-11-07T08:19:27.028459Z\",\"product_id\":\"BTC-USD\","
                              "\"size\":\"5.23512\",\"price\":\"400.23\",\"side\":\"sell\"}");
    assert_int_equal(r->ev[0].kind, TD_MKT_TRADE);
    assert_int_equal(r->ev[0].side, TD_SIDE_BUY);
    assert_string_equal(r->ev[0].trade_id, "10");
    assert_int_equal(r->ev[0].qty, 523512000LL);
    assert_int_equal(r->ev[0].event_ms, 1415348367028LL);

    assert_int_equal(ok(TD_VENUE_COINBASE,
                        "{\"type\":\"heartbeat\",\"sequence\":90,\"last_trade_id\":20,"
                        "\"product_id\":\"BTC-USD\",\"time\":\"2014-11-07T08:19:28.464459Z\"}")
                         ->msg,
                     TD_FEED_HEARTBEAT);
    assert_int_equal(ok(TD_VENUE_COINBASE, "{\"type\":\"subscriptions\",\"channels\":[{\"name\":"
                                           "\"ticker\",\"product_ids\":[\"BTC-USD\"]}]}")
                         ->msg,
                     TD_FEED_ACK);
    r = ok(TD_VENUE_COINBASE,
           "{\"type\":\"error\",\"message\":\"Failed to subscribe\",\"reason\":\"BTC-XYZ is not "
           "a valid product\"}");
    assert_int_equal(r->msg, TD_FEED_VENUE_ERROR);
    assert_string_equal(r->error, "Failed to subscribe: BTC-XYZ is not a valid product");
    assert_int_equal(ok(TD_VENUE_COINBASE, "{\"type\":\"l2update\"}")->msg, TD_FEED_IGNORED);

    bad(TD_VENUE_COINBASE, "{\"type\":\"ticker\",\"product_id\":\"ETH-USD\",\"price\":\"1.5\"}");
    bad(TD_VENUE_COINBASE, "{\"type\":\"ticker\",\"product_id\":\"ETHUSD\",\"price\":\"1.5\","
                           "\"time\":\"2022-10-19T23:28:22Z\"}");
    bad(TD_VENUE_COINBASE, "{\"sequence\":1}");
}

static void kraken_messages(void **state)
{
    (void)state;
    td_feed_result *r =
        ok(TD_VENUE_KRAKEN,
           "{\"channel\":\"ticker\",\"type\":\"snapshot\",\"data\":[{\"symbol\":\"BTC/USD\","
           "\"bid\":97000.0,\"bid_qty\":0.50000000,\"ask\":97000.1,\"ask_qty\":1.2,"
           "\"last\":97000.1,\"volume\":1234.56789012,\"vwap\":96500.123456789,\"low\":95000.0,"
           "\"high\":98000.0,\"change\":500.0,\"change_pct\":0.52}]}");
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ev[0].kind, TD_MKT_TICKER);
    assert_string_equal(r->ev[0].symbol, "BTC-USD");
    assert_int_equal(r->ev[0].price, 9700010000000LL); /* 97000.1 exactly, not 97000.09999 */
    assert_int_equal(r->ev[0].bid_qty, 50000000LL);

    r = ok(TD_VENUE_KRAKEN,
           "{\"channel\":\"trade\",\"type\":\"update\",\"data\":[{\"symbol\":\"MATIC/USD\","
           "\"side\":\"buy\",\"price\":0.5117,\"qty\":40.0,\"ord_type\":\"market\","
           "\"trade_id\":4665906,\"timestamp\":\"2023-09-25T07:49:37.708706Z\"},"
           "{\"symbol\":\"MATIC/USD\",\"side\":\"sell\",\"price\":0.5116,\"qty\":1e-8,"
           "\"ord_type\":\"limit\",\"trade_id\":4665907,\"timestamp\":\"2023-09-25T07:49:37.9Z\"},"
           "{\"symbol\":\"MATIC/USD\",\"side\":\"sideways\",\"price\":1,\"qty\":1,"
           "\"trade_id\":1,\"timestamp\":\"2023-09-25T07:49:37Z\"}]}");
    assert_int_equal(r->n, 2);
    assert_int_equal(r->dropped, 1);
    assert_int_equal(r->ev[0].side, TD_SIDE_BUY);
    assert_int_equal(r->ev[0].price, 51170000LL);
    assert_int_equal(r->ev[1].qty, 1);
    assert_int_equal(r->ev[1].event_ms, 1695628177900LL);

    r = ok(TD_VENUE_KRAKEN,
           "{\"channel\":\"ohlc\",\"type\":\"update\",\"timestamp\":\"2023-10-04T16:26:30."
           "524394914Z\","
           "\"data\":[{\"symbol\":\"MATIC/USD\",\"open\":0.5624,\"high\":0.5628,\"low\":0.5622,"
           "\"close\":0.5627,\"trades\":12,\"volume\":30927.68066226,\"vwap\":0.5626,"
           "\"interval_begin\":\"2023-10-04T16:25:00.000000000Z\",\"interval\":5,"
           "\"timestamp\":\"2023-10-04T16:30:00.000000Z\"}]}");
    assert_int_equal(r->ev[0].kind, TD_MKT_CANDLE);
    assert_int_equal(r->ev[0].interval_s, 300);
    assert_int_equal(r->ev[0].open_ms, 1696436700000LL);
    assert_int_equal(r->ev[0].volume, 3092768066226LL);

    assert_int_equal(ok(TD_VENUE_KRAKEN, "{\"channel\":\"heartbeat\"}")->msg, TD_FEED_HEARTBEAT);
    assert_int_equal(ok(TD_VENUE_KRAKEN,
                        "{\"channel\":\"status\",\"type\":\"update\",\"data\":[{\"version\":"
                        "\"2.0.0\",\"system\":\"online\",\"api_version\":\"v2\","
                        "\"connection_id\":12393906104898154338}]}")
                         ->msg,
                     TD_FEED_STATUS);
    assert_int_equal(ok(TD_VENUE_KRAKEN,
                        "{\"method\":\"subscribe\",\"result\":{\"channel\":\"ticker\","
                        "\"snapshot\":true,\"symbol\":\"BTC/USD\"},\"success\":true,"
                        "\"time_in\":\"2023-09-25T09:04:31.742599Z\","
                        "\"time_out\":\"2023-09-25T09:04:31.742648Z\"}")
                         ->msg,
                     TD_FEED_ACK);
    r = ok(TD_VENUE_KRAKEN, "{\"error\":\"Currency pair not supported\",\"method\":\"subscribe\","
                            "\"success\":false,\"symbol\":\"BTC/XYZ\"}");
    assert_int_equal(r->msg, TD_FEED_VENUE_ERROR);
    assert_string_equal(r->error, "Currency pair not supported");
    assert_int_equal(ok(TD_VENUE_KRAKEN, "{\"method\":\"pong\",\"req_id\":4}")->msg,
                     TD_FEED_HEARTBEAT);
    assert_int_equal(ok(TD_VENUE_KRAKEN, "{\"channel\":\"book\",\"data\":[]}")->msg,
                     TD_FEED_IGNORED);

    bad(TD_VENUE_KRAKEN, "{\"channel\":\"ticker\",\"data\":{}}");
    bad(TD_VENUE_KRAKEN, "{\"channel\":\"ticker\",\"data\":[{\"symbol\":\"XBT/USD\"}]}");
    bad(TD_VENUE_KRAKEN, "[1,{\"a\":[\"1\"]},\"ticker\",\"XBT/USD\"]"); /* v1 is not v2 */
}

/* Whatever the venue, bytes that are not one JSON value are refused. */
static void malformed_is_refused(void **state)
{
    (void)state;
    for (td_venue v = TD_VENUE_BINANCE; v <= TD_VENUE_KRAKEN; v++) {
        bad(v, "");
        bad(v, "{");
        bad(v, "{\"type\":\"ticker\"} trailing");
        bad(v, "{'type':'ticker'}");
        bad(v, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
        bad(v, "NaN");
    }
    assert_string_equal(td_venue_name(TD_VENUE_KRAKEN), "kraken");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binance_messages),
        cmocka_unit_test(coinbase_messages),
        cmocka_unit_test(kraken_messages),
        cmocka_unit_test(malformed_is_refused),
    };
    return cmocka_run_group_tests_name("feeds", tests, setup, teardown);
}
