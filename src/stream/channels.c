/*
 * channels.c - the channel registry and the market channels: Redis
 * pub/sub in (one subscription of the stream's own on every channel it
 * serves), each message fanned out once to the channel's subscribers,
 * and the subscribe snapshot (latest price, top of book, current candle):
 * the channel's latest message, or for its first subscriber the value the
 * engine keeps beside each channel in Redis.
 *
 * Redis channel -> client channel: td:px -> prices:SYM, td:book ->
 * book:SYM, td:trades -> trades:SYM (a message per trade line),
 * td:candles -> candles:SYM:INTERVAL
 * (the symbol, and interval, read from the payload, which the engine
 * writes first), td:market -> market, td:fills -> fills and td:orders ->
 * orders (events.c),
 * td:inval -> sessions (ops.c).  The payload is the REST object and is
 * passed through as "data" untouched, but for prices and tops of book,
 * whose age_ms and stale are said as of the push (REST says them as of
 * the request).
 */
#include "stream/stream.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "domain/candle.h"
#include "domain/price.h"
#include "domain/symbol.h"
#include "store/keys.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS (sizeof((td_stream *)0)->buckets / sizeof(td_channel *))

static size_t bucket(const char *name)
{
    return (size_t)(td_hash_str(name) % NBUCKETS);
}

td_channel *td_channel_find(td_stream *st, const char *name)
{
    for (td_channel *c = st->buckets[bucket(name)]; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

td_channel *td_channel_join(td_stream *st, const char *name, td_chan_kind kind, td_sock *s)
{
    td_channel *c = td_channel_find(st, name);
    if (!c) {
        if (strlen(name) >= sizeof c->name || !(c = calloc(1, sizeof *c)))
            return NULL;
        snprintf(c->name, sizeof c->name, "%s", name);
        c->kind = kind;
        size_t b = bucket(name);
        c->next = st->buckets[b];
        st->buckets[b] = c;
    }
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 4;
        td_sock **m = realloc(c->members, (size_t)cap * sizeof *m);
        if (!m)
            return NULL;
        c->members = m;
        c->cap = cap;
    }
    c->members[c->n++] = s;
    return c;
}

void td_channel_leave(td_stream *st, td_channel *ch, td_sock *s)
{
    for (int i = 0; i < ch->n; i++)
        if (ch->members[i] == s) {
            ch->members[i] = ch->members[--ch->n];
            break;
        }
    if (ch->n)
        return;
    td_channel **p = &st->buckets[bucket(ch->name)];
    while (*p && *p != ch)
        p = &(*p)->next;
    if (*p)
        *p = ch->next;
    free(ch->members);
    free(ch->last);
    free(ch);
}

td_msg *td_push_new(const char *type, const char *channel, const char *id, const char *data,
                    size_t len, int snapshot)
{
    size_t cap = len + strlen(type) + strlen(channel) + (id ? strlen(id) : 0) + 96;
    char stack[4096], *p = cap <= sizeof stack ? stack : malloc(cap);
    if (!p)
        return NULL;
    /* type, channel and id are ours (a channel name is validated ASCII
     * without quotes), data is JSON the engine wrote. */
    int n = snprintf(p, cap, "{\"type\":\"%s\",\"channel\":\"%s\"%s%s%s,\"data\":", type, channel,
                     id ? ",\"id\":\"" : "", id ? id : "", id ? "\"" : "");
    memcpy(p + n, data, len);
    n += (int)len;
    n += snprintf(p + n, cap - (size_t)n, "%s}", snapshot ? ",\"snapshot\":true" : "");
    td_msg *m = td_msg_new(p, (size_t)n);
    if (p != stack)
        free(p);
    return m;
}

int td_json_field(const char *json, size_t len, const char *key, char *out, size_t cap)
{
    char pat[32];
    int pn = snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *end = json + len, *p = memmem(json, len, pat, (size_t)pn);
    if (!p)
        return 0;
    p += pn;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p++ != '"')
        return 0;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q || (size_t)(q - p) >= cap)
        return 0;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 1;
}

/* A price or top of book as REST shows it (the OpenAPI Price and
 * OrderBookTop): the engine's object with age_ms and stale said as of
 * now, by the API's rule (domain/price, TRADEDESK_PRICE_STALE_MS).  The
 * text is written into out (malloc'd, the caller frees); NULL when data
 * is not such an object. */
static char *with_freshness(td_stream *st, const char *data, size_t len, size_t *out_len)
{
    json_tokener *tok = json_tokener_new_ex(4);
    json_object *o = tok ? json_tokener_parse_ex(tok, data, (int)len) : NULL;
    if (tok)
        json_tokener_free(tok);
    json_object *u;
    int64_t updated;
    char *out = NULL;
    if (o && json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "updated_at", &u) &&
        json_object_is_type(u, json_type_string) &&
        td_rfc3339_parse_ms(json_object_get_string(u), (size_t)json_object_get_string_len(u),
                            &updated) == TD_OK) {
        int64_t age = td_wall_ms() - updated;
        if (age < 0)
            age = 0;
        json_object_object_add(o, "age_ms", json_object_new_int64(age));
        json_object_object_add(o, "stale",
                               json_object_new_boolean(td_price_stale(age, st->cfg.price_stale_ms)));
        const char *text =
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *out_len = strlen(text);
        out = strndup(text, *out_len);
    }
    json_object_put(o);
    return out;
}

