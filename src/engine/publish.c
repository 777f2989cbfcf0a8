/*
 * publish.c - the engine's writer: the oracle's prices to prices_latest
 * and Redis (a value per symbol and a pub/sub message for the stream),
 * candles to the candles table, recent trades to a Redis list per symbol.
 *
 * PostgreSQL goes through store/db's non-blocking face: statements are
 * queued and answered on the loop, never waited for.  When too many are
 * pending (PostgreSQL slow or down), nothing new is taken from the market
 * this round: the market keeps the latest values, so prices coalesce and
 * closed candles wait in its queue.  Redis gets one pipeline per round;
 * the hiredis connection is blocking with a short timeout (store/redis),
 * so a stalled Redis costs the loop at most that timeout per round, and a
 * down one costs nothing (reconnects at most once a second).
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "store/keys.h"

#include <stdio.h>
#include <string.h>

#define PENDING_MAX 2000 /* queued statements before the publisher waits */
#define ROUND_MAX 512    /* of each kind per round */

const td_db_stmt td_engine_stmts[] = {
    {"engine_price_upsert",
     "INSERT INTO prices_latest (symbol, price, source, updated_at)"
     " VALUES ($1, $2::numeric, $3, to_timestamp($4::bigint / 1000.0))"
     " ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, source = EXCLUDED.source,"
     " updated_at = EXCLUDED.updated_at WHERE prices_latest.updated_at <= EXCLUDED.updated_at",
     4, 1},
    {"engine_candle_upsert",
     "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume, trades,"
     " closed) VALUES ($1, $2, to_timestamp($3::bigint / 1000.0), $4::numeric, $5::numeric,"
     " $6::numeric, $7::numeric, $8::numeric, $9::bigint, $10::boolean)"
     /* GREATEST/LEAST: a bar written by an earlier run keeps its extremes. */
     " ON CONFLICT (symbol, interval, open_time) DO UPDATE SET"
     " high = GREATEST(candles.high, EXCLUDED.high), low = LEAST(candles.low, EXCLUDED.low),"
     " close = EXCLUDED.close, volume = EXCLUDED.volume, trades = EXCLUDED.trades,"
     " closed = EXCLUDED.closed WHERE NOT candles.closed",
     10, 1},
    /* The newest bar of each series, so a restarted engine continues it
     * (and fills the gap it was away for) instead of starting a second one. */
    {"engine_last_candles",
     "SELECT DISTINCT ON (symbol, interval) symbol, interval,"
     " " TD_SQL_EPOCH_MS(
         "open_time") ", open, high, low, close, volume, trades"
                      " FROM candles WHERE NOT closed ORDER BY symbol, interval, open_time DESC",
     0, 1},
    {"engine_instruments",
     "SELECT i.symbol, pl.price FROM instruments i LEFT JOIN prices_latest pl"
     " ON pl.symbol = i.symbol WHERE i.active ORDER BY i.symbol",
     0, 1},
};
const size_t td_engine_nstmts = TD_ARRAY_LEN(td_engine_stmts);

static void on_written(void *arg, td_status st, const PGresult *res)
{
    (void)res;
    td_engine *e = arg;
    if (st == TD_OK)
        e->db_writes++;
    else
        e->db_failures++;
}

static const char *source_name(const td_engine *e, int source)
{
    return source >= 0 && source < e->nsources ? e->feeds[source].name : "median";
}

/* The price as the stream pushes it: {"symbol","price","source","updated_at","stale"}. */
static size_t price_json(const td_engine *e, const td_price_update *p, td_arena *a, td_buf *b)
{
    td_jw w;
    td_jw_init(&w, a, b);
    td_jw_obj(&w);
    td_jw_key(&w, "symbol");
    td_jw_str(&w, p->symbol);
    td_jw_key(&w, "price");
    td_jw_dec(&w, p->price);
    td_jw_key(&w, "source");
    td_jw_str(&w, source_name(e, p->source));
    td_jw_key(&w, "updated_at");
    td_jw_time_ms(&w, p->updated_ms);
    td_jw_key(&w, "stale");
    td_jw_bool(&w, p->stale);
    td_jw_end(&w, '}');
    return b->len;
}

static void publish_prices(td_engine *e, td_arena *a, int redis_ok, int *queued)
{
    td_price_update p[ROUND_MAX];
    size_t n = td_market_take_prices(e->market, p, ROUND_MAX);
    for (size_t i = 0; i < n; i++) {
        char price[TD_DEC_STR_MAX], at[24];
        td_dec_format(p[i].price, price, sizeof price);
        snprintf(at, sizeof at, "%lld", (long long)p[i].updated_ms);
        const char *params[] = {p[i].symbol, price, source_name(e, p[i].source), at};
        if (td_db_send(e->db, "engine_price_upsert", 4, params, on_written, e) != TD_OK)
            e->db_failures++;
        if (p[i].switched)
            td_info("oracle: %s now from %s%s", p[i].symbol, source_name(e, p[i].source),
                    p[i].stale ? " (stale)" : "");
        if (redis_ok) {
            td_buf b = {0};
            price_json(e, &p[i], a, &b);
            *queued += td_redis_append(e->redis, "SET " TD_KEY_PRICE " %b EX 86400", p[i].symbol,
                                       b.data, b.len) == TD_OK;
            *queued += td_redis_append(e->redis, "PUBLISH " TD_CHANNEL_PRICES " %b", b.data,
                                       b.len) == TD_OK;
        }
    }
}

