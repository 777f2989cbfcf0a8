/*
 * test_stream.c - the stream's pure parts: which client channel names
 * exist (stream/channels.c), the fields it reads from the engine's and
 * PostgreSQL's JSON, and the push messages it writes around them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>

#include "stream/stream.h"

static int parse(const char *name)
{
    return td_channel_parse(name, strlen(name));
}

static void test_channel_names(void **state)
{
    (void)state;
    assert_int_equal(parse("prices:BTC-USDT"), TD_CH_PRICES);
    assert_int_equal(parse("trades:ETH-USDT"), TD_CH_TRADES);
    assert_int_equal(parse("book:SOL-USDT"), TD_CH_BOOK);
    assert_int_equal(parse("candles:BTC-USDT:1m"), TD_CH_CANDLES);
    assert_int_equal(parse("candles:BTC-USDT:1d"), TD_CH_CANDLES);
    assert_int_equal(parse("market"), TD_CH_MARKET);
    assert_int_equal(parse("fills"), TD_CH_FILLS);
    assert_int_equal(parse("orders"), TD_CH_ORDERS);
    static const char *const bad[] = {
        "",          "prices:",          "prices:btc-usdt", "prices:BTC-USDT ", "price:BTC-USDT",
        "candles:BTC-USDT", "candles:BTC-USDT:2m", "candles::1m", "fills#1", "user#1",
        "prices:BTC\"-USDT", "Market",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse(bad[i]) != -1)
            fail_msg("'%s' parsed as a channel", bad[i]);
    /* A NUL inside the name is not the name before it. */
    assert_int_equal(td_channel_parse("fills\0x", 7), -1);
}

static void test_json_field(void **state)
{
    (void)state;
    char out[32];
    const char *engine = "{\"symbol\":\"BTC-USDT\",\"price\":\"1.5\"}";
    assert_true(td_json_field(engine, strlen(engine), "symbol", out, sizeof out));
    assert_string_equal(out, "BTC-USDT");
    const char *pg = "{\"id\": \"42\", \"symbol\": \"ETH-USDT\"}"; /* jsonb's text spacing */
    assert_true(td_json_field(pg, strlen(pg), "id", out, sizeof out));
    assert_string_equal(out, "42");
    assert_false(td_json_field(pg, strlen(pg), "side", out, sizeof out));
    assert_false(td_json_field(engine, strlen(engine), "symbol", out, 4)); /* too long */
}

static void test_push(void **state)
{
    (void)state;
    const char *data = "{\"id\":\"7\",\"price\":\"100\"}";
    td_msg *m = td_push_new("fill", "fills", "7", data, strlen(data), 0);
    assert_non_null(m);
    json_object *o = json_tokener_parse((const char *)m->buf + LWS_PRE);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "type", &v));
    assert_string_equal(json_object_get_string(v), "fill");
    assert_true(json_object_object_get_ex(o, "id", &v));
    assert_string_equal(json_object_get_string(v), "7");
    assert_true(json_object_object_get_ex(o, "data", &v));
    assert_true(json_object_is_type(v, json_type_object));
    assert_false(json_object_object_get_ex(o, "snapshot", &v));
    json_object_put(o);
    td_msg_unref(m);

    m = td_push_new("price", "prices:BTC-USDT", NULL, data, strlen(data), 1);
    o = json_tokener_parse((const char *)m->buf + LWS_PRE);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "snapshot", &v));
    assert_true(json_object_get_boolean(v));
    assert_false(json_object_object_get_ex(o, "id", &v));
    json_object_put(o);
    td_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_names),
        cmocka_unit_test(test_json_field),
        cmocka_unit_test(test_push),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
