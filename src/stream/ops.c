/*
 * ops.c - what a client asks (PRODUCT.md, "WebSocket protocol";
 * asyncapi.yaml): auth, subscribe, unsubscribe, ping; and the sessions
 * behind authenticated sockets: a revoked session (td:inval, or
 * PostgreSQL's revocation epoch for revocations Redis never carried) or
 * an expired token closes the socket after an error message.
 *
 * auth follows the API's rules exactly: core/token's verifier with the
 * same settings (td_token_config_of) and store/session's check, fed
 * without waiting: the session entry from Redis (MGET of it and the
 * mark), PostgreSQL's session_lookup when Redis cannot say, each
 * continued in its reply (a `check`, a td_wait).  The socket's later
 * messages wait until the auth is answered.  A bad client message is
 * answered with an error and changes nothing (message.c parses and
 * checks it).
 */
#include "stream/stream.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sessions_sync(td_stream *st, int64_t now_ms);
static void end_session(td_stream *st, td_sock *s, const char *code, const char *why);
static void revoke_sid(td_stream *st, const char *sid);

/* A message that is not what the protocol says: answered, and counted
 * towards closing a socket that sends nothing else. */
static void bad(td_stream *st, td_sock *s, const char *code, const char *channel,
                const char *msg)
{
    td_sock_bad(st, s, code, channel, LWS_CLOSE_STATUS_POLICY_VIOLATION, msg);
}

static void reply_channels(td_stream *st, td_sock *s, const char *type, const char *const *names,
                           int n)
{
    td_arena a;
    td_arena_init(&a, 4096);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, &a, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "type");
    td_jw_str(&w, type);
    td_jw_key(&w, "channels");
    td_jw_arr(&w);
    for (int i = 0; i < n; i++)
        td_jw_str(&w, names[i]);
    td_jw_end(&w, ']');
    td_jw_end(&w, '}');
    td_sock_send(st, s, b.data, b.len);
    td_arena_free(&a);
}

/* The channel of a session's sockets ("sid#<sid>"): auth joins it,
 * revocation finds them there. */
static void session_channel_name(char out[72], const char *sid)
{
    snprintf(out, 72, "sid#%s", sid);
}

/* The auth answered once its session check has: s joins its user's and
 * session's channels. */
static void auth_finish(td_stream *st, td_sock *s, const td_claims *cl, td_status ss)
{
    if (s->closing)
        return;
    if (ss == TD_EUNAVAIL) {
        td_sock_error(st, s, "internal", NULL, NULL, "cannot check the session now; try again");
        return;
    }
    if (ss != TD_OK) {
        td_sock_error(st, s, "session_revoked", NULL, NULL, "the session is no longer valid");
        return;
    }
    td_claims c = *cl;
    char name[64];
    snprintf(name, sizeof name, "user#%lld", (long long)c.user_id);
    td_channel *mine = td_channel_find(st, name);
    if (mine && mine->n >= st->cfg.stream_per_user) {
        st->st.limit_closes++;
        td_sock_error(st, s, "rate_limited", NULL, NULL, "at most %d sockets per user",
                      st->cfg.stream_per_user);
        td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    char sname[72];
    session_channel_name(sname, c.sid);
    td_channel *u = td_channel_join(st, name, TD_CH_USER, s);
    if (u && !(s->session = td_channel_join(st, sname, TD_CH_SESSION, s)))
        td_channel_leave(st, u, s);
    if (!u || !s->session) {
        td_sock_error(st, s, "internal", NULL, NULL, "out of memory");
        return;
    }
    s->authed = 1;
    st->nauthed++;
    s->user_id = c.user_id;
    s->exp = c.exp;
    if (c.exp + st->tok.leeway_s < st->exp_next_s)
        st->exp_next_s = c.exp + st->tok.leeway_s;
    memcpy(s->sid, c.sid, sizeof s->sid);
    td_arena a;
    td_arena_init(&a, 256);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, &a, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "type");
    td_jw_str(&w, "authed");
    td_jw_key(&w, "user_id");
    td_jw_int(&w, (long long)c.user_id);
    td_jw_key(&w, "expires_at");
    td_jw_time_ms(&w, (long long)c.exp * 1000);
    td_jw_end(&w, '}');
    td_sock_send(st, s, b.data, b.len);
    td_arena_free(&a);
}

