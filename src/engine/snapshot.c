/*
 * snapshot.c - the market's current state as readers other than the
 * stream of prices need it, in Redis: each symbol's top of book
 * (a message on td:book when it changes; td:book:<sym> at most every
 * TD_LATEST_EVERY_MS) and the feeds'
 * state (td:feeds, refreshed every second with a short TTL, so a reader
 * can tell an engine that stopped reporting), and this engine's own status
 * in td:status:engine (leader, fencing token, active orders, the outbox
 * backlog, memory, the feeds), for the detailed health.  The API serves
 * them (GET /api/v1/orderbook/{symbol}, GET /api/v1/market/feeds,
 * GET /api/v1/monitoring/health/detailed).
 *
 * Only appends commands to the publisher's Redis pipeline; never waits.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "domain/price.h"
#include "store/keys.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FEEDS_EVERY_MS 1000

void td_engine_feeds_json(const td_engine *e, td_jw *w, int64_t now_ms, int *any_fresh)
{
    td_jw_arr(w);
    for (int i = 0; i < e->nsources; i++) {
        const td_feed_state *f = &e->feeds[i];
        int64_t age = f->last_ms ? now_ms - f->last_ms : -1;
        if (any_fresh && age >= 0 && age <= e->cfg.price_stale_ms)
            *any_fresh = 1;
        td_jw_obj(w);
        td_jw_key(w, "source");
        td_jw_str(w, f->name);
        td_jw_key(w, "state");
        td_jw_str(w, f->state);
        td_jw_key(w, "messages");
        td_jw_int(w, (long long)f->messages);
        td_jw_key(w, "events");
        td_jw_int(w, (long long)f->events);
        td_jw_key(w, "parse_errors");
        td_jw_int(w, (long long)f->parse_errors);
        td_jw_key(w, "reconnects");
        td_jw_int(w, (long long)f->reconnects);
        td_jw_key(w, "lag_ms"); /* the last event's venue time -> our receive time */
        td_jw_int(w, f->lag_ms);
        td_jw_key(w, "last_message_age_ms");
        if (age < 0)
            td_jw_null(w);
        else
            td_jw_int(w, age);
        td_jw_end(w, '}');
    }
    td_jw_end(w, ']');
}

/* GET /api/v1/orderbook/{symbol}'s OrderBookTop: {"symbol","bid","bid_qty",
 * "ask","ask_qty","source","updated_at","age_ms","stale"}, age as of now. */
void td_engine_book_json(const td_engine *e, int i, td_arena *a, td_buf *b)
{
    const td_book_top *t = td_market_book(e->market, i);
    td_jw w;
    td_jw_init(&w, a, b);
    td_jw_obj(&w);
    td_jw_key(&w, "symbol");
    td_jw_str(&w, td_market_symbol(e->market, i));
    td_jw_key(&w, "bid");
    td_jw_dec(&w, t->bid);
    td_jw_key(&w, "bid_qty");
    td_jw_dec(&w, t->bid_qty);
    td_jw_key(&w, "ask");
    td_jw_dec(&w, t->ask);
    td_jw_key(&w, "ask_qty");
    td_jw_dec(&w, t->ask_qty);
    td_jw_key(&w, "source");
    td_jw_str(&w, td_engine_source_name(e, t->source));
    int64_t age = td_wall_ms() - t->updated_ms;
    td_jw_freshness(&w, t->updated_ms, age, td_price_stale(age, e->cfg.price_stale_ms));
    td_jw_end(&w, '}');
}

/* This process' resident memory, bytes (0 when /proc says nothing). */
static long long own_rss(void)
{
    long long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    return n == 2 ? resident * sysconf(_SC_PAGESIZE) : 0;
}

static int status_append(td_engine *e, td_arena *a, int64_t now_ms)
{
    char host[64] = "", instance[256];
    gethostname(host, sizeof host - 1);
    snprintf(instance, sizeof instance, "%s/%s", host, e->cfg.engine_listen);
    long long token = td_relay_leader_token(e->relay);
    int known;
    long long backlog = td_business_backlog(&known);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, a, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "instance");
    td_jw_str(&w, instance);
    td_jw_key(&w, "at");
    td_jw_time_ms(&w, now_ms);
    td_jw_key(&w, "leader");
    td_jw_bool(&w, token > 0);
    td_jw_key(&w, "fencing_token");
    if (token > 0)
        td_jw_int(&w, token);
    else
        td_jw_null(&w);
    td_jw_key(&w, "active_orders");
    if (e->monitor) {
        td_monitor_stats m;
        td_monitor_stats_get(e->monitor, &m);
        td_jw_int(&w, (long long)m.active);
    } else {
        td_jw_null(&w);
    }
    td_jw_key(&w, "outbox_backlog");
    if (known && token > 0)
        td_jw_int(&w, backlog);
    else
        td_jw_null(&w);
    td_jw_key(&w, "rss_bytes");
    td_jw_int(&w, own_rss());
    td_jw_key(&w, "feeds");
    td_engine_feeds_json(e, &w, now_ms, NULL);
    td_jw_end(&w, '}');
    return td_redis_async_append(e->aredis, "HSET " TD_KEY_STATUS_ENGINE " %s %b", instance, b.data,
                                 b.len) == TD_OK;
}

int td_engine_snapshot_append(td_engine *e, td_arena *a, int64_t now_ms)
{
    int queued = 0;
    int idx[TD_MARKET_MAX_SYMBOLS];
    size_t n = td_market_take_books(e->market, idx, TD_MARKET_MAX_SYMBOLS);
    for (size_t k = 0; k < n; k++) {
        td_buf b = {0};
        td_engine_book_json(e, idx[k], a, &b);
        td_engine_redis_latest(e, TD_LATEST_BOOK, idx[k], b.data, b.len, now_ms);
        queued++;
    }
    if (now_ms - e->feeds_sent_ms >= FEEDS_EVERY_MS) {
        e->feeds_sent_ms = now_ms;
        td_buf b = {0};
        td_jw w;
        td_jw_init(&w, a, &b);
        td_jw_obj(&w);
        td_jw_key(&w, "at");
        td_jw_time_ms(&w, now_ms);
        td_jw_key(&w, "feeds");
        td_engine_feeds_json(e, &w, now_ms, NULL);
        td_jw_end(&w, '}');
        queued += td_redis_async_append(e->aredis, "SET " TD_KEY_FEEDS " %b PX %d", b.data, b.len,
                                        TD_FEEDS_TTL_MS) == TD_OK;
        queued += status_append(e, a, now_ms);
    }
    return queued;
}
