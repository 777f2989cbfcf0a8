/*
 * test_recon.c - the engine's reconciliation job (engine/recon.c,
 * sql/009_reconciliation.sql) and its REST view, against the real stack
 * with a run every second: fills made by fill_orders() reconcile (a clean
 * run is healthy for their users); a position's quantity or an account's
 * cash edited in SQL is a divergence of that user only (critical, or a
 * warning below the critical tolerance), and reconciles again once put
 * back; a fill taken out of its user's Stream is stream_missing; an order
 * made active or cancelled behind the monitor's back (no notification) is
 * order_index_missing (critical) or order_index_extra once its resync
 * (every second here) corrects the index; a Binance statement imported
 * with `tradedesk recon import` matches the fills it reports and a trade
 * missing from it is venue_quantity / venue_notional (the CLI refuses a
 * bad line with its number and stores nothing, and a second import of the
 * same file is the first); the runs
 * page newest first; the engine counts divergences on /metrics.
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

static long long g_a, g_b; /* two users' ids */
static char g_tok_a[2048], g_tok_b[2048], g_listen[64];

static int setup(void **state)
{
    (void)state;
    setenv("TRADEDESK_RECON_INTERVAL_S", "1", 1);
    setenv("TRADEDESK_MONITOR_RESYNC_S", "1", 1);
    g_a = itest_user_cash("recon_a", "1000000");
    g_b = itest_user_cash("recon_b", "1000000");
    if (g_a <= 0 || g_b <= 0 || itest_engine_start(g_listen, sizeof g_listen) != 0)
        return -1;
    itest_token("recon_a", g_tok_a, sizeof g_tok_a);
    itest_token("recon_b", g_tok_b, sizeof g_tok_b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = itest_stack("stop engine");
    unsetenv("TRADEDESK_RECON_INTERVAL_S");
    unsetenv("TRADEDESK_MONITOR_RESYNC_S");
    rc |= itest_cli("seed demo", NULL, NULL, 0);
    return rc == 0 ? 0 : -1;
}

/* One order of user's filled at price by fill_orders() as the app (its
 * trigger far from any price, so the monitor never fires it first). */
static long long fill_in(long long user, const char *symbol, const char *side, const char *qty,
                         const char *price)
{
    long long order = itest_sql_int(
        "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity, "
        "trigger_price) VALUES (%lld, 'rc' || substr(md5(random()::text), 1, 20), 'stop_loss', "
        "'%s', '%s', %s, %s) RETURNING id",
        user, side, symbol, qty, strcmp(side, "buy") == 0 ? "10000000" : "1");
    char sql[512], out[64];
    snprintf(sql, sizeof sql,
             "SELECT fill_id FROM fill_orders((SELECT token FROM engine_fence), ARRAY[%lld]"
             "::bigint[], ARRAY[%s]::numeric[], ARRAY[now()])",
             order, price);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    long long f = atoll(out);
    assert_true(f > 0);
    return f;
}

static long long fill(long long user, const char *side, const char *qty, const char *price)
{
    return fill_in(user, "BTC-USDT", side, qty, price);
}

/* The id of the first run that started after now (so its snapshot holds
 * every change committed before this call), once it has finished. */
static long long next_run(void)
{
    char now[64], sql[256];
    assert_int_equal(itest_psql("SELECT clock_timestamp()", now, sizeof now), 0);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(min(id), 0) FROM reconciliation_runs WHERE started_at > '%s' "
             "AND finished_at IS NOT NULL",
             now);
    long long deadline = itest_now_ms() + 15000, id = 0;
    while ((id = itest_psql_int(sql)) == 0 && itest_now_ms() < deadline)
        usleep(100 * 1000);
    assert_true(id > 0);
    return id;
}

