/*
 * http.c - the engine's own small HTTP server (TRADEDESK_ENGINE_LISTEN,
 * loopback): GET /health (JSON: each feed's state, PostgreSQL and Redis)
 * and GET /metrics (Prometheus text: the shared process metrics of
 * core/metrics plus the engine's counters).  Anything else is 404.
 *
 * The responder is ws/http's, shared with the stream.
 */
#include "engine/engine.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/metrics.h"
#include "core/sched.h"
#include "ws/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t health(td_engine *e, td_arena *a, td_buf *b, int *status)
{
    int64_t now = td_wall_ms();
    int db_ok = td_db_ready(e->db), any_fresh = 0;
    td_jw w;
    td_jw_init(&w, a, b);
    td_jw_obj(&w);
    td_jw_key(&w, "feeds");
    td_engine_feeds_json(e, &w, now, &any_fresh);
    long long token = td_relay_leader_token(e->relay);
    td_jw_key(&w, "leader"); /* this engine fires orders (lease.c) */
    td_jw_bool(&w, token > 0);
    td_jw_key(&w, "fencing_token");
    if (token > 0)
        td_jw_int(&w, token);
    else
        td_jw_null(&w);
    td_jw_key(&w, "postgres");
    td_jw_str(&w, db_ok ? "ok" : "down");
    td_jw_key(&w, "db_pending");
    td_jw_int(&w, (long long)td_db_pending(e->db));
    /* ok: a feed is fresh and PostgreSQL takes writes; degraded: one of
     * them is missing (the engine keeps running and catches up). */
    const char *st = any_fresh && db_ok ? "ok" : "degraded";
    td_jw_key(&w, "status");
    td_jw_str(&w, st);
    td_jw_end(&w, '}');
    *status = 200;
    return b->len;
}

