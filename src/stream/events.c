/*
 * events.c - a user's event channels, fills and orders: each user's
 * events to that user's sockets only, none lost and none twice, in event
 * id order.  One path for both; what differs is a row of LOGS.
 *
 *   fills   td:fills carries "<user id> <fill>" (engine/relay.c), the
 *           event id is the fill's id; the Stream td:fills:<user>, entry
 *           "<fill id>-0", field fill; older ones from PostgreSQL's fills.
 *   orders  td:orders carries "<user id> <event id> <type> <data>"; the
 *           Stream td:orders:<user>, entry "<event id>-0", fields type and
 *           data (sql/010_order_events.sql: the order as REST shows it, or
 *           another writer's event such as the drawdown guard's, pushed as
 *           {"type":T,"channel":"orders","id":..,"data":D} whatever T is);
 *           older ones from the outbox rows retention still keeps.
 *
 * Live: the event goes to the sockets of fills#<user id> or orders#<user
 * id>.  Replay: subscribe with since reads the user's Stream after since
 * (XRANGE exclusive).  The switch has no gap and no duplicate: the relay
 * XADDs an event before it PUBLISHes it, the subscription is open before
 * the replay reads, and each socket keeps, per channel, the newest id it
 * was given (last) and drops anything at or below it: a user's events are
 * relayed in id order (relay.c), so a smaller id is always one already
 * delivered.  The same rule drops the channels' rare duplicates.
 *
 * When since is older than the Stream's first entry (trimmed, or lost with
 * Redis), the part the Stream lacks is read from PostgreSQL first, in
 * pages, then the Stream; order events older than what the outbox still
 * holds (sql/010's outbox_deleted: retention took rows after since)
 * cannot be, and the client is told resync_required
 * (never a silent gap) and reads REST.  PostgreSQL is read on the loop
 * through the blocking face: only on this path (a reconnect from far
 * back), a page at most as large as the socket's queue has room for, on
 * an index, under the stream's short statement timeout (main.c); a
 * PostgreSQL that fails mid-replay ends it with resync_required.
 * A replay is paced by the client: it reads as much as the socket's queue
 * has room for and goes on as the client reads; live messages meanwhile
 * are left to it (the relay XADDs before it PUBLISHes, so the replay finds
 * them), and only once it has read the Stream's end is the channel live
 * again.  A subscription without since starts at the Stream's newest
 * entry, so after a Redis outage (a gap in pub/sub) every subscriber
 * catches up from its Stream (td_log_catch_up) and an event published
 * meanwhile still arrives once.  A socket whose queue cannot take an event
 * is told resync_required with the last id it was given, then closed.
 */
#include "stream/stream.h"
#include "core/log.h"
#include "store/keys.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_PAGE 500
#define REPLAY_PAGE_S "500"

/* A fill as the outbox carries it (sql/008's payload, openapi's Fill). */
#define FILL_JSON                                                                                  \
    "jsonb_build_object('id', id::text, 'order_id', order_id::text, 'symbol', symbol, 'side', "   \
    "side, 'quantity', td_money_text(quantity), 'price', td_money_text(price), 'realized_pnl', "  \
    "td_money_text(realized_pnl), 'position_id', position_id::text, 'created_at', "               \
    "td_time_text(created_at), 'trace_id', (SELECT o.trace_id FROM conditional_orders o "         \
    "WHERE o.id = fills.order_id))::text"

const td_db_stmt td_stream_stmts[] = {
    /* A user's events after $2 and before $3 (0: no bound), oldest first:
     * id, type, data (ordered by the table's id: the output's id is text). */
    {"stream_fills_after",
     "SELECT id::text, 'fill', " FILL_JSON " FROM fills WHERE user_id = $1 AND id > $2::bigint"
     " AND ($3::bigint = 0 OR id < $3::bigint) ORDER BY fills.id LIMIT $4::int",
     4, 1},
    {"stream_orders_after",
     "SELECT id::text, payload->>'type', (payload->'data')::text FROM outbox"
     " WHERE topic = 'orders' AND key = $1::text AND id > $2::bigint"
     " AND ($3::bigint = 0 OR id < $3::bigint) AND published_at IS NOT NULL"
     " ORDER BY outbox.id LIMIT $4::int",
     4, 1},
    /* The highest outbox id ever deleted (sql/010): every order event
     * after since is still there when since is at or past it. */
    {"stream_orders_kept", "SELECT through FROM outbox_deleted", 0, 1},
};
const size_t td_stream_nstmts = sizeof td_stream_stmts / sizeof td_stream_stmts[0];

