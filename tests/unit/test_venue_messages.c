/*
 * test_venue_messages.c - ws/venue's control messages in each venue's
 * protocol (Binance SUBSCRIBE / UNSUBSCRIBE with every stream, kline_1m
 * included, and an id; Coinbase subscribe / unsubscribe; Kraken v2 ticker,
 * trade and ohlc with req_id), each one valid JSON; and the parsers
 * reporting the id a reply echoes, so the client knows which request the
 * venue answered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>

#include "ws/venue.h"

static char M[TD_VENUE_MAX_MSGS][TD_VENUE_MSG_MAX];
static const char *const SYMS[] = {"BTC-USDT", "ETH-USDT"};

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static void binance(void **state)
{
    (void)state;
    assert_int_equal(
        td_venue_messages(TD_VENUE_BINANCE, TD_VENUE_SUBSCRIBE, SYMS, 2, 1, M, TD_VENUE_MAX_MSGS),
        1);
    assert_string_equal(M[0], "{\"method\":\"SUBSCRIBE\",\"params\":["
                              "\"btcusdt@miniTicker\",\"ethusdt@miniTicker\","
                              "\"btcusdt@bookTicker\",\"ethusdt@bookTicker\","
                              "\"btcusdt@trade\",\"ethusdt@trade\","
                              "\"btcusdt@kline_1m\",\"ethusdt@kline_1m\"],\"id\":1}");
    json_object_put(parse(M[0]));
    assert_int_equal(
        td_venue_messages(TD_VENUE_BINANCE, TD_VENUE_UNSUBSCRIBE, SYMS, 1, 2, M, TD_VENUE_MAX_MSGS),
        1);
    assert_string_equal(M[0], "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"btcusdt@miniTicker\","
                              "\"btcusdt@bookTicker\",\"btcusdt@trade\",\"btcusdt@kline_1m\"],"
                              "\"id\":2}");
}

static void coinbase(void **state)
{
    (void)state;
    assert_int_equal(
        td_venue_messages(TD_VENUE_COINBASE, TD_VENUE_SUBSCRIBE, SYMS, 2, 1, M, TD_VENUE_MAX_MSGS),
        1);
    assert_string_equal(M[0], "{\"type\":\"subscribe\",\"product_ids\":[\"BTC-USDT\",\"ETH-USDT\"],"
                              "\"channels\":[\"ticker\",\"matches\",\"heartbeat\"]}");
    assert_int_equal(td_venue_messages(TD_VENUE_COINBASE, TD_VENUE_UNSUBSCRIBE, SYMS, 1, 2, M,
                                       TD_VENUE_MAX_MSGS),
                     1);
    assert_non_null(strstr(M[0], "\"type\":\"unsubscribe\""));
    json_object_put(parse(M[0]));
}

static void kraken(void **state)
{
    (void)state;
    assert_int_equal(
        td_venue_messages(TD_VENUE_KRAKEN, TD_VENUE_SUBSCRIBE, SYMS, 2, 1, M, TD_VENUE_MAX_MSGS),
        3);
    assert_string_equal(M[0], "{\"method\":\"subscribe\",\"params\":{\"channel\":\"ticker\","
                              "\"symbol\":[\"BTC/USDT\",\"ETH/USDT\"]},\"req_id\":1}");
    assert_string_equal(M[1], "{\"method\":\"subscribe\",\"params\":{\"channel\":\"trade\","
                              "\"symbol\":[\"BTC/USDT\",\"ETH/USDT\"],\"snapshot\":false},"
                              "\"req_id\":2}");
    assert_string_equal(M[2], "{\"method\":\"subscribe\",\"params\":{\"channel\":\"ohlc\","
                              "\"symbol\":[\"BTC/USDT\",\"ETH/USDT\"],\"interval\":1,"
                              "\"snapshot\":false},\"req_id\":3}");
    assert_int_equal(
        td_venue_messages(TD_VENUE_KRAKEN, TD_VENUE_UNSUBSCRIBE, SYMS, 1, 4, M, TD_VENUE_MAX_MSGS),
        3);
    assert_string_equal(M[2], "{\"method\":\"unsubscribe\",\"params\":{\"channel\":\"ohlc\","
                              "\"symbol\":[\"BTC/USDT\"],\"interval\":1},\"req_id\":6}");
    for (int i = 0; i < 3; i++)
        json_object_put(parse(M[i]));
}

static void refused(void **state)
{
    (void)state;
    /* No symbol, or no room for Kraken's three messages. */
    assert_int_equal(
        td_venue_messages(TD_VENUE_BINANCE, TD_VENUE_SUBSCRIBE, SYMS, 0, 1, M, TD_VENUE_MAX_MSGS),
        -1);
    assert_int_equal(td_venue_messages(TD_VENUE_KRAKEN, TD_VENUE_SUBSCRIBE, SYMS, 2, 1, M, 2), -1);
    assert_int_equal(td_venue_messages(0, TD_VENUE_SUBSCRIBE, SYMS, 2, 1, M, TD_VENUE_MAX_MSGS),
                     -1);
}

static void replies_echo_ids(void **state)
{
    (void)state;
    td_feed_parser *p = td_feed_parser_new();
    static td_feed_result r;
    const char *b = "{\"result\":null,\"id\":2}";
    assert_int_equal(td_feed_parse(p, TD_VENUE_BINANCE, b, strlen(b), &r), TD_OK);
    assert_int_equal(r.msg, TD_FEED_ACK);
    assert_int_equal(r.req_id, 2);
    const char *k = "{\"method\":\"unsubscribe\",\"result\":{\"channel\":\"ohlc\",\"symbol\":"
                    "\"BTC/USDT\"},\"success\":true,\"req_id\":6}";
    assert_int_equal(td_feed_parse(p, TD_VENUE_KRAKEN, k, strlen(k), &r), TD_OK);
    assert_int_equal(r.msg, TD_FEED_ACK);
    assert_int_equal(r.req_id, 6);
    const char *t = "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":5,\"p\":\"1.0\",\"q\":\"1\","
                    "\"T\":1,\"m\":true}";
    assert_int_equal(td_feed_parse(p, TD_VENUE_BINANCE, t, strlen(t), &r), TD_OK);
    assert_int_equal(r.req_id, 0); /* an event is no reply */
    td_feed_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binance), cmocka_unit_test(coinbase),         cmocka_unit_test(kraken),
        cmocka_unit_test(refused), cmocka_unit_test(replies_echo_ids),
    };
    return cmocka_run_group_tests_name("venue_messages", tests, NULL, NULL);
}
