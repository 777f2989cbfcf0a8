/*
 * redis.c - the per-process Redis connection; see redis.h.
 */
#include "store/redis.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct td_redis {
    redisContext *ctx;
    td_redis_addr addr;
    int timeout_ms;
    double next_attempt;
    int pending;     /* commands appended, not yet read */
    uint64_t serial; /* connections made */
};

void td_redis_parse_url(const char *url, td_redis_addr *out)
{
    memset(out, 0, sizeof *out);
    if (strncmp(url, "unix:", 5) == 0) {
        const char *p = url + 5;
        while (p[0] == '/' && p[1] == '/') /* unix:///path and unix:/path */
            p++;
        snprintf(out->path, sizeof out->path, "%s", p);
    } else {
        const char *h = url + strlen("redis://");
        const char *colon = strchr(h, ':');
        const char *slash = strchr(h, '/');
        size_t hl = colon ? (size_t)(colon - h) : slash ? (size_t)(slash - h) : strlen(h);
        if (hl >= sizeof out->host)
            hl = sizeof out->host - 1;
        memcpy(out->host, h, hl);
        out->port = colon ? atoi(colon + 1) : 6379;
        out->db = slash ? atoi(slash + 1) : 0;
    }
}

td_redis *td_redis_open(const char *url, int timeout_ms)
{
    td_redis *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->timeout_ms = timeout_ms;
    td_redis_parse_url(url, &r->addr);
    return r;
}

static void drop(td_redis *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    r->pending = 0;
}

void td_redis_close(td_redis *r)
{
    if (!r)
        return;
    drop(r);
    free(r);
}

static int connect_now(td_redis *r, int nonblock);

/* A usable connection, or 0 (counted as a Redis error).  nonblock: the
 * subscription's, whose connect and SELECT are only started (it must never
 * wait); every other one connects and SELECTs under the timeout. */
static int ensure_as(td_redis *r, int nonblock)
{
    if (!r)
        return 0; /* no Redis at all (its open failed): like one that is down */
    if (r->ctx)
        return 1;
    if (connect_now(r, nonblock))
        return 1;
    td_metrics_count(TD_M_REDIS_ERROR);
    return 0;
}

static int ensure(td_redis *r)
{
    return ensure_as(r, 0);
}

/* At most once a second.  Non-blocking, the connect completes (or fails)
 * while the first commands wait in hiredis' buffer, a SELECT queued ahead
 * of them. */
static int connect_now(td_redis *r, int nonblock)
{
    double t = td_mono_s();
    if (t < r->next_attempt)
        return 0;
    r->next_attempt = t + 1.0;
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    if (nonblock)
        r->ctx = r->addr.path[0] ? redisConnectUnixNonBlock(r->addr.path)
                                 : redisConnectNonBlock(r->addr.host, r->addr.port);
    else
        r->ctx = r->addr.path[0] ? redisConnectUnixWithTimeout(r->addr.path, tv)
                                 : redisConnectWithTimeout(r->addr.host, r->addr.port, tv);
    if (!r->ctx || r->ctx->err) {
        td_warn("redis: connect failed: %s", r->ctx ? r->ctx->errstr : "out of memory");
        drop(r);
        return 0;
    }
    int ok = 1;
    if (nonblock) {
        ok = !r->addr.db || redisAppendCommand(r->ctx, "SELECT %d", r->addr.db) == REDIS_OK;
    } else {
        redisSetTimeout(r->ctx, tv);
        if (r->addr.db) {
            redisReply *rep = redisCommand(r->ctx, "SELECT %d", r->addr.db);
            ok = rep && rep->type != REDIS_REPLY_ERROR;
            if (rep)
                freeReplyObject(rep);
        }
    }
    if (!ok) {
        drop(r);
        return 0;
    }
    r->next_attempt = 0;
    r->serial++;
    if (!nonblock)
        td_info("redis: connected");
    return 1;
}

static redisReply *checked(td_redis *r, void *rep)
{
    if (!rep || ((redisReply *)rep)->type == REDIS_REPLY_ERROR)
        td_metrics_count(TD_M_REDIS_ERROR);
    if (!rep) {
        td_warn("redis: %s", r->ctx->errstr);
        drop(r);
    }
    return rep;
}

uint64_t td_redis_connection(td_redis *r)
{
    return ensure(r) ? r->serial : 0;
}

redisReply *td_redis_cmd(td_redis *r, const char *fmt, ...)
{
    if (!ensure(r))
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    void *rep = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    return checked(r, rep);
}

redisReply *td_redis_argv(td_redis *r, int argc, const char **argv, const size_t *lens)
{
    if (!ensure(r))
        return NULL;
    return checked(r, redisCommandArgv(r->ctx, argc, argv, lens));
}