/* Change the books in SQL (as the owner), then the first run after. */
static long long edit_then_run(const char *what, long long id, const char *delta)
{
    char sql[256];
    if (strcmp(what, "position") == 0)
        snprintf(sql, sizeof sql, "UPDATE positions SET quantity = quantity + %s WHERE id = %lld",
                 delta, id);
    else
        snprintf(sql, sizeof sql,
                 "UPDATE accounts SET cash_balance = cash_balance + %s WHERE user_id = %lld",
                 delta, id);
    assert_int_equal(itest_psql(sql, NULL, 0), 0);
    return next_run();
}

/* This file's users' divergences in run (other tests' edits to their own
 * users' books may be there too: the stack is shared). */
static long long run_divergences(long long run)
{
    return itest_sql_int("SELECT count(*) FROM reconciliation_divergences WHERE run_id = %lld "
                         "AND user_id IN (%lld, %lld)",
                         run, g_a, g_b);
}

/* Every published fill relayed: nothing left in the outbox. */
static void relayed(void)
{
    const char *sql = "SELECT count(*) FROM outbox WHERE published_at IS NULL";
    long long deadline = itest_now_ms() + 10000;
    while (itest_psql_int(sql) != 0 && itest_now_ms() < deadline)
        usleep(50 * 1000);
    assert_int_equal(itest_psql_int(sql), 0);
}

/* The status as the user sees it, once the cache (2 s) holds a run at
 * least as new as run. */
static itest_response *status_after(const char *token, long long run)
{
    char ts[64] = "";
    char sql[160], out[64];
    snprintf(sql, sizeof sql,
             "SELECT td_time_text(finished_at) FROM reconciliation_runs WHERE id = %lld", run);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    snprintf(ts, sizeof ts, "%s", out);
    long long deadline = itest_now_ms() + 10000;
    for (;;) {
        itest_response *r = itest_get_auth("/api/v1/reconciliation/status", token);
        assert_int_equal(r->status, 200);
        const char *last = itest_json_str(r, "last_run_at");
        if ((last && strcmp(last, ts) >= 0) || itest_now_ms() > deadline)
            return r;
        itest_free(r);
        usleep(200 * 1000);
    }
}

static long long json_int(const itest_response *r, const char *dotted)
{
    json_object *o = itest_json_get(r, dotted);
    assert_non_null(o);
    return json_object_get_int64(o);
}

/* How many divergences of user's, of kind, at level, run holds. */
static long long divergences(long long run, long long user, const char *kind, const char *level)
{
    return itest_sql_int("SELECT count(*) FROM reconciliation_divergences WHERE run_id = %lld "
                         "AND user_id = %lld AND kind = '%s' AND level = '%s'",
                         run, user, kind, level);
}

static void clean_run_is_healthy(void **state)
{
    (void)state;
    /* Opens, adds at a new average, reduces, closes: A's long, B's long. */
    fill(g_a, "buy", "0.5", "100.12345678");
    fill(g_a, "buy", "0.25", "103.5");
    fill(g_a, "sell", "0.2", "110.77777777");
    fill(g_b, "buy", "1", "95");
    fill(g_b, "sell", "1", "99.5");
    fill(g_b, "buy", "0.3", "101");
    /* A short opened and covered in part: its cash comes back as entry x
     * quantity + P&L, which the rebuild derives from the fill within 1e-8. */
    fill_in(g_a, "ETH-USDT", "sell", "1.33333333", "2000.12345679");
    fill_in(g_a, "ETH-USDT", "buy", "0.51111111", "1990.33333333");
    relayed();
    long long run = next_run();
    assert_int_equal(run_divergences(run), 0);
    assert_true(itest_sql_int("SELECT matched FROM reconciliation_runs WHERE id = %lld", run) >= 10);

    itest_response *r = status_after(g_tok_a, run);
    assert_string_equal(itest_json_str(r, "level"), "healthy");
    assert_int_equal(json_int(r, "divergences"), 0);
    assert_true(json_int(r, "matched") >= 10);
    assert_non_null(itest_json_str(r, "last_run_at"));
    assert_non_null(itest_json_str(r, "next_run_at")); /* the API's interval: the default 60 s */
    itest_free(r);
}

