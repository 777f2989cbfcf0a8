/*
 * protocol.c - the td-stream protocol callback: WebSocket sessions in and
 * out, and the plain HTTP requests (/health, /metrics) that reach the same
 * port.  Frames are joined into messages of at most
 * TRADEDESK_STREAM_MAX_MESSAGE_BYTES and handed to ops.c; what goes out
 * waits in the socket's bounded queue and is written at each WRITEABLE
 * callback: one message with lws_write, or several queued ones framed
 * here into one buffer and written at once (one send, one read at the
 * other end: nginx relays each read as it comes).
 *
 * Backpressure: for a slow socket (its oldest unsent message has waited
 * over TD_STREAM_SLOW_MS), market messages of one channel replace their
 * unsent predecessor (conflation); a socket that keeps up is sent every
 * one, two prices of a symbol arriving together included.
 * A full queue refuses a market message
 * (counted) and, for fills and orders, ends the socket with resync_required
 * (events.c).  So a slow client costs memory up to its queue and never
 * delays another.  Limits: messages per second in (a token bucket), bad
 * messages in a row, frame size; WebSocket pings to idle sockets are
 * lws' (main.c's retry policy).
 *
 * Nothing here waits for Redis or PostgreSQL: an operation that needs
 * them sends its query and goes on in the reply callback (a td_wait,
 * cut loose from the socket when it closes).  While one of a socket's
 * messages is being answered so (td_sock_hold: an auth, a subscribe's
 * first reads), its later messages wait in order and are answered after
 * it; every other socket is served meanwhile.
 */
#include "stream/stream.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

td_msg *td_msg_new(const char *json, size_t len)
{
    td_msg *m = malloc(sizeof *m + LWS_PRE + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + LWS_PRE, json, len);
    m->buf[LWS_PRE + len] = '\0';
    return m;
}

