/*
 * latency.c - how long a venue's message takes to reach Redis: the
 * engine's receive -> Redis-confirmed latency, as a Prometheus histogram
 * (tradedesk_engine_publish_latency_seconds).
 *
 * Receive is the moment libwebsockets hands the feed protocol a message's
 * last bytes (the adapter's callback is wrapped, so adapter.c is not
 * involved).  Confirmed is the moment the engine reads Redis' reply to the
 * last command of the first pipeline sent after the message was applied:
 * the pipeline that carries its changes (price SET + PUBLISH, trade
 * LPUSH).  Each message is one observation.  Messages wait in a ring of
 * monotonic timestamps: appended on receive, sealed when a pipeline is
 * sent (they belong to it), observed when it is answered, dropped when it
 * is lost or when a pass had nothing to publish.  One thread.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/histogram.h"

#include <stdio.h>

#define RING (1u << 16) /* messages waiting; far more than a pass holds */

static struct {
    int64_t t[RING];
    uint64_t wr, sealed, rd;              /* rd <= sealed <= wr, all counting messages */
    td_hist h, wait, rtt, tick, tick_cpu; /* see td_engine_latency_render */
    int h_ready;
    int64_t sent[TD_PUBLISH_IN_FLIGHT]; /* each pipeline in flight: when it was sealed */
    uint64_t sent_wr, sent_rd;
    uint64_t dropped;
    lws_callback_function *feed_cb;
} g;

static void received(int64_t t_ns)
{
    if (g.wr - g.rd == RING) { /* nothing confirms (Redis away): oldest goes */
        g.rd++;
        if (g.sealed < g.rd)
            g.sealed = g.rd;
        g.dropped++;
    }
    g.t[g.wr++ % RING] = t_ns;
}

static void hists_init(void)
{
    if (!g.h_ready) {
        td_hist_init(&g.h, TD_HIST_LATENCY_BOUNDS, TD_HIST_LATENCY_NBOUNDS);
        td_hist_init(&g.wait, TD_HIST_LATENCY_BOUNDS, TD_HIST_LATENCY_NBOUNDS);
        td_hist_init(&g.rtt, TD_HIST_LATENCY_BOUNDS, TD_HIST_LATENCY_NBOUNDS);
        td_hist_init(&g.tick, TD_HIST_LATENCY_BOUNDS, TD_HIST_LATENCY_NBOUNDS);
        td_hist_init(&g.tick_cpu, TD_HIST_LATENCY_BOUNDS, TD_HIST_LATENCY_NBOUNDS);
        g.h_ready = 1;
    }
}

uint64_t td_engine_latency_seal(void)
{
    hists_init();
    int64_t now = td_mono_ns();
    for (uint64_t i = g.sealed; i < g.wr; i++)
        td_hist_observe(&g.wait, (double)(now - g.t[i % RING]) / 1e9);
    if (g.sent_wr - g.sent_rd == TD_ARRAY_LEN(g.sent))
        g.sent_rd++;
    g.sent[g.sent_wr++ % TD_ARRAY_LEN(g.sent)] = now;
    g.sealed = g.wr;
    return g.sealed;
}

void td_engine_latency_tick(int64_t took_ns, int64_t cpu_ns)
{
    hists_init();
    td_hist_observe(&g.tick, (double)took_ns / 1e9);
    td_hist_observe(&g.tick_cpu, (double)cpu_ns / 1e9);
}

void td_engine_latency_unsent(void)
{
    g.dropped += g.wr - g.sealed;
    g.wr = g.sealed;
}

static td_hist *hist(void)
{
    hists_init();
    return &g.h;
}

void td_engine_latency_confirm(uint64_t upto, int ok)
{
    int64_t now = td_mono_ns();
    if (g.sent_rd < g.sent_wr) {
        int64_t sent = g.sent[g.sent_rd++ % TD_ARRAY_LEN(g.sent)];
        if (ok)
            td_hist_observe(&g.rtt, (double)(now - sent) / 1e9);
    }
    for (; g.rd < upto && g.rd < g.wr; g.rd++) {
        if (ok)
            td_hist_observe(hist(), (double)(now - g.t[g.rd % RING]) / 1e9);
        else
            g.dropped++;
    }
}

void td_engine_latency_render(td_arena *a, td_buf *b)
{
    td_hist_render(hist(), a, b, "tradedesk_engine_publish_latency_seconds",
                   "Venue message received -> Redis confirmed the pipeline carrying its changes.");
    td_hist_render(&g.wait, a, b, "tradedesk_engine_publish_wait_seconds",
                   "Venue message received -> the pipeline carrying its changes sent to Redis.");
    td_hist_render(&g.rtt, a, b, "tradedesk_engine_redis_round_trip_seconds",
                   "A publisher pipeline sent -> Redis' reply to its last command read.");
    td_hist_render(&g.tick, a, b, "tradedesk_engine_tick_seconds",
                   "The engine's 100 ms timer callback, start to end (the loop's work between "
                   "two reads of the feeds).");
    td_hist_render(&g.tick_cpu, a, b, "tradedesk_engine_tick_cpu_seconds",
                   "The CPU time of the same callbacks (below the wall time: the loop's thread "
                   "waited for a core).");
    char line[320];
    td_buf_add(a, b, line,
               (size_t)snprintf(line, sizeof line,
                                "# HELP tradedesk_engine_publish_unconfirmed_total Messages whose "
                                "changes no Redis reply confirmed (Redis away, a lost pipeline, "
                                "nothing to publish).\n"
                                "# TYPE tradedesk_engine_publish_unconfirmed_total counter\n"
                                "tradedesk_engine_publish_unconfirmed_total %llu\n",
                                (unsigned long long)g.dropped));
}

/* The feed protocol's callback, timing each complete message. */
static int timed(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    if (reason != LWS_CALLBACK_CLIENT_RECEIVE)
        return g.feed_cb(wsi, reason, user, in, len);
    int64_t t = td_mono_ns();
    int rc = g.feed_cb(wsi, reason, user, in, len);
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
        received(t);
    return rc;
}

struct lws_protocols td_engine_timed_feed_protocol(void)
{
    struct lws_protocols p = td_engine_feed_protocol;
    g.feed_cb = p.callback;
    p.callback = timed;
    return p;
}
