/*
 * test_stream_channels.c - the stream's pure parts: a client's message
 * parsed and checked and which channel names exist (stream/message.c),
 * the fields it reads from the engine's and PostgreSQL's JSON, and the
 * push messages it writes around them (stream/channels.c).
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

static td_status msg(const char *text, td_client_msg *m)
{
    return td_client_msg_parse(text, strlen(text), 4, m);
}

/* Refused with this code (and channel, when not NULL). */
static void refused(const char *text, const char *code, const char *channel)
{
    td_client_msg m;
    if (msg(text, &m) != TD_EINVAL)
        fail_msg("accepted: %s", text);
    if (strcmp(m.code, code) != 0)
        fail_msg("%s: code %s, expected %s", text, m.code, code);
    assert_non_null(m.why);
    if (channel)
        assert_string_equal(m.channel, channel);
    td_client_msg_free(&m);
}

static void test_client_messages(void **state)
{
    (void)state;
    td_client_msg m;
    assert_int_equal(msg("{\"op\":\"ping\"}", &m), TD_OK);
    assert_int_equal(m.op, TD_OP_PING);
    td_client_msg_free(&m);

    assert_int_equal(msg("{\"op\":\"auth\",\"token\":\"a.b.c\"}", &m), TD_OK);
    assert_int_equal(m.op, TD_OP_AUTH);
    assert_string_equal(m.token, "a.b.c");
    td_client_msg_free(&m);

    assert_int_equal(msg("{\"op\":\"subscribe\",\"channels\":[\"fills\",\"prices:BTC-USDT\","
                         "\"fills\"],\"since\":\"42\"}",
                         &m),
                     TD_OK);
    assert_int_equal(m.op, TD_OP_SUBSCRIBE);
    assert_int_equal(m.n, 2); /* the repeat counted once */
    assert_string_equal(m.channels[0], "fills");
    assert_int_equal(m.kinds[0], TD_CH_FILLS);
    assert_int_equal(m.kinds[1], TD_CH_PRICES);
    assert_string_equal(m.since, "42");
    td_client_msg_free(&m);

    assert_int_equal(msg("{\"op\":\"unsubscribe\",\"channels\":[\"market\"]}", &m), TD_OK);
    assert_int_equal(m.op, TD_OP_UNSUBSCRIBE);
    assert_null(m.since);
    td_client_msg_free(&m);

    refused("", "bad_request", NULL);
    refused("not json", "bad_request", NULL);
    refused("[\"op\"]", "bad_request", NULL);
    refused("{\"op\":\"ping\"} {}", "bad_request", NULL); /* something after the value */
    refused("{'op':'ping'}", "bad_request", NULL);
    refused("{\"op\":1}", "bad_request", NULL);
    refused("{\"op\":\"dance\"}", "unknown_op", NULL);
    refused("{\"op\":\"auth\"}", "bad_request", NULL);
    refused("{\"op\":\"auth\",\"token\":7}", "bad_request", NULL);
    refused("{\"op\":\"subscribe\"}", "bad_request", NULL);
    refused("{\"op\":\"subscribe\",\"channels\":[]}", "bad_request", NULL);
    refused("{\"op\":\"subscribe\",\"channels\":\"market\"}", "bad_request", NULL);
    refused("{\"op\":\"subscribe\",\"channels\":[1]}", "bad_request", NULL);
    refused("{\"op\":\"subscribe\",\"channels\":[\"prices:nope\"]}", "unknown_channel",
            "prices:nope");
    refused("{\"op\":\"subscribe\",\"channels\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
            "too_many_subscriptions", NULL);
    refused("{\"op\":\"subscribe\",\"channels\":[\"fills\"],\"since\":42}", "bad_request",
            NULL);
    refused("{\"op\":\"subscribe\",\"channels\":[\"fills\"],\"since\":\"-1\"}",
            "bad_request", NULL);
    refused("{\"op\":\"subscribe\",\"channels\":[\"fills\"],\"since\":\"\"}", "bad_request",
            NULL);
    refused("{\"op\":[[[[[[[[[[1]]]]]]]]]]}", "bad_request", NULL); /* deeper than allowed */
    refused("{\"op\":\"p\xffing\"}", "bad_request", NULL);       /* not UTF-8 */
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
        cmocka_unit_test(test_client_messages),
        cmocka_unit_test(test_json_field),
        cmocka_unit_test(test_push),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
