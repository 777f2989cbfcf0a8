/*
 * ops.c - what a client asks (PRODUCT.md, "WebSocket protocol";
 * asyncapi.yaml): auth, subscribe, unsubscribe, ping; and the sessions
 * behind authenticated sockets: a revoked session (td:inval, or
 * PostgreSQL's revocation epoch for revocations Redis never carried) or
 * an expired token closes the socket after an error message.
 *
 * auth follows the API's rules exactly: core/token's verifier with the
 * same settings (td_token_config_of) and store/session's check.  A bad
 * client message is answered
 * with an error and changes nothing (message.c parses and checks it).
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

/* A message that is not what the protocol says: answered, and counted
 * towards closing a socket that sends nothing else. */
static void sessions_sync(td_stream *st, int64_t now_ms);

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
    sessions_sync(st, td_wall_ms()); /* the newest epoch PostgreSQL knows, at most a second old */
    td_status ss = td_session_check(st->db, st->redis, c.sid, c.user_id, st->rev.pg);
    if (ss == TD_EUNAVAIL) {
        td_sock_error(st, s, "internal", NULL, NULL, "cannot check the session now; try again");
        return;
    }
    if (ss != TD_OK) {
        td_sock_error(st, s, "session_revoked", NULL, NULL, "the session is no longer valid");
        return;
    }
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

/* Revocations Redis never carried (the CLI's, psql's, another instance's
 * while Redis misbehaved) reach here within a second: PostgreSQL's epoch,
 * read once a period while a socket is authenticated (and before an
 * auth).  The read blocks the loop, bounded by the stream's short
 * statement timeout; while PostgreSQL fails, reads back off to one per
 * 30 s so a stalled server costs the loop little. */
static void sessions_sync(td_stream *st, int64_t now_ms)
{
    if (now_ms < st->rev_next_ms)
        return;
    if (td_session_sync(st->db, st->redis, &st->rev, drop_revoked, st) == TD_OK) {
        st->rev_failures = 0;
        st->rev_next_ms = now_ms + TD_SESSION_RECHECK_MS;
    } else {
        int shift = st->rev_failures < 5 ? st->rev_failures++ : 5;
        st->rev_next_ms = now_ms + ((int64_t)TD_SESSION_RECHECK_MS << shift);
    }
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
        } else if (recheck_all &&
                   td_session_check(st->db, st->redis, s->sid, s->user_id, st->rev.pg) ==
                       TD_EDENIED) {
            st->st.revoked_closes++;
            end_session(st, s, "session_revoked", "the session was revoked");
        }
    }
    st->exp_next_s = next;
}