/* Keep data as ch's latest (its next subscriber's snapshot). */
static void remember(td_channel *ch, const char *data, size_t len)
{
    char *copy = len <= ch->last_len && ch->last ? ch->last : malloc(len + 1);
    if (!copy)
        return;
    if (copy != ch->last) {
        free(ch->last);
        ch->last = copy;
    }
    memcpy(copy, data, len);
    copy[len] = '\0';
    ch->last_len = len;
}

static int has_snapshot(td_chan_kind kind)
{
    return kind == TD_CH_PRICES || kind == TD_CH_BOOK || kind == TD_CH_CANDLES;
}

static void fan_out(td_stream *st, const char *channel, const char *type, const char *data,
                    size_t len, int conflate)
{
    td_channel *ch = td_channel_find(st, channel);
    if (!ch || !ch->n)
        return;
    ch->pushes++;
    if (has_snapshot(ch->kind))
        remember(ch, data, len);
    size_t flen = 0;
    char *fresh = ch->kind == TD_CH_PRICES || ch->kind == TD_CH_BOOK
                      ? with_freshness(st, data, len, &flen)
                      : NULL;
    td_msg *m = fresh ? td_push_new(type, channel, NULL, fresh, flen, 0)
                      : td_push_new(type, channel, NULL, data, len, 0);
    free(fresh);
    if (!m)
        return;
    for (int i = 0; i < ch->n; i++)
        td_sock_push(st, ch->members[i], m, conflate ? ch : NULL);
    td_msg_unref(m);
}

static void market(td_stream *st, const char *prefix, const char *type, const char *msg,
                   size_t len, int with_interval, int conflate)
{
    char sym[TD_SYMBOL_STR_MAX], iv[8], name[64];
    if (!td_json_field(msg, len, "symbol", sym, sizeof sym))
        return;
    if (with_interval) {
        if (!td_json_field(msg, len, "interval", iv, sizeof iv))
            return;
        snprintf(name, sizeof name, "%s%s:%s", prefix, sym, iv);
    } else {
        snprintf(name, sizeof name, "%s%s", prefix, sym);
    }
    fan_out(st, name, type, msg, len, conflate);
}

static void on_message(const char *channel, const char *msg, size_t len, void *arg)
{
    td_stream *st = arg;
    st->st.redis_messages++;
    if (strcmp(channel, TD_CHANNEL_PRICES) == 0)
        market(st, "prices:", "price", msg, len, 0, 1);
    else if (strcmp(channel, TD_CHANNEL_BOOKS) == 0)
        market(st, "book:", "book", msg, len, 0, 1);
    else if (strcmp(channel, TD_CHANNEL_CANDLES) == 0)
        market(st, "candles:", "candle", msg, len, 1, 1);
    else if (strcmp(channel, TD_CHANNEL_TRADES) == 0)
        for (const char *p = msg, *end = msg + len; p < end;) { /* one line per trade */
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            market(st, "trades:", "trade", p, n, 0, 0);
            p += n + 1;
        }
    else if (strcmp(channel, TD_CHANNEL_MARKET) == 0)
        fan_out(st, "market", "market", msg, len, 0);
    else if (strcmp(channel, TD_CHANNEL_FILLS) == 0)
        td_log_live(st, TD_LOG_FILLS, msg, len);
    else if (strcmp(channel, TD_CHANNEL_ORDERS) == 0)
        td_log_live(st, TD_LOG_ORDERS, msg, len);
    else if (strcmp(channel, TD_INVAL_CHANNEL) == 0)
        td_stream_inval(st, msg, len);
}

td_status td_stream_sub_open(td_stream *st)
{
    static const char *const channels[] = {TD_CHANNEL_PRICES, TD_CHANNEL_BOOKS,  TD_CHANNEL_TRADES,
                                           TD_CHANNEL_CANDLES, TD_CHANNEL_MARKET, TD_CHANNEL_FILLS,
                                           TD_CHANNEL_ORDERS, TD_INVAL_CHANNEL};
    st->sub = td_redis_sub_open_many(st->cfg.redis_url, st->cfg.redis_timeout_ms, channels,
                                     (int)(sizeof channels / sizeof channels[0]));
    st->sub_loop.fd = -1;
    return st->sub ? TD_OK : TD_ENOMEM;
}

static void sub_service(void *arg)
{
    td_stream_sub_poll(arg);
}