/* ---- the session check, continued in its replies --------------------------- */

/* store/session's check (td_session_check's rules, its verdict functions)
 * for an auth (the socket held until it is answered) or a recheck of an
 * authenticated socket (closed when the session is gone). */
typedef struct td_check {
    td_wait w;
    int auth;
    td_claims c;
    struct td_check *next; /* auths waiting for the revocation sync */
    /* An auth's place among the pending auths, oldest first: past
     * due_ms it is answered "try again" (answered) and its socket goes
     * on; the reply, when it comes, then only frees it. */
    struct td_check *aprev, *anext;
    int64_t due_ms;
    int answered;
    int revoked; /* a revocation of its session came while it was checked */
} td_check;

/* A revocation reaching the stream while an auth of that session (sid)
 * or user (sid NULL) is being checked: Redis may have answered from
 * before it, so the auth is refused whatever the check says. */
static void revoke_pending(td_stream *st, const char *sid, int64_t user_id)
{
    for (td_check *k = st->auths; k; k = k->anext)
        if (sid ? strcmp(k->c.sid, sid) == 0 : k->c.user_id == user_id)
            k->revoked = 1;
}

/* Leave the pending auths. */
static void auth_unlink(td_stream *st, td_check *k)
{
    if (k->aprev)
        k->aprev->anext = k->anext;
    else if (st->auths == k)
        st->auths = k->anext;
    if (k->anext)
        k->anext->aprev = k->aprev;
    else if (st->auths_tail == k)
        st->auths_tail = k->aprev;
    k->aprev = k->anext = NULL;
}

static void check_done(td_check *k, td_status ss)
{
    td_stream *st = k->w.st;
    td_sock *s = k->w.s;
    int auth = k->auth && !k->answered;
    if (auth)
        auth_unlink(st, k);
    if (k->revoked && ss == TD_OK)
        ss = TD_EDENIED;
    if (s && auth)
        auth_finish(st, s, &k->c, ss);
    else if (s && ss == TD_EDENIED && s->authed && !s->closing) {
        st->st.revoked_closes++;
        end_session(st, s, "session_revoked", "the session was revoked");
    }
    td_wait_free(&k->w);
    if (s && auth)
        td_sock_release(st, s); /* its later messages now */
}

static void on_lookup(void *arg, td_status rc, const PGresult *res)
{
    td_check *k = arg;
    if (!k->w.s || rc != TD_OK) {
        check_done(k, rc);
        return;
    }
    td_stream *st = k->w.st;
    td_session_cache c;
    td_status ss = td_session_lookup_verdict(res, k->c.user_id, &c);
    if (c.ttl_s > 0 &&
        td_redis_async_command(st->ar, NULL, NULL, td_session_cache_fmt(&c), k->c.sid,
                               c.value, c.ttl_s) == TD_OK)
        td_stream_kick(st);
    check_done(k, ss);
}

static void check_db(td_check *k)
{
    td_stream *st = k->w.st;
    const char *p[] = {k->c.sid};
    if (td_db_send(st->db, "session_lookup", 1, p, on_lookup, k) != TD_OK) {
        check_done(k, TD_EUNAVAIL);
        return;
    }
    td_stream_kick(st);
}

static void on_entry(void *arg, redisReply *r)
{
    td_check *k = arg;
    if (!k->w.s) {
        check_done(k, TD_EUNAVAIL);
        return;
    }
    td_session_verdict v =
        r && r->type == REDIS_REPLY_ARRAY && r->elements == 2
            ? td_session_replies_verdict(r->element[0], r->element[1], k->w.st->rev.pg,
                                         k->c.user_id)
            : TD_SESSION_ASK_DB; /* Redis did not answer: PostgreSQL does */
    if (v == TD_SESSION_VALID)
        check_done(k, TD_OK);
    else if (v == TD_SESSION_DENIED)
        check_done(k, TD_EDENIED);
    else
        check_db(k);
}

static void check_start(td_check *k)
{
    td_stream *st = k->w.st;
    if (!k->w.s || k->answered) {
        check_done(k, TD_EUNAVAIL);
        return;
    }
    char key[96];
    snprintf(key, sizeof key, TD_KEY_SESSION, k->c.sid);
    if (td_redis_async_command(st->ar, on_entry, k, "MGET %s %s", key, TD_KEY_REV_EPOCH) == TD_OK)
        td_stream_kick(st);
    else
        check_db(k); /* no Redis connection now */
}

