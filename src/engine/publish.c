/*
 * publish.c - the engine's writer: the oracle's prices to Redis (a value
 * per symbol and a pub/sub message for the stream) and prices_latest,
 * recent trades to a Redis list per symbol, candles to the candles table.
 *
 * Redis is written after every pass of the event loop (main.c), through
 * store/redis_async on the loop (ws/loopfd): what changed since the last
 * pipeline, coalesced (one PUBLISH per symbol whose price changed, one
 * LPUSH and one PUBLISH per symbol that traded, and the candle round's
 * slice: a SET + PUBLISH each), with up to TD_PUBLISH_IN_FLIGHT
 * pipelines in flight.  While Redis answers them, the next accumulates,
 * so the pipelines grow with the load and the latency stays about one
 * Redis round trip plus one pass (with one in flight a change waited for the previous pipeline's answer
 * too: at 105k messages/s, p50 2.1 -> 0.5 ms on the same machine).  A down
 * or stalled Redis never waits the loop: prices stay marked for it and go
 * out once it is back; trades are then
 * dropped (they also sit in the market's own ring for snapshots).
 *
 * The latest-value keys (td:px:<sym>, td:book:<sym>: what a reader that
 * just arrived starts from) are SET at most every TD_LATEST_EVERY_MS per
 * symbol, the newest value once that time has passed: at 100k messages/s
 * a SET per change was half of Redis' commands and nearly all of its
 * append-only file, for keys nobody reads between two changes.
 *
 * PostgreSQL goes through store/db's non-blocking face, on the timer
 * (every 250 ms): each symbol's latest price, then the candles that moved,
 * taken a slice per pass of the loop (candle_slice).
 * When too many statements are pending (PostgreSQL slow or down), nothing
 * new is written this round: prices coalesce here and closed candles wait
 * in the market's queue.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/throttle.h"
#include "core/log.h"
#include "store/keys.h"
#include "store/pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 2000      /* queued statements before the publisher waits */
#define ROUND_MAX 512         /* of each kind per take */
#define TRADES_TAKE 4096      /* the market's trade queue, all of it */
#define TRADES_KEPT_LAST "99" /* td:trades:<sym> keeps the newest 100 */
#define TRIM_EVERY 32
#define CANDLE_SLICE 32 /* bars per pass of the loop in a candle round */

typedef struct td_publisher td_publisher;

/* A kind of latest-value key: when each symbol's was last SET, and the
 * symbols whose newest value is not SET yet. */
typedef struct pub_latest {
    const char *prefix, *channel;
    void (*render)(const td_engine *e, int k, td_arena *a, td_buf *b);
    td_throttle sets;
    int *due; /* td_throttle_due's answer, one per symbol */
} pub_latest;

/* Each symbol's latest price, and which writers have not had it yet. */
typedef struct pub_price {
    td_price_update p;
    uint8_t for_db, for_redis;
} pub_price;

struct td_publisher {
    pub_price *px;                  /* by market index */
    int *redis_dirty, nredis_dirty; /* indexes with for_redis set, in order */
    int *db_dirty, ndb_dirty;
    td_market_event *trades;                    /* TRADES_TAKE, taken per pipeline */
    int *trade_next, *trade_first, *trade_last; /* trades grouped per symbol */
    int *untrimmed;                /* trades pushed per symbol since its list was last trimmed */
    uint64_t marks[TD_PUBLISH_IN_FLIGHT]; /* latency.c's mark of each pipeline in flight */
    size_t mark_head, nmarks;
    pub_latest latest[TD_LATEST_KINDS];
    td_arena arena; /* reset per pipeline */
    uint64_t pipelines;
    uint64_t serial;  /* the Redis connection the prices were last written to */
    uint64_t batched; /* Redis' command count when the last pipeline was ended */
    /* The candle round: one scan of the market's bars, a slice per pass. */
    int candle_cursor;      /* td_market_take_candles_from's; -1: no round open */
    td_arena candle_arena;  /* the round's statement, kept across passes */
    td_pg_cols candle_cols; /* its rows so far */
    int candle_rows;
    int64_t latest_wake_ms; /* when latest_wake's timer fires (INT64_MAX: not set) */
};

/* One statement per round and kind, the rows as arrays (unnest): one
 * round trip and one transaction for every price (or candle) that moved,
 * where a statement per row cost PostgreSQL a fifth of a core at 100,000
 * events/s (docs/performance.md). */