static size_t metrics(td_engine *e, td_arena *a, td_buf *b)
{
    size_t n = 0;
    char *shared = td_metrics_render(a, &n);
    if (shared)
        td_buf_add(a, b, shared, n);
    char line[512];
    td_market_stats ms = td_market_stats_get(e->market);
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    LINE("# HELP tradedesk_engine_feed_messages_total Messages received per source.\n"
         "# TYPE tradedesk_engine_feed_messages_total counter\n");
    for (int i = 0; i < e->nsources; i++)
        LINE("tradedesk_engine_feed_messages_total{source=\"%s\"} %llu\n", e->feeds[i].name,
             (unsigned long long)e->feeds[i].messages);
    LINE("# HELP tradedesk_engine_feed_parse_errors_total Messages a parser refused.\n"
         "# TYPE tradedesk_engine_feed_parse_errors_total counter\n");
    for (int i = 0; i < e->nsources; i++)
        LINE("tradedesk_engine_feed_parse_errors_total{source=\"%s\"} %llu\n", e->feeds[i].name,
             (unsigned long long)e->feeds[i].parse_errors);
    LINE("# HELP tradedesk_engine_events_total Market events applied.\n"
         "# TYPE tradedesk_engine_events_total counter\n"
         "tradedesk_engine_events_total %llu\n",
         (unsigned long long)ms.events);
    LINE("# HELP tradedesk_engine_oracle_switches_total Times a symbol's price changed source.\n"
         "# TYPE tradedesk_engine_oracle_switches_total counter\n"
         "tradedesk_engine_oracle_switches_total %llu\n",
         (unsigned long long)ms.switches);
    LINE("# HELP tradedesk_engine_db_writes_total Statements PostgreSQL confirmed.\n"
         "# TYPE tradedesk_engine_db_writes_total counter\n"
         "tradedesk_engine_db_writes_total %llu\n",
         (unsigned long long)e->db_writes);
    LINE("# HELP tradedesk_engine_db_write_failures_total Statements that failed.\n"
         "# TYPE tradedesk_engine_db_write_failures_total counter\n"
         "tradedesk_engine_db_write_failures_total %llu\n",
         (unsigned long long)e->db_failures);
    LINE("# HELP tradedesk_engine_realtime_priority SCHED_FIFO priority of the loop (0: none).\n"
         "# TYPE tradedesk_engine_realtime_priority gauge\n"
         "tradedesk_engine_realtime_priority %d\n",
         td_sched_priority());
    LINE("# HELP tradedesk_engine_db_pending Statements queued for PostgreSQL.\n"
         "# TYPE tradedesk_engine_db_pending gauge\n"
         "tradedesk_engine_db_pending %zu\n",
         td_db_pending(e->db));
    LINE("# HELP tradedesk_engine_redis_failures_total Publisher rounds or replies Redis failed.\n"
         "# TYPE tradedesk_engine_redis_failures_total counter\n"
         "tradedesk_engine_redis_failures_total %llu\n",
         (unsigned long long)e->redis_failures);
    if (e->monitor) {
        td_monitor_stats m;
        td_monitor_stats_get(e->monitor, &m);
        LINE("# HELP tradedesk_engine_orders_active Active conditional orders the monitor holds.\n"
             "# TYPE tradedesk_engine_orders_active gauge\n"
             "tradedesk_engine_orders_active %zu\n",
             m.active);
        LINE("# HELP tradedesk_engine_orders_fired_total Orders a tick (or the sweep) fired.\n"
             "# TYPE tradedesk_engine_orders_fired_total counter\n"
             "tradedesk_engine_orders_fired_total %llu\n",
             m.fired);
        LINE("# HELP tradedesk_engine_fills_total Fired orders PostgreSQL filled.\n"
             "# TYPE tradedesk_engine_fills_total counter\n"
             "tradedesk_engine_fills_total %llu\n",
             m.filled);
        LINE("# HELP tradedesk_engine_orders_not_filled_total Fired orders not filled, by why.\n"
             "# TYPE tradedesk_engine_orders_not_filled_total counter\n"
             "tradedesk_engine_orders_not_filled_total{reason=\"rejected\"} %llu\n"
             "tradedesk_engine_orders_not_filled_total{reason=\"not_active\"} %llu\n"
             "tradedesk_engine_orders_not_filled_total{reason=\"fenced\"} %llu\n",
             m.rejected, m.skipped, m.fenced);
        LINE("# HELP tradedesk_engine_fill_failures_total Fill batches that failed (retried).\n"
             "# TYPE tradedesk_engine_fill_failures_total counter\n"
             "tradedesk_engine_fill_failures_total %llu\n",
             m.fill_failures);
        LINE("# HELP tradedesk_engine_fills_pushed_total Fills pushed to Redis from their "
             "commit, by result: pushed, relay (not their turn, or the relay's first), failed.\n"
             "# TYPE tradedesk_engine_fills_pushed_total counter\n"
             "tradedesk_engine_fills_pushed_total{result=\"pushed\"} %llu\n"
             "tradedesk_engine_fills_pushed_total{result=\"relay\"} %llu\n"
             "tradedesk_engine_fills_pushed_total{result=\"failed\"} %llu\n",
             m.pushed, m.push_relayed, m.push_failed);
        LINE("# HELP tradedesk_engine_monitor_drift_total Orders a resync had to add or drop.\n"
             "# TYPE tradedesk_engine_monitor_drift_total counter\n"
             "tradedesk_engine_monitor_drift_total %llu\n",
             m.drift);
        LINE("# HELP tradedesk_engine_monitor_sweep_missed_total Orders only the sweep fired.\n"
             "# TYPE tradedesk_engine_monitor_sweep_missed_total counter\n"
             "tradedesk_engine_monitor_sweep_missed_total %llu\n",
             m.sweep_missed);
        td_monitor_render(e->monitor, a, b);
    }
    td_relay_stats rs = td_relay_stats_get(e->relay);
    LINE("# HELP tradedesk_engine_leader 1 while this engine holds the lease and fires orders.\n"
         "# TYPE tradedesk_engine_leader gauge\n"
         "tradedesk_engine_leader %d\n",
         td_relay_leader_token(e->relay) > 0);
    LINE("# HELP tradedesk_engine_fills_relayed_total Fills the outbox relay delivered to Redis.\n"
         "# TYPE tradedesk_engine_fills_relayed_total counter\n"
         "tradedesk_engine_fills_relayed_total %llu\n",
         rs.published);
    LINE("# HELP tradedesk_engine_fills_relayed_again_total Fills Redis already held (pushed at "
         "their commit, or a retry).\n"
         "# TYPE tradedesk_engine_fills_relayed_again_total counter\n"
         "tradedesk_engine_fills_relayed_again_total %llu\n",
         rs.duplicates);
    LINE("# HELP tradedesk_engine_fills_restored_total Stream entries a restarted Redis had "
         "lost, added again from the outbox.\n"
         "# TYPE tradedesk_engine_fills_restored_total counter\n"
         "tradedesk_engine_fills_restored_total %llu\n",
         rs.restored);
    LINE("# HELP tradedesk_engine_relay_failures_total Relay rounds PostgreSQL or Redis failed.\n"
         "# TYPE tradedesk_engine_relay_failures_total counter\n"
         "tradedesk_engine_relay_failures_total %llu\n",
         rs.failures);
    td_relay_render(e->relay, a, b);
#undef LINE
    td_alerts_render(e->alerts, a, b);
    td_business_render(a, b);
    td_recon_render(a, b);
    td_guard_render(e->guard, a, b);
    td_engine_publish_metrics(e, a, b);
    return b->len;
}

static int render(void *ctx, const char *uri, td_arena *a, td_buf *b, const char **type)
{
    td_engine *e = ctx;
    int status = 200;
    if (strcmp(uri, "/health") == 0) {
        health(e, a, b, &status);
    } else if (strcmp(uri, "/metrics") == 0) {
        metrics(e, a, b);
        *type = "text/plain; version=0.0.4";
    } else {
        status = td_ws_http_not_found(a, b);
    }
    return status;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    int rc;
    if (td_ws_http_serve(wsi, reason, user, in, len, render, &rc))
        return rc;
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols td_engine_http_protocol = {"http", callback, sizeof(td_ws_http), 0, 0,
                                                      NULL, 0};
