/*
 * http.c - the stream's own /health and /metrics, on its listening port
 * beside /ws (ws/http's responder, as the engine's).  Prometheus names
 * follow the API's (tradedesk_<program>_..., counters _total); nginx
 * proxies only /ws, so who may scrape is the port's business, as with the
 * engine (loopback in `make run`).
 */
#include "stream/stream.h"
#include "core/jsonw.h"
#include "core/metrics.h"
#include "core/sched.h"

#include <stdio.h>
#include <string.h>

static int health(td_stream *st, td_arena *a, td_buf *b)
{
    int db_ok = td_db_ready(st->db);
    td_jw w;
    td_jw_init(&w, a, b);
    td_jw_obj(&w);
    td_jw_key(&w, "status");
    td_jw_str(&w, st->sub_ok ? "ok" : "degraded");
    td_jw_key(&w, "redis");
    td_jw_str(&w, st->sub_ok ? "ok" : "down");
    td_jw_key(&w, "postgres");
    td_jw_str(&w, db_ok ? "ok" : "down");
    td_jw_key(&w, "connections");
    td_jw_int(&w, st->nsocks);
    td_jw_end(&w, '}');
    return 200;
}

static void metrics(td_stream *st, td_arena *a, td_buf *b)
{
    size_t n = 0;
    char *shared = td_metrics_render(a, &n);
    if (shared)
        td_buf_add(a, b, shared, n);
    char line[512];
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
#define COUNTER(name, help, v)                                                                     \
    LINE("# HELP tradedesk_stream_" name " " help "\n# TYPE tradedesk_stream_" name                 \
         " counter\ntradedesk_stream_" name " %llu\n",                                             \
         (unsigned long long)(v))
    LINE("# HELP tradedesk_stream_connections WebSockets open.\n"
         "# TYPE tradedesk_stream_connections gauge\ntradedesk_stream_connections %d\n",
         st->nsocks);
    LINE("# HELP tradedesk_stream_realtime_priority SCHED_FIFO priority of the loop (0: none).\n"
         "# TYPE tradedesk_stream_realtime_priority gauge\ntradedesk_stream_realtime_priority %d\n",
         td_sched_priority());
    LINE("# HELP tradedesk_stream_subscriptions Subscriptions by channel kind.\n"
         "# TYPE tradedesk_stream_subscriptions gauge\n");
    for (int k = 0; k < TD_CH_KINDS; k++)
        LINE("tradedesk_stream_subscriptions{kind=\"%s\"} %d\n", td_chan_kind_name[k],
             st->nsubs[k]);
    size_t depth = 0, deepest = 0;
    for (td_sock *s = st->socks; s; s = s->next) {
        size_t d = (size_t)(s->pushed - s->popped);
        depth += d;
        if (d > deepest)
            deepest = d;
    }
    LINE("# HELP tradedesk_stream_queued Messages waiting in the sockets' queues.\n"
         "# TYPE tradedesk_stream_queued gauge\ntradedesk_stream_queued %zu\n",
         depth);
    LINE("# HELP tradedesk_stream_queue_deepest The longest socket queue.\n"
         "# TYPE tradedesk_stream_queue_deepest gauge\ntradedesk_stream_queue_deepest %zu\n",
         deepest);
    const td_stream_stats *c = &st->st;
    COUNTER("connections_total", "WebSockets accepted.", c->connections_total);
    COUNTER("messages_in_total", "Client messages received.", c->messages_in);
    COUNTER("messages_out_total", "Messages written to clients.", c->messages_out);
    COUNTER("conflated_total", "Market messages replaced by a newer one before a slow client "
            "read them.", c->conflated);
    COUNTER("dropped_total", "Messages a full queue refused.", c->dropped);
    COUNTER("resyncs_total", "Sockets told resync_required on fills or orders.", c->resyncs);
    COUNTER("redis_messages_total", "Pub/sub messages received from Redis.", c->redis_messages);
    COUNTER("redis_reconnects_total", "Redis subscription gaps caught up after.", c->redis_gaps);
    COUNTER("replays_total", "fills and orders subscriptions with since.", c->replays);
    COUNTER("replayed_fills_total", "Fills and order events delivered by replays (Streams, PostgreSQL).", c->replayed);
    COUNTER("replay_retries_total", "Stream reads Redis could not answer, tried again.",
            c->replay_retries);
    COUNTER("bad_messages_total", "Client messages answered with an error.", c->bad_messages);
    COUNTER("rate_limited_total", "Client messages refused by the rate limit.", c->rate_limited);
    LINE("# HELP tradedesk_stream_closed_total Sockets the stream closed, by reason.\n"
         "# TYPE tradedesk_stream_closed_total counter\n"
         "tradedesk_stream_closed_total{reason=\"revoked\"} %llu\n"
         "tradedesk_stream_closed_total{reason=\"expired\"} %llu\n"
         "tradedesk_stream_closed_total{reason=\"flood\"} %llu\n"
         "tradedesk_stream_closed_total{reason=\"garbage\"} %llu\n"
         "tradedesk_stream_closed_total{reason=\"limit\"} %llu\n",
         (unsigned long long)c->revoked_closes, (unsigned long long)c->expired_closes,
         (unsigned long long)c->flood_closes, (unsigned long long)c->garbage_closes,
         (unsigned long long)c->limit_closes);
#undef COUNTER
#undef LINE
}

int td_stream_http(void *ctx, const char *uri, td_arena *a, td_buf *b, const char **type)
{
    td_stream *st = ctx;
    if (strcmp(uri, "/health") == 0)
        return health(st, a, b);
    if (strcmp(uri, "/metrics") == 0) {
        metrics(st, a, b);
        *type = "text/plain; version=0.0.4";
        return 200;
    }
    return td_ws_http_not_found(a, b);
}
