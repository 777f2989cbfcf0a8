/*
 * test_tracing.c - W3C Trace Context through nginx and the API: a client's
 * traceparent is continued (its trace id in the API's log lines and on the
 * order the request created, nginx's own span passed on), a missing or
 * invalid one starts a trace whose id is nginx's request id; the order
 * shows its trace_id over REST, and its fill, over REST and pushed on the
 * stream with the order's filled event, carries it too.
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
#include "wsclient.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define ORDER_BODY                                                                                 \
    "{\"type\":\"stop_loss\",\"side\":\"sell\",\"symbol\":\"BTC-USDT\",\"quantity\":\"0.01\","     \
    "\"trigger_price\":\"1\",\"client_order_id\":\"%s\"}"

static char g_token[2048], g_order[24], g_engine_log[512];

static int setup(void **state)
{
    (void)state;
    char listen[64];
    itest_token("alice", g_token, sizeof g_token);
    setenv("TRADEDESK_LOG_LEVEL", "debug", 1); /* the relay's line per published row */
    int rc = itest_engine_start(listen, sizeof listen);
    unsetenv("TRADEDESK_LOG_LEVEL");
    if (rc != 0 || itest_stack("start stream") != 0)
        return -1;
    snprintf(g_engine_log, sizeof g_engine_log, "%s/log/engine.log", getenv("TD_TEST_VAR"));
    return itest_sql(NULL, 0, "UPDATE prices_latest SET updated_at = now()");
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop stream");
    rc |= itest_stack("stop engine");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* The last line of the log file at path holding both a and b (waits up
 * to 5 s for one), or "". */
static void log_line(const char *path, const char *a, const char *b, char *out, size_t cap)
{
    out[0] = '\0';
    for (int tries = 0; tries < 50 && !out[0]; tries++) {
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[4096];
        while (fgets(line, sizeof line, f))
            if (strstr(line, a) && strstr(line, b))
                snprintf(out, cap, "%s", line);
        fclose(f);
        if (!out[0])
            usleep(100 * 1000);
    }
}

/* The API's log line for the request with this id (waits for it), or "". */
static void api_line(const char *request_id, char *out, size_t cap)
{
    char path[512], needle[96];
    snprintf(path, sizeof path, "%s/log/api.log", getenv("TD_TEST_VAR"));
    snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", request_id);
    log_line(path, needle, "\"msg\":\"request\"", out, cap);
}

