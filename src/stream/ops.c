/*
 * ops.c - what a client asks (PRODUCT.md, "WebSocket protocol";
 * asyncapi.yaml): auth, subscribe, unsubscribe, ping; and the sessions
 * behind authenticated sockets: a revoked session (td:inval, or
 * PostgreSQL's revocation epoch for revocations Redis never carried) or
 * an expired token closes the socket after an error message.
 *
 * auth follows the API's rules exactly: core/token's verifier with the
 * same settings (td_token_config_of) and store/session's check.  A client
 * message is parsed with json-c under the limits NOTES.md gives (depth,
 * strict, valid UTF-8, nothing after the value); a bad one is answered
 * with an error and changes nothing.
 */
#include "stream/stream.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "domain/candle.h"
#include "domain/symbol.h"
#include "store/keys.h"

#include <json-c/json.h>
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

static void op_auth(td_stream *st, td_sock *s, json_object *o)
{
    json_object *t;
    if (!json_object_object_get_ex(o, "token", &t) || !json_object_is_type(t, json_type_string)) {
        bad(st, s, "bad_request", NULL, "auth needs \"token\": a string");
        return;
    }
    s->garbage = 0;
    if (s->authed) {
        td_sock_error(st, s, "already_authed", NULL, NULL, "this socket is already authenticated");
        return;
    }
    td_claims c;
    int expired = 0;
    if (td_token_verify_ex(&st->tok, json_object_get_string(t), time(NULL), &c, &expired) !=
        TD_OK) {
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
    if (!td_channel_join(st, name, TD_CH_USER, s)) {
        td_sock_error(st, s, "internal", NULL, NULL, "out of memory");
        return;
    }
    s->authed = 1;
    st->nauthed++;
    s->user_id = c.user_id;
    s->exp = c.exp;
    memcpy(s->sid, c.sid, sizeof s->sid);
    char reply[160];
    char when[40];
    td_arena a;
    td_arena_init(&a, 256);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, &a, &b);
    td_jw_time_ms(&w, (long long)c.exp * 1000);
    snprintf(when, sizeof when, "%.*s", (int)b.len, b.data);
    td_arena_free(&a);
    int n = snprintf(reply, sizeof reply, "{\"type\":\"authed\",\"user_id\":%lld,\"expires_at\":%s}",
                     (long long)c.user_id, when);
    td_sock_send(st, s, reply, (size_t)n);
}

static td_sub *sub_of(td_sock *s, const char *name)
{
    for (int i = 0; i < s->nsubs; i++)
        if (strcmp(s->subs[i].name, name) == 0)
            return &s->subs[i];
    return NULL;
}

/* The channels array of a subscribe/unsubscribe: 0 and an error sent
 * when it is not one; names point into o. */
static int channel_list(td_stream *st, td_sock *s, json_object *o, const char **names, int cap,
                        int *n, int *kinds)
{
    json_object *arr;
    if (!json_object_object_get_ex(o, "channels", &arr) ||
        !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) {
        bad(st, s, "bad_request", NULL, "\"channels\" must be a non-empty array of names");
        return 0;
    }
    size_t len = json_object_array_length(arr);
    if (len > (size_t)cap) {
        td_sock_error(st, s, "too_many_subscriptions", NULL, NULL,
                      "at most %d channels per socket", st->cfg.stream_max_subs);
        return 0;
    }
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string)) {
            bad(st, s, "bad_request", NULL, "channel names are strings");
            return 0;
        }
        const char *name = json_object_get_string(v);
        int kind = td_channel_parse(name, (size_t)json_object_get_string_len(v));
        if (kind < 0) {
            bad(st, s, "unknown_channel", name, "no such channel");
            return 0;
        }
        int dup = 0;
        for (int k = 0; k < *n; k++)
            dup |= strcmp(names[k], name) == 0;
        if (!dup) {
            kinds[*n] = kind;
            names[(*n)++] = name;
        }
    }
    return 1;
}

