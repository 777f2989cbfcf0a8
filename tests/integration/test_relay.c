/*
 * test_relay.c - the engine's outbox relay (engine/relay.c) against the
 * real stack: a fill written by fill_orders() reaches its user's Redis
 * Stream once, with the fill's id as the entry id, and its outbox row is
 * marked; a row sent again (a relay that died between Redis and the mark)
 * is not added twice; while Redis is down rows wait and are delivered
 * once it is back; a Redis that comes back without entries it held gets
 * them again, once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static int g_user;

static int setup(void **state)
{
    (void)state;
    char listen[64];
    g_user = (int)itest_user_cash("relay_user", "1000000");
    return g_user > 0 && itest_engine_start(listen, sizeof listen) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop engine");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* How many entries the user's Stream holds with this fill's id. */
static int stream_has(long long fill)
{
    char args[128], out[4096];
    snprintf(args, sizeof args, "XRANGE td:fills:%d %lld-0 %lld-0", g_user, fill, fill);
    if (itest_redis_cli(args, out, sizeof out) != 0)
        return -1;
    /* redis-cli prints one element per line: an entry's id is a line of
     * its own (the payload's dates hold "12-0" too, in December). */
    int n = 0;
    char id[32];
    size_t idn = (size_t)snprintf(id, sizeof id, "%lld-0", fill);
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[len - 1] == '\r')
            len--;
        n += len == idn && memcmp(p, id, idn) == 0;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static int wait_stream_ms(long long fill, int want, int timeout_ms)
{
    long long deadline = itest_now_ms() + timeout_ms;
    int n;
    while ((n = stream_has(fill)) != want && itest_now_ms() < deadline)
        usleep(50 * 1000);
    return n;
}

static int wait_stream(long long fill, int want)
{
    return wait_stream_ms(fill, want, 5000);
}

/* A sample of the engine's /metrics (name with its labels), -1 when absent. */
static double engine_metric(const char *series)
{
    return itest_engine_metric(getenv("TRADEDESK_ENGINE_LISTEN"), series);
}

/* Until the outbox row of fill is marked sent (5 s at most): how many
 * are. */
static long long wait_marked(long long fill)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox WHERE payload->>'id' = '%lld' AND published_at IS NOT "
             "NULL",
             fill);
    long long deadline = itest_now_ms() + 5000, marked;
    while ((marked = itest_psql_int(sql)) != 1 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    return marked;
}

static void delivered_once(void **state)
{
    (void)state;
    long long fill = itest_fill(g_user);
    assert_int_equal(wait_stream(fill, 1), 1);
    assert_int_equal(wait_marked(fill), 1);
    /* The entry is the fill as JSON. */
    char args[128], out[4096];
    snprintf(args, sizeof args, "XRANGE td:fills:%d %lld-0 %lld-0", g_user, fill, fill);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"price\": \"100.00\""));
}

static void sent_again_is_not_added_twice(void **state)
{
    (void)state;
    long long fill = itest_fill(g_user);
    assert_int_equal(wait_stream(fill, 1), 1);
    /* The mark rides on the relay's next step, a moment after Redis took
     * the row: undone before it lands, it would land after the undo. */
    assert_int_equal(wait_marked(fill), 1);
    /* As if the relay died after Redis took the row and before the mark:
     * sent again, neither added nor published twice (store/fillpush). */
    assert_int_equal(itest_redis_listen("again", "td:fills", 10), 0);
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH u AS (UPDATE outbox SET published_at = NULL WHERE payload->>'id' = '%lld' "
             "RETURNING 1) SELECT count(*) FROM u",
             fill);
    assert_int_equal(itest_psql_int(sql), 1);
    assert_int_equal(wait_marked(fill), 1);
    assert_int_equal(stream_has(fill), 1);
    char heard[64];
    snprintf(heard, sizeof heard, "\"id\": \"%lld\"", fill);
    assert_int_equal(itest_redis_heard("again", heard), 0);
    char len[32], args[64];
    snprintf(args, sizeof args, "XLEN td:fills:%d", g_user);
    assert_int_equal(itest_redis_cli(args, len, sizeof len), 0);
    assert_int_equal(atoi(len), 2); /* this test's fill and the one before */
    /* And the relay counted it as delivered before. */
    assert_true(engine_metric("tradedesk_engine_fills_relayed_again_total") >= 1);
}

static void waits_for_redis(void **state)
{
    (void)state;
    assert_int_equal(itest_stack("stop redis"), 0);
    long long fill = itest_fill(g_user);
    usleep(700 * 1000);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM outbox WHERE payload->>'id' = '%lld' AND published_at IS NULL",
             fill);
    long long waiting = itest_psql_int(sql);
    assert_int_equal(itest_stack("start redis"), 0);
    assert_int_equal(waiting, 1); /* not marked while Redis was away */
    assert_int_equal(wait_stream(fill, 1), 1);
}

/* Redis restarted without the newest entries (the last second of its
 * append-only file, or no file at all): the relay adds them again from the
 * outbox before anything new, in order, each once; order events too. */
