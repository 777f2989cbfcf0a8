/*
 * fills.c - the fills channel: a user's fills, to that user's sockets
 * only, none lost and none twice.
 *
 * Live: td:fills carries "<user id> <fill>" (engine/relay.c); the fill
 * goes to the sockets of fills#<user id>.  Replay: subscribe with since
 * reads the user's Stream td:fills:<user> after since (XRANGE exclusive;
 * entry id "<fill id>-0").  The switch has no gap and no duplicate: the
 * relay XADDs a fill before it PUBLISHes it, the subscription is open
 * before the replay reads, and each socket keeps the newest fill id it
 * was given (last_fill) and drops anything at or below it: a user's
 * fills are numbered in order (relay.c), so a smaller id is always one
 * already delivered.  The same rule drops the channel's rare duplicates.
 *
 * When the Stream cannot prove it holds everything after since (it was
 * trimmed past it, or lost with Redis), PostgreSQL says whether the user
 * has fills in the part the Stream lacks; if so the client is told
 * resync_required (never a silent gap) and reads GET /api/v1/fills.
 * A replay is paced by the client: it reads as much of the Stream as
 * the socket's queue has room for and goes on as the client reads; live
 * messages meanwhile are left to it (the relay XADDs before it
 * PUBLISHes, so the replay finds them), and only once it has read the
 * Stream's end is the socket live again.
 * A subscription without since starts at the Stream's newest entry, so
 * after a Redis outage (a gap in pub/sub) every subscriber catches up
 * from its Stream (td_fills_catch_up) and a fill published meanwhile
 * still arrives once.  A socket whose queue cannot take a fill is told
 * resync_required with the last id it was given, then closed.
 */
#include "stream/stream.h"
#include "core/log.h"
#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_PAGE 500

static void resync(td_stream *st, td_sock *s, const char *why)
{
    char last[24];
    snprintf(last, sizeof last, "%lld", s->last_fill);
    st->st.resyncs++;
    td_sock_error(st, s, "resync_required", "fills", last, "%s; read GET /api/v1/fills?since=%s",
                  why, last);
    td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

/* Give s the fill id (its JSON data) unless it had it; 0 when s had to
 * be closed. */
static int deliver(td_stream *st, td_sock *s, long long id, const char *data, size_t len)
{
    if (id <= s->last_fill || s->closing)
        return 1;
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", id);
    td_msg *m = td_push_new("fill", "fills", ids, data, len, 0);
    if ((int)(s->pushed - s->popped) >= s->qlimit || td_sock_push(st, s, m, NULL) != 0) {
        td_msg_unref(m);
        resync(st, s, "too far behind on fills");
        return 0;
    }
    td_msg_unref(m);
    s->last_fill = id;
    return 1;
}

void td_fills_live(td_stream *st, const char *msg, size_t len)
{
    const char *sp = memchr(msg, ' ', len);
    if (!sp || sp == msg || sp - msg > 20)
        return;
    char user[24];
    memcpy(user, msg, (size_t)(sp - msg));
    user[sp - msg] = '\0';
    const char *data = sp + 1;
    size_t dlen = len - (size_t)(sp - msg) - 1;
    char name[64], id[24];
    snprintf(name, sizeof name, "fills#%s", user);
    td_channel *ch = td_channel_find(st, name);
    if (!ch)
        return;
    if (!td_json_field(data, dlen, "id", id, sizeof id) || !id[0] ||
        strspn(id, "0123456789") != strlen(id))
        return;
    long long fid = strtoll(id, NULL, 10);
    for (int i = 0; i < ch->n; i++)
        if (!ch->members[i]->replaying) /* the replay reads it from the Stream */
            deliver(st, ch->members[i], fid, data, dlen);
}

/* Read the Stream after s->last_fill into s's queue, as much as the
 * queue has room for; the rest when the client has read some
 * (td_fills_resume from protocol.c's WRITEABLE).  Ends the replay when
 * the Stream has nothing more; -1 when Redis could not answer (the
 * replay stays pending: td_fills_tick tries again). */
static long replay_stream(td_stream *st, td_sock *s)
{
    char key[64], user[24];
    snprintf(user, sizeof user, "%lld", (long long)s->user_id);
    snprintf(key, sizeof key, TD_KEY_FILLS, user);
    long total = 0;
    while (s->replaying && !s->closing) {
        int room = s->qlimit - (int)(s->pushed - s->popped);
        if (room <= 0)
            break; /* resumed once the client reads */
        int want = room < REPLAY_PAGE ? room : REPLAY_PAGE;
        char from[32];
        snprintf(from, sizeof from, "(%lld-0", s->last_fill);
        redisReply *r = td_redis_cmd(st->redis, "XRANGE %s %s + COUNT %d", key, from, want);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            if (r)
                freeReplyObject(r);
            st->st.replay_retries++;
            return -1;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n && !s->closing; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY || e->element[1]->elements < 2)
                continue;
            long long id = strtoll(e->element[0]->str, NULL, 10);
            redisReply *v = e->element[1]->element[1];
            if (v->type == REDIS_REPLY_STRING && deliver(st, s, id, v->str, v->len))
                total++;
        }
        freeReplyObject(r);
        if ((int)n < want)
            s->replaying = 0; /* caught up: live from here */
    }
    st->st.replayed += (uint64_t)total;
    return total;
}