void td_msg_unref(td_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

void *td_wait_new(td_stream *st, td_sock *s, size_t size)
{
    td_wait *w = calloc(1, size);
    if (!w)
        return NULL;
    w->st = st;
    w->s = s;
    w->next = s->waits;
    if (s->waits)
        s->waits->prev = w;
    s->waits = w;
    return w;
}

void td_wait_free(td_wait *w)
{
    if (w->s) {
        if (w->prev)
            w->prev->next = w->next;
        else
            w->s->waits = w->next;
        if (w->next)
            w->next->prev = w->prev;
    }
    free(w);
}

void td_sock_hold(td_sock *s)
{
    s->held++;
}

void td_sock_release(td_stream *st, td_sock *s)
{
    if (s->held > 0)
        s->held--;
    if (s->held || s->draining)
        return; /* (a drain under way goes on by itself) */
    s->draining = 1;
    while (!s->held && s->dq && !s->closing) {
        td_deferred *d = s->dq;
        if (!(s->dq = d->next))
            s->dq_tail = NULL;
        s->ndq--;
        td_stream_op(st, s, d->text, d->len);
        free(d);
    }
    s->draining = 0;
}

/* A message for after the one being answered. */
static void defer(td_stream *st, td_sock *s, const char *text, size_t len)
{
    td_deferred *d = s->ndq < TD_STREAM_DEFER_MAX ? malloc(sizeof *d + len + 1) : NULL;
    if (!d) {
        td_sock_error(st, s, "rate_limited", NULL, NULL,
                      "at most %d messages may wait for an answer", TD_STREAM_DEFER_MAX);
        return;
    }
    d->next = NULL;
    d->len = len;
    memcpy(d->text, text, len);
    d->text[len] = '\0';
    if (s->dq_tail)
        s->dq_tail->next = d;
    else
        s->dq = d;
    s->dq_tail = d;
    s->ndq++;
}

static td_qent *entry(td_sock *s, uint64_t seq)
{
    return &s->q[seq % (uint64_t)s->qcap];
}

/* Room for one more entry: the ring grows (doubling, up to qmax) as a
 * socket's backlog does, so an idle socket holds no queue at all. */
static int room(td_sock *s)
{
    int depth = (int)(s->pushed - s->popped);
    if (depth < s->qcap)
        return 1;
    if (s->qcap >= s->qmax)
        return 0;
    int cap = s->qcap ? s->qcap * 2 : 8;
    if (cap > s->qmax)
        cap = s->qmax;
    td_qent *q = calloc((size_t)cap, sizeof *q);
    if (!q)
        return 0;
    for (uint64_t seq = s->popped; seq < s->pushed; seq++)
        q[seq % (uint64_t)cap] = s->q[seq % (uint64_t)s->qcap];
    free(s->q);
    s->q = q;
    s->qcap = cap;
    return 1;
}

static int64_t now_ms(void)
{
    return td_mono_ns() / 1000000;
}

/* Its oldest unsent message has waited past TD_STREAM_SLOW_MS (a dropped
 * entry at the head counts: the next write skips it). */
static int slow(td_sock *s)
{
    return s->popped < s->pushed && now_ms() - entry(s, s->popped)->at_ms > TD_STREAM_SLOW_MS;
}

int td_sock_push(td_stream *st, td_sock *s, td_msg *m, td_channel *ch)
{
    if (!m || s->closing)
        return -1;
    if (ch) {
        for (int i = 0; i < s->nsubs; i++) {
            td_sub *sub = &s->subs[i];
            if (sub->ch != ch)
                continue;
            if (sub->pending_seq != UINT64_MAX && sub->pending_seq >= s->popped &&
                sub->pending_seq < s->pushed && entry(s, sub->pending_seq)->ch == ch &&
                (slow(s) || (int)(s->pushed - s->popped) >= s->qlimit)) {
                td_qent *e = entry(s, sub->pending_seq);
                td_msg_unref(e->m);
                m->refs++;
                e->m = m;
                st->st.conflated++;
                return 0;
            }
            if ((int)(s->pushed - s->popped) >= s->qlimit) {
                st->st.dropped++;
                return -1;
            }
            sub->pending_seq = s->pushed;
            break;
        }
    } else if ((int)(s->pushed - s->popped) >= s->qmax - 1) {
        /* The last slot is kept for the error that ends a socket. */
        st->st.dropped++;
        return -1;
    }
    if (!room(s)) {
        st->st.dropped++;
        return -1;
    }
    td_qent *e = entry(s, s->pushed++);
    m->refs++;
    *e = (td_qent){.m = m, .ch = ch, .at_ms = now_ms()};
    lws_callback_on_writable(s->wsi);
    return 0;
}

/* Into the queue's last slot: the error before a close. */
static void push_last(td_sock *s, const char *json, size_t len)
{
    td_msg *m = td_msg_new(json, len);
    if (m && !s->closing && (int)(s->pushed - s->popped) < s->qmax && room(s)) {
        *entry(s, s->pushed++) = (td_qent){.m = m, .at_ms = now_ms()};
        lws_callback_on_writable(s->wsi);
        return;
    }
    td_msg_unref(m);
}

void td_sock_send(td_stream *st, td_sock *s, const char *json, size_t len)
{
    td_msg *m = td_msg_new(json, len);
    int rc = td_sock_push(st, s, m, NULL);
    td_msg_unref(m);
    if (rc != 0 && m && !s->closing) {
        /* Its replies pile up unread while it keeps asking: a flood. */
        st->st.flood_closes++;
        static const char full[] = "{\"type\":\"error\",\"code\":\"rate_limited\","
                                   "\"message\":\"replies are not being read; closing\"}";
        push_last(s, full, sizeof full - 1);
        td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
    }
}

void td_sock_error(td_stream *st, td_sock *s, const char *code, const char *channel,
                   const char *last_id, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    td_arena a;
    td_arena_init(&a, 1024);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, &a, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "type");
    td_jw_str(&w, "error");
    td_jw_key(&w, "code");
    td_jw_str(&w, code);
    td_jw_key(&w, "message");
    td_jw_str(&w, text);
    if (channel) {
        td_jw_key(&w, "channel");
        td_jw_str(&w, channel);
    }
    if (last_id) {
        td_jw_key(&w, "last_id");
        td_jw_str(&w, last_id);
    }
    td_jw_end(&w, '}');
    td_msg *m = td_msg_new(b.data, b.len);
    if (td_sock_push(st, s, m, NULL) != 0)
        push_last(s, b.data, b.len); /* an error is what a full queue keeps room for */
    td_msg_unref(m);
    td_arena_free(&a);
}