td_status td_redis_append(td_redis *r, const char *fmt, ...)
{
    if (!ensure(r))
        return TD_EUNAVAIL;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(r->ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        return TD_ERROR;
    r->pending++;
    return TD_OK;
}

td_status td_redis_flush(td_redis *r, redisReply **out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    if (!r->ctx || r->pending != n) {
        drop(r);
        return TD_EUNAVAIL;
    }
    for (int i = 0; i < n; i++) {
        void *rep = NULL;
        if (redisGetReply(r->ctx, &rep) != REDIS_OK) {
            for (int j = 0; j < i; j++) {
                freeReplyObject(out[j]);
                out[j] = NULL;
            }
            td_warn("redis: %s", r->ctx->errstr);
            td_metrics_count(TD_M_REDIS_ERROR);
            drop(r);
            return TD_EUNAVAIL;
        }
        out[i] = rep;
    }
    r->pending = 0;
    return TD_OK;
}

td_status td_redis_ping(td_redis *r, double *latency_ms)
{
    double t0 = td_mono_s();
    redisReply *rep = td_redis_cmd(r, "PING");
    if (!rep && ensure(r)) /* a stale connection: one fresh try */
        rep = td_redis_cmd(r, "PING");
    *latency_ms = (td_mono_s() - t0) * 1000.0;
    int ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    return ok ? TD_OK : TD_EUNAVAIL;
}

const char *td_redis_info_field(const char *info, const char *field, size_t *len)
{
    size_t n = strlen(field);
    for (const char *p = info; p && *p;) {
        if (strncmp(p, field, n) == 0 && p[n] == ':') {
            if (len)
                *len = strcspn(p + n + 1, "\r\n");
            return p + n + 1;
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

redisReply *td_redis_eval(td_redis *r, const char *script, int nkeys, int argc, const char **argv)
{
    /* EVAL ships the script each time; scripts here are short and Redis
     * caches their compiled form, so EVALSHA would save only bytes. */
    const char *args[16];
    char nk[16];
    if (argc > 13)
        return NULL;
    snprintf(nk, sizeof nk, "%d", nkeys);
    args[0] = "EVAL";
    args[1] = script;
    args[2] = nk;
    for (int i = 0; i < argc; i++)
        args[3 + i] = argv[i];
    return td_redis_argv(r, argc + 3, args, NULL);
}

/* The subscription is proven alive by PINGs on it (allowed in subscribe
 * mode; the answer is a "pong" message): Redis answers commands of one
 * connection in order and writes a published message to every subscriber
 * before it reads their next command, so a pong to a PING sent at time T
 * proves every message published before T has been read.  A SIGSTOPped
 * Redis keeps the socket open and sends nothing; only the missing pong
 * tells. */
#define SUB_PING_EVERY_S 0.25 /* a new PING once the last proof is this old */
#define SUB_TRUST_S 1.0       /* memory is current while the last proof is this recent */
#define SUB_DEADLINE_S 1.0    /* no answer this long after a command: the link is lost */
#define SUB_IDLE_WAIT_MS 5    /* after an idle spell, wait this long for a fresh pong */

struct td_redis_sub {
    td_redis *conn;
    char channels[TD_REDIS_SUB_MAX][64];
    int nchannels;
    int acks;        /* SUBSCRIBE replies of this connection (one per channel) */
    uint64_t serial; /* connections made: the socket changes with it */
    int subscribed;  /* every SUBSCRIBE reply has arrived */
    double asked_at; /* when the unanswered SUBSCRIBE or PING was sent; 0: none */
    double proven;   /* when the last answered one was sent */
    int unsent;      /* commands still in hiredis' output buffer */
};

td_redis_sub *td_redis_sub_open(const char *url, int timeout_ms, const char *channel)
{
    return td_redis_sub_open_many(url, timeout_ms, &channel, 1);
}

td_redis_sub *td_redis_sub_open_many(const char *url, int timeout_ms, const char *const *channels,
                                     int n)
{
    if (n < 1 || n > TD_REDIS_SUB_MAX)
        return NULL;
    td_redis_sub *s = calloc(1, sizeof *s);
    if (!s || !(s->conn = td_redis_open(url, timeout_ms))) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        snprintf(s->channels[i], sizeof s->channels[i], "%s", channels[i]);
    s->nchannels = n;
    return s;
}

int td_redis_sub_fd(const td_redis_sub *s)
{
    return s && s->conn->ctx ? s->conn->ctx->fd : -1;
}

uint64_t td_redis_sub_serial(const td_redis_sub *s)
{
    return s ? s->serial : 0;
}

void td_redis_sub_close(td_redis_sub *s)
{
    if (!s)
        return;
    td_redis_close(s->conn);
    free(s);
}

static int sub_broken(td_redis_sub *s, int *gap)
{
    if (s->subscribed)
        td_warn("redis: subscription lost");
    drop(s->conn);
    s->subscribed = 0;
    s->asked_at = 0;
    s->unsent = 0;
    *gap = 1;
    return 0;
}

/* Write what hiredis holds for the socket, as much as it takes now: the
 * subscription's socket never blocks, the rest goes on the next poll.  0
 * when the link broke. */
static int sub_flush(td_redis_sub *s)
{
    int done = 0;
    if (redisBufferWrite(s->conn->ctx, &done) != REDIS_OK)
        return 0;
    s->unsent = !done;
    return 1;
}

/* Queue a command and start writing it out. */
static int sub_send(td_redis_sub *s, int argc, const char **argv)
{
    if (redisAppendCommandArgv(s->conn->ctx, argc, argv, NULL) != REDIS_OK)
        return 0;
    s->asked_at = td_mono_s();
    return sub_flush(s);
}

/* Hand every reply hiredis holds to its handler, then read the socket
 * while it has data.  The replies already buffered come first: a message
 * that arrived in the same read as an earlier reply sits in hiredis'
 * reader, not in the socket, so polling the socket alone would leave it
 * there until more data happens to arrive.  0 when the link broke. */
static int sub_drain(td_redis_sub *s, td_redis_chmsg_fn fn, void *arg)
{
    redisContext *c = s->conn->ctx;
    for (;;) {
        void *v;
        for (;;) {
            if (redisGetReplyFromReader(c, &v) != REDIS_OK)
                return 0;
            if (!v)
                break;
            redisReply *m = v;
            int ok = 1;
            if (m->type == REDIS_REPLY_ARRAY && m->elements >= 1 &&
                m->element[0]->type == REDIS_REPLY_STRING) {
                const char *kind = m->element[0]->str;
                if (strcmp(kind, "message") == 0 && m->elements == 3 &&
                    m->element[1]->type == REDIS_REPLY_STRING &&
                    m->element[2]->type == REDIS_REPLY_STRING) {
                    fn(m->element[1]->str, m->element[2]->str, m->element[2]->len, arg);
                } else if ((strcmp(kind, "subscribe") == 0 && ++s->acks >= s->nchannels) ||
                           (strcmp(kind, "pong") == 0 && s->acks >= s->nchannels)) {
                    s->subscribed = 1;
                    if (s->asked_at > 0)
                        s->proven = s->asked_at;
                    s->asked_at = 0;
                }
            } else if (m->type == REDIS_REPLY_ERROR) {
                td_warn("redis: subscription: %s", m->str);
                ok = 0;
            }
            freeReplyObject(m);
            if (!ok)
                return 0;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            return 1;
        if (redisBufferRead(c) != REDIS_OK)
            return 0;
    }
}

/* One channel's callback behind the many-channel one. */
typedef struct one_channel {
    td_redis_msg_fn fn;
    void *arg;
} one_channel;

static void without_channel(const char *channel, const char *msg, size_t len, void *arg)
{
    (void)channel;
    one_channel *o = arg;
    o->fn(msg, len, o->arg);
}

int td_redis_sub_poll(td_redis_sub *s, td_redis_msg_fn fn, void *arg, int *gap)
{
    one_channel o = {fn, arg};
    return td_redis_sub_poll_many(s, without_channel, &o, gap);
}

int td_redis_sub_poll_many(td_redis_sub *s, td_redis_chmsg_fn fn, void *arg, int *gap)
{
    *gap = 0;
    if (!s)
        return 0;
    if (!s->conn->ctx) {
        /* Never waits (connect_now): a connect that does not complete is
         * the missing answer SUB_DEADLINE_S catches, so a poll never
         * blocks, whether Redis refuses, stalls or sits behind a network
         * that drops the handshake. */
        if (!ensure_as(s->conn, 1))
            return 0;
        s->subscribed = 0;
        s->acks = 0;
        s->serial++;
        const char *argv[TD_REDIS_SUB_MAX + 1] = {"SUBSCRIBE"};
        for (int i = 0; i < s->nchannels; i++)
            argv[i + 1] = s->channels[i];
        if (!sub_send(s, s->nchannels + 1, argv))
            return sub_broken(s, gap);
        *gap = 1; /* anything published before now was missed */
    } else if (s->unsent && !sub_flush(s)) {
        return sub_broken(s, gap);
    }
    if (!sub_drain(s, fn, arg))
        return sub_broken(s, gap);
    double now = td_mono_s();
    if (s->asked_at > 0 && now - s->asked_at > SUB_DEADLINE_S) {
        td_warn("redis: no answer on the subscription for %.1f s", now - s->asked_at);
        return sub_broken(s, gap);
    }
    if (s->subscribed && s->asked_at == 0 && now - s->proven >= SUB_PING_EVERY_S) {
        const char *ping[] = {"PING"};
        if (!sub_send(s, 1, ping))
            return sub_broken(s, gap);
        if (now - s->proven > SUB_TRUST_S) {
            /* Idle for a while: a healthy Redis answers in well under a
             * millisecond, so a short wait keeps memory usable. */
            struct pollfd p = {.fd = s->conn->ctx->fd, .events = POLLIN};
            if (poll(&p, 1, SUB_IDLE_WAIT_MS) > 0 && !sub_drain(s, fn, arg))
                return sub_broken(s, gap);
        }
    }
    return s->subscribed && td_mono_s() - s->proven <= SUB_TRUST_S;
}