static void op_auth(td_stream *st, td_sock *s, const td_client_msg *m)
{
    if (s->authed) {
        td_sock_error(st, s, "already_authed", NULL, NULL, "this socket is already authenticated");
        return;
    }
    td_claims c;
    int expired = 0;
    if (td_token_verify_ex(&st->tok, m->token, time(NULL), &c, &expired) != TD_OK) {
        if (expired)
            td_sock_error(st, s, "token_expired", NULL, NULL, "the token has expired");
        else
            td_sock_error(st, s, "invalid_token", NULL, NULL, "invalid token");
        return;
    }
    td_check *k = td_wait_new(st, s, sizeof *k);
    if (!k) {
        td_sock_error(st, s, "internal", NULL, NULL, "out of memory");
        return;
    }
    k->auth = 1;
    k->c = c;
    td_sock_hold(s);
    int64_t now_ms = td_wall_ms();
    k->due_ms = now_ms + st->cfg.redis_timeout_ms + TD_STREAM_AUTH_SLACK_MS;
    k->aprev = st->auths_tail;
    if (st->auths_tail)
        st->auths_tail->anext = k;
    else
        st->auths = k;
    st->auths_tail = k;
    /* The newest epoch PostgreSQL knows, at most a second old: a sync
     * under way (or due, started now) is waited for, unless it is late. */
    sessions_sync(st, now_ms);
    if (st->rev_busy && now_ms - st->rev_started_ms < TD_STREAM_SYNC_WAIT_MS) {
        k->next = st->rev_waiters;
        st->rev_waiters = k;
    } else {
        check_start(k);
    }
}

static td_sub *sub_of(td_sock *s, const char *name)
{
    for (int i = 0; i < s->nsubs; i++)
        if (strcmp(s->subs[i].name, name) == 0)
            return &s->subs[i];
    return NULL;
}

static void op_subscribe(td_stream *st, td_sock *s, const td_client_msg *m)
{
    int fresh = 0;
    for (int i = 0; i < m->n; i++) {
        if ((m->kinds[i] == TD_CH_FILLS || m->kinds[i] == TD_CH_ORDERS) && !s->authed) {
            td_sock_error(st, s, "auth_required", m->channels[i], NULL, "%s needs auth first",
                          m->channels[i]);
            return;
        }
        fresh += !sub_of(s, m->channels[i]);
    }
    if (s->nsubs + fresh > st->cfg.stream_max_subs) {
        td_sock_error(st, s, "too_many_subscriptions", NULL, NULL,
                      "at most %d channels per socket", st->cfg.stream_max_subs);
        return;
    }
    reply_channels(st, s, "subscribed", m->channels, m->n);
    for (int i = 0; i < m->n; i++) {
        td_sub *sub = sub_of(s, m->channels[i]);
        int log = td_log_of(m->kinds[i]);
        if (sub) {
            if (log >= 0 && m->since)
                td_log_subscribe(st, s, log, m->since); /* a replay asked again */
            continue;
        }
        char key[64];
        if (log >= 0) /* a user's own: fills#<id>, orders#<id> */
            snprintf(key, sizeof key, "%s#%lld", m->channels[i], (long long)s->user_id);
        else
            snprintf(key, sizeof key, "%s", m->channels[i]);
        td_channel *ch = NULL;
        if (!(sub = td_sock_sub_add(st, s)) ||
            !(ch = td_channel_join(st, key, (td_chan_kind)m->kinds[i], s))) {
            if (sub)
                s->nsubs--;
            td_sock_error(st, s, "internal", m->channels[i], NULL, "out of memory");
            continue;
        }
        *sub = (td_sub){.ch = ch, .pending_seq = UINT64_MAX};
        snprintf(sub->name, sizeof sub->name, "%s", m->channels[i]);
        st->nsubs[m->kinds[i]]++;
        if (log >= 0)
            td_log_subscribe(st, s, log, m->since);
        else
            td_channel_snapshot(st, s, sub);
    }
}