void td_sock_bad(td_stream *st, td_sock *s, const char *code, const char *channel,
                 uint16_t close_code, const char *msg)
{
    st->st.bad_messages++;
    td_sock_error(st, s, code, channel, NULL, "%s", msg);
    if (++s->garbage >= TD_STREAM_GARBAGE_MAX) {
        st->st.garbage_closes++;
        td_sock_close(s, close_code);
    }
}

void td_sock_close(td_sock *s, uint16_t code)
{
    if (s->closing)
        return;
    s->closing = 1;
    s->close_code = code;
    lws_callback_on_writable(s->wsi);
}

void td_sock_forget(td_sock *s, td_channel *ch)
{
    for (uint64_t q = s->popped; q < s->pushed; q++) {
        td_qent *e = entry(s, q);
        if (e->ch == ch && e->m) {
            td_msg_unref(e->m);
            e->m = NULL;
            e->ch = NULL;
        }
    }
}

/* The client's address: nginx's X-Real-IP when nginx (a loopback peer, or
 * the unix socket only nginx's workers may open) passed one, else the
 * peer's own. */
static void client_address(const td_stream *st, struct lws *wsi, char *out, size_t cap)
{
    char peer[64] = "";
    int via_nginx = st->ux && lws_get_vhost(wsi) == st->ux;
    if (!via_nginx) {
        lws_get_peer_simple(wsi, peer, sizeof peer);
        via_nginx = strncmp(peer, "127.", 4) == 0;
    }
    int n = via_nginx ? lws_hdr_copy(wsi, out, (int)cap, WSI_TOKEN_HTTP_X_REAL_IP) : -1;
    if (n <= 0)
        snprintf(out, cap, "%s", peer[0] ? peer : "unknown");
}

static void sock_open(td_stream *st, td_sock *s, struct lws *wsi)
{
    memset(s, 0, sizeof *s);
    s->wsi = wsi;
    s->qlimit = st->cfg.stream_queue;
    s->qmax = st->cfg.stream_queue + TD_STREAM_CONTROL_SLACK;
    s->tokens = st->cfg.stream_rate;
    s->tokens_ms = td_mono_ns() / 1000000;
    s->next = st->socks;
    if (st->socks)
        st->socks->prev = s;
    st->socks = s;
    st->nsocks++;
    st->st.connections_total++;
    char addr[48], name[64];
    client_address(st, wsi, addr, sizeof addr);
    snprintf(name, sizeof name, "addr#%s", addr);
    s->addr = td_channel_join(st, name, TD_CH_ADDR, s);
    if (!s->addr || s->addr->n > st->cfg.stream_per_address) {
        st->st.limit_closes++;
        td_sock_error(st, s, "rate_limited", NULL, NULL, "at most %d sockets from one address",
                      st->cfg.stream_per_address);
        td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
    }
}

