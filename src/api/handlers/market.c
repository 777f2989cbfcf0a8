/*
 * market.c - the public market data a trading frontend draws, beside the
 * prices (prices.c): GET /api/v1/candles, /api/v1/trades,
 * /api/v1/orderbook/{symbol} and /api/v1/market/feeds.
 *
 * Candles come from PostgreSQL (the engine's candles table); trades, tops
 * of book and the feeds' state from what the engine keeps in Redis
 * (store/keys.h), which is why those answer 503 while Redis is down.  All
 * are the same for every client: one cache entry per query serves
 * everybody, for a second.  No token; the route table limits them per
 * client address.
 */
#include "api/app.h"
#include "api/cache.h"
#include "api/columns.h"
#include "api/params.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "domain/candle.h"
#include "domain/price.h"
#include "store/keys.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANDLE_LIMIT_DEF 100
#define CANDLE_LIMIT_MAX 1000
#define TRADE_LIMIT_DEF 50
#define TRADE_LIMIT_MAX 100 /* the engine keeps this many per symbol */

const td_db_stmt td_market_stmts[] = {
    /* $3: bars opening before this (ms), NULL for the newest. */
    {"candle_list",
     "SELECT " TD_SQL_EPOCH_MS("open_time") ", open, high, low, close, volume, trades, closed"
                                            " FROM candles WHERE symbol = $1 AND interval = $2"
                                            " AND ($3::bigint IS NULL OR open_time < "
                                            "to_timestamp($3::bigint / 1000.0))"
                                            " ORDER BY open_time DESC LIMIT $4",
     4, 1},
    {"instrument_known", "SELECT 1 FROM instruments WHERE symbol = $1", 1, 1},
};
const size_t td_market_nstmts = TD_ARRAY_LEN(td_market_stmts);

static const td_cache_rule CANDLES_CACHE = {"cdl", 1, 0};
static const td_cache_rule TRADES_CACHE = {"trd", 1, 0};
static const td_cache_rule BOOK_CACHE = {"book", 1, 0};
static const td_cache_rule FEEDS_CACHE = {"feeds", 1, 0};

/* After an empty answer: 404 for a symbol that is not an instrument here
 * (returns 0), 1 when it is one (the list is just empty), 0 on failure. */
static int symbol_known(td_req *r, const char *symbol)
{
    const char *p[] = {symbol};
    PGresult *res = td_req_query(r, "instrument_known", 1, p);
    if (!res)
        return 0;
    int known = PQntuples(res) == 1;
    PQclear(res);
    if (!known)
        td_resp_error(r, TD_ERR_NOT_FOUND, "no instrument %s", symbol);
    return known;
}

/* A required canonical symbol in the query. */
static int symbol_param(td_req *r, const char **symbol)
{
    if (!td_param_symbol(r, "symbol", symbol))
        return 0;
    if (!*symbol) {
        td_resp_error(r, TD_ERR_INVALID_PARAMETER, "symbol: is required (e.g. BTC-USDT)");
        return 0;
    }
    return 1;
}

/* ---- GET /api/v1/candles ------------------------------------------ */

static int candle_write(td_jw *w, const PGresult *res, int row)
{
    static const char *const names[] = {"open", "high", "low", "close", "volume"};
    td_dec v[5];
    for (int c = 0; c < 5; c++)
        if (!td_col_dec(res, row, c + 1, &v[c]))
            return 0;
    td_jw_obj(w);
    td_jw_key(w, "open_time");
    td_jw_time_ms(w, strtoll(PQgetvalue(res, row, 0), NULL, 10));
    for (int c = 0; c < 5; c++) {
        td_jw_key(w, names[c]);
        td_jw_dec(w, v[c]);
    }
    td_jw_key(w, "trades");
    td_jw_int(w, strtoll(PQgetvalue(res, row, 6), NULL, 10));
    td_jw_key(w, "closed");
    td_jw_bool(w, PQgetvalue(res, row, 7)[0] == 't');
    td_jw_end(w, '}');
    return 1;
}

