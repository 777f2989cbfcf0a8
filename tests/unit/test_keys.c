/*
 * test_keys.c - the Redis key and channel names (store/keys.h), pinned byte
 * for byte: keys already in Redis, and processes of the previous release
 * still running during a deploy, must find what they always found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/keys.h"

#include <stdio.h>

static char buf[256];

static void key_formats(void **state)
{
    (void)state;
    snprintf(buf, sizeof buf, TD_KEY_SESSION, "0123abcd");
    assert_string_equal(buf, "td:sess:0123abcd");
    assert_string_equal(TD_KEY_REV_EPOCH, "td:rev_epoch");
    snprintf(buf, sizeof buf, TD_KEY_RL_LOGIN_IP, "127.0.0.1");
    assert_string_equal(buf, "td:rl:login:ip:127.0.0.1");
    snprintf(buf, sizeof buf, TD_KEY_RL_LOGIN_USER, "alice");
    assert_string_equal(buf, "td:rl:login:u:alice");
    snprintf(buf, sizeof buf, TD_KEY_RL_LOGIN_USER_IP, "::1", "alice");
    assert_string_equal(buf, "td:rl:login:uip:::1/alice");
    snprintf(buf, sizeof buf, TD_SCOPE_USER, 42LL);
    assert_string_equal(buf, "u42");
    assert_string_equal(TD_SCOPE_PUB, "pub");
    snprintf(buf, sizeof buf, TD_KEY_GEN, "u42");
    assert_string_equal(buf, "td:gen:u42");
    snprintf(buf, sizeof buf, TD_KEY_GEN_USER, 42LL);
    assert_string_equal(buf, "td:gen:u42");
    snprintf(buf, sizeof buf, TD_KEY_CACHE, "pub:px?");
    assert_string_equal(buf, "td:c:pub:px?");
    snprintf(buf, sizeof buf, TD_KEY_LOCK, "3", "u42:pos?limit=2");
    assert_string_equal(buf, "td:lk:3:u42:pos?limit=2");
}

static void channel_and_messages(void **state)
{
    (void)state;
    assert_string_equal(TD_INVAL_CHANNEL, "td:inval");
    assert_int_equal(TD_INVAL_USER, 'u');
    assert_int_equal(TD_INVAL_SESSION, 's');
    assert_int_equal(TD_INVAL_SESSIONS, 'S');
    snprintf(buf, sizeof buf, TD_KEY_PRICE, "BTC-USDT");
    assert_string_equal(buf, "td:px:BTC-USDT");
    assert_string_equal(TD_CHANNEL_PRICES, "td:px");
    snprintf(buf, sizeof buf, TD_KEY_TRADES, "BTC-USDT");
    assert_string_equal(buf, "td:trades:BTC-USDT");
    assert_string_equal(TD_CHANNEL_MARKET, "td:market");
    assert_string_equal(TD_CHANNEL_ALERTS, "td:alerts");
    snprintf(buf, sizeof buf, TD_KEY_BOOK, "BTC-USDT");
    assert_string_equal(buf, "td:book:BTC-USDT");
    assert_string_equal(TD_CHANNEL_BOOKS, "td:book");
    assert_string_equal(TD_KEY_FEEDS, "td:feeds");
    snprintf(buf, sizeof buf, TD_KEY_FILLS, "42");
    assert_string_equal(buf, "td:fills:42");
    assert_string_equal(TD_CHANNEL_FILLS, "td:fills");
    snprintf(buf, sizeof buf, TD_KEY_ORDERS, "42");
    assert_string_equal(buf, "td:orders:42");
    assert_string_equal(TD_CHANNEL_ORDERS, "td:orders");
    assert_string_equal(TD_KEY_LEADER, "td:leader");
    assert_string_equal(TD_KEY_LEADER_TOKEN, "td:leader:token");
    snprintf(buf, sizeof buf, TD_KEY_RL_MARKET_IP, "10.0.0.7");
    assert_string_equal(buf, "td:rl:mkt:ip:10.0.0.7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_formats),
        cmocka_unit_test(channel_and_messages),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