const td_db_stmt td_engine_stmts[] = {
    {"engine_prices_upsert",
     "INSERT INTO prices_latest (symbol, price, source, updated_at)"
     " SELECT s, p, src, to_timestamp(t / 1000.0)"
     " FROM unnest($1::text[], $2::numeric[], $3::text[], $4::bigint[]) AS u(s, p, src, t)"
     " ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, source = EXCLUDED.source,"
     " updated_at = EXCLUDED.updated_at WHERE prices_latest.updated_at <= EXCLUDED.updated_at",
     4, 1},
    /* DISTINCT ON: a bar listed twice (closed, then as it was re-sent)
     * keeps its last state; ON CONFLICT may touch a row once per statement. */
    {"engine_candles_upsert",
     "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume, trades,"
     " closed) SELECT DISTINCT ON (s, i, t) s, i, to_timestamp(t / 1000.0), o, h, l, c, v, n, f"
     " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::numeric[], $5::numeric[],"
     " $6::numeric[], $7::numeric[], $8::numeric[], $9::bigint[], $10::boolean[])"
     " WITH ORDINALITY AS u(s, i, t, o, h, l, c, v, n, f, k) ORDER BY s, i, t, k DESC"
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

static void price_render(const td_engine *e, int k, td_arena *a, td_buf *b);

void td_engine_db_watch(td_engine *e)
{
    e->db_watch.db = e->db;
    td_dbwatch_update(e->lws, &e->db_watch);
}

void td_engine_redis_service(td_engine *e)
{
    td_ws_redis_service(&e->redis_watch);
}

void td_engine_db_written(void *arg, td_status st, const PGresult *res)
{
    (void)res;
    td_engine *e = arg;
    if (st == TD_OK)
        e->db_writes++;
    else
        e->db_failures++;
}

const char *td_engine_source_name(const td_engine *e, int source)
{
    return source >= 0 && source < e->nsources ? e->feeds[source].name : "median";
}

td_status td_engine_publish_init(td_engine *e)
{
    int n = td_market_nsymbols(e->market);
    td_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return TD_ENOMEM;
    p->px = calloc((size_t)n, sizeof *p->px);
    p->redis_dirty = calloc((size_t)n, sizeof(int));
    p->db_dirty = calloc((size_t)n, sizeof(int));
    p->trade_first = calloc((size_t)n, sizeof(int));
    p->trade_last = calloc((size_t)n, sizeof(int));
    p->untrimmed = calloc((size_t)n, sizeof(int));
    p->trades = calloc(TRADES_TAKE, sizeof *p->trades);
    p->trade_next = calloc(TRADES_TAKE, sizeof(int));
    td_arena_init(&p->arena, 64 * 1024);
    td_arena_init(&p->candle_arena, 64 * 1024);
    p->candle_cursor = -1;
    p->latest_wake_ms = INT64_MAX;
    e->pub = p;
    if (!p->px || !p->redis_dirty || !p->db_dirty || !p->trade_first || !p->trade_last ||
        !p->untrimmed || !p->trades || !p->trade_next)
        return TD_ENOMEM;
    static const struct {
        const char *prefix, *channel;
        void (*render)(const td_engine *, int, td_arena *, td_buf *);
    } kinds[TD_LATEST_KINDS] = {
        [TD_LATEST_PRICE] = {TD_KEY_PRICE_PREFIX, TD_CHANNEL_PRICES, price_render},
        [TD_LATEST_BOOK] = {TD_KEY_BOOK_PREFIX, TD_CHANNEL_BOOKS, td_engine_book_json},
    };
    for (int i = 0; i < TD_LATEST_KINDS; i++) {
        pub_latest *l = &p->latest[i];
        l->prefix = kinds[i].prefix;
        l->channel = kinds[i].channel;
        l->render = kinds[i].render;
        l->due = calloc((size_t)n, sizeof(int));
        if (td_throttle_init(&l->sets, n, TD_LATEST_EVERY_MS) != TD_OK || !l->due)
            return TD_ENOMEM;
    }
    return TD_OK;
}

void td_engine_publish_free(td_engine *e)
{
    td_publisher *p = e->pub;
    if (!p)
        return;
    free(p->px);
    free(p->redis_dirty);
    free(p->db_dirty);
    free(p->trade_first);
    free(p->trade_last);
    free(p->untrimmed);
    for (int i = 0; i < TD_LATEST_KINDS; i++) {
        td_throttle_free(&p->latest[i].sets);
        free(p->latest[i].due);
    }
    free(p->trades);
    free(p->trade_next);
    td_arena_free(&p->arena);
    td_arena_free(&p->candle_arena);
    free(p);
    e->pub = NULL;
}

/* The market's changed prices into the table, marked for both writers. */
static void take_prices(td_engine *e)
{
    td_publisher *p = e->pub;
    td_price_update u[ROUND_MAX];
    size_t n;
    do {
        n = td_market_take_prices(e->market, u, ROUND_MAX);
        for (size_t i = 0; i < n; i++) {
            int k = td_market_find(e->market, u[i].symbol);
            if (k < 0)
                continue;
            pub_price *x = &p->px[k];
            x->p = u[i];
            if (!x->for_redis) {
                x->for_redis = 1;
                p->redis_dirty[p->nredis_dirty++] = k;
            }
            if (!x->for_db) {
                x->for_db = 1;
                p->db_dirty[p->ndb_dirty++] = k;
            }
            if (u[i].switched)
                td_info("oracle: %s now from %s%s", u[i].symbol,
                        td_engine_source_name(e, u[i].source), u[i].stale ? " (stale)" : "");
        }
    } while (n == ROUND_MAX);
}

/* The price as the stream pushes it (GET /api/v1/prices/{symbol}'s Price:
 * {"symbol","price","source","updated_at","age_ms","stale"}, age as of now). */
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
    td_jw_str(&w, td_engine_source_name(e, p->source));
    td_jw_freshness(&w, p->updated_ms, td_wall_ms() - p->updated_ms, p->stale);
    td_jw_end(&w, '}');
    return b->len;
}

static void price_render(const td_engine *e, int k, td_arena *a, td_buf *b)
{
    price_json(e, &e->pub->px[k].p, a, b);
}

/* "<prefix><symbol>" into key (at least TD_SYMBOL_STR_MAX + 16); its length. */
static size_t symbol_key(char *key, const char *prefix, size_t plen, const char *symbol)
{
    size_t n = strlen(symbol);
    memcpy(key, prefix, plen);
    memcpy(key + plen, symbol, n + 1);
    return plen + n;
}

/* SET <prefix><name> json EX 1 day, appended to the pass's pipeline. */
static void set_latest(td_engine *e, const char *prefix, const char *name, const char *json,
                       size_t len)
{
    char key[TD_SYMBOL_STR_MAX + 24];
    size_t kn = symbol_key(key, prefix, strlen(prefix), name);
    const char *set[] = {"SET", key, json, "EX", "86400"};
    const size_t set_len[] = {3, kn, len, 2, 5};
    td_redis_async_argv(e->aredis, 5, set, set_len);
}

static void latest_set(td_engine *e, pub_latest *l, int k, const char *json, size_t len)
{
    set_latest(e, l->prefix, td_market_symbol(e->market, k), json, len);
}

void td_engine_redis_latest(td_engine *e, td_latest_kind kind, int k, const char *json, size_t len,
                            int64_t now_ms)
{
    pub_latest *l = &e->pub->latest[kind];
    td_engine_redis_publish(e, l->channel, json, len);
    if (td_throttle_change(&l->sets, k, now_ms))
        latest_set(e, l, k, json, len);
}

/* The keys whose time has come: their newest value, rendered again. */
static void latest_sweep(td_engine *e, pub_latest *l, td_arena *a, int64_t now_ms)
{
    size_t n = td_throttle_due(&l->sets, now_ms, l->due, (size_t)l->sets.nkeys);
    for (size_t i = 0; i < n; i++) {
        td_buf b = {0};
        l->render(e, l->due[i], a, &b);
        latest_set(e, l, l->due[i], b.data, b.len);
    }
}

void td_engine_on_latest_due(td_ws_timer *t)
{
    td_engine *e = lws_container_of(t, td_engine, latest_due);
    e->pub->latest_wake_ms = INT64_MAX; /* fired: the next due time schedules it again */
    td_engine_publish_redis(e);
}

/* A pass of the loop when the first throttled key comes due: at a quiet
 * moment the next pass could be the 100 ms timer's, so a key's newest
 * value waited up to a period more than the throttle's. */
static void latest_wake(td_engine *e, int64_t now_ms)
{
    int64_t due = INT64_MAX;
    for (int i = 0; i < TD_LATEST_KINDS; i++) {
        int64_t at = td_throttle_next_due(&e->pub->latest[i].sets);
        if (at < due)
            due = at;
    }
    /* Every pass gets here: the timer is moved only when its time changed. */
    if (due == INT64_MAX || due == e->pub->latest_wake_ms || !e->lws || e->stopping)
        return;
    e->pub->latest_wake_ms = due;
    td_ws_timer_schedule(&e->latest_due, due > now_ms ? (due - now_ms) * 1000 : 0);
}

void td_engine_redis_publish(td_engine *e, const char *channel, const char *json, size_t len)
{
    const char *pub[] = {"PUBLISH", channel, json};
    const size_t pub_len[] = {7, strlen(channel), len};
    td_redis_async_argv(e->aredis, 3, pub, pub_len);
}

static void redis_prices(td_engine *e, td_arena *a, int64_t now_ms)
{
    td_publisher *p = e->pub;
    for (int i = 0; i < p->nredis_dirty; i++) {
        int k = p->redis_dirty[i];
        p->px[k].for_redis = 0;
        td_buf b = {0};
        price_json(e, &p->px[k].p, a, &b);
        td_engine_redis_latest(e, TD_LATEST_PRICE, k, b.data, b.len, now_ms);
    }
    p->nredis_dirty = 0;
}

/* The REST trade item; with symbol (not NULL) as the stream pushes it. */
static size_t trade_json(const td_engine *e, const td_market_event *t, const char *symbol,
                         td_arena *a, td_buf *b)
{
    td_jw w;
    td_jw_init(&w, a, b);
    td_jw_obj(&w);
    if (symbol) {
        td_jw_key(&w, "symbol");
        td_jw_str(&w, symbol);
    }
    td_jw_key(&w, "id");
    td_jw_str(&w, t->trade_id);
    td_jw_key(&w, "price");
    td_jw_dec(&w, t->price);
    td_jw_key(&w, "quantity");
    td_jw_dec(&w, t->qty);
    td_jw_key(&w, "side");
    td_jw_str(&w, t->side == TD_SIDE_BUY ? "buy" : "sell");
    td_jw_key(&w, "time");
    td_jw_time_ms(&w, t->event_ms ? t->event_ms : t->recv_ms);
    td_jw_key(&w, "source");
    td_jw_str(&w, td_engine_source_name(e, t->source));
    td_jw_end(&w, '}');
    return b->len;
}

/* Recent trades per symbol in Redis, newest first, for GET /trades and the
 * stream's snapshot (a cache: losing it loses nothing): one LPUSH of a
 * symbol's new trades, oldest first so the newest ends at the head.  The
 * list is trimmed to TRADES_KEPT once TRIM_EVERY more have been pushed,
 * not on every pipeline (an LTRIM per symbol and pipeline was an eighth
 * of Redis' commands), so it holds at most TRADES_KEPT + TRIM_EVERY - 1
 * plus one pipeline's worth.  Returns how many trades were taken. */
static size_t redis_trades(td_engine *e, td_arena *a)
{
    td_publisher *p = e->pub;
    size_t cap = TRADES_TAKE;
    td_market_event *t = p->trades;
    size_t n = 0, got;
    while (n < cap && (got = td_market_take_trades(e->market, t + n, cap - n)) > 0)
        n += got;
    if (!n)
        return 0;
    int nsym = td_market_nsymbols(e->market);
    for (int k = 0; k < nsym; k++)
        p->trade_first[k] = -1;
    for (size_t i = 0; i < n; i++) {
        int k = td_market_find(e->market, t[i].symbol);
        p->trade_next[i] = -1;
        if (k < 0)
            continue;
        if (p->trade_first[k] < 0)
            p->trade_first[k] = (int)i;
        else
            p->trade_next[p->trade_last[k]] = (int)i;
        p->trade_last[k] = (int)i;
    }
    for (int k = 0; k < nsym; k++) {
        if (p->trade_first[k] < 0)
            continue;
        int count = 0;
        for (int i = p->trade_first[k]; i >= 0; i = p->trade_next[i])
            count++;
        const char **argv = td_arena_alloc(a, (size_t)(count + 2) * sizeof *argv);
        size_t *lens = td_arena_alloc(a, (size_t)(count + 2) * sizeof *lens);
        char key[TD_SYMBOL_STR_MAX + 16];
        argv[0] = "LPUSH";
        lens[0] = 5;
        argv[1] = key;
        lens[1] = symbol_key(key, TD_KEY_TRADES_PREFIX, sizeof TD_KEY_TRADES_PREFIX - 1,
                             td_market_symbol(e->market, k));
        int j = 2;
        td_buf live = {0}; /* the stream's trades:SYM: this pass's, one message */
        for (int i = p->trade_first[k]; i >= 0; i = p->trade_next[i], j++) {
            td_buf b = {0};
            trade_json(e, &t[i], NULL, a, &b);
            argv[j] = b.data;
            lens[j] = b.len;
            if (live.len)
                td_buf_add(a, &live, "\n", 1);
            trade_json(e, &t[i], td_market_symbol(e->market, k), a, &live);
        }
        td_engine_redis_publish(e, TD_CHANNEL_TRADES, live.data, live.len);
        td_redis_async_argv(e->aredis, j, argv, lens);
        if ((p->untrimmed[k] += count) >= TRIM_EVERY) {
            p->untrimmed[k] = 0;
            const char *trim[] = {"LTRIM", key, "0", TRADES_KEPT_LAST};
            const size_t trim_len[] = {5, lens[1], 1, sizeof TRADES_KEPT_LAST - 1};
            td_redis_async_argv(e->aredis, 4, trim, trim_len);
        }
    }
    return n;
}

static void on_pipeline(void *arg, int ok)
{
    td_engine *e = arg;
    td_publisher *p = e->pub;
    if (!p || !p->nmarks)
        return;
    uint64_t mark = p->marks[p->mark_head];
    p->mark_head = (p->mark_head + 1) % TD_PUBLISH_IN_FLIGHT;
    p->nmarks--;
    td_engine_latency_confirm(mark, ok);
    if (!ok)
        e->redis_failures++;
}

/* Trades Redis cannot take are dropped: the market's ring keeps the recent ones. */
static void drop_trades(td_engine *e)
{
    while (td_market_take_trades(e->market, e->pub->trades, TRADES_TAKE) == TRADES_TAKE)
        ;
}

void td_engine_publish_redis(td_engine *e)
{
    td_publisher *p = e->pub;
    take_prices(e);
    if (!td_redis_async_ready(e->aredis)) {
        drop_trades(e);
        td_engine_latency_unsent();
        return;
    }
    if (td_redis_async_in_flight(e->aredis) >= TD_PUBLISH_IN_FLIGHT)
        return; /* the next pipeline accumulates until Redis answers this one */
    if (p->serial != td_redis_async_serial(e->aredis)) {
        /* A new connection (Redis restarted, maybe empty): every price again. */
        p->serial = td_redis_async_serial(e->aredis);
        for (int i = 0; i < TD_LATEST_KINDS; i++)
            td_throttle_reset(&p->latest[i].sets);
        for (int k = 0; k < td_market_nsymbols(e->market); k++)
            if (p->px[k].p.symbol[0] && !p->px[k].for_redis) {
                p->px[k].for_redis = 1;
                p->redis_dirty[p->nredis_dirty++] = k;
            }
    }
    int64_t now = td_wall_ms();
    td_arena_reset(&p->arena);
    redis_prices(e, &p->arena, now);
    redis_trades(e, &p->arena);
    /* Market snapshots (tops of book, the feeds' state) join this pipeline. */
    td_engine_snapshot_append(e, &p->arena, now);
    for (int i = 0; i < TD_LATEST_KINDS; i++)
        latest_sweep(e, &p->latest[i], &p->arena, now);
    latest_wake(e, now);
    /* Everything appended since the last pipeline rides on this one: the
     * candle round's slices and what other parts of the engine publish
     * (alerts, feed states) from their callbacks, not only this pass'
     * changes; counting only these left those in the output buffer until
     * the next pass that changed a price, or the 100 ms timer. */
    uint64_t commands = td_redis_async_stats_get(e->aredis).commands;
    if (commands == p->batched) {
        td_engine_latency_unsent(); /* nothing changed that Redis holds */
        return;
    }
    p->batched = commands;
    /* The mark goes in before the batch ends: a batch whose commands
     * were all answered already (written by an earlier service) is
     * confirmed within td_redis_async_end_batch. */
    uint64_t mark = td_engine_latency_seal();
    p->marks[(p->mark_head + p->nmarks++) % TD_PUBLISH_IN_FLIGHT] = mark;
    if (td_redis_async_end_batch(e->aredis, on_pipeline, e) != TD_OK) {
        p->nmarks--;
        td_engine_latency_confirm(mark, 0);
        return;
    }
    p->pipelines++;
    td_engine_redis_service(e); /* write it now, not on the next pass */
}

/* One statement for the rows of c (store/pgarray). */
static void cols_send(td_engine *e, td_pg_cols *c, const char *stmt)
{
    const char *params[TD_PG_COLS_MAX];
    td_pg_cols_params(c, params);
    if (td_db_send(e->db, stmt, c->n, params, td_engine_db_written, e) != TD_OK)
        e->db_failures++;
}

static void db_prices(td_engine *e, td_arena *a)
{
    td_publisher *p = e->pub;
    if (!p->ndb_dirty)
        return;
    td_pg_cols c;
    td_pg_cols_init(&c, a, 4);
    for (int i = 0; i < p->ndb_dirty; i++) {
        pub_price *x = &p->px[p->db_dirty[i]];
        x->for_db = 0;
        td_pg_col_add(&c, 0, x->p.symbol);
        td_pg_col_dec(&c, 1, x->p.price);
        td_pg_col_add(&c, 2, td_engine_source_name(e, x->p.source));
        td_pg_col_int(&c, 3, (long long)x->p.updated_ms);
    }
    p->ndb_dirty = 0;
    cols_send(e, &c, "engine_prices_upsert");
}

/* A candle as the stream pushes it: the REST candle item plus symbol and
 * interval; its latest value is kept under td:candles:<sym>:<interval>
 * for the subscribe snapshot.  Appended to the open Redis pipeline, which
 * the end of this pass of the loop sends. */
static void redis_candle(td_engine *e, const td_candle_update *c, td_arena *a)
{
    if (!td_redis_async_ready(e->aredis))
        return;
    const td_candle *bar = &c->bar;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, a, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "symbol");
    td_jw_str(&w, c->symbol);
    td_jw_key(&w, "interval");
    td_jw_str(&w, td_candle_interval_name[c->interval]);
    td_jw_key(&w, "open_time");
    td_jw_time_ms(&w, bar->open_ms);
    static const char *const names[] = {"open", "high", "low", "close", "volume"};
    const td_dec d[] = {bar->open, bar->high, bar->low, bar->close, bar->volume};
    for (int j = 0; j < 5; j++) {
        td_jw_key(&w, names[j]);
        td_jw_dec(&w, d[j]);
    }
    td_jw_key(&w, "trades");
    td_jw_int(&w, (long long)bar->trades);
    td_jw_key(&w, "closed");
    td_jw_bool(&w, c->closed);
    td_jw_end(&w, '}');
    char series[TD_SYMBOL_STR_MAX + 8];
    const char *iv = td_candle_interval_name[c->interval];
    size_t sn = strnlen(c->symbol, TD_SYMBOL_STR_MAX - 1), in = strnlen(iv, 6);
    memcpy(series, c->symbol, sn);
    series[sn] = ':';
    memcpy(series + sn + 1, iv, in);
    series[sn + 1 + in] = '\0';
    /* At most one per candle and DB round (250 ms): written every time. */
    set_latest(e, TD_KEY_CANDLE_PREFIX, series, b.data, b.len);
    td_engine_redis_publish(e, TD_CHANNEL_CANDLES, b.data, b.len);
}