static void publish_candles(td_engine *e)
{
    td_candle_update c[ROUND_MAX];
    size_t n = td_market_take_candles(e->market, c, ROUND_MAX);
    for (size_t i = 0; i < n; i++) {
        const td_candle *b = &c[i].bar;
        char open_ms[24], o[TD_DEC_STR_MAX], h[TD_DEC_STR_MAX], l[TD_DEC_STR_MAX],
            cl[TD_DEC_STR_MAX], v[TD_DEC_STR_MAX], tr[24];
        snprintf(open_ms, sizeof open_ms, "%lld", (long long)b->open_ms);
        td_dec_format(b->open, o, sizeof o);
        td_dec_format(b->high, h, sizeof h);
        td_dec_format(b->low, l, sizeof l);
        td_dec_format(b->close, cl, sizeof cl);
        td_dec_format(b->volume, v, sizeof v);
        snprintf(tr, sizeof tr, "%lld", (long long)b->trades);
        const char *params[] = {
            c[i].symbol, td_candle_interval_name[c[i].interval], open_ms, o, h, l, cl, v,
            tr,          c[i].closed ? "true" : "false"};
        if (td_db_send(e->db, "engine_candle_upsert", 10, params, on_written, e) != TD_OK)
            e->db_failures++;
    }
}

/* Recent trades per symbol in Redis, newest first, for GET /trades and the
 * stream's snapshot (a cache: losing it loses nothing). */
static void publish_trades(td_engine *e, td_arena *a, int *queued)
{
    td_market_event t[ROUND_MAX];
    size_t n = td_market_take_trades(e->market, t, ROUND_MAX);
    for (size_t i = 0; i < n; i++) {
        td_buf b = {0};
        td_jw w;
        td_jw_init(&w, a, &b);
        td_jw_obj(&w);
        td_jw_key(&w, "id");
        td_jw_str(&w, t[i].trade_id);
        td_jw_key(&w, "price");
        td_jw_dec(&w, t[i].price);
        td_jw_key(&w, "quantity");
        td_jw_dec(&w, t[i].qty);
        td_jw_key(&w, "side");
        td_jw_str(&w, t[i].side == TD_SIDE_BUY ? "buy" : "sell");
        td_jw_key(&w, "time");
        td_jw_time_ms(&w, t[i].event_ms ? t[i].event_ms : t[i].recv_ms);
        td_jw_key(&w, "source");
        td_jw_str(&w, source_name(e, t[i].source));
        td_jw_end(&w, '}');
        *queued += td_redis_append(e->redis, "LPUSH " TD_KEY_TRADES " %b", t[i].symbol, b.data,
                                   b.len) == TD_OK;
        *queued += td_redis_append(e->redis, "LTRIM " TD_KEY_TRADES " 0 99", t[i].symbol) == TD_OK;
    }
}

void td_engine_publish(td_engine *e, int64_t now_ms)
{
    e->last_flush_ms = now_ms;
    if (td_db_pending(e->db) > PENDING_MAX)
        return; /* PostgreSQL is behind: the market keeps coalescing */
    td_arena a;
    td_arena_init(&a, 64 * 1024);
    /* Redis first: a round without it still writes PostgreSQL. */
    double ms;
    int redis_ok = td_redis_ping(e->redis, &ms) == TD_OK, queued = 0;
    publish_prices(e, &a, redis_ok, &queued);
    publish_candles(e);
    if (redis_ok) {
        publish_trades(e, &a, &queued);
        queued += td_engine_snapshot_append(e, &a, now_ms);
        /* Every reply of the round's pipeline, in one read. */
        redisReply **rep = queued ? td_arena_alloc(&a, sizeof *rep * (size_t)queued) : NULL;
        if (queued && td_redis_flush(e->redis, rep, queued) == TD_OK) {
            for (int i = 0; i < queued; i++) {
                if (rep[i]->type == REDIS_REPLY_ERROR)
                    e->redis_failures++;
                freeReplyObject(rep[i]);
            }
        } else if (queued) {
            e->redis_failures++;
        }
    } else {
        /* Trades still sit in the market's own ring for snapshots. */
        td_market_event drop[64];
        while (td_market_take_trades(e->market, drop, 64) == 64)
            ;
        e->redis_failures++;
    }
    td_arena_free(&a);
    td_engine_history(e, now_ms);
    td_db_service(e->db);
}