static void edited_position_is_critical_for_its_user_only(void **state)
{
    (void)state;
    long long pos = itest_sql_int("SELECT id FROM positions WHERE user_id = %lld AND status = "
                                  "'open' AND symbol = 'BTC-USDT'",
                                  g_a);
    assert_true(pos > 0);
    long long run = edit_then_run("position", pos, "2");
    assert_int_equal(divergences(run, g_a, "position_quantity", "critical"), 1);
    assert_int_equal(divergences(run, g_b, "position_quantity", "critical"), 0);

    itest_response *r = status_after(g_tok_a, run);
    assert_string_equal(itest_json_str(r, "level"), "critical");
    assert_int_equal(json_int(r, "divergences"), 1);
    itest_free(r);
    r = status_after(g_tok_b, run);
    assert_string_equal(itest_json_str(r, "level"), "healthy");
    assert_int_equal(json_int(r, "divergences"), 0);
    itest_free(r);

    /* The logs show it as A's, with the rebuild's quantity. */
    r = itest_get_auth("/api/v1/reconciliation/logs?limit=5", g_tok_a);
    assert_int_equal(r->status, 200);
    json_object *items = itest_json_get(r, "items");
    assert_non_null(items);
    int found = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *run_o = json_object_array_get_idx(items, i), *ds;
        assert_true(json_object_object_get_ex(run_o, "divergences", &ds));
        for (size_t k = 0; k < json_object_array_length(ds); k++) {
            json_object *d = json_object_array_get_idx(ds, k), *v;
            json_object_object_get_ex(d, "kind", &v);
            if (strcmp(json_object_get_string(v), "position_quantity") != 0)
                continue;
            found++;
            json_object_object_get_ex(d, "expected", &v);
            assert_string_equal(json_object_get_string(v), "0.55");
            json_object_object_get_ex(d, "actual", &v);
            assert_string_equal(json_object_get_string(v), "2.55");
            json_object_object_get_ex(d, "difference", &v);
            assert_string_equal(json_object_get_string(v), "2.00");
            json_object_object_get_ex(d, "level", &v);
            assert_string_equal(json_object_get_string(v), "critical");
            json_object_object_get_ex(d, "symbol", &v);
            assert_string_equal(json_object_get_string(v), "BTC-USDT");
        }
    }
    assert_true(found >= 1);
    itest_free(r);

    /* Put back, it reconciles again. */
    assert_int_equal(run_divergences(edit_then_run("position", pos, "-2")), 0);
}

static void edited_cash_is_critical(void **state)
{
    (void)state;
    long long run = edit_then_run("cash", g_b, "5");
    assert_int_equal(divergences(run, g_b, "cash", "critical"), 1);
    assert_int_equal(divergences(run, g_a, "cash", "critical"), 0);
    itest_response *r = status_after(g_tok_b, run);
    assert_string_equal(itest_json_str(r, "level"), "critical");
    itest_free(r);
    /* Below the critical tolerance (1.00) but not the warning's (0.01). */
    run = edit_then_run("cash", g_b, "-4.5");
    assert_int_equal(divergences(run, g_b, "cash", "warning"), 1);
    r = status_after(g_tok_b, run);
    assert_string_equal(itest_json_str(r, "level"), "warning");
    itest_free(r);
    assert_int_equal(run_divergences(edit_then_run("cash", g_b, "-0.5")), 0);
}