static void candle_statement(td_engine *e)
{
    td_publisher *p = e->pub;
    if (p->candle_rows)
        cols_send(e, &p->candle_cols, "engine_candles_upsert");
    p->candle_rows = 0;
    td_arena_reset(&p->candle_arena);
    td_pg_cols_init(&p->candle_cols, &p->candle_arena, 10);
}

/* One slice of the open candle round: up to cap bars into the round's
 * statement and the pass' Redis pipeline (a SET + PUBLISH each).  The
 * statement goes to PostgreSQL at ROUND_MAX rows and when the round's
 * scan is done.  Returns 1 while the round goes on.
 *
 * A round was one piece of work of the 100 ms timer: a thousand bars at
 * 200 symbols, rendered twice (PostgreSQL's arrays, the stream's JSON),
 * 4-20 ms in which the loop read no feed and sent Redis nothing; the
 * messages behind it were the tail of receive -> published
 * (docs/performance.md).  At 5-9 us of CPU a bar (the round's, measured
 * whole), a slice is 0.15-0.3 ms. */
static int candle_slice(td_engine *e, size_t cap)
{
    td_publisher *p = e->pub;
    if (p->candle_cursor < 0)
        return 0;
    td_candle_update c[ROUND_MAX];
    if (cap > ROUND_MAX)
        cap = ROUND_MAX;
    size_t n = td_market_take_candles_from(e->market, &p->candle_cursor, c, cap);
    td_pg_cols *k = &p->candle_cols;
    for (size_t i = 0; i < n; i++) {
        const td_candle *b = &c[i].bar;
        td_pg_col_add(k, 0, c[i].symbol);
        td_pg_col_add(k, 1, td_candle_interval_name[c[i].interval]);
        td_pg_col_int(k, 2, (long long)b->open_ms);
        const td_dec d[] = {b->open, b->high, b->low, b->close, b->volume};
        for (int j = 0; j < 5; j++)
            td_pg_col_dec(k, 3 + j, d[j]);
        td_pg_col_int(k, 8, (long long)b->trades);
        td_pg_col_add(k, 9, c[i].closed ? "t" : "f");
        p->candle_rows++;
        redis_candle(e, &c[i], &p->arena);
    }
    if (p->candle_rows >= ROUND_MAX || p->candle_cursor < 0) {
        candle_statement(e);
        td_db_service(e->db);
        td_engine_db_watch(e);
    }
    return p->candle_cursor >= 0;
}

