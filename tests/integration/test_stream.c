/*
 * test_stream.c - tradedesk-stream through nginx's /ws with a real
 * WebSocket client (wsclient.c): market pushes after the engine's
 * simulator ticks (prices with a snapshot first, trades, candles, books),
 * the protocol's errors for garbage, oversized and binary frames (and the
 * socket closed after repeated garbage), fills only after auth and only
 * one's own, a `since` replay that delivers each missed fill exactly once
 * and then continues live (from PostgreSQL for the part the Stream lost), a session revoked (logout) while connected, a
 * token expiring while connected,
 * two instances (a fill reaches its user on either; SIGTERM closes the
 * sockets and exits 0), Redis restarted mid-stream, and the market
 * channel's feed events (the engine on a local Binance server), and
 * Redis or PostgreSQL stopped while a socket authenticates (the loop
 * serves the others).  Fills come through the real path:
 * fill_orders() in PostgreSQL, the engine's outbox relay, Redis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "wsclient.h"

static long long g_alice, g_bob;
static int g_redis_stopped; /* Redis' pid while a test holds it stopped */
static int g_pg_stopped;    /* PostgreSQL is held stopped */
static char g_alice_name[64], g_bob_name[64];

static int setup(void **state)
{
    (void)state;
    char listen[64];
    snprintf(g_alice_name, sizeof g_alice_name, "ws_alice");
    snprintf(g_bob_name, sizeof g_bob_name, "ws_bob");
    g_alice = itest_user_cash(g_alice_name, "1000000");
    g_bob = itest_user_cash(g_bob_name, "1000000");
    if (g_alice <= 0 || g_bob <= 0)
        return -1;
    if (itest_engine_start(listen, sizeof listen) != 0)
        return -1;
    /* A small queue, so a replay longer than it must be paced. */
    setenv("TRADEDESK_STREAM_QUEUE", "8", 1);
    setenv("TRADEDESK_STREAM_SOCKETS_PER_ADDRESS", "6", 1);
    setenv("TRADEDESK_STREAM_SOCKETS_PER_USER", "4", 1);
    return itest_stack("start stream") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("TRADEDESK_STREAM_QUEUE");
    unsetenv("TRADEDESK_STREAM_SOCKETS_PER_ADDRESS");
    unsetenv("TRADEDESK_STREAM_SOCKETS_PER_USER");
    if (g_redis_stopped)
        kill(g_redis_stopped, SIGCONT);
    if (g_pg_stopped)
        itest_pg_signal(SIGCONT);
    int rc = itest_stack("stop stream");
    rc |= itest_stack("stop engine");
    return rc == 0 ? 0 : -1;
}

static itest_ws *open_ws(void)
{
    itest_ws *w = itest_ws_open("/ws", NULL);
    assert_non_null(w);
    return w;
}

/* Wait until the relay put fill into user's Stream. */
static void wait_relayed(long long user, long long fill)
{
    char args[128], out[256];
    snprintf(args, sizeof args, "XRANGE td:fills:%lld %lld-0 %lld-0", user, fill, fill);
    for (int i = 0; i < 100; i++) {
        out[0] = '\0';
        itest_redis_cli(args, out, sizeof out);
        if (strstr(out, "fill"))
            return;
        usleep(100 * 1000);
    }
    fail_msg("fill %lld never reached td:fills:%lld", fill, user);
}

static json_object *expect(itest_ws *w, const char *type, const char *channel)
{
    json_object *o = itest_ws_expect(w, type, channel, 8000);
    if (!o)
        fail_msg("no %s message%s%s within 8 s", type, channel ? " on " : "",
                 channel ? channel : "");
    return o;
}

static void expect_error(itest_ws *w, const char *code)
{
    json_object *o = expect(w, "error", NULL);
    const char *c = itest_ws_str(o, "code");
    if (!c || strcmp(c, code) != 0)
        fail_msg("error %s, expected %s: %s", c ? c : "(none)", code,
                 json_object_to_json_string(o));
    assert_non_null(itest_ws_str(o, "message"));
    json_object_put(o);
}

static void auth(itest_ws *w, const char *token, long long user)
{
    itest_ws_sendf(w, "{\"op\":\"auth\",\"token\":\"%s\"}", token);
    json_object *o = expect(w, "authed", NULL);
    json_object *id;
    assert_true(json_object_object_get_ex(o, "user_id", &id));
    assert_int_equal(json_object_get_int64(id), user);
    assert_non_null(itest_ws_str(o, "expires_at"));
    json_object_put(o);
}