static int build_candles(td_req *r, td_jw *w)
{
    static const char *const intervals[] = {"1m", "5m", "15m", "1h", "1d", NULL};
    const char *symbol, *interval;
    int limit, has_before;
    int64_t before, cursor;
    if (!symbol_param(r, &symbol) || !td_param_enum(r, "interval", intervals, &interval) ||
        !td_param_int(r, "limit", CANDLE_LIMIT_DEF, 1, CANDLE_LIMIT_MAX, &limit) ||
        !td_param_time(r, "before", &before, &has_before) || !td_param_cursor(r, "cursor", &cursor))
        return 0;
    if (has_before && cursor) {
        td_resp_error(r, TD_ERR_INVALID_PARAMETER, "before: give before or cursor, not both");
        return 0;
    }
    if (cursor) {
        before = cursor;
        has_before = 1;
    }
    char before_s[24], limit_s[16];
    snprintf(before_s, sizeof before_s, "%lld", (long long)before);
    snprintf(limit_s, sizeof limit_s, "%d", limit + 1); /* one more: is there a next page? */
    const char *p[] = {symbol, interval ? interval : "1m", has_before ? before_s : NULL, limit_s};
    PGresult *res = td_req_query(r, "candle_list", 4, p);
    if (!res)
        return 0;
    int n = PQntuples(res);
    if (n == 0 && !symbol_known(r, symbol)) {
        PQclear(res);
        return 0;
    }
    int ok = td_jw_page(r, w, res, limit, candle_write, "candle");
    PQclear(res);
    return ok;
}

void td_h_candles(td_req *r)
{
    static const char *const allowed[] = {"symbol", "interval", "limit", "before", "cursor", NULL};
    if (td_param_only(r, allowed))
        td_cache_respond(r, &CANDLES_CACHE, build_candles);
}

/* ---- GET /api/v1/trades ------------------------------------------- */

/* A Redis reply that is no answer: 503, and 0. */
static int redis_answered(td_req *r, redisReply *rep, int type)
{
    if (rep && rep->type == type)
        return 1;
    td_resp_error(r, TD_ERR_UNAVAILABLE, "market data is unavailable (Redis)");
    return 0;
}

static int build_trades(td_req *r, td_jw *w)
{
    const char *symbol;
    int limit;
    if (!symbol_param(r, &symbol) ||
        !td_param_int(r, "limit", TRADE_LIMIT_DEF, 1, TRADE_LIMIT_MAX, &limit))
        return 0;
    redisReply *rep =
        td_redis_cmd(r->app->redis, "LRANGE " TD_KEY_TRADES " 0 %d", symbol, limit - 1);
    int ok = redis_answered(r, rep, REDIS_REPLY_ARRAY);
    if (ok && rep->elements == 0)
        ok = symbol_known(r, symbol);
    if (ok) {
        td_jw_obj(w);
        td_jw_key(w, "items");
        td_jw_arr(w);
        /* The engine wrote each as the API's Trade object (engine/publish.c). */
        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *t = rep->element[i];
            if (t->type == REDIS_REPLY_STRING && t->len > 1 && t->str[0] == '{')
                td_jw_raw(w, t->str, t->len);
        }
        td_jw_end(w, ']');
        td_jw_key(w, "next_cursor");
        td_jw_null(w);
        td_jw_end(w, '}');
    }
    if (rep)
        freeReplyObject(rep);
    return ok;
}

void td_h_trades(td_req *r)
{
    static const char *const allowed[] = {"symbol", "limit", NULL};
    if (td_param_only(r, allowed))
        td_cache_respond(r, &TRADES_CACHE, build_trades);
}

/* ---- GET /api/v1/orderbook/{symbol} ------------------------------- */

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* A decimal member of the engine's JSON, re-checked as fixed point. */
static int jdec(json_object *o, const char *key, td_dec *out)
{
    const char *s = jstr(o, key);
    return s && td_dec_parse(s, strlen(s), out) == TD_OK;
}

static int jtime(json_object *o, const char *key, int64_t *ms)
{
    const char *s = jstr(o, key);
    return s && td_rfc3339_parse_ms(s, strlen(s), ms) == TD_OK;
}

static int book_write(td_req *r, td_jw *w, json_object *o)
{
    static const char *const sides[] = {"bid", "bid_qty", "ask", "ask_qty"};
    td_dec v[4];
    int64_t at;
    const char *symbol = jstr(o, "symbol"), *source = jstr(o, "source");
    for (int i = 0; i < 4; i++)
        if (!jdec(o, sides[i], &v[i]))
            return 0;
    if (!symbol || !source || !jtime(o, "updated_at", &at))
        return 0;
    int64_t age = td_wall_ms() - at;
    if (age < 0)
        age = 0;
    td_jw_obj(w);
    td_jw_key(w, "symbol");
    td_jw_str(w, symbol);
    for (int i = 0; i < 4; i++) {
        td_jw_key(w, sides[i]);
        td_jw_dec(w, v[i]);
    }
    td_jw_key(w, "source");
    td_jw_str(w, source);
    td_jw_freshness(w, at, age, td_price_stale(age, r->app->cfg.price_stale_ms));
    td_jw_end(w, '}');
    return 1;
}