static void logs_page_newest_first(void **state)
{
    (void)state;
    itest_response *r = itest_get_auth("/api/v1/reconciliation/logs?limit=2", g_tok_a);
    assert_int_equal(r->status, 200);
    json_object *items = itest_json_get(r, "items");
    assert_int_equal(json_object_array_length(items), 2);
    json_object *v;
    json_object_object_get_ex(json_object_array_get_idx(items, 0), "id", &v);
    long long first = atoll(json_object_get_string(v));
    json_object_object_get_ex(json_object_array_get_idx(items, 1), "id", &v);
    long long second = atoll(json_object_get_string(v));
    assert_true(first > second);
    const char *cursor = itest_json_str(r, "next_cursor");
    assert_non_null(cursor);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/reconciliation/logs?limit=2&cursor=%s", cursor);
    itest_response *r2 = itest_get_auth(path, g_tok_a);
    assert_int_equal(r2->status, 200);
    items = itest_json_get(r2, "items");
    assert_true(json_object_array_length(items) >= 1);
    json_object_object_get_ex(json_object_array_get_idx(items, 0), "id", &v);
    assert_true(atoll(json_object_get_string(v)) < second);
    itest_free(r2);
    itest_free(r);
    r = itest_get_auth("/api/v1/reconciliation/logs?limit=0", g_tok_a);
    assert_int_equal(r->status, 400);
    itest_free(r);
    r = itest_get_auth("/api/v1/reconciliation/status?x=1", g_tok_a);
    assert_int_equal(r->status, 400);
    itest_free(r);
    r = itest_http("GET", "/api/v1/reconciliation/status", NULL, NULL);
    assert_int_equal(r->status, 401);
    itest_free(r);
}

/* One series of the engine's /metrics (its whole name, labels included),
 * or -1. */
static long long engine_metric(const char *series)
{
    return (long long)itest_engine_metric(g_listen, series);
}

/* tradedesk_reconciliation_divergences_total{kind,level}, -1 when absent. */
static long long divergence_metric(const char *kind, const char *level)
{
    char series[160];
    snprintf(series, sizeof series,
             "tradedesk_reconciliation_divergences_total{kind=\"%s\",level=\"%s\"}",
             kind, level);
    return engine_metric(series);
}

/* Until the monitor holds n active orders (15 s at most). */
static int monitor_holds(long long n)
{
    long long deadline = itest_now_ms() + 15000, held;
    while ((held = engine_metric("tradedesk_engine_orders_active")) != n &&
           itest_now_ms() < deadline)
        usleep(50 * 1000);
    return held == n;
}

/* SQL run as the owner with triggers off: conditional_orders' notification
 * to the monitor is not sent. */
static void behind_the_monitor(const char *sql)
{
    char tx[768];
    snprintf(tx, sizeof tx, "BEGIN; SET LOCAL session_replication_role = replica; %s; COMMIT",
             sql);
    assert_int_equal(itest_psql(tx, NULL, 0), 0);
}

/* Waits for a divergence of kind about order (its detail names it); its level. */
static const char *order_divergence(long long order, const char *kind, char *level, size_t cap)
{
    char sql[384];
    snprintf(sql, sizeof sql,
             "SELECT level FROM reconciliation_divergences WHERE user_id = %lld AND kind = '%s' "
             "AND detail LIKE 'order %lld %%' ORDER BY id LIMIT 1",
             g_b, kind, order);
    long long deadline = itest_now_ms() + 15000;
    level[0] = 0;
    while (itest_psql(sql, level, cap) == 0 && !level[0] && itest_now_ms() < deadline)
        usleep(100 * 1000);
    return level;
}

static void order_index_drift(void **state)
{
    (void)state;
    /* Active for 10 s in the table, never announced: the monitor missed it. */
    behind_the_monitor(
        "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity, "
        "trigger_price, created_at, updated_at) SELECT id, 'rc-unseen', 'stop_loss', 'sell', "
        "'BTC-USDT', 0.01, 1, now() - interval '10 s', now() - interval '10 s' FROM users "
        "WHERE username = 'recon_b'");
    long long order = itest_sql_int(
        "SELECT id FROM conditional_orders WHERE user_id = %lld AND client_order_id = 'rc-unseen'",
        g_b);
    assert_true(order > 0);
    char level[32];
    assert_string_equal(order_divergence(order, "order_index_missing", level, sizeof level),
                        "critical");
    /* Corrected: the next runs find nothing more about it. */
    long long run = next_run();
    assert_int_equal(itest_sql_int("SELECT count(*) FROM reconciliation_divergences WHERE "
                                   "run_id >= %lld AND detail LIKE 'order %lld %%'",
                                   run, order),
                     0);

    /* Cancelled without a word: the monitor still watched it. */
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE conditional_orders SET status = 'cancelled', cancelled_at = now() WHERE id = %lld",
             order);
    behind_the_monitor(sql);
    assert_string_equal(order_divergence(order, "order_index_extra", level, sizeof level),
                        "warning");
    assert_true(divergence_metric("order_index_missing", "critical") >= 1);
    assert_true(divergence_metric("order_index_extra", "warning") >= 1);
}