static void subscribe(itest_ws *w, const char *json_channels, const char *since)
{
    if (since)
        itest_ws_sendf(w, "{\"op\":\"subscribe\",\"channels\":%s,\"since\":\"%s\"}", json_channels,
                       since);
    else
        itest_ws_sendf(w, "{\"op\":\"subscribe\",\"channels\":%s}", json_channels);
    json_object_put(expect(w, "subscribed", NULL));
}

/* The next fill on w: its id. */
static long long next_fill(itest_ws *w)
{
    json_object *o = expect(w, "fill", "fills");
    const char *id = itest_ws_str(o, "id"), *data_id = itest_ws_str(o, "data.id");
    assert_non_null(id);
    assert_non_null(data_id);
    assert_string_equal(id, data_id);
    long long v = atoll(id);
    json_object_put(o);
    return v;
}

/* Nothing but a pong answers a ping now: no message was queued before it. */
static void nothing_pending(itest_ws *w)
{
    itest_ws_send(w, "{\"op\":\"ping\"}");
    json_object *o = itest_ws_recv(w, 5000);
    assert_non_null(o);
    const char *t = itest_ws_str(o, "type");
    if (!t || strcmp(t, "pong") != 0)
        fail_msg("expected pong, got %s", json_object_to_json_string(o));
    json_object_put(o);
}