/* The JSON object the engine stored at a key: NULL with r answered (503
 * Redis down; `absent` with its message when there is none; 500
 * unreadable). */
static json_object *engine_json(td_req *r, const char *key, td_err absent, const char *why)
{
    redisReply *rep = td_redis_cmd(r->app->redis, "GET %s", key);
    if (rep && rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        td_resp_error(r, absent, "%s", why);
        return NULL;
    }
    if (!redis_answered(r, rep, REDIS_REPLY_STRING)) {
        if (rep)
            freeReplyObject(rep);
        return NULL;
    }
    json_object *o = json_tokener_parse(rep->str);
    freeReplyObject(rep);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        td_resp_error(r, TD_ERR_INTERNAL, "stored market data is unreadable");
        return NULL;
    }
    return o;
}

static int build_book(td_req *r, td_jw *w)
{
    const char *symbol = r->path_args[0];
    char key[64];
    snprintf(key, sizeof key, TD_KEY_BOOK, symbol);
    char absent[80];
    snprintf(absent, sizeof absent, "no order book for %s", symbol);
    json_object *o = engine_json(r, key, TD_ERR_NOT_FOUND, absent);
    if (!o)
        return 0;
    int ok = book_write(r, w, o);
    json_object_put(o);
    if (!ok)
        td_resp_error(r, TD_ERR_INTERNAL, "stored order book is unreadable");
    return ok;
}

void td_h_orderbook(td_req *r)
{
    if (td_param_none(r) && td_path_symbol(r, 0))
        td_cache_respond(r, &BOOK_CACHE, build_book);
}

/* ---- GET /api/v1/market/feeds ------------------------------------- */

static int jint(json_object *o, const char *key, long long *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    *out = (long long)json_object_get_int64(v);
    return 1;
}

/* One feed as the engine reported it at `at`, its ages moved on to now. */
static int feed_write(td_jw *w, json_object *f, int64_t since_ms)
{
    static const char *const counters[] = {"messages", "events", "parse_errors", "reconnects",
                                           "lag_ms"};
    const char *source = jstr(f, "source"), *state = jstr(f, "state");
    long long v[5];
    for (int i = 0; i < 5; i++)
        if (!jint(f, counters[i], &v[i]))
            return 0;
    if (!source || !state)
        return 0;
    td_jw_obj(w);
    td_jw_key(w, "source");
    td_jw_str(w, source);
    td_jw_key(w, "state");
    td_jw_str(w, state);
    for (int i = 0; i < 5; i++) {
        td_jw_key(w, counters[i]);
        td_jw_int(w, v[i]);
    }
    long long age;
    td_jw_key(w, "last_message_age_ms");
    if (jint(f, "last_message_age_ms", &age))
        td_jw_int(w, age + since_ms);
    else
        td_jw_null(w);
    td_jw_end(w, '}');
    return 1;
}

static int build_feeds(td_req *r, td_jw *w)
{
    /* Absent: expired, so the engine stopped reporting. */
    json_object *o =
        engine_json(r, TD_KEY_FEEDS, TD_ERR_UNAVAILABLE, "the market data engine is not reporting");
    if (!o)
        return 0;
    int64_t at;
    json_object *feeds;
    int ok = jtime(o, "at", &at) && json_object_object_get_ex(o, "feeds", &feeds) &&
             json_object_is_type(feeds, json_type_array);
    if (ok) {
        int64_t since = td_wall_ms() - at;
        td_jw_obj(w);
        td_jw_key(w, "items");
        td_jw_arr(w);
        for (size_t i = 0; ok && i < json_object_array_length(feeds); i++)
            ok = feed_write(w, json_object_array_get_idx(feeds, i), since < 0 ? 0 : since);
        td_jw_end(w, ']');
        td_jw_key(w, "next_cursor");
        td_jw_null(w);
        td_jw_key(w, "updated_at");
        td_jw_time_ms(w, at);
        td_jw_end(w, '}');
    }
    json_object_put(o);
    if (!ok)
        td_resp_error(r, TD_ERR_INTERNAL, "stored feed state is unreadable");
    return ok;
}

void td_h_market_feeds(td_req *r)
{
    if (td_param_none(r))
        td_cache_respond(r, &FEEDS_CACHE, build_feeds);
}