static void op_subscribe(td_stream *st, td_sock *s, json_object *o)
{
    int cap = st->cfg.stream_max_subs;
    const char **names = calloc((size_t)cap, sizeof *names);
    int *kinds = calloc((size_t)cap, sizeof *kinds), n = 0;
    if (!names || !kinds) {
        td_sock_error(st, s, "internal", NULL, NULL, "out of memory");
        goto out;
    }
    if (!channel_list(st, s, o, names, cap, &n, kinds))
        goto out;
    json_object *since_o = NULL;
    const char *since = NULL;
    if (json_object_object_get_ex(o, "since", &since_o)) {
        since = json_object_is_type(since_o, json_type_string) ? json_object_get_string(since_o)
                                                                : "";
        size_t sl = strlen(since);
        if (sl == 0 || sl > 18 || strspn(since, "0123456789") != sl) {
            bad(st, s, "bad_request", NULL, "\"since\" is a fill id: a string of digits");
            goto out;
        }
    }
    int fresh = 0;
    for (int i = 0; i < n; i++) {
        if ((kinds[i] == TD_CH_FILLS || kinds[i] == TD_CH_ORDERS) && !s->authed) {
            td_sock_error(st, s, "auth_required", names[i], NULL, "%s needs auth first", names[i]);
            goto out;
        }
        if (kinds[i] == TD_CH_ORDERS) {
            /* Not served yet: order updates have no live source here. */
            td_sock_error(st, s, "unknown_channel", names[i], NULL,
                          "the orders channel is not served yet");
            goto out;
        }
        fresh += !sub_of(s, names[i]);
    }
    s->garbage = 0;
    if (s->nsubs + fresh > cap) {
        td_sock_error(st, s, "too_many_subscriptions", NULL, NULL,
                      "at most %d channels per socket", cap);
        goto out;
    }
    reply_channels(st, s, "subscribed", names, n);
    for (int i = 0; i < n; i++) {
        td_sub *sub = sub_of(s, names[i]);
        if (sub) {
            if (kinds[i] == TD_CH_FILLS && since)
                td_fills_subscribe(st, s, sub, since); /* a replay asked again */
            continue;
        }
        char key[64];
        if (kinds[i] == TD_CH_FILLS)
            snprintf(key, sizeof key, "fills#%lld", (long long)s->user_id);
        else
            snprintf(key, sizeof key, "%s", names[i]);
        td_channel *ch = NULL;
        if (!(sub = td_sock_sub_add(st, s)) ||
            !(ch = td_channel_join(st, key, (td_chan_kind)kinds[i], s))) {
            if (sub)
                s->nsubs--;
            td_sock_error(st, s, "internal", names[i], NULL, "out of memory");
            continue;
        }
        *sub = (td_sub){.ch = ch, .pending_seq = UINT64_MAX};
        snprintf(sub->name, sizeof sub->name, "%s", names[i]);
        st->nsubs[kinds[i]]++;
        if (kinds[i] == TD_CH_FILLS)
            td_fills_subscribe(st, s, sub, since);
        else
            td_channel_snapshot(st, s, sub);
    }
out:
    free(names);
    free(kinds);
}

static void op_unsubscribe(td_stream *st, td_sock *s, json_object *o)
{
    int cap = st->cfg.stream_max_subs;
    const char **names = calloc((size_t)cap, sizeof *names);
    int *kinds = calloc((size_t)cap, sizeof *kinds), n = 0;
    if (names && kinds && channel_list(st, s, o, names, cap, &n, kinds)) {
        s->garbage = 0;
        for (int i = 0; i < n; i++) {
            td_sub *sub = sub_of(s, names[i]);
            if (!sub)
                continue;
            td_channel *ch = sub->ch;
            td_sock_forget(s, ch);
            st->nsubs[ch->kind]--;
            *sub = s->subs[--s->nsubs];
            td_channel_leave(st, ch, s);
        }
        reply_channels(st, s, "unsubscribed", names, n);
    }
    free(names);
    free(kinds);
}

void td_stream_op(td_stream *st, td_sock *s, const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(8);
    if (!tok) {
        td_sock_error(st, s, "internal", NULL, NULL, "out of memory");
        return;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    int ok = o && json_tokener_get_error(tok) == json_tokener_success &&
             json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    json_object *op;
    if (!ok || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "op", &op) || !json_object_is_type(op, json_type_string)) {
        bad(st, s, "bad_request", NULL, "a message is a JSON object with \"op\"");
        json_object_put(o);
        return;
    }
    const char *name = json_object_get_string(op);
    if (strcmp(name, "ping") == 0) {
        s->garbage = 0;
        td_sock_send(st, s, "{\"type\":\"pong\"}", 15);
    } else if (strcmp(name, "auth") == 0) {
        op_auth(st, s, o);
    } else if (strcmp(name, "subscribe") == 0) {
        op_subscribe(st, s, o);
    } else if (strcmp(name, "unsubscribe") == 0) {
        op_unsubscribe(st, s, o);
    } else {
        bad(st, s, "unknown_op", NULL, "op is auth, subscribe, unsubscribe or ping");
    }
    json_object_put(o);
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
    for (td_sock *s = st->socks; s; s = s->next)
        if (s->authed && strcmp(s->sid, sid) == 0) {
            st->st.revoked_closes++;
            end_session(st, s, "session_revoked", "the session was revoked");
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
    time_t now = (time_t)(now_ms / 1000);
    for (td_sock *s = st->socks; s; s = s->next) {
        if (!s->authed || s->closing)
            continue;
        if (now > s->exp + st->tok.leeway_s) {
            st->st.expired_closes++;
            end_session(st, s, "token_expired", "the token has expired");
        } else if (recheck_all &&
                   td_session_check(st->db, st->redis, s->sid, s->user_id, st->rev.pg) ==
                       TD_EDENIED) {
            st->st.revoked_closes++;
            end_session(st, s, "session_revoked", "the session was revoked");
        }
    }
}