static void lost_entries_come_back(void **state)
{
    (void)state;
    long long a = itest_fill(g_user), b = itest_fill(g_user);
    assert_int_equal(wait_stream(a, 1), 1);
    assert_int_equal(wait_stream(b, 1), 1);
    char args[256], out[256];
    /* What a crash loses: the newest entries (b), then the process.  The
     * Stream as its file had it: up to a (XDEL would keep b as its top). */
    snprintf(args, sizeof args, "DEL td:fills:%d", g_user);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "XADD td:fills:%d %lld-0 fill '{\"id\":\"%lld\"}'", g_user, a, a);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    assert_int_equal(stream_has(b), 0);
    /* The user's order events (sql/010) lost altogether. */
    long long event = itest_sql_int("SELECT max(id) FROM outbox WHERE topic = 'orders' AND key = "
                                    "'%d' AND published_at IS NOT NULL",
                                    g_user);
    assert_true(event > 0);
    snprintf(args, sizeof args, "DEL td:orders:%d", g_user);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    assert_int_equal(itest_stack("stop redis"), 0);
    assert_int_equal(itest_stack("start redis"), 0);
    /* The relay notices at its next command (reconnects at most once a
     * second), then restores the newest published rows: in a full test
     * run that is every earlier test's fills too. */
    assert_int_equal(wait_stream_ms(b, 1, 30000), 1);
    assert_int_equal(stream_has(a), 1);
    char entry[4096] = "";
    snprintf(args, sizeof args, "XRANGE td:orders:%d %lld-0 %lld-0", g_user, event, event);
    assert_int_equal(itest_redis_cli(args, entry, sizeof entry), 0);
    assert_non_null(strstr(entry, "\"filled\"")); /* restored with the fills, same pass */
    long long c = itest_fill(g_user); /* and new fills after it, once */
    assert_int_equal(wait_stream(c, 1), 1);
    assert_int_equal(stream_has(b), 1);
    char cmd[256], metric[64];
    snprintf(cmd, sizeof cmd,
             "curl -s -m 5 http://%s/metrics | awk '/^tradedesk_engine_fills_restored_total/ "
             "{print $2}'",
             getenv("TRADEDESK_ENGINE_LISTEN"));
    assert_int_equal(itest_sh(cmd, metric, sizeof metric), 0);
    assert_true(atoi(metric) >= 1);
}

/* A Redis that restarts answers LOADING while it reads its file back, and
 * the relay may connect meanwhile: its restore must then wait for it, not
 * skip the entries Redis refused.  Here the load is slowed (a throwaway
 * Stream of 40,000 entries, each read back 100 us apart) so that the
 * relay, which reconnects within a second, comes in while it lasts. */
static void restore_waits_for_redis_to_load(void **state)
{
    (void)state;
    long long b = itest_fill(g_user);
    assert_int_equal(wait_stream(b, 1), 1);
    char cmd[1024], out[256], args[128];
    snprintf(args, sizeof args, "DEL td:fills:%d", g_user);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd,
             "seq 40000 | awk '{ print \"XADD td:test:load \" $1 \"-0 f v\" }' | "
             "redis-cli -s %s >/dev/null",
             getenv("TRADEDESK_REDIS_URL") + 5);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "grep -c 'refused the restore' %s/log/engine.log || true",
             getenv("TD_TEST_VAR"));
    char before[32] = "";
    assert_int_equal(itest_sh(cmd, before, sizeof before), 0);
    assert_int_equal(itest_stack("stop redis"), 0);
    setenv("TD_REDIS_ARGS", "--key-load-delay 100 --loading-process-events-interval-bytes 1024", 1);
    int started = itest_stack("start redis"); /* returns once Redis answers PONG */
    unsetenv("TD_REDIS_ARGS");
    assert_int_equal(started, 0);
    assert_int_equal(wait_stream_ms(b, 1, 30000), 1);
    char after[32] = "";
    assert_int_equal(itest_sh(cmd, after, sizeof after), 0);
    assert_true(atoi(after) > atoi(before)); /* it did come in while Redis loaded */
    assert_int_equal(itest_redis_cli("DEL td:test:load", out, sizeof out), 0);
    long long c = itest_fill(g_user); /* and new fills after it, once */
    assert_int_equal(wait_stream(c, 1), 1);
    assert_int_equal(stream_has(b), 1);
}

/* The business metrics: every fill delivered counted per symbol with its
 * notional (0.01 at 100 here: 1 each), P&L as profit and loss, and the
 * leader's gauges of orders by state and the outbox backlog from
 * PostgreSQL. */
static void business_metrics(void **state)
{
    (void)state;
    double fills = engine_metric("tradedesk_fills_total{symbol=\"BTC-USDT\"}");
    double notional = engine_metric("tradedesk_filled_notional_total{symbol=\"BTC-USDT\"}");
    long long fill = itest_fill(g_user);
    assert_int_equal(wait_stream(fill, 1), 1);
    long long deadline = itest_now_ms() + 5000;
    while (engine_metric("tradedesk_fills_total{symbol=\"BTC-USDT\"}") < fills + 1 &&
           itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_true(fills >= 6); /* this file's fills before, the one sent again counted once */
    assert_true(engine_metric("tradedesk_fills_total{symbol=\"BTC-USDT\"}") >= fills + 1);
    assert_true(engine_metric("tradedesk_filled_notional_total{symbol=\"BTC-USDT\"}") >=
                notional + 1.0 - 1e-9);
    assert_true(engine_metric("tradedesk_realized_loss_total{symbol=\"BTC-USDT\"}") >= 0);
    /* The gauges, within their 10 s period, say what PostgreSQL says. */
    long long filled =
        itest_psql_int("SELECT count(*) FROM conditional_orders WHERE status = 'filled'");
    deadline = itest_now_ms() + 15000;
    while (engine_metric("tradedesk_orders{state=\"filled\"}") < (double)filled &&
           itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_true(engine_metric("tradedesk_orders{state=\"filled\"}") >= (double)filled);
    assert_true(engine_metric("tradedesk_outbox_backlog") >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delivered_once),   cmocka_unit_test(sent_again_is_not_added_twice),
        cmocka_unit_test(waits_for_redis),  cmocka_unit_test(lost_entries_come_back),
        cmocka_unit_test(restore_waits_for_redis_to_load), cmocka_unit_test(business_metrics),
    };
    return cmocka_run_group_tests_name("relay", tests, setup, teardown);
}
