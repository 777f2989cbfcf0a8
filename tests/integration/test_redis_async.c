/*
 * test_redis_async.c - store/redis_async against the stack's real Redis:
 * commands with their own replies (td_redis_async_command) answered in
 * order beside the engine's batches, refused inside an open batch; a
 * command Redis never answers (SIGSTOP) reported lost (NULL) after the
 * timeout, the connection made again once Redis is back; and what is
 * pending when the connection closes ends with NULL, each callback once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "store/redis_async.h"

#include <hiredis.h>

static int g_stopped; /* Redis' pid while a test holds it stopped */

/* What a callback saw. */
typedef struct seen {
    int calls;
    int type;          /* the reply's type, -1 for NULL */
    char text[64];     /* a string or status reply */
    long long integer; /* an integer reply */
    int order;         /* when it came, among every callback of the test */
} seen;

static int g_order;

static void on_reply(void *arg, redisReply *r)
{
    seen *s = arg;
    s->calls++;
    s->order = ++g_order;
    s->type = r ? r->type : -1;
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        snprintf(s->text, sizeof s->text, "%s", r->str);
    if (r && r->type == REDIS_REPLY_INTEGER)
        s->integer = r->integer;
}

static void on_batch(void *arg, int ok)
{
    seen *s = arg;
    s->calls++;
    s->order = ++g_order;
    s->type = ok;
}

/* Service r as a loop would until *until is non-zero or ms pass. */
static void pump(td_redis_async *r, const int *until, int ms)
{
    long long end = itest_now_ms() + ms;
    while (!*until && itest_now_ms() < end) {
        td_redis_async_service(r);
        int fd = td_redis_async_fd(r);
        if (fd < 0) {
            usleep(20 * 1000);
            continue;
        }
        struct pollfd p = {.fd = fd,
                           .events = POLLIN | (td_redis_async_want_write(r) ? POLLOUT : 0)};
        poll(&p, 1, 20);
    }
}

static td_redis_async *open_ready(int timeout_ms)
{
    const char *url = getenv("TRADEDESK_REDIS_URL");
    assert_non_null(url);
    td_redis_async *r = td_redis_async_open(url, timeout_ms);
    assert_non_null(r);
    td_redis_async_service(r); /* connects */
    assert_true(td_redis_async_ready(r));
    return r;
}

static void replies_in_order(void **state)
{
    (void)state;
    td_redis_async *r = open_ready(2000);
    seen set = {0}, get = {0}, incr = {0}, batch = {0}, after = {0};
    itest_redis_cli("DEL itest:ra:k itest:ra:n", NULL, 0);
    assert_int_equal(td_redis_async_command(r, on_reply, &set, "SET itest:ra:k %s", "v1"), TD_OK);
    /* The engine's batch API on the same connection, between commands. */
    assert_int_equal(td_redis_async_append(r, "INCR itest:ra:n"), TD_OK);
    /* Inside an open batch a command is refused, and not sent. */
    assert_int_equal(td_redis_async_command(r, on_reply, &after, "GET itest:ra:k"), TD_EINVAL);
    assert_int_equal(td_redis_async_append(r, "INCR itest:ra:n"), TD_OK);
    assert_int_equal(td_redis_async_end_batch(r, on_batch, &batch), TD_OK);
    assert_int_equal(td_redis_async_command(r, on_reply, &get, "GET %s", "itest:ra:k"), TD_OK);
    assert_int_equal(td_redis_async_command(r, on_reply, &incr, "INCR itest:ra:n"), TD_OK);
    assert_int_equal(td_redis_async_command(r, NULL, NULL, "SET itest:ra:k %b", "v2", (size_t)2),
                     TD_OK); /* no callback wanted */
    assert_int_equal(td_redis_async_command(r, on_reply, &after, "GET itest:ra:k"), TD_OK);
    pump(r, &after.calls, 5000);

    assert_int_equal(set.calls, 1);
    assert_int_equal(set.type, REDIS_REPLY_STATUS);
    assert_string_equal(set.text, "OK");
    assert_int_equal(batch.calls, 1);
    assert_int_equal(batch.type, 1);
    assert_int_equal(get.calls, 1);
    assert_string_equal(get.text, "v1");
    assert_int_equal(incr.calls, 1);
    assert_int_equal(incr.integer, 3); /* after the batch's two */
    assert_int_equal(after.calls, 1);
    assert_string_equal(after.text, "v2");
    assert_true(set.order < batch.order && batch.order < get.order && get.order < incr.order &&
                incr.order < after.order);
    assert_int_equal(td_redis_async_in_flight(r), 0);
    td_redis_async_close(r);
}

