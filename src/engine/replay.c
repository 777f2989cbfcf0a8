/*
 * replay.c - TRADEDESK_FEEDS=replay:FILE: a recording of venues' messages
 * played back through the same parsers as a live feed, at the recorded
 * pace or TRADEDESK_REPLAY_SPEED times faster.
 *
 * A recording is text, one message a line:
 *     <receive time, ms since the epoch> <venue> <the message, as sent>
 *     1700000000123 binance {"e":"trade","E":1700000000120,"s":"BTCUSDT",...}
 * Blank lines and lines starting with '#' are skipped; a line that is not
 * of that shape is counted as a parse error.  The whole file is read at
 * start (at most 256 MiB).  Events are stamped with the replay's clock, so
 * the oracle and candles see them as fresh.  At the end of the file the
 * feed is "disconnected" and stays so.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "ws/feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_MAX (256u << 20)

static struct {
    char *data;
    size_t len, pos;
    int64_t first_ms; /* the recording's first time */
    int64_t start_ms; /* when the replay started */
    int source;
    td_feed_parser *parser;
    int done;
} g_replay = {.source = -1};

td_status td_engine_replay_open(td_engine *e, int source, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        td_error("replay: cannot open %s: %s", path, strerror(errno));
        return TD_EINVAL;
    }
    size_t cap = 1 << 16, len = 0;
    char *d = malloc(cap);
    while (d) {
        if (len == cap) {
            if (cap >= REPLAY_MAX) {
                td_error("replay: %s is larger than %u bytes", path, REPLAY_MAX);
                free(d);
                fclose(f);
                return TD_EINVAL;
            }
            char *bigger = realloc(d, cap * 2);
            if (!bigger) {
                free(d);
                d = NULL;
                break;
            }
            d = bigger;
            cap *= 2;
        }
        size_t n = fread(d + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    if (!d || !(g_replay.parser = td_feed_parser_new())) {
        free(d);
        return TD_ENOMEM;
    }
    g_replay.data = d;
    g_replay.len = len;
    g_replay.source = source;
    e->feeds[source].state = "connected";
    return TD_OK;
}

/* The next line as [s, s+n); 0 at the end. */
static int next_line(const char **s, size_t *n)
{
    if (g_replay.pos >= g_replay.len)
        return 0;
    const char *p = g_replay.data + g_replay.pos;
    const char *nl = memchr(p, '\n', g_replay.len - g_replay.pos);
    *n = nl ? (size_t)(nl - p) : g_replay.len - g_replay.pos;
    *s = p;
    return 1;
}

void td_engine_replay_step(td_engine *e, int64_t now_ms)
{
    if (g_replay.source < 0 || g_replay.done)
        return;
    td_feed_state *f = &e->feeds[g_replay.source];
    int speed = e->cfg.replay_speed > 0 ? e->cfg.replay_speed : 1;
    static td_feed_result r;
    const char *s;
    size_t n;
    while (next_line(&s, &n)) {
        if (n == 0 || s[0] == '#') {
            g_replay.pos += n + 1;
            continue;
        }
        char *end;
        int64_t t = strtoll(s, &end, 10);
        const char *v = end + (end < s + n && *end == ' ');
        const char *sp = memchr(v, ' ', (size_t)(s + n - v));
        td_venue venue = 0;
        if (sp) {
            char name[16];
            size_t vl = (size_t)(sp - v);
            if (vl < sizeof name) {
                memcpy(name, v, vl);
                name[vl] = '\0';
                venue = (td_venue)td_engine_venue(name);
            }
        }
        if (end == s || t <= 0 || !venue) {
            f->parse_errors++;
            g_replay.pos += n + 1;
            continue;
        }
        if (!g_replay.start_ms) {
            g_replay.first_ms = t;
            g_replay.start_ms = now_ms;
        }
        if ((t - g_replay.first_ms) / speed > now_ms - g_replay.start_ms)
            return; /* not yet due */
        const char *msg = sp + 1;
        size_t mlen = (size_t)(s + n - msg);
        if (mlen && msg[mlen - 1] == '\r')
            mlen--;
        f->messages++;
        f->last_ms = now_ms;
        if (td_feed_parse(g_replay.parser, venue, msg, mlen, &r) != TD_OK) {
            f->parse_errors++;
        } else if (r.msg == TD_FEED_EVENTS) {
            for (size_t i = 0; i < r.n; i++) {
                r.ev[i].event_ms = now_ms; /* the replay's clock, not the recording's */
                r.ev[i].recv_ms = now_ms;
                if (td_market_apply(e->market, g_replay.source, &r.ev[i], now_ms) == TD_OK)
                    f->events++;
            }
        }
        g_replay.pos += n + 1;
    }
    g_replay.done = 1;
    f->state = "disconnected";
    td_info("replay: end of the recording (%llu messages)", (unsigned long long)f->messages);
}

void td_engine_replay_free(void)
{
    free(g_replay.data);
    td_feed_parser_free(g_replay.parser);
    memset(&g_replay, 0, sizeof g_replay);
    g_replay.source = -1;
}