void td_stream_sub_poll(td_stream *st)
{
    int gap = 0;
    st->sub_ok = td_redis_sub_poll_many(st->sub, on_message, st, &gap);
    if (gap && st->sub_seen)
        st->catch_up = 1;
    if (gap)
        st->sub_seen = 1;
    if (st->catch_up && st->sub_ok) {
        /* Messages may have been missed (Redis restarted, the link broke).
         * Now that Redis has confirmed the subscription, everything
         * published from here on arrives; what came before is read back:
         * fills and orders from the Streams, sessions checked again. */
        st->catch_up = 0;
        st->st.redis_gaps++;
        td_info("redis subscription back after a gap; catching up");
        td_log_catch_up(st);
        td_stream_sessions_check(st, td_wall_ms(), 1);
    }
    st->sub_loop.service = sub_service;
    st->sub_loop.arg = st;
    td_ws_loop_fd(st->lws, &st->sub_loop, td_redis_sub_fd(st->sub), td_redis_sub_serial(st->sub),
                  0);
}

/* ---- the connections for reads (store/redis_async, store/db) ------------ */

void td_stream_service(td_stream *st)
{
    td_ws_redis_service(&st->arw);
    td_db_service(st->db);
    td_dbwatch_update(st->lws, &st->dbw);
}

static void on_kick(lws_sorted_usec_list_t *sul)
{
    td_stream *st = lws_container_of(sul, td_stream, kick);
    st->kicked = 0;
    td_stream_service(st);
}

void td_stream_kick(td_stream *st)
{
    if (st->kicked || st->stopping)
        return;
    /* Not serviced here: this runs inside the connections' own callbacks. */
    st->kicked = 1;
    lws_sul_schedule(st->lws, 0, &st->kick, on_kick, 1);
}

/* ---- snapshots ------------------------------------------------------------ */

/* The snapshot of sub queued on s from its channel's latest value. */
static void snapshot_push(td_stream *st, td_sock *s, td_sub *sub, const char *type)
{
    const char *data = sub->ch->last;
    size_t len = sub->ch->last_len, flen = 0;
    char *fresh = sub->ch->kind == TD_CH_CANDLES ? NULL : with_freshness(st, data, len, &flen);
    td_msg *m = fresh ? td_push_new(type, sub->name, NULL, fresh, flen, 1)
                      : td_push_new(type, sub->name, NULL, data, len, 1);
    free(fresh);
    td_sock_push(st, s, m, NULL); /* not conflated: the snapshot comes first */
    td_msg_unref(m);
}

/* A first subscriber's snapshot being read from Redis. */
typedef struct snap_wait {
    td_wait w;
    char name[64];    /* the subscription's (client's) name */
    const char *type; /* the push's type */
    uint64_t pushes;  /* the channel's count when asked */
} snap_wait;

static void on_snapshot(void *arg, redisReply *r)
{
    snap_wait *sw = arg;
    td_stream *st = sw->w.st;
    td_sock *s = sw->w.s;
    td_sub *sub = NULL;
    for (int i = 0; s && i < s->nsubs && !sub; i++)
        if (strcmp(s->subs[i].name, sw->name) == 0)
            sub = &s->subs[i];
    /* A live message fanned out meanwhile went to s and is newer than
     * this reply: it stands for the snapshot. */
    if (sub && sub->ch->pushes == sw->pushes) {
        if (!sub->ch->last && r && r->type == REDIS_REPLY_STRING)
            remember(sub->ch, r->str, r->len);
        if (sub->ch->last)
            snapshot_push(st, s, sub, sw->type);
    }
    td_wait_free(&sw->w);
    if (s)
        td_sock_release(st, s);
}

void td_channel_snapshot(td_stream *st, td_sock *s, td_sub *sub)
{
    const char *name = sub->name, *type = NULL;
    char key[96];
    switch (sub->ch->kind) {
    case TD_CH_PRICES:
        snprintf(key, sizeof key, TD_KEY_PRICE, name + strlen("prices:"));
        type = "price";
        break;
    case TD_CH_BOOK:
        snprintf(key, sizeof key, TD_KEY_BOOK, name + strlen("book:"));
        type = "book";
        break;
    case TD_CH_CANDLES:
        snprintf(key, sizeof key, TD_KEY_CANDLE_PREFIX "%s", name + strlen("candles:"));
        type = "candle";
        break;
    default:
        return; /* trades and market: live only */
    }
    if (sub->ch->last) {
        snapshot_push(st, s, sub, type);
        return;
    }
    /* The channel's latest pushed value is what Redis holds (the engine
     * SETs the key before it PUBLISHes it): asked only by a channel's
     * first subscriber, whose later messages wait for the answer (so the
     * snapshot keeps its place, right after "subscribed"). */
    snap_wait *sw = td_wait_new(st, s, sizeof *sw);
    if (!sw)
        return;
    snprintf(sw->name, sizeof sw->name, "%s", name);
    sw->type = type;
    sw->pushes = sub->ch->pushes;
    if (td_redis_async_command(st->ar, on_snapshot, sw, "GET %s", key) != TD_OK) {
        td_wait_free(&sw->w); /* no Redis now: live messages only */
        return;
    }
    td_sock_hold(s);
    td_stream_kick(st);
}