static void lost_when_redis_stalls(void **state)
{
    (void)state;
    td_redis_async *r = open_ready(300);
    seen ping = {0};
    assert_int_equal(td_redis_async_command(r, on_reply, &ping, "PING"), TD_OK);
    pump(r, &ping.calls, 3000);
    assert_int_equal(ping.type, REDIS_REPLY_STATUS);

    int pid = itest_pid("redis");
    assert_int_equal(kill(pid, SIGSTOP), 0);
    g_stopped = pid;
    seen lost = {0}, batch = {0};
    assert_int_equal(td_redis_async_command(r, on_reply, &lost, "GET itest:ra:k"), TD_OK);
    assert_int_equal(td_redis_async_append(r, "PING"), TD_OK);
    assert_int_equal(td_redis_async_end_batch(r, on_batch, &batch), TD_OK);
    pump(r, &batch.calls, 5000); /* the timeout drops the connection */
    assert_int_equal(lost.calls, 1);
    assert_int_equal(lost.type, -1); /* NULL: never answered */
    assert_int_equal(batch.calls, 1);
    assert_int_equal(batch.type, 0);
    assert_true(lost.order < batch.order);
    assert_true(td_redis_async_stats_get(r).errors >= 2);

    kill(pid, SIGCONT);
    g_stopped = 0;
    /* Connected again within a second or so: a command is answered. */
    seen back = {0};
    for (long long end = itest_now_ms() + 8000; !back.calls && itest_now_ms() < end;) {
        int none = 0;
        pump(r, &none, 100);
        if (td_redis_async_ready(r) && !back.calls &&
            td_redis_async_command(r, on_reply, &back, "GET itest:ra:k") == TD_OK)
            pump(r, &back.calls, 3000);
        if (back.calls && back.type == -1)
            back = (seen){0}; /* sent before the connection was up: again */
    }
    assert_int_equal(back.calls, 1);
    assert_int_equal(back.type, REDIS_REPLY_STRING);
    assert_true(td_redis_async_stats_get(r).reconnects >= 2);
    td_redis_async_close(r);
}

static void close_ends_pending(void **state)
{
    (void)state;
    td_redis_async *r = open_ready(2000);
    seen a = {0}, b = {0}, batch = {0};
    assert_int_equal(td_redis_async_command(r, on_reply, &a, "PING"), TD_OK);
    assert_int_equal(td_redis_async_append(r, "PING"), TD_OK);
    assert_int_equal(td_redis_async_end_batch(r, on_batch, &batch), TD_OK);
    assert_int_equal(td_redis_async_command(r, on_reply, &b, "PING"), TD_OK);
    td_redis_async_close(r); /* nothing was written or read yet */
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.type, -1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.type, -1);
    assert_int_equal(batch.calls, 1);
    assert_int_equal(batch.type, 0);
}

static int teardown(void **state)
{
    (void)state;
    if (g_stopped)
        kill(g_stopped, SIGCONT);
    g_stopped = 0;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(replies_in_order, teardown),
        cmocka_unit_test_teardown(lost_when_redis_stalls, teardown),
        cmocka_unit_test_teardown(close_ends_pending, teardown),
    };
    return cmocka_run_group_tests_name("redis_async", tests, NULL, NULL);
}