static itest_response *create(const char *traceparent, const char *client_id)
{
    char auth[2100], tp[160], body[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", g_token);
    snprintf(tp, sizeof tp, "traceparent: %s", traceparent);
    const char *headers[] = {auth, traceparent ? tp : NULL, NULL};
    snprintf(body, sizeof body, ORDER_BODY, client_id);
    return itest_http("POST", "/api/v1/orders/conditional", headers, body);
}

static void client_trace_is_continued(void **state)
{
    (void)state;
    itest_response *r = create("00-" TRACE "-00f067aa0ba902b7-01", "trace-1");
    assert_int_equal(r->status, 201);
    char line[4096];
    api_line(itest_header(r, "x-request-id"), line, sizeof line);
    assert_non_null(strstr(line, "\"trace_id\":\"" TRACE "\""));
    assert_non_null(strstr(line, "\"route\":\"/api/v1/orders/conditional\""));
    char out[64];
    assert_int_equal(itest_sql(out, sizeof out,
                               "SELECT trace_id FROM conditional_orders WHERE id = %s",
                               itest_json_str(r, "id")),
                     0);
    assert_string_equal(out, TRACE);
    snprintf(g_order, sizeof g_order, "%s", itest_json_str(r, "id"));
    assert_string_equal(itest_json_str(r, "trace_id"), TRACE);
    itest_free(r);
}

/* The order's fill (by fill_orders(), as the engine fills) carries its
 * trace: over REST and on the stream, with the order's filled event. */
static void fill_carries_the_trace(void **state)
{
    (void)state;
    itest_ws *w = itest_ws_subscribed(g_token, "[\"fills\",\"orders\"]");
    assert_non_null(w);
    json_object *m;

    char sql[512], fill[64];
    snprintf(sql, sizeof sql,
             "SELECT fill_id FROM fill_orders((SELECT token FROM engine_fence), ARRAY[%s]"
             "::bigint[], ARRAY[106000]::numeric[], ARRAY[now()])",
             g_order);
    assert_int_equal(itest_psql_as("app", sql, fill, sizeof fill), 0);
    assert_true(atoll(fill) > 0);

    /* The fill and the order's filled event, in either order. */
    int got_fill = 0, got_order = 0;
    while (!got_fill || !got_order) {
        m = itest_ws_recv(w, 10000);
        assert_non_null(m);
        const char *type = itest_ws_str(m, "type"), *status = itest_ws_str(m, "data.status");
        assert_non_null(type);
        if (strcmp(type, "fill") == 0) {
            assert_string_equal(itest_ws_str(m, "data.id"), fill);
            assert_string_equal(itest_ws_str(m, "data.trace_id"), TRACE);
            got_fill = 1;
        } else if (strcmp(type, "order") == 0 && status && strcmp(status, "filled") == 0) {
            assert_string_equal(itest_ws_str(m, "data.id"), g_order);
            assert_string_equal(itest_ws_str(m, "data.trace_id"), TRACE);
            got_order = 1;
        }
        json_object_put(m);
    }
    itest_ws_close(w);

    /* The engine's relay logged the fill's publication under the trace. */
    char needle[160], line[4096];
    snprintf(needle, sizeof needle, "relay: published fill %s of user", fill);
    /* Written once Redis took the batch: maybe after the push. */
    log_line(g_engine_log, needle, "\"trace_id\":\"" TRACE "\"", line, sizeof line);
    assert_true(line[0] != '\0');

    char path[128];
    snprintf(path, sizeof path, "/api/v1/fills?since=%lld", atoll(fill) - 1);
    itest_response *r = itest_get_auth(path, g_token);
    assert_int_equal(r->status, 200);
    json_object *items = itest_json_get(r, "items"), *tid;
    assert_non_null(items);
    assert_int_equal(json_object_array_length(items), 1);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(items, 0), "trace_id", &tid));
    assert_string_equal(json_object_get_string(tid), TRACE);
    itest_free(r);
    snprintf(path, sizeof path, "/api/v1/orders/conditional/%s", g_order);
    r = itest_get_auth(path, g_token);
    assert_int_equal(r->status, 200);
    assert_string_equal(itest_json_str(r, "trace_id"), TRACE);
    assert_string_equal(itest_json_str(r, "status"), "filled");
    itest_free(r);
}

static void missing_or_invalid_trace_is_started(void **state)
{
    (void)state;
    static const char *const bad[] = {
        NULL,
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* all zero */
        "00-" TRACE "-00f067aa0ba902b7",                            /* short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cid[32];
        snprintf(cid, sizeof cid, "trace-bad-%zu", i);
        itest_response *r = create(bad[i], cid);
        assert_int_equal(r->status, 201);
        /* nginx's request id (32 hex digits) is the new trace's id. */
        const char *rid = itest_header(r, "x-request-id");
        assert_non_null(rid);
        assert_int_equal(strlen(rid), 32);
        char line[4096], want[64], out[64];
        api_line(rid, line, sizeof line);
        snprintf(want, sizeof want, "\"trace_id\":\"%s\"", rid);
        if (!strstr(line, want))
            fail_msg("case %zu: %s has no %s", i, line, want);
        assert_int_equal(itest_sql(out, sizeof out,
                                   "SELECT trace_id FROM conditional_orders WHERE id = %s",
                                   itest_json_str(r, "id")),
                         0);
        assert_string_equal(out, rid);
        itest_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_trace_is_continued),
        cmocka_unit_test(fill_carries_the_trace),
        cmocka_unit_test(missing_or_invalid_trace_is_started),
    };
    return cmocka_run_group_tests_name("tracing", tests, setup, teardown);
}