static void market_pushes(void **state)
{
    (void)state;
    itest_ws *w = open_ws();
    itest_ws_send(w, "{\"op\":\"subscribe\",\"channels\":[\"prices:BTC-USDT\",\"trades:BTC-USDT\","
                     "\"candles:BTC-USDT:1m\",\"book:BTC-USDT\"]}");
    json_object *o = expect(w, "subscribed", NULL);
    json_object *chs;
    assert_true(json_object_object_get_ex(o, "channels", &chs));
    assert_int_equal(json_object_array_length(chs), 4);
    json_object_put(o);

    o = expect(w, "price", "prices:BTC-USDT");
    assert_string_equal(itest_ws_str(o, "data.symbol"), "BTC-USDT");
    assert_non_null(itest_ws_str(o, "data.price"));
    assert_non_null(itest_ws_str(o, "data.updated_at"));
    /* As REST's Price: its age and staleness as of the push. */
    json_object *data, *v;
    assert_true(json_object_object_get_ex(o, "data", &data));
    assert_true(json_object_object_get_ex(data, "age_ms", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_true(json_object_get_int64(v) >= 0 && json_object_get_int64(v) < 10000);
    assert_true(json_object_object_get_ex(data, "stale", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));
    json_object_put(o);
    o = expect(w, "trade", "trades:BTC-USDT");
    assert_string_equal(itest_ws_str(o, "data.symbol"), "BTC-USDT");
    assert_non_null(itest_ws_str(o, "data.price"));
    assert_non_null(itest_ws_str(o, "data.side"));
    json_object_put(o);
    o = expect(w, "candle", "candles:BTC-USDT:1m");
    assert_string_equal(itest_ws_str(o, "data.interval"), "1m");
    assert_non_null(itest_ws_str(o, "data.close"));
    json_object_put(o);
    o = expect(w, "book", "book:BTC-USDT");
    assert_non_null(itest_ws_str(o, "data.bid"));
    assert_true(json_object_object_get_ex(o, "data", &data));
    assert_true(json_object_object_get_ex(data, "age_ms", &v));
    assert_true(json_object_object_get_ex(data, "stale", &v));
    json_object_put(o);
    itest_ws_close(w);

    /* The engine has ticked by now: a fresh subscriber gets the latest
     * price at once, marked as the snapshot, before anything live. */
    w = open_ws();
    itest_ws_send(w, "{\"op\":\"subscribe\",\"channels\":[\"prices:ETH-USDT\"]}");
    json_object_put(expect(w, "subscribed", NULL));
    o = itest_ws_recv(w, 5000);
    assert_non_null(o);
    assert_string_equal(itest_ws_str(o, "type"), "price");
    json_object *snap;
    assert_true(json_object_object_get_ex(o, "snapshot", &snap));
    assert_true(json_object_get_boolean(snap));
    json_object_put(o);

    /* unsubscribe: the reply, and no more prices after it. */
    itest_ws_send(w, "{\"op\":\"unsubscribe\",\"channels\":[\"prices:ETH-USDT\"]}");
    json_object_put(expect(w, "unsubscribed", NULL));
    usleep(600 * 1000);
    nothing_pending(w);
    itest_ws_close(w);
}

/* A client that stops reading does not hold the others back. */
static void slow_client(void **state)
{
    (void)state;
    itest_ws *slow = open_ws(), *fast = open_ws();
    const char *all = "[\"prices:BTC-USDT\",\"prices:ETH-USDT\",\"trades:BTC-USDT\","
                      "\"trades:ETH-USDT\",\"book:BTC-USDT\",\"book:ETH-USDT\","
                      "\"candles:BTC-USDT:1m\",\"candles:ETH-USDT:1m\"]";
    subscribe(slow, all, NULL);
    subscribe(fast, "[\"prices:BTC-USDT\"]", NULL);
    /* slow reads nothing from here on; fast keeps getting every tick. */
    long long start = itest_now_ms();
    int got = 0;
    while (itest_now_ms() - start < 3000) {
        json_object *o = itest_ws_expect(fast, "price", "prices:BTC-USDT", 2000);
        assert_non_null(o);
        json_object_put(o);
        got++;
    }
    assert_true(got >= 5); /* the simulator moves every 250 ms */
    /* And the slow one is still served once it reads again. */
    json_object_put(expect(slow, "price", NULL));
    itest_ws_close(slow);
    itest_ws_close(fast);
}

/* Two prices of a symbol arriving together (one Redis read) both reach a
 * client that keeps up: only a slow socket's market messages conflate. */
static void together_not_conflated(void **state)
{
    (void)state;
    itest_ws *w = open_ws();
    subscribe(w, "[\"prices:ZZZ-USDT\"]", NULL); /* no engine price: no snapshot */
    nothing_pending(w);
    char path[512], cmd[1024];
    snprintf(path, sizeof path, "%s/together.redis", getenv("TD_TEST_VAR"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("MULTI\n", f); /* EXEC sends both to the subscriber at once */
    for (int i = 1; i <= 2; i++)
        fprintf(f,
                "PUBLISH td:px '{\"symbol\":\"ZZZ-USDT\",\"price\":\"%d.00\",\"source\":\"sim\","
                "\"updated_at\":\"2026-01-01T00:00:00.000Z\",\"age_ms\":0,\"stale\":false}'\n",
                i);
    fputs("EXEC\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "timeout 10 redis-cli -s '%s' < '%s'",
             getenv("TRADEDESK_REDIS_URL") + 5, path);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
    for (int i = 1; i <= 2; i++) {
        json_object *o = expect(w, "price", "prices:ZZZ-USDT"), *d, *price;
        assert_true(json_object_object_get_ex(o, "data", &d));
        assert_true(json_object_object_get_ex(d, "price", &price));
        char want[16];
        snprintf(want, sizeof want, "%d.00", i);
        assert_string_equal(json_object_get_string(price), want);
        json_object_put(o);
    }
    nothing_pending(w);
    itest_ws_close(w);
}

static void bad_input(void **state)
{
    (void)state;
    itest_ws *w = open_ws();
    nothing_pending(w); /* ping -> pong */
    itest_ws_send_frame(w, 1, "not json", 8);
    expect_error(w, "bad_request");
    itest_ws_send_invalid(w, "{\"op\":\"dance\"}");
    expect_error(w, "unknown_op");
    itest_ws_send_invalid(w, "{\"op\":\"subscribe\",\"channels\":[\"prices:not a symbol\"]}");
    expect_error(w, "unknown_channel");
    itest_ws_send_invalid(w, "{\"op\":\"subscribe\",\"channels\":\"prices:BTC-USDT\"}");
    expect_error(w, "bad_request");
    itest_ws_send(w, "{\"op\":\"subscribe\",\"channels\":[\"fills\"]}");
    expect_error(w, "auth_required");
    itest_ws_send(w, "{\"op\":\"auth\",\"token\":\"abc.def.ghi\"}");
    expect_error(w, "invalid_token");
    char big[6000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"op\":\"ping\"", 12);
    big[sizeof big - 1] = '}';
    itest_ws_send_frame(w, 1, big, sizeof big);
    expect_error(w, "message_too_large");
    itest_ws_send_frame(w, 2, "\x01\x02", 2);
    expect_error(w, "bad_request");
    /* A good message resets the count; then garbage again and again closes. */
    nothing_pending(w);
    for (int i = 0; i < 5; i++)
        itest_ws_send_frame(w, 1, "{{{", 3);
    for (int i = 0; i < 5; i++)
        expect_error(w, "bad_request");
    assert_true(itest_ws_wait_closed(w, 5000) >= 0);
    itest_ws_close(w);

    /* A flood: past the rate and its burst, then closed. */
    w = open_ws();
    for (int i = 0; i < 200; i++)
        itest_ws_send(w, "{\"op\":\"ping\"}");
    expect_error(w, "rate_limited");
    assert_true(itest_ws_wait_closed(w, 5000) >= 0);
    itest_ws_close(w);
}

/* Sockets per client address (nginx's X-Real-IP) and per user. */
static void socket_limits(void **state)
{
    (void)state;
    const char *ip = itest_fresh_ip();
    itest_ws *w[8];
    for (int i = 0; i < 6; i++) {
        w[i] = itest_ws_open("/ws", ip);
        assert_non_null(w[i]);
        nothing_pending(w[i]); /* open and counted */
    }
    w[6] = itest_ws_open("/ws", ip);
    assert_non_null(w[6]);
    expect_error(w[6], "rate_limited");
    assert_true(itest_ws_wait_closed(w[6], 5000) >= 0);
    /* Another address is not held back. */
    itest_ws *other = itest_ws_open("/ws", itest_fresh_ip());
    assert_non_null(other);
    nothing_pending(other);
    itest_ws_close(other);
    for (int i = 0; i < 7; i++)
        itest_ws_close(w[i]);

    char t[1024];
    itest_token(g_bob_name, t, sizeof t);
    ip = itest_fresh_ip();
    for (int i = 0; i < 4; i++) {
        w[i] = itest_ws_open("/ws", ip);
        assert_non_null(w[i]);
        auth(w[i], t, g_bob);
    }
    w[4] = itest_ws_open("/ws", ip);
    assert_non_null(w[4]);
    itest_ws_sendf(w[4], "{\"op\":\"auth\",\"token\":\"%s\"}", t);
    expect_error(w[4], "rate_limited");
    assert_true(itest_ws_wait_closed(w[4], 5000) >= 0);
    for (int i = 0; i < 5; i++)
        itest_ws_close(w[i]);
}

static void fills_own_only(void **state)
{
    (void)state;
    char ta[1024], tb[1024];
    itest_token(g_alice_name, ta, sizeof ta);
    itest_token(g_bob_name, tb, sizeof tb);
    itest_ws *a = open_ws(), *b = open_ws();
    auth(a, ta, g_alice);
    itest_ws_sendf(a, "{\"op\":\"auth\",\"token\":\"%s\"}", ta);
    expect_error(a, "already_authed");
    auth(b, tb, g_bob);
    subscribe(a, "[\"fills\"]", NULL);
    subscribe(b, "[\"fills\"]", NULL);
    long long fb = itest_fill(g_bob);
    wait_relayed(g_bob, fb);
    long long fa = itest_fill(g_alice);
    /* Bob's fill went out first: had alice been given it, it would come
     * before her own. */
    assert_int_equal(next_fill(a), fa);
    assert_int_equal(next_fill(b), fb);
    nothing_pending(a);
    nothing_pending(b);
    itest_ws_close(a);
    itest_ws_close(b);
}

static void since_replays_once(void **state)
{
    (void)state;
    char t[1024];
    itest_token(g_alice_name, t, sizeof t);
    itest_ws *w = open_ws();
    auth(w, t, g_alice);
    subscribe(w, "[\"fills\"]", NULL);
    long long f1 = itest_fill(g_alice);
    assert_int_equal(next_fill(w), f1);
    itest_ws_close(w);

    /* Away: more fills than the socket's queue holds (8) happen. */
    enum { AWAY = 20 };
    long long away[AWAY];
    for (int i = 0; i < AWAY; i++)
        away[i] = itest_fill(g_alice);
    wait_relayed(g_alice, away[AWAY - 1]);

    w = open_ws();
    auth(w, t, g_alice);
    char since[32];
    snprintf(since, sizeof since, "%lld", f1);
    subscribe(w, "[\"fills\"]", since);
    for (int i = 0; i < AWAY; i++)
        assert_int_equal(next_fill(w), away[i]);
    /* Then live, without a gap or a repeat. */
    long long f4 = itest_fill(g_alice);
    assert_int_equal(next_fill(w), f4);
    nothing_pending(w);
    itest_ws_close(w);

    /* since older than the Stream holds (trimmed to its newest entry, then
     * lost altogether): the part it lacks comes from PostgreSQL's fills,
     * exactly as the Stream carried it, in order, once, then the rest. */
    char args[128], from_stream[1024];
    snprintf(args, sizeof args, "XRANGE td:fills:%lld %lld-0 %lld-0", g_alice, away[0], away[0]);
    assert_int_equal(itest_redis_cli(args, from_stream, sizeof from_stream), 0);
    for (int pass = 0; pass < 2; pass++) {
        snprintf(args, sizeof args, pass ? "DEL td:fills:%lld" : "XTRIM td:fills:%lld MAXLEN 1",
                 g_alice);
        assert_int_equal(itest_redis_cli(args, NULL, 0), 0);
        w = open_ws();
        auth(w, t, g_alice);
        subscribe(w, "[\"fills\"]", since);
        json_object *o = expect(w, "fill", "fills");
        assert_int_equal(atoll(itest_ws_str(o, "id")), away[0]);
        json_object *data;
        assert_true(json_object_object_get_ex(o, "data", &data));
        json_object *stored = json_tokener_parse(strchr(from_stream, '{'));
        assert_non_null(stored);
        if (!json_object_equal(data, stored))
            fail_msg("from PostgreSQL %s, the Stream had %s", json_object_to_json_string(data),
                     json_object_to_json_string(stored));
        json_object_put(stored);
        json_object_put(o);
        for (int i = 1; i < AWAY; i++)
            assert_int_equal(next_fill(w), away[i]);
        assert_int_equal(next_fill(w), f4);
        nothing_pending(w);
        itest_ws_close(w);
    }
}

static void revoked_while_connected(void **state)
{
    (void)state;
    char token[2048];
    assert_int_equal(itest_login(g_alice_name, "tradedesk", token, sizeof token), 200);
    itest_ws *w = open_ws();
    auth(w, token, g_alice);
    subscribe(w, "[\"fills\"]", NULL);
    itest_response *r = itest_post_auth("/api/v1/auth/logout", token, NULL);
    assert_true(r->status == 200 || r->status == 204);
    itest_free(r);
    expect_error(w, "session_revoked");
    assert_true(itest_ws_wait_closed(w, 5000) >= 0);
    itest_ws_close(w);

    /* The revoked token no longer authenticates. */
    w = open_ws();
    itest_ws_sendf(w, "{\"op\":\"auth\",\"token\":\"%s\"}", token);
    expect_error(w, "session_revoked");
    itest_ws_close(w);
}

static void redis_restart(void **state)
{
    (void)state;
    char t[1024];
    itest_token(g_alice_name, t, sizeof t);
    itest_ws *w = open_ws();
    auth(w, t, g_alice);
    subscribe(w, "[\"fills\",\"prices:BTC-USDT\"]", NULL);
    json_object_put(expect(w, "price", "prices:BTC-USDT"));
    assert_int_equal(itest_stack("restart redis"), 0);
    /* A fill made while the stream may not have resubscribed yet still
     * reaches the socket once (pub/sub, or the catch-up from the Stream). */
    long long f = itest_fill(g_alice);
    assert_int_equal(next_fill(w), f);
    json_object_put(expect(w, "price", "prices:BTC-USDT"));
    /* The stream saw the gap and caught up from the Streams, and the fill
     * came once, not also from the catch-up. */
    char cmd[256], out[64];
    snprintf(cmd, sizeof cmd,
             "for i in $(seq 50); do v=$(curl -sf http://127.0.0.1:%s/metrics | awk "
             "'$1 == \"tradedesk_stream_redis_reconnects_total\" {print $2}'); "
             "[ \"${v:-0}\" -ge 1 ] && echo $v && exit 0; sleep 0.1; done; exit 1",
             getenv("TRADEDESK_WS_PORT"));
    assert_int_equal(itest_sh(cmd, out, sizeof out), 0);
    itest_ws_send(w, "{\"op\":\"unsubscribe\",\"channels\":[\"prices:BTC-USDT\"]}");
    json_object *o;
    int unsubscribed = 0;
    while (!unsubscribed && (o = itest_ws_recv(w, 5000))) { /* prices queued before it */
        const char *type = itest_ws_str(o, "type");
        assert_non_null(type);
        assert_string_not_equal(type, "fill");
        unsubscribed = strcmp(type, "unsubscribed") == 0;
        json_object_put(o);
    }
    assert_true(unsubscribed);
    nothing_pending(w);
    itest_ws_close(w);
}

/* A token that expires while its socket is open: token_expired, closed,
 * once exp and the verifier's leeway (30 s, as the API's) have passed. */
static void token_expires(void **state)
{
    (void)state;
    char t[1024];
    assert_int_equal(itest_cli("token ws_alice --ttl 2", NULL, t, sizeof t), 0);
    itest_ws *w = open_ws();
    auth(w, t, g_alice);
    subscribe(w, "[\"fills\"]", NULL);
    json_object *o = itest_ws_expect(w, "error", NULL, 45000);
    assert_non_null(o);
    assert_string_equal(itest_ws_str(o, "code"), "token_expired");
    json_object_put(o);
    assert_true(itest_ws_wait_closed(w, 5000) >= 0);
    itest_ws_close(w);
    /* And such a token is refused as expired, not as invalid. */
    w = open_ws();
    itest_ws_sendf(w, "{\"op\":\"auth\",\"token\":\"%s\"}", t);
    expect_error(w, "token_expired");
    itest_ws_close(w);
}

/* A second instance (its own process, beside the stack's) on a free
 * port: a fill reaches its user whichever instance holds the socket. */
static void two_instances(void **state)
{
    (void)state;
    int port = itest_free_port();
    assert_true(port > 0);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char log[512], bin[512];
        snprintf(log, sizeof log, "%s/log/stream_%d.log", getenv("TD_TEST_VAR"), port);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        setenv("TRADEDESK_STREAM_LISTEN", listen, 1);
        unsetenv("TRADEDESK_STREAM_SOCKET"); /* the stack's instance has nginx's */
        snprintf(bin, sizeof bin, "%s/tradedesk-stream", getenv("TD_TEST_BIN"));
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd,
             "for i in $(seq 50); do curl -sf http://%s/health >/dev/null && exit 0; sleep 0.1; "
             "done; exit 1",
             listen);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);

    char t[1024];
    itest_token(g_alice_name, t, sizeof t);
    itest_ws *other = itest_ws_open_port(port, "/ws", NULL), *via_nginx = open_ws();
    assert_non_null(other);
    auth(other, t, g_alice);
    auth(via_nginx, t, g_alice);
    subscribe(other, "[\"fills\"]", NULL);
    subscribe(via_nginx, "[\"fills\"]", NULL);
    long long f = itest_fill(g_alice);
    assert_int_equal(next_fill(other), f);
    assert_int_equal(next_fill(via_nginx), f);
    itest_ws_close(via_nginx);

    /* SIGTERM with a client connected: it closes the socket and exits 0. */
    kill(pid, SIGTERM);
    assert_true(itest_ws_wait_closed(other, 5000) >= 0);
    int status = -1;
    for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(100 * 1000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    itest_ws_close(other);
}

/* A fill published while the stream's subscription is down reaches the
 * socket once, from the catch-up: the subscription is killed and, before
 * the stream can have resubscribed (it polls every 100 ms), a fill is
 * added to the user's Stream and published as the relay does (a
 * synthetic one, of a user of its own). */
static void caught_up_after_gap(void **state)
{
    (void)state;
    long long carol = itest_user_cash("ws_carol", "1000");
    assert_true(carol > 0);
    char t[1024];
    itest_token("ws_carol", t, sizeof t);
    itest_ws *w = open_ws();
    auth(w, t, carol);
    subscribe(w, "[\"fills\"]", NULL);
    nothing_pending(w);
    char path[512], cmd[1024];
    snprintf(path, sizeof path, "%s/gap.redis", getenv("TD_TEST_VAR"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    const char *fill = "{\"id\":\"900001\",\"order_id\":\"1\",\"symbol\":\"BTC-USDT\","
                       "\"side\":\"buy\",\"quantity\":\"0.01\",\"price\":\"100.00\","
                       "\"realized_pnl\":\"0.00\",\"position_id\":\"1\","
                       "\"created_at\":\"2026-01-01T00:00:00.000Z\"}";
    fprintf(f,
            "CLIENT KILL TYPE pubsub\nXADD td:fills:%lld 900001-0 fill '%s'\n"
            "PUBLISH td:fills '%lld %s'\n",
            carol, fill, carol, fill);
    fclose(f);
    snprintf(cmd, sizeof cmd, "timeout 10 redis-cli -s '%s' < '%s'",
             getenv("TRADEDESK_REDIS_URL") + 5, path);
    assert_int_equal(itest_sh(cmd, NULL, 0), 0);
    assert_int_equal(next_fill(w), 900001);
    nothing_pending(w); /* once */
    itest_ws_close(w);
}

/* market: the feeds' connection events, as the engine publishes them. */
static void market_events(void **state)
{
    (void)state;
    int port = itest_free_port();
    assert_true(port > 0);
    int fake = itest_fake_exchange("binance", port);
    assert_true(fake > 0);
    itest_ws *w = open_ws();
    subscribe(w, "[\"market\"]", NULL);
    char url[96];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
    setenv("TRADEDESK_BINANCE_WS_URL", url, 1);
    setenv("TRADEDESK_FEEDS", "binance,sim", 1);
    assert_int_equal(itest_stack("restart engine"), 0);
    long long until = itest_now_ms() + 10000;
    int connected = 0;
    while (!connected && itest_now_ms() < until) {
        json_object *o = itest_ws_expect(w, "market", "market", 10000);
        assert_non_null(o);
        const char *src = itest_ws_str(o, "data.source"), *state_ = itest_ws_str(o, "data.state");
        assert_non_null(src);
        assert_non_null(state_);
        connected = strcmp(src, "binance") == 0 && strcmp(state_, "connected") == 0;
        json_object_put(o);
    }
    assert_true(connected);
    itest_ws_close(w);
    unsetenv("TRADEDESK_FEEDS");
    unsetenv("TRADEDESK_BINANCE_WS_URL");
    assert_int_equal(itest_stack("restart engine"), 0);
    itest_fake_exchange_stop(fake);
}

/* The stream reports itself in Redis every second: the detailed health
 * lists it with its sockets while one is open. */
static void reported_in_detailed_health(void **state)
{
    (void)state;
    itest_ws *w = open_ws();
    char admin[2048];
    itest_token("admin", admin, sizeof admin);
    long long deadline = itest_now_ms() + 10000;
    long long conns = -1;
    while (conns < 1 && itest_now_ms() < deadline) {
        itest_response *r = itest_get_auth("/api/v1/monitoring/health/detailed", admin);
        json_object *list = itest_json_get(r, "checks.streams"), *rep, *v, *st;
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
            json_object *o = json_object_array_get_idx(list, i);
            if (json_object_object_get_ex(o, "status", &st) &&
                strcmp(json_object_get_string(st), "ok") == 0 &&
                json_object_object_get_ex(o, "reported", &rep) &&
                json_object_object_get_ex(rep, "connections", &v))
                conns = json_object_get_int64(v) > conns ? json_object_get_int64(v) : conns;
        }
        itest_free(r);
        if (conns < 1)
            usleep(300 * 1000);
    }
    itest_ws_close(w);
    assert_true(conns >= 1);
}

static void expect_type(itest_ws *w, const char *type, int timeout_ms)
{
    json_object *o = itest_ws_recv(w, timeout_ms);
    const char *t = o ? itest_ws_str(o, "type") : NULL;
    if (!t || strcmp(t, type) != 0)
        fail_msg("expected %s, got %s", type, o ? json_object_to_json_string(o) : "nothing");
    json_object_put(o);
}

/* Redis stopped (SIGSTOP: its socket takes commands, nothing answers):
 * an auth waits for Redis's answer without holding any other socket, its
 * socket's next message is answered after it, in order; the auth goes
 * through once Redis is back; sockets that close while their auth or
 * replay waits leave nothing behind (the ASan run of this test). */
static void loop_never_waits_for_redis(void **state)
{
    (void)state;
    /* A Redis timeout far longer than this test's waits: until Redis is
     * back the auth can only be pending (not answered from PostgreSQL). */
    assert_int_equal(itest_stack("stop stream"), 0);
    setenv("TRADEDESK_REDIS_TIMEOUT_MS", "8000", 1);
    int rc = itest_stack("start stream");
    unsetenv("TRADEDESK_REDIS_TIMEOUT_MS");
    assert_int_equal(rc, 0);
    char ta[1024], tb[1024];
    itest_token(g_alice_name, ta, sizeof ta);
    itest_token(g_bob_name, tb, sizeof tb);
    const char *ip = itest_fresh_ip();
    itest_ws *b = itest_ws_open("/ws", ip), *a = itest_ws_open("/ws", ip),
             *gone = itest_ws_open("/ws", ip), *gone_replay = itest_ws_open("/ws", ip);
    assert_true(a && b && gone && gone_replay);
    auth(b, tb, g_bob);
    auth(gone_replay, ta, g_alice);

    int pid = itest_pid("redis");
    assert_int_equal(kill(pid, SIGSTOP), 0);
    g_redis_stopped = pid;
    itest_ws_sendf(a, "{\"op\":\"auth\",\"token\":\"%s\"}", ta);
    itest_ws_send(a, "{\"op\":\"ping\"}"); /* answered after the auth */
    itest_ws_sendf(gone, "{\"op\":\"auth\",\"token\":\"%s\"}", ta);
    itest_ws_send(gone_replay, "{\"op\":\"subscribe\",\"channels\":[\"fills\"],\"since\":\"1\"}");
    expect_type(gone_replay, "subscribed", 5000);
    itest_ws_send(b, "{\"op\":\"ping\"}");
    expect_type(b, "pong", 5000);
    /* b was answered while a's auth still waits for Redis. */
    json_object *early = itest_ws_recv(a, 100);
    if (early)
        fail_msg("a's auth answered before Redis was back: %s", json_object_to_json_string(early));
    itest_ws_close(gone); /* their replies come to sockets that are gone */
    itest_ws_close(gone_replay);

    assert_int_equal(kill(pid, SIGCONT), 0);
    g_redis_stopped = 0;
    json_object *o = expect(a, "authed", NULL);
    json_object *id;
    assert_true(json_object_object_get_ex(o, "user_id", &id));
    assert_int_equal(json_object_get_int64(id), g_alice);
    json_object_put(o);
    expect_type(a, "pong", 5000); /* in the order sent */
    nothing_pending(b);
    /* The stream is still the same process and serves new sockets. */
    itest_ws *c = itest_ws_open("/ws", ip);
    assert_non_null(c);
    auth(c, ta, g_alice);
    subscribe(c, "[\"fills\"]", NULL);
    nothing_pending(c);
    itest_ws_close(c);
    itest_ws_close(a);
    itest_ws_close(b);
    assert_int_equal(itest_stack("stop stream"), 0);
    assert_int_equal(itest_stack("start stream"), 0);
}

/* PostgreSQL stopped: an auth Redis can answer goes through (it waits
 * for the stalled revocation read only a bounded while), one that needs
 * PostgreSQL is answered "try again" once its deadline passes, and other
 * sockets are served meanwhile; once PostgreSQL is back it goes through.
 * A socket closed while its replay waits for PostgreSQL leaves nothing
 * behind (the ASan run). */
static void loop_never_waits_for_postgres(void **state)
{
    (void)state;
    char ta[1024], tb[1024], mark[64] = "";
    itest_token(g_alice_name, ta, sizeof ta);
    itest_token(g_bob_name, tb, sizeof tb); /* its session entry is in Redis */
    const char *ip = itest_fresh_ip();
    itest_ws *b = itest_ws_open("/ws", ip), *a = itest_ws_open("/ws", ip),
             *c = itest_ws_open("/ws", ip), *gone = itest_ws_open("/ws", ip);
    assert_true(a && b && c && gone);
    auth(b, tb, g_bob);
    auth(gone, ta, g_alice);

    assert_true(itest_pg_signal(SIGSTOP) > 0);
    g_pg_stopped = 1;
    auth(a, tb, g_bob); /* from Redis */
    /* A replay the Stream cannot serve (gone: Redis lost it) reads
     * PostgreSQL: its socket closes while that read waits. */
    char del[64];
    snprintf(del, sizeof del, "DEL td:fills:%lld", g_alice);
    assert_int_equal(itest_redis_cli(del, NULL, 0), 0);
    itest_ws_send(gone, "{\"op\":\"subscribe\",\"channels\":[\"fills\"],\"since\":\"1\"}");
    expect_type(gone, "subscribed", 5000);
    itest_ws_close(gone);
    /* Redis' mark below any epoch: every check must ask PostgreSQL. */
    itest_redis_cli("GET td:rev_epoch", mark, sizeof mark);
    assert_int_equal(itest_redis_cli("SET td:rev_epoch -1", NULL, 0), 0);
    itest_ws_sendf(c, "{\"op\":\"auth\",\"token\":\"%s\"}", ta);
    itest_ws_send(b, "{\"op\":\"ping\"}");
    expect_type(b, "pong", 5000);
    expect_error(c, "internal"); /* its deadline, not PostgreSQL's answer */
    nothing_pending(a);

    itest_pg_signal(SIGCONT);
    g_pg_stopped = 0;
    auth(c, ta, g_alice); /* "try again": now PostgreSQL answers */
    char cmd[96];
    snprintf(cmd, sizeof cmd, mark[0] ? "SET td:rev_epoch %s" : "DEL td:rev_epoch", mark);
    assert_int_equal(itest_redis_cli(cmd, NULL, 0), 0);
    itest_ws_close(a);
    itest_ws_close(b);
    itest_ws_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(market_pushes),
        cmocka_unit_test(slow_client),
        cmocka_unit_test(together_not_conflated),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(socket_limits),
        cmocka_unit_test(fills_own_only),
        cmocka_unit_test(since_replays_once),
        cmocka_unit_test(revoked_while_connected),
        cmocka_unit_test(token_expires),
        cmocka_unit_test(two_instances),
        cmocka_unit_test(redis_restart),
        cmocka_unit_test(caught_up_after_gap),
        cmocka_unit_test(market_events),
        cmocka_unit_test(reported_in_detailed_health),
        cmocka_unit_test(loop_never_waits_for_redis),
        cmocka_unit_test(loop_never_waits_for_postgres),
    };
    return cmocka_run_group_tests_name("stream", tests, setup, teardown);
}
