/*
 * test_redis_sub.c - store/redis's subscription (td_redis_sub, the
 * stream's and the API workers' listener) against the stack's real Redis:
 * it subscribes and hands over what is published; and its connect never
 * waits for the handshake, so an event loop that polls it never blocks: a
 * Redis behind a network that drops the SYN (here a listener whose accept
 * queue is full) leaves the socket connecting after the poll returns, and
 * the subscription gives up once no answer came for its deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "itest.h"
#include "store/redis.h"

typedef struct got {
    int n;
    char last[64];
} got;

static void on_msg(const char *msg, size_t len, void *arg)
{
    got *g = arg;
    g->n++;
    snprintf(g->last, sizeof g->last, "%.*s", (int)len, msg);
}

static void subscribes_and_hands_messages(void **state)
{
    (void)state;
    td_redis_sub *s = td_redis_sub_open(getenv("TRADEDESK_REDIS_URL"), 200, "td:test:sub");
    assert_non_null(s);
    got g = {0};
    int gap, proven = 0;
    long long deadline = itest_now_ms() + 5000;
    while (!proven && itest_now_ms() < deadline) {
        proven = td_redis_sub_poll(s, on_msg, &g, &gap);
        usleep(10 * 1000);
    }
    assert_true(proven);
    assert_true(td_redis_sub_fd(s) >= 0);
    char out[64];
    assert_int_equal(itest_redis_cli("PUBLISH td:test:sub hello", out, sizeof out), 0);
    deadline = itest_now_ms() + 5000;
    while (g.n == 0 && itest_now_ms() < deadline) {
        td_redis_sub_poll(s, on_msg, &g, &gap);
        usleep(10 * 1000);
    }
    assert_int_equal(g.n, 1);
    assert_string_equal(g.last, "hello");
    td_redis_sub_close(s);
}

static void connect_never_waits_for_the_handshake(void **state)
{
    (void)state;
    /* A listener that never accepts, its queue (backlog 0: one) full, so
     * the kernel drops the next SYN and a connect hangs. */
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 0), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&a, sizeof a), 0);

    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", ntohs(a.sin_port)); /* a SELECT too */
    td_redis_sub *s = td_redis_sub_open(url, 200, "td:test:never");
    assert_non_null(s);
    got g = {0};
    int gap = 0;
    /* A blocking connect would have given up after its 200 ms and left no
     * socket; this one is still connecting when the poll returns. */
    assert_int_equal(td_redis_sub_poll(s, on_msg, &g, &gap), 0);
    assert_int_equal(gap, 1);
    assert_true(td_redis_sub_fd(s) >= 0);
    /* No answer: the subscription is given up, and tried again later. */
    long long deadline = itest_now_ms() + 5000;
    while (td_redis_sub_fd(s) >= 0 && itest_now_ms() < deadline) {
        td_redis_sub_poll(s, on_msg, &g, &gap);
        usleep(20 * 1000);
    }
    assert_true(td_redis_sub_fd(s) < 0);
    assert_int_equal(g.n, 0);
    td_redis_sub_close(s);
    close(filler);
    close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subscribes_and_hands_messages),
        cmocka_unit_test(connect_never_waits_for_the_handshake),
    };
    return cmocka_run_group_tests_name("redis_sub", tests, NULL, NULL);
}