td_sub *td_sock_sub_add(td_stream *st, td_sock *s)
{
    if (s->nsubs >= st->cfg.stream_max_subs)
        return NULL;
    if (s->nsubs == s->subcap) {
        int cap = s->subcap ? s->subcap * 2 : 2;
        if (cap > st->cfg.stream_max_subs)
            cap = st->cfg.stream_max_subs;
        td_sub *n = realloc(s->subs, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        s->subs = n;
        s->subcap = cap;
    }
    return &s->subs[s->nsubs++];
}

static void sock_closed(td_stream *st, td_sock *s)
{
    if (!s->wsi)
        return; /* never opened (refused before ESTABLISHED) */
    for (td_wait *w = s->waits, *next; w; w = next) {
        next = w->next; /* its reply comes later, to a wait without a socket */
        w->s = NULL;
        w->prev = w->next = NULL;
    }
    s->waits = NULL;
    while (s->dq) {
        td_deferred *d = s->dq;
        s->dq = d->next;
        free(d);
    }
    for (int i = 0; i < s->nsubs; i++) {
        if (s->subs[i].ch->kind < TD_CH_KINDS)
            st->nsubs[s->subs[i].ch->kind]--;
        td_channel_leave(st, s->subs[i].ch, s);
    }
    if (s->addr)
        td_channel_leave(st, s->addr, s);
    if (s->authed) {
        st->nauthed--;
        char name[64];
        snprintf(name, sizeof name, "user#%lld", (long long)s->user_id);
        td_channel *u = td_channel_find(st, name);
        if (u)
            td_channel_leave(st, u, s);
        if (s->session)
            td_channel_leave(st, s->session, s);
    }
    for (uint64_t q = s->popped; q < s->pushed; q++)
        td_msg_unref(entry(s, q)->m);
    free(s->q);
    free(s->subs);
    free(s->rx);
    if (s->prev)
        s->prev->next = s->next;
    else
        st->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    st->nsocks--;
    s->wsi = NULL;
}

/* The token bucket of messages in: 1 when this message may be handled. */
static int rate_ok(td_stream *st, td_sock *s)
{
    int64_t now = td_mono_ns() / 1000000;
    double rate = st->cfg.stream_rate;
    s->tokens += (double)(now - s->tokens_ms) * rate / 1000.0;
    if (s->tokens > rate)
        s->tokens = rate;
    s->tokens_ms = now;
    if (s->tokens >= 1) {
        s->tokens -= 1;
        s->flood_strikes = 0;
        return 1;
    }
    return 0;
}

static void received(td_stream *st, td_sock *s, struct lws *wsi, const char *in, size_t len)
{
    if (s->closing)
        return;
    int first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);
    if (first) {
        s->rxlen = 0;
        s->rx_too_big = 0;
    }
    const char *text = in;
    size_t tlen = len;
    if (!(first && final)) {
        /* A message in pieces is joined here; a whole one is used where lws has it. */
        if (!s->rx_too_big && s->rxlen + len <= (size_t)st->cfg.stream_max_message &&
            (s->rx || (s->rx = malloc((size_t)st->cfg.stream_max_message)))) {
            memcpy(s->rx + s->rxlen, in, len);
            s->rxlen += len;
        } else {
            s->rx_too_big = 1;
        }
        if (!final)
            return;
        text = s->rx;
        tlen = s->rxlen;
    } else if (len > (size_t)st->cfg.stream_max_message) {
        s->rx_too_big = 1;
    }
    st->st.messages_in++;
    if (!rate_ok(st, s)) {
        st->st.rate_limited++;
        /* Past the bucket: refused; still flooding a second's worth later: closed. */
        if (++s->flood_strikes > st->cfg.stream_rate) {
            st->st.flood_closes++;
            td_sock_error(st, s, "rate_limited", NULL, NULL, "too many messages; closing");
            td_sock_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        } else if (s->flood_strikes == 1) {
            td_sock_error(st, s, "rate_limited", NULL, NULL, "at most %d messages a second",
                          st->cfg.stream_rate);
        }
        return;
    }
    if (s->rx_too_big) {
        char why[64];
        snprintf(why, sizeof why, "messages are at most %d bytes", st->cfg.stream_max_message);
        td_sock_bad(st, s, "message_too_large", NULL, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, why);
        return;
    }
    if (lws_frame_is_binary(wsi)) {
        td_sock_bad(st, s, "bad_request", NULL, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                    "messages are JSON text frames");
        return;
    }
    if (s->held || s->dq)
        defer(st, s, text, tlen);
    else
        td_stream_op(st, s, text, tlen);
    free(s->rx); /* rare: only a message that came in pieces had one */
    s->rx = NULL;
    s->rxlen = 0;
}

