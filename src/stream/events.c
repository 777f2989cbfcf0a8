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

/* The key of s's user's Stream of log k. */
static void log_key(const td_sock *s, int k, char key[64])
{
    char user[24];
    snprintf(user, sizeof user, "%lld", (long long)s->user_id);
    snprintf(key, 64, LOGS[k].key, user);
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
    for (int i = 0; i < ch->n; i++) {
        td_sock *s = ch->members[i];
        if (!(s->replaying & (1u << k)))
            deliver(st, s, k, id, type, tlen, data, dlen);
        else if (id > s->log[k].seen)
            s->log[k].seen = id; /* the replay reads it from the Stream */
    }
}

/* A read for log k of a socket: bounds (subscribe), a page, the reach. */
typedef struct log_wait {
    td_wait w;
    int k;
    unsigned gen; /* the subscribe it reads for */
    int want;
    long long since; /* subscribe: the client's since, -1 none */
    long long first, last;
} log_wait;

static void replay(td_stream *st, td_sock *s, int k);

static log_wait *log_wait_new(td_stream *st, td_sock *s, int k, int want)
{
    log_wait *lw = td_wait_new(st, s, sizeof *lw);
    if (lw) {
        lw->k = k;
        lw->gen = s->log[k].gen;
        lw->want = want;
    }
    return lw;
}

/* The subscribe that started log k's replay is answered: s's later
 * messages may go on. */
static void unhold(td_stream *st, td_sock *s, int k)
{
    if (s->log[k].hold) {
        s->log[k].hold = 0;
        td_sock_release(st, s);
    }
}

/* A page's reply: s when it is still wanted (the same subscribe, still
 * replaying), with its log and page size; the wait is freed either way.
 * A page read for an earlier subscribe is dropped; the current one's
 * replay, which waited for it to finish, goes on. */
static td_sock *page_for(log_wait *lw, int *k_out, int *want)
{
    td_stream *st = lw->w.st;
    td_sock *s = lw->w.s;
    int k = *k_out = lw->k, current = s && lw->gen == s->log[k].gen;
    *want = lw->want;
    td_wait_free(&lw->w);
    if (!s)
        return NULL;
    s->log[k].fetching = 0;
    if (!current) {
        if ((s->replaying & (1u << k)) && !s->closing)
            replay(st, s, k);
        return NULL;
    }
    if (!(s->replaying & (1u << k)) || s->closing) {
        unhold(st, s, k);
        return NULL;
    }
    return s;
}

/* A page of PostgreSQL's rows in. */
static void on_page_pg(void *arg, td_status rc, const PGresult *r)
{
    log_wait *lw = arg;
    td_stream *st = lw->w.st;
    int k, want;
    td_sock *s = page_for(lw, &k, &want);
    if (!s)
        return;
    if (rc != TD_OK) {
        unhold(st, s, k);
        resync(st, s, k, "cannot read the older events from the database now");
        return;
    }
    uint64_t before = s->pushed;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && !s->closing; i++)
        deliver(st, s, k, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                (size_t)PQgetlength(r, i, 1), PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
    st->st.replayed += s->pushed - before;
    if (rows < want)
        s->log[k].pg = 0; /* the Stream has the rest */
    replay(st, s, k);
}

/* A page of the user's Stream in (NULL: Redis did not answer). */
static void on_page_stream(void *arg, redisReply *r)
{
    log_wait *lw = arg;
    td_stream *st = lw->w.st;
    int k, want;
    td_sock *s = page_for(lw, &k, &want);
    if (!s)
        return;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        st->st.replay_retries++;
        st->replay_retry = 1; /* td_log_tick tries again */
        unhold(st, s, k);
        return;
    }
    uint64_t before = s->pushed;
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
    st->st.replayed += s->pushed - before;
    /* Caught up: live from here.  Unless a live event held back while
     * this page was read is newer than it: the Stream had it before it
     * was published, so one more page has it. */
    if (n < want && (s->log[k].seen <= s->log[k].last || n == 0))
        s->replaying &= ~(1u << k);
    replay(st, s, k);
}