static void op_unsubscribe(td_stream *st, td_sock *s, const td_client_msg *m)
{
    for (int i = 0; i < m->n; i++) {
        td_sub *sub = sub_of(s, m->channels[i]);
        if (!sub)
            continue;
        td_channel *ch = sub->ch;
        int log = td_log_of(ch->kind);
        if (log >= 0)
            s->replaying &= ~(1u << log); /* a replay under way stops with it */
        td_sock_forget(s, ch);
        st->nsubs[ch->kind]--;
        *sub = s->subs[--s->nsubs];
        td_channel_leave(st, ch, s);
    }
    reply_channels(st, s, "unsubscribed", m->channels, m->n);
}

void td_stream_op(td_stream *st, td_sock *s, const char *text, size_t len)
{
    td_client_msg m;
    td_status rc = td_client_msg_parse(text, len, st->cfg.stream_max_subs, &m);
    if (rc == TD_ENOMEM) {
        td_sock_error(st, s, "internal", NULL, NULL, "out of memory");
    } else if (rc != TD_OK && strcmp(m.code, "too_many_subscriptions") == 0) {
        td_sock_error(st, s, m.code, NULL, NULL, "at most %d channels per socket",
                      st->cfg.stream_max_subs);
    } else if (rc != TD_OK) {
        bad(st, s, m.code, m.channel, m.why);
    } else {
        s->garbage = 0;
        switch (m.op) {
        case TD_OP_PING:
            td_sock_send(st, s, "{\"type\":\"pong\"}", 15);
            break;
        case TD_OP_AUTH:
            op_auth(st, s, &m);
            break;
        case TD_OP_SUBSCRIBE:
            op_subscribe(st, s, &m);
            break;
        case TD_OP_UNSUBSCRIBE:
            op_unsubscribe(st, s, &m);
            break;
        }
    }
    td_client_msg_free(&m);
}

/* ---- sessions ------------------------------------------------------------- */