static void on_candle_slice(lws_sorted_usec_list_t *sul)
{
    td_engine *e = lws_container_of(sul, td_engine, candle_slice);
    /* Again on the next pass (1 us ahead: not ripe in this one), after
     * the feeds were read.  The slice goes to Redis now: lws runs ripe
     * timers before it waits, so the last slice of a round would
     * otherwise wait for the next socket or timer. */
    int more = candle_slice(e, CANDLE_SLICE);
    td_engine_publish_redis(e);
    if (more && !e->stopping)
        lws_sul_schedule(e->lws, 0, &e->candle_slice, on_candle_slice, 1);
}

void td_engine_publish_db(td_engine *e, int64_t now_ms)
{
    td_publisher *p = e->pub;
    e->last_flush_ms = now_ms;
    if (td_db_pending(e->db) > PENDING_MAX)
        return; /* PostgreSQL is behind: prices and candles keep coalescing */
    take_prices(e);
    td_arena a;
    td_arena_init(&a, 64 * 1024);
    db_prices(e, &a);
    td_arena_free(&a);
    if (p->candle_cursor < 0) { /* else the last round's scan goes on */
        p->candle_cursor = 0;
        candle_statement(e); /* empty: a fresh statement */
    }
    if (e->stopping || !e->lws) {
        /* The last round, all at once: the open scan to its end, then one
         * more for the bars that moved behind its cursor. */
        while (candle_slice(e, ROUND_MAX))
            ;
        p->candle_cursor = 0;
        while (candle_slice(e, ROUND_MAX))
            ;
    } else
        lws_sul_schedule(e->lws, 0, &e->candle_slice, on_candle_slice, 1);
    td_engine_history(e, now_ms);
    td_engine_retention(e, now_ms);
    td_db_service(e->db);
}

void td_engine_publish_metrics(td_engine *e, td_arena *a, td_buf *b)
{
    td_redis_async_stats st = td_redis_async_stats_get(e->aredis);
    char line[512];
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    LINE("# HELP tradedesk_engine_redis_commands_total Commands the publisher sent Redis.\n"
         "# TYPE tradedesk_engine_redis_commands_total counter\n"
         "tradedesk_engine_redis_commands_total %llu\n",
         (unsigned long long)st.commands);
    LINE("# HELP tradedesk_engine_redis_pipelines_total Pipelines the publisher sent Redis "
         "(one per loop pass with changes, up to eight in flight).\n"
         "# TYPE tradedesk_engine_redis_pipelines_total counter\n"
         "tradedesk_engine_redis_pipelines_total %llu\n",
         (unsigned long long)e->pub->pipelines);
    LINE("# HELP tradedesk_engine_redis_errors_total Error replies, lost pipelines and failed "
         "connects of the publisher's Redis connection.\n"
         "# TYPE tradedesk_engine_redis_errors_total counter\n"
         "tradedesk_engine_redis_errors_total %llu\n",
         (unsigned long long)st.errors);
#undef LINE
    td_engine_latency_render(a, b);
}
