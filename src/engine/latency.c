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
    uint64_t wr, sealed, rd; /* rd <= sealed <= wr, all counting messages */
    td_hist h;
    int h_ready;
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

uint64_t td_engine_latency_seal(void)
{
    g.sealed = g.wr;
    return g.sealed;
}

void td_engine_latency_unsent(void)
{
    g.dropped += g.wr - g.sealed;
    g.wr = g.sealed;
}

static td_hist *hist(void)
{
    if (!g.h_ready) {
        td_hist_init(&g.h, TD_HIST_LATENCY_BOUNDS, TD_HIST_LATENCY_NBOUNDS);
        g.h_ready = 1;
    }
    return &g.h;
}

void td_engine_latency_confirm(uint64_t upto, int ok)
{
    int64_t now = td_mono_ns();
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