/* Go on with log k's replay into s's queue: the next page, as much as the
 * queue has room for, read unless one is already being read; the rest
 * when the client has read some (td_log_resume from protocol.c's
 * WRITEABLE).  The Stream having nothing more ends the replay; Redis not
 * answering leaves it pending (td_log_tick tries again). */
static void replay(td_stream *st, td_sock *s, int k)
{
    td_log_pos *p = &s->log[k];
    if (p->fetching || p->starting)
        return;
    int room = s->qlimit - (int)(s->pushed - s->popped);
    if (!(s->replaying & (1u << k)) || s->closing || room <= 0) {
        unhold(st, s, k); /* caught up, or paused until the client reads */
        return;
    }
    int want = room < REPLAY_PAGE ? room : REPLAY_PAGE;
    log_wait *lw = log_wait_new(st, s, k, want);
    if (!lw) {
        st->replay_retry = 1;
        unhold(st, s, k);
        return;
    }
    td_status rc;
    if (p->pg) {
        char u[24], a[24], b[24], n[16];
        snprintf(u, sizeof u, "%lld", (long long)s->user_id);
        snprintf(a, sizeof a, "%lld", p->last);
        snprintf(b, sizeof b, "%lld", p->pg_until);
        snprintf(n, sizeof n, "%d", want);
        const char *params[] = {u, a, b, n};
        rc = td_db_send(st->db, LOGS[k].after, 4, params, on_page_pg, lw);
    } else {
        char key[64], from[32];
        log_key(s, k, key);
        snprintf(from, sizeof from, "(%lld-0", p->last);
        rc = td_redis_async_command(st->ar, on_page_stream, lw, "XRANGE %s %s + COUNT %d", key,
                                    from, want);
    }
    if (rc != TD_OK) {
        td_wait_free(&lw->w);
        unhold(st, s, k);
        if (p->pg) {
            resync(st, s, k, "cannot read the older events from the database now");
        } else {
            st->st.replay_retries++;
            st->replay_retry = 1;
        }
        return;
    }
    p->fetching = 1;
    td_stream_kick(st);
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

/* The subscribe's reads are over: a failure is said on its channel. */
static void subscribe_failed(td_stream *st, td_sock *s, int k, const char *what)
{
    const char *name = LOGS[k].channel;
    s->log[k].starting = 0;
    s->replaying &= ~(1u << k);
    td_sock_error(st, s, "internal", name, NULL, "cannot read the %s %s now; try again", name, what);
    unhold(st, s, k);
}

/* Since is known to be within reach: the replay starts (from PostgreSQL
 * when pg). */
static void replay_start(td_stream *st, td_sock *s, int k, int pg, long long pg_until)
{
    s->log[k].starting = 0;
    s->log[k].pg = pg;
    s->log[k].pg_until = pg_until;
    s->replaying |= 1u << k;
    replay(st, s, k);
}

/* How far back the outbox reaches, for a since older than the Stream. */
static void on_reach(void *arg, td_status rc, const PGresult *r)
{
    log_wait *lw = arg;
    td_stream *st = lw->w.st;
    td_sock *s = lw->w.s;
    int k = lw->k;
    long long since = lw->since, first = lw->first;
    int stale = s && lw->gen != s->log[k].gen;
    td_wait_free(&lw->w);
    if (!s || stale)
        return;
    if (rc != TD_OK) {
        subscribe_failed(st, s, k, "log");
        return;
    }
    long long through = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : LLONG_MAX;
    if (since < through) {
        s->log[k].starting = 0;
        unhold(st, s, k);
        resync(st, s, k, "since is older than the events kept");
        return;
    }
    replay_start(st, s, k, 1, first);
}

/* The Stream's first and newest entries are known (0: empty): live from
 * the newest, or a replay from since. */
static void bounds_known(td_stream *st, td_sock *s, log_wait *lw)
{
    int k = lw->k;
    long long first = lw->first, last = lw->last, from = lw->since;
    if (from < 0) {
        if (last > s->log[k].last)
            s->log[k].last = last; /* live from here; a Redis gap replays after it */
        td_wait_free(&lw->w);
        if (s->log[k].seen > s->log[k].last) {
            replay_start(st, s, k, 0, 0); /* published while the bounds were read */
            return;
        }
        s->log[k].starting = 0;
        s->replaying &= ~(1u << k);
        unhold(st, s, k);
        return;
    }
    st->st.replays++;
    s->log[k].last = from;
    s->log[k].pg = 0;
    if (first == 0 || from < first - 1) {
        /* Entries between since and first may be trimmed or lost: those
         * from PostgreSQL first (up to first; all of them when the Stream
         * is empty), if it still holds them all. */
        if (LOGS[k].kept) {
            if (td_db_send(st->db, LOGS[k].kept, 0, NULL, on_reach, lw) == TD_OK) {
                td_stream_kick(st);
                return;
            }
            td_wait_free(&lw->w);
            subscribe_failed(st, s, k, "log");
            return;
        }
        td_wait_free(&lw->w);
        replay_start(st, s, k, 1, first);
        return;
    }
    td_wait_free(&lw->w);
    replay_start(st, s, k, 0, 0);
}

/* An entry id of an XRANGE/XREVRANGE COUNT 1 reply (0: none); -1 when
 * the reply is not one. */
static long long bound_of(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    if (r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 && r->element[0]->element[0]->type == REDIS_REPLY_STRING)
        return strtoll(r->element[0]->element[0]->str, NULL, 10);
    return 0;
}

/* A bound's reply: s when it is still this subscribe's and the reply
 * is one (*id); otherwise NULL, the wait freed and a failure said. */
static td_sock *bound_for(log_wait *lw, const redisReply *r, long long *id)
{
    td_stream *st = lw->w.st;
    td_sock *s = lw->w.s;
    int k = lw->k, current = s && lw->gen == s->log[k].gen;
    *id = bound_of(r);
    if (current && *id >= 0)
        return s;
    td_wait_free(&lw->w);
    if (current)
        subscribe_failed(st, s, k, "log");
    return NULL;
}

static void on_newest(void *arg, redisReply *r)
{
    log_wait *lw = arg;
    td_sock *s = bound_for(lw, r, &lw->last);
    if (s)
        bounds_known(lw->w.st, s, lw);
}

static void on_first(void *arg, redisReply *r)
{
    log_wait *lw = arg;
    td_stream *st = lw->w.st;
    td_sock *s = bound_for(lw, r, &lw->first);
    if (!s)
        return;
    char key[64];
    log_key(s, lw->k, key);
    if (td_redis_async_command(st->ar, on_newest, lw, "XREVRANGE %s + - COUNT 1", key) != TD_OK) {
        int k = lw->k;
        td_wait_free(&lw->w);
        subscribe_failed(st, s, k, "log");
        return;
    }
    td_stream_kick(st);
}

void td_log_subscribe(td_stream *st, td_sock *s, int k, const char *since)
{
    /* An earlier replay of this log stops here; a page of it still being
     * read is dropped when it comes (gen). */
    s->log[k].gen++;
    /* Live events wait from here (seen), for the replay or the bounds. */
    s->replaying |= 1u << k;
    s->log[k].starting = 1;
    s->log[k].seen = 0;
    log_wait *lw = log_wait_new(st, s, k, 0);
    if (!lw) {
        s->log[k].starting = 0;
        s->replaying &= ~(1u << k);
        td_sock_error(st, s, "internal", LOGS[k].channel, NULL, "out of memory");
        return;
    }
    lw->since = since ? strtoll(since, NULL, 10) : -1;
    if (!s->log[k].hold) {
        s->log[k].hold = 1;
        td_sock_hold(s);
    }
    char key[64];
    log_key(s, k, key);
    if (td_redis_async_command(st->ar, on_first, lw, "XRANGE %s - + COUNT 1", key) != TD_OK) {
        td_wait_free(&lw->w);
        subscribe_failed(st, s, k, "log");
        return;
    }
    td_stream_kick(st);
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