/* A load's snapshot can see an order's change before the server sends its
 * notification: the order leaves the index at once, and is drift only when
 * no notification follows within 2 s. */
static void late_notification_is_not_drift(void **state)
{
    (void)state;
    long long held = engine_metric("tradedesk_engine_orders_active");
    assert_true(held >= 0);
    long long order = itest_sql_int(
        "INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity, "
        "trigger_price) VALUES (%lld, 'rc-late', 'stop_loss', 'sell', 'BTC-USDT', 0.01, 1) "
        "RETURNING id",
        g_b);
    assert_true(order > 0);
    assert_true(monitor_holds(held + 1));
    long long before = itest_sql_int("SELECT coalesce(max(id), 0) FROM reconciliation_runs");
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE conditional_orders SET status = 'cancelled', cancelled_at = now() WHERE id = "
             "%lld",
             order);
    behind_the_monitor(sql);
    assert_true(monitor_holds(held)); /* a resync dropped it */
    snprintf(sql, sizeof sql,
             "SELECT pg_notify('td_orders', json_build_object('id', id, 'user_id', user_id, "
             "'symbol', symbol, 'status', status, 'op', 'update')::text) FROM conditional_orders "
             "WHERE id = %lld",
             order);
    assert_int_equal(itest_psql(sql, NULL, 0), 0);
    usleep(2500 * 1000); /* past the grace */
    long long run = next_run();
    assert_int_equal(itest_sql_int("SELECT count(*) FROM reconciliation_divergences WHERE "
                                   "run_id > %lld AND run_id <= %lld AND detail LIKE "
                                   "'order %lld %%'",
                                   before, run, order),
                     0);
}

/* A statement file under the test's directory; its path into path. */
static void write_statement(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", getenv("TD_TEST_VAR"), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A fill's time to the second, UTC, as a Binance statement writes it. */
static void fill_second(long long fill_id, char *out, size_t cap)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM fills "
             "WHERE id = %lld",
             fill_id);
    assert_int_equal(itest_psql(sql, out, cap), 0);
}