/* Several queued messages go out as one write of at most this much. */
#define COALESCE_MAX 16384

/* A server frame's header (FIN, text, unmasked) for len bytes at p; its size. */
static size_t frame_header(unsigned char *p, size_t len)
{
    p[0] = 0x81;
    if (len < 126) {
        p[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        p[1] = 126;
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)len;
        return 4;
    }
    p[1] = 127;
    for (int i = 0; i < 8; i++)
        p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* The next queued message (skipping dropped entries), NULL when none. */
static td_msg *peek(td_sock *s)
{
    while (s->popped < s->pushed && !entry(s, s->popped)->m)
        s->popped++;
    return s->popped < s->pushed ? entry(s, s->popped)->m : NULL;
}

static void pop(td_sock *s)
{
    td_qent *e = entry(s, s->popped++);
    td_msg_unref(e->m);
    e->m = NULL;
}

/* What is queued out, up to COALESCE_MAX in one write; -1 closes the
 * socket.  A lone message is framed by lws in its own headroom; several
 * are framed here, copied into one buffer and written raw (no extension
 * is negotiated, so a frame is its header and the text). */
static int write_queue(td_stream *st, td_sock *s, struct lws *wsi)
{
    static unsigned char out[LWS_PRE + COALESCE_MAX];
    td_msg *m = peek(s);
    /* How many of the queued messages fit in one write (at most 10 bytes
     * of header each). */
    int count = 0;
    size_t left = COALESCE_MAX;
    for (uint64_t seq = s->popped; seq < s->pushed; seq++) {
        td_msg *x = entry(s, seq)->m;
        if (!x)
            continue;
        if (x->len + 10 > left)
            break;
        left -= x->len + 10;
        count++;
    }
    int rc;
    if (count <= 1) {
        rc = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        pop(s);
        count = 1;
    } else {
        size_t n = 0;
        for (int i = 0; i < count; i++, m = peek(s)) {
            n += frame_header(out + LWS_PRE + n, m->len);
            memcpy(out + LWS_PRE + n, m->buf + LWS_PRE, m->len);
            n += m->len;
            pop(s);
        }
        rc = lws_write(wsi, out + LWS_PRE, n, LWS_WRITE_RAW);
    }
    if (rc < 0)
        return -1;
    st->st.messages_out += (uint64_t)count;
    return 0;
}

/* What is queued out; -1 closes the socket. */
static int writeable(td_stream *st, td_sock *s, struct lws *wsi)
{
    if (peek(s)) {
        if (write_queue(st, s, wsi) != 0)
            return -1;
        if (s->popped == s->pushed) { /* drained: an idle socket keeps no ring */
            free(s->q);
            s->q = NULL;
            s->qcap = 0;
        }
        if (s->replaying && (int)(s->pushed - s->popped) < s->qlimit / 2)
            td_log_resume(st, s); /* the client reads: the next page of its replay */
        if (s->popped < s->pushed || s->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (s->closing) {
        lws_close_reason(wsi, s->close_code, NULL, 0);
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    td_stream *st = lws_context_user(lws_get_context(wsi));
    int rc;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        sock_open(st, user, wsi);
        return 0;
    case LWS_CALLBACK_CLOSED:
        sock_closed(st, user);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        received(st, user, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(st, user, wsi);
    default:
        break;
    }
    /* An HTTP request (/health, /metrics) on the same port. */
    if (user &&
        td_ws_http_serve(wsi, reason, &((td_sock *)user)->http, in, len, td_stream_http, &rc))
        return rc;
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

const struct lws_protocols td_stream_protocol = {
    TD_STREAM_PROTOCOL, callback, sizeof(td_sock), 4096, 0, NULL, 0};