typedef struct log_def {
    const char *channel;   /* the client's name, and fills#<user> / orders#<user> */
    const char *key;       /* the Stream's key (a format of the user id) */
    const char *type;      /* the push's type when the entry has none */
    const char *data;      /* the entry's field holding the data */
    const char *after;     /* the PostgreSQL statement of older events */
    const char *kept;      /* and of how far back it reaches (NULL: all of it) */
    const char *rest;      /* where the client reads what it missed */
} log_def;

static const log_def LOGS[TD_LOGS] = {
    [TD_LOG_FILLS] = {"fills", TD_KEY_FILLS, "fill", "fill", "stream_fills_after", NULL,
                      "GET /api/v1/fills?since=%s"},
    [TD_LOG_ORDERS] = {"orders", TD_KEY_ORDERS, NULL, "data", "stream_orders_after",
                       "stream_orders_kept", "GET /api/v1/orders/conditional"},
};

int td_log_of(int chan_kind)
{
    return chan_kind == TD_CH_FILLS ? TD_LOG_FILLS : chan_kind == TD_CH_ORDERS ? TD_LOG_ORDERS : -1;
}

static void resync(td_stream *st, td_sock *s, int k, const char *why)
{
    char last[24], rest[64];
    snprintf(last, sizeof last, "%lld", s->log[k].last);
    snprintf(rest, sizeof rest, LOGS[k].rest, last);
    st->st.resyncs++;
    s->replaying &= ~(1u << k);
    td_sock_error(st, s, "resync_required", LOGS[k].channel, last, "%s; read %s", why, rest);
    td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

/* A push's type: a lower-case word (the relay's rule), as it goes into
 * the JSON unescaped. */
static int type_ok(const char *t, size_t n)
{
    if (n < 1 || n > 32 || t[0] < 'a' || t[0] > 'z')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return 0;
    return 1;
}

/* Give s event id of log k (type, JSON data) unless it had it; 0 when s
 * had to be closed. */
static int deliver(td_stream *st, td_sock *s, int k, long long id, const char *type, size_t tlen,
                   const char *data, size_t len)
{
    if (id <= s->log[k].last || s->closing)
        return 1;
    char ids[24], t[40];
    if (!type_ok(type, tlen) || !len)
        return 1; /* the relay refuses these: never in a Stream */
    memcpy(t, type, tlen);
    t[tlen] = '\0';
    snprintf(ids, sizeof ids, "%lld", id);
    td_msg *m = td_push_new(t, LOGS[k].channel, ids, data, len, 0);
    if ((int)(s->pushed - s->popped) >= s->qlimit || td_sock_push(st, s, m, NULL) != 0) {
        td_msg_unref(m);
        resync(st, s, k, "too far behind");
        return 0;
    }
    td_msg_unref(m);
    s->log[k].last = id;
    return 1;
}

static int digits(const char *p, size_t n)
{
    if (n < 1 || n > 18)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

void td_log_live(td_stream *st, int k, const char *msg, size_t len)
{
    /* "<user> <rest>": fills "<fill>", orders "<id> <type> <data>". */
    const char *end = msg + len, *sp = memchr(msg, ' ', len);
    if (!sp || !digits(msg, (size_t)(sp - msg)))
        return;
    char name[64];
    snprintf(name, sizeof name, "%s#%.*s", LOGS[k].channel, (int)(sp - msg), msg);
    td_channel *ch = td_channel_find(st, name);
    if (!ch)
        return;
    const char *data = sp + 1, *type = LOGS[k].type;
    size_t tlen = type ? strlen(type) : 0;
    long long id;
    char idtext[24];
    if (k == TD_LOG_FILLS) {
        if (!td_json_field(data, (size_t)(end - data), "id", idtext, sizeof idtext) ||
            !digits(idtext, strlen(idtext)))
            return;
        id = strtoll(idtext, NULL, 10);
    } else {
        const char *a = memchr(data, ' ', (size_t)(end - data));
        const char *b = a ? memchr(a + 1, ' ', (size_t)(end - a - 1)) : NULL;
        if (!b || !digits(data, (size_t)(a - data)))
            return;
        id = strtoll(data, NULL, 10);
        type = a + 1;
        tlen = (size_t)(b - type);
        data = b + 1;
    }
    size_t dlen = (size_t)(end - data);
    for (int i = 0; i < ch->n; i++)
        if (!(ch->members[i]->replaying & (1u << k))) /* the replay reads it from the Stream */
            deliver(st, ch->members[i], k, id, type, tlen, data, dlen);
}

/* One page of log k from PostgreSQL into s's queue: how many rows came
 * (the page was the last when fewer than want), -1 on failure. */
static int page_pg(td_stream *st, td_sock *s, int k, int want)
{
    char u[24], a[24], b[24], n[16];
    snprintf(u, sizeof u, "%lld", (long long)s->user_id);
    snprintf(a, sizeof a, "%lld", s->log[k].last);
    snprintf(b, sizeof b, "%lld", s->log[k].pg_until);
    snprintf(n, sizeof n, "%d", want);
    const char *params[] = {u, a, b, n};
    td_status rc;
    PGresult *r = td_db_exec(st->db, LOGS[k].after, 4, params, &rc);
    if (!r)
        return -1;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && !s->closing; i++)
        deliver(st, s, k, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                (size_t)PQgetlength(r, i, 1), PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
    PQclear(r);
    return rows;
}

/* One page of log k from the user's Stream: how many entries came, -1
 * when Redis could not answer. */
static int page_stream(td_stream *st, td_sock *s, int k, int want)
{
    char key[64], user[24], from[32];
    snprintf(user, sizeof user, "%lld", (long long)s->user_id);
    snprintf(key, sizeof key, LOGS[k].key, user);
    snprintf(from, sizeof from, "(%lld-0", s->log[k].last);
    redisReply *r = td_redis_cmd(st->redis, "XRANGE %s %s + COUNT %d", key, from, want);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    int n = (int)r->elements;
    for (int i = 0; i < n && !s->closing; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        redisReply *f = e->element[1];
        const char *type = LOGS[k].type, *data = NULL;
        size_t tlen = type ? strlen(type) : 0, dlen = 0;
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            redisReply *name = f->element[j], *v = f->element[j + 1];
            if (name->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(name->str, LOGS[k].data) == 0) {
                data = v->str;
                dlen = v->len;
            } else if (strcmp(name->str, "type") == 0) {
                type = v->str;
                tlen = v->len;
            }
        }
        if (data && type)
            deliver(st, s, k, strtoll(e->element[0]->str, NULL, 10), type, tlen, data, dlen);
    }
    freeReplyObject(r);
    return n;
}

/* Go on with log k's replay into s's queue, as much as the queue has room
 * for; the rest when the client has read some (td_log_resume from
 * protocol.c's WRITEABLE).  Ends the replay when the Stream has nothing
 * more; -1 when Redis could not answer (the replay stays pending:
 * td_log_tick tries again). */
static int replay(td_stream *st, td_sock *s, int k)
{
    while ((s->replaying & (1u << k)) && !s->closing) {
        int room = s->qlimit - (int)(s->pushed - s->popped);
        if (room <= 0)
            break; /* resumed once the client reads */
        int want = room < REPLAY_PAGE ? room : REPLAY_PAGE;
        uint64_t before = s->pushed;
        if (s->log[k].pg) {
            int n = page_pg(st, s, k, want);
            if (n < 0) {
                resync(st, s, k, "cannot read the older events from the database now");
                return -1;
            }
            if (n < want)
                s->log[k].pg = 0; /* the Stream has the rest */
        } else {
            int n = page_stream(st, s, k, want);
            if (n < 0) {
                st->st.replay_retries++;
                st->replay_retry = 1; /* td_log_tick tries again */
                return -1;
            }
            if (n < want)
                s->replaying &= ~(1u << k); /* caught up: live from here */
        }
        st->st.replayed += s->pushed - before;
    }
    return 0;
}

void td_log_resume(td_stream *st, td_sock *s)
{
    for (int k = 0; k < TD_LOGS; k++)
        if (s->replaying & (1u << k))
            replay(st, s, k);
}

void td_log_tick(td_stream *st)
{
    /* A paused replay goes on from WRITEABLE as its client reads; only
     * one that Redis failed waits for this timer, so only then are the
     * sockets visited. */
    if (!st->replay_retry)
        return;
    st->replay_retry = 0;
    for (td_sock *s = st->socks; s; s = s->next)
        if (s->replaying && !s->closing && (int)(s->pushed - s->popped) < s->qlimit / 2)
            td_log_resume(st, s);
}

/* The Stream's first entry id (0: empty or absent), and the newest;
 * -1 when Redis could not answer. */
static int stream_bounds(td_stream *st, td_sock *s, int k, long long *first, long long *last)
{
    char key[64], user[24];
    snprintf(user, sizeof user, "%lld", (long long)s->user_id);
    snprintf(key, sizeof key, LOGS[k].key, user);
    *first = *last = 0;
    redisReply *a = td_redis_cmd(st->redis, "XRANGE %s - + COUNT 1", key);
    redisReply *b = a ? td_redis_cmd(st->redis, "XREVRANGE %s + - COUNT 1", key) : NULL;
    int ok = a && b && a->type == REDIS_REPLY_ARRAY && b->type == REDIS_REPLY_ARRAY;
    if (ok && a->elements == 1 && a->element[0]->elements == 2)
        *first = strtoll(a->element[0]->element[0]->str, NULL, 10);
    if (ok && b->elements == 1 && b->element[0]->elements == 2)
        *last = strtoll(b->element[0]->element[0]->str, NULL, 10);
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    return ok ? 0 : -1;
}

/* 1 when PostgreSQL still holds every event of log k after since, 0 when
 * some may be gone, -1 when it could not say. */
static int pg_reaches(td_stream *st, int k, long long since)
{
    if (!LOGS[k].kept)
        return 1;
    td_status rc;
    PGresult *r = td_db_exec(st->db, LOGS[k].kept, 0, NULL, &rc);
    if (!r)
        return -1;
    long long through = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : LLONG_MAX;
    PQclear(r);
    return since >= through;
}

void td_log_subscribe(td_stream *st, td_sock *s, int k, const char *since)
{
    const char *name = LOGS[k].channel;
    long long first, last;
    if (stream_bounds(st, s, k, &first, &last) != 0) {
        td_sock_error(st, s, "internal", name, NULL, "cannot read the %s log now; try again", name);
        return;
    }
    if (!since) {
        if (last > s->log[k].last)
            s->log[k].last = last; /* live from here; a Redis gap replays after it */
        return;
    }
    long long from = strtoll(since, NULL, 10);
    st->st.replays++;
    s->log[k].last = from;
    s->log[k].pg = 0;
    if (first == 0 || from < first - 1) {
        /* Entries between since and first may be trimmed or lost: those
         * from PostgreSQL first (up to first; all of them when the Stream
         * is empty). */
        int c = pg_reaches(st, k, from);
        if (c < 0) {
            td_sock_error(st, s, "internal", name, NULL, "cannot read the %s now; try again", name);
            return;
        }
        if (!c) {
            resync(st, s, k, "since is older than the events kept");
            return;
        }
        s->log[k].pg = 1;
        s->log[k].pg_until = first;
    }
    s->replaying |= 1u << k;
    td_log_resume(st, s);
}

void td_log_catch_up(td_stream *st)
{
    for (td_sock *s = st->socks; s; s = s->next)
        for (int i = 0; i < s->nsubs; i++) {
            int k = td_log_of(s->subs[i].ch->kind);
            if (k >= 0 && !s->closing && !(s->replaying & (1u << k))) {
                /* (a replay under way goes on where it is: a part it
                 * still reads from PostgreSQL is not in the Stream) */
                s->replaying |= 1u << k;
                s->log[k].pg = 0;
            }
        }
    for (td_sock *s = st->socks; s; s = s->next)
        if (s->replaying && !s->closing)
            td_log_resume(st, s);
}