static void venue_statement(void **state)
{
    (void)state;
    long long c = itest_user_cash("recon_c", "1000000");
    assert_true(c > 0);
    long long f1 = fill(c, "buy", "1", "100");
    long long f2 = fill(c, "sell", "0.4", "110");
    char t1[32], t2[32];
    fill_second(f1, t1, sizeof t1);
    fill_second(f2, t2, sizeof t2);

    /* A bad line: refused with its number, nothing stored. */
    char text[1024], path[512], args[768], out[512];
    snprintf(text, sizeof text,
             "Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n"
             "%s,BTCUSDT,BUY,100,1BTC,100USDT,0.001BTC\n"
             "%s,BTCUSDT,SOLD,110,0.4BTC,44USDT,0.044USDT\n",
             t1, t2);
    write_statement("bad.csv", text, path, sizeof path);
    snprintf(args, sizeof args, "recon import recon_c '%s' 2>&1", path);
    assert_int_equal(itest_cli(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "line 3: Side is neither BUY nor SELL; nothing imported"));
    assert_int_equal(itest_sql_int("SELECT count(*) FROM venue_statements WHERE user_id = %lld", c),
                     0);
    /* The venue reports what was filled: matched. */
    snprintf(text, sizeof text,
             "\xEF\xBB\xBF"
             "Date(UTC),Pair,Side,Price,Executed,Amount,Fee\r\n"
             "%s,BTCUSDT,BUY,100.00,1.0000000000BTC,100.00000000USDT,0.001BTC\r\n"
             "%s,BTCUSDT,SELL,110.00,0.4000000000BTC,44.00000000USDT,0.044USDT\r\n",
             t1, t2);
    write_statement("good.csv", text, path, sizeof path);
    snprintf(args, sizeof args, "recon import nobody_here '%s' 2>&1", path);
    assert_int_equal(itest_cli(args, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "no user named 'nobody_here'"));
    snprintf(args, sizeof args, "recon import recon_c '%s' --venue binance", path);
    assert_int_equal(itest_cli(args, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, ": 2 trades of 'recon_c' at binance"));
    assert_int_equal(itest_cli(args, NULL, out, sizeof out), 0); /* again: the same statement */
    assert_non_null(strstr(out, "was imported already"));
    assert_int_equal(itest_sql_int("SELECT count(*) FROM venue_trades t JOIN venue_statements s "
                                   "ON s.id = t.statement_id WHERE s.user_id = %lld",
                                   c),
                     2);
    long long run = next_run();
    assert_int_equal(itest_sql_int("SELECT count(*) FROM reconciliation_divergences WHERE "
                                   "run_id = %lld AND user_id = %lld",
                                   run, c),
                     0);

    /* One that says 0.3 of the sell: 0.1 BTC (a warning) and 11 USDT
     * (critical) apart over the same window as the fills'. */
    snprintf(text, sizeof text,
             "Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n"
             "%s,BTCUSDT,BUY,100,1,100,0\n"
             "%s,BTCUSDT,SELL,110,0.3,33,0\n",
             t1, t2);
    write_statement("short.csv", text, path, sizeof path);
    snprintf(args, sizeof args, "recon import recon_c '%s'", path);
    assert_int_equal(itest_cli(args, NULL, out, sizeof out), 0);
    run = next_run();
    assert_int_equal(divergences(run, c, "venue_quantity", "warning"), 1);
    assert_int_equal(divergences(run, c, "venue_notional", "critical"), 1);
    assert_int_equal(itest_sql_int("SELECT count(*) FROM reconciliation_divergences WHERE run_id "
                                   "= %lld AND user_id = %lld AND kind = 'venue_quantity' AND "
                                   "expected = 0.7 AND actual = 0.6",
                                   run, c),
                     1);
    assert_true(divergence_metric("venue_notional", "critical") >= 1);
    /* The other tests' runs compare no statement of this one. */
    assert_int_equal(itest_sql_int("WITH d AS (DELETE FROM venue_statements WHERE user_id = %lld "
                                   "RETURNING 1) SELECT count(*) FROM d",
                                   c),
                     2);
}

/* Last: the Stream stays without the entry. */
static void fill_missing_from_stream(void **state)
{
    (void)state;
    long long f = fill(g_a, "sell", "0.05", "104");
    relayed();
    char args[96], out[64];
    snprintf(args, sizeof args, "XDEL td:fills:%lld %lld-0", g_a, f);
    assert_int_equal(itest_redis_cli(args, out, sizeof out), 0);
    assert_int_equal(atoi(out), 1);
    long long run = next_run();
    assert_int_equal(divergences(run, g_a, "stream_missing", "warning"), 1);
    assert_int_equal(divergences(run, g_b, "stream_missing", "warning"), 0);
    itest_response *r = status_after(g_tok_a, run);
    assert_string_equal(itest_json_str(r, "level"), "warning");
    itest_free(r);

    /* The engine counted the divergences of this test. */
    assert_true(divergence_metric("position_quantity", "critical") >= 1);
    assert_true(divergence_metric("cash", "warning") >= 1);
    assert_true(divergence_metric("stream_missing", "warning") >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_run_is_healthy),
        cmocka_unit_test(edited_position_is_critical_for_its_user_only),
        cmocka_unit_test(edited_cash_is_critical),
        cmocka_unit_test(logs_page_newest_first),
        cmocka_unit_test(order_index_drift),
        cmocka_unit_test(late_notification_is_not_drift),
        cmocka_unit_test(venue_statement),
        cmocka_unit_test(fill_missing_from_stream),
    };
    return cmocka_run_group_tests_name("recon", tests, setup, teardown);
}