static void end_session(td_stream *st, td_sock *s, const char *code, const char *why)
{
    if (s->closing)
        return;
    td_sock_error(st, s, code, NULL, NULL, "%s", why);
    td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

static void revoke_sid(td_stream *st, const char *sid)
{
    revoke_pending(st, sid, 0);
    char name[72];
    session_channel_name(name, sid);
    td_channel *c = td_channel_find(st, name); /* its sockets, not every socket */
    for (int i = 0; c && i < c->n; i++)
        if (!c->members[i]->closing) {
            st->st.revoked_closes++;
            end_session(st, c->members[i], "session_revoked", "the session was revoked");
        }
}

void td_stream_inval(td_stream *st, const char *msg, size_t len)
{
    if (len < 2 || len > 40)
        return;
    char id[48];
    memcpy(id, msg + 1, len - 1);
    id[len - 1] = '\0';
    if (msg[0] == TD_INVAL_SESSION) {
        revoke_sid(st, id);
    } else if (msg[0] == TD_INVAL_SESSIONS) {
        revoke_pending(st, NULL, strtoll(id, NULL, 10));
        char name[64];
        snprintf(name, sizeof name, "user#%s", id);
        td_channel *u = td_channel_find(st, name);
        for (int i = 0; u && i < u->n; i++) {
            st->st.revoked_closes++;
            end_session(st, u->members[i], "session_revoked", "the session was revoked");
        }
    }
}

static void drop_revoked(const char *sid, void *arg)
{
    td_stream *st = arg;
    if (sid)
        revoke_sid(st, sid);
    else
        td_stream_sessions_check(st, td_wall_ms(), 1);
}

/* The auths waiting for the sync go on with the epoch known so far. */
static void sync_waiters_go(td_stream *st)
{
    td_check *k = st->rev_waiters;
    st->rev_waiters = NULL;
    while (k) {
        td_check *next = k->next;
        check_start(k);
        k = next;
    }
}

/* The sync ended (ok: PostgreSQL answered): the next one is due a period
 * later, or backs off while PostgreSQL fails; the auths that waited go on. */
static void sync_end(td_stream *st, int ok)
{
    int64_t now_ms = td_wall_ms();
    if (ok) {
        st->rev_failures = 0;
        st->rev_next_ms = now_ms + TD_SESSION_RECHECK_MS;
    } else {
        int shift = st->rev_failures < 5 ? st->rev_failures++ : 5;
        st->rev_next_ms = now_ms + ((int64_t)TD_SESSION_RECHECK_MS << shift);
    }
    st->rev_busy = 0;
    sync_waiters_go(st);
}

void td_stream_auths_check(td_stream *st, int64_t now_ms)
{
    /* A sync PostgreSQL has not answered in time: auths stop waiting. */
    if (st->rev_waiters && now_ms - st->rev_started_ms >= TD_STREAM_SYNC_WAIT_MS)
        sync_waiters_go(st);
    while (st->auths && st->auths->due_ms <= now_ms) {
        td_check *k = st->auths;
        auth_unlink(st, k);
        k->answered = 1;
        if (k->w.s) {
            auth_finish(st, k->w.s, &k->c, TD_EUNAVAIL);
            td_sock_release(st, k->w.s);
        }
    }
}

static void on_revocations(void *arg, td_status rc, const PGresult *res)
{
    td_stream *st = arg;
    td_revoked rv;
    if (rc != TD_OK || td_session_revoked_rows(res, &rv) != TD_OK) {
        sync_end(st, 0);
        return;
    }
    for (int i = 0; i < rv.n; i++)
        drop_revoked(rv.sids[i], st);
    st->rev.applied = st->rev.pg;
    td_revoked_free(&rv);
    sync_end(st, 1);
}

static void on_epoch(void *arg, td_status rc, const PGresult *res)
{
    td_stream *st = arg;
    if (rc != TD_OK) {
        sync_end(st, 0);
        return;
    }
    switch (td_session_sync_step(&st->rev, td_session_epoch_of(res))) {
    case TD_REV_ALL:
        drop_revoked(NULL, st);
        break;
    case TD_REV_ROWS: {
        char a[24], b[24];
        snprintf(a, sizeof a, "%lld", (long long)st->rev.applied);
        snprintf(b, sizeof b, "%lld", (long long)st->rev.pg);
        const char *p[] = {a, b};
        if (td_db_send(st->db, "revocations_between", 2, p, on_revocations, st) == TD_OK) {
            td_stream_kick(st);
            return;
        }
        sync_end(st, 0);
        return;
    }
    case TD_REV_NONE:
        break;
    }
    sync_end(st, 1);
}

/* Revocations Redis never carried (the CLI's, psql's, another instance's
 * while Redis misbehaved) reach here within a second: PostgreSQL's epoch,
 * read once a period while a socket is authenticated (and before an
 * auth), store/session's sync rule fed its replies (td_session_sync_step;
 * Redis' missing tombstones are the API workers' td_session_sync to put
 * back).  While PostgreSQL fails, reads back off to one per 30 s. */
static void sessions_sync(td_stream *st, int64_t now_ms)
{
    if (st->rev_busy || now_ms < st->rev_next_ms || st->stopping)
        return;
    st->rev_busy = 1;
    st->rev_started_ms = now_ms;
    if (td_db_send(st->db, "revocation_epoch", 0, NULL, on_epoch, st) != TD_OK) {
        st->rev_busy = 0;
        int shift = st->rev_failures < 5 ? st->rev_failures++ : 5;
        st->rev_next_ms = now_ms + ((int64_t)TD_SESSION_RECHECK_MS << shift);
        return;
    }
    td_stream_kick(st);
}

/* Ask again whether s's session still stands; closed when it does not. */
static void recheck(td_stream *st, td_sock *s)
{
    td_check *k = td_wait_new(st, s, sizeof *k);
    if (!k)
        return; /* the next recheck, or the token's expiry */
    k->c.user_id = s->user_id;
    memcpy(k->c.sid, s->sid, sizeof k->c.sid);
    check_start(k);
}

void td_stream_sessions_check(td_stream *st, int64_t now_ms, int recheck_all)
{
    if (!recheck_all && st->nauthed > 0)
        sessions_sync(st, now_ms);
    int64_t now = now_ms / 1000;
    /* Nothing to expire yet and nothing to recheck: no socket is visited
     * (the walk was the timer's whole cost with 10,000 sockets). */
    if (!recheck_all && now <= st->exp_next_s)
        return;
    int64_t next = INT64_MAX;
    for (td_sock *s = st->socks; s; s = s->next) {
        if (!s->authed || s->closing)
            continue;
        int64_t until = s->exp + st->tok.leeway_s;
        if (now <= until && until < next)
            next = until;
        if (now > until) {
            st->st.expired_closes++;
            end_session(st, s, "token_expired", "the token has expired");
        } else if (recheck_all) {
            recheck(st, s);
        }
    }
    st->exp_next_s = next;
}