void td_fills_resume(td_stream *st, td_sock *s)
{
    if (s->replaying)
        replay_stream(st, s);
}

void td_fills_tick(td_stream *st)
{
    for (td_sock *s = st->socks; s; s = s->next)
        if (s->replaying && !s->closing && (int)(s->pushed - s->popped) < s->qlimit / 2)
            replay_stream(st, s);
}

/* The Stream's first entry id (0: empty or absent), and the newest;
 * -1 when Redis could not answer. */
static int stream_bounds(td_stream *st, td_sock *s, long long *first, long long *last)
{
    char key[64], user[24];
    snprintf(user, sizeof user, "%lld", (long long)s->user_id);
    snprintf(key, sizeof key, TD_KEY_FILLS, user);
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

const td_db_stmt td_stream_stmts[] = {
    /* Fills of the user after since and before the Stream's first entry
     * (0: the Stream holds none): what a replay from the Stream would miss. */
    {"stream_fills_missing",
     "SELECT count(*) FROM fills WHERE user_id = $1 AND id > $2::bigint"
     " AND ($3::bigint = 0 OR id < $3::bigint)",
     3, 1},
};
const size_t td_stream_nstmts = sizeof td_stream_stmts / sizeof td_stream_stmts[0];

/* 1 when PostgreSQL says the Stream lacks none of the user's fills after
 * since; 0 when it lacks some; -1 when PostgreSQL could not say. */
static int stream_complete(td_stream *st, td_sock *s, long long since, long long first)
{
    char u[24], a[24], b[24];
    snprintf(u, sizeof u, "%lld", (long long)s->user_id);
    snprintf(a, sizeof a, "%lld", since);
    snprintf(b, sizeof b, "%lld", first);
    const char *params[] = {u, a, b};
    td_status rc;
    PGresult *r = td_db_exec(st->db, "stream_fills_missing", 3, params, &rc);
    if (!r)
        return -1;
    int complete = strtoll(PQgetvalue(r, 0, 0), NULL, 10) == 0;
    PQclear(r);
    return complete;
}

void td_fills_subscribe(td_stream *st, td_sock *s, td_sub *sub, const char *since)
{
    (void)sub;
    long long first, last;
    if (stream_bounds(st, s, &first, &last) != 0) {
        td_sock_error(st, s, "internal", "fills", NULL, "cannot read the fills log now; try again");
        return;
    }
    if (!since) {
        if (last > s->last_fill)
            s->last_fill = last; /* live from here; a Redis gap replays after it */
        return;
    }
    long long from = strtoll(since, NULL, 10);
    st->st.replays++;
    if (first == 0 || from < first) { /* entries between since and first may be trimmed */
        int c = stream_complete(st, s, from, first);
        if (c < 0) {
            td_sock_error(st, s, "internal", "fills", NULL, "cannot check the fills now; try again");
            return;
        }
        if (!c) {
            s->last_fill = from;
            resync(st, s, "the fills log no longer reaches back to since");
            return;
        }
    }
    s->last_fill = from;
    s->replaying = 1;
    td_fills_resume(st, s);
}

void td_fills_catch_up(td_stream *st)
{
    for (td_sock *s = st->socks; s; s = s->next)
        for (int i = 0; i < s->nsubs; i++)
            if (s->subs[i].ch->kind == TD_CH_FILLS && !s->closing) {
                s->replaying = 1;
                td_fills_resume(st, s);
            }
}
