/*
 * redis_async.c - a non-blocking Redis connection; see redis_async.h.
 *
 * hiredis' async context does the protocol; its event hooks only record
 * whether it wants the socket's writability, which the caller's loop polls
 * (td_redis_async_want_write).  Batches are a FIFO of command counts:
 * replies come back in order, so the reply that empties the oldest batch
 * is its last one.  hiredis frees its context itself after a transport
 * error; the cleanup hook tells this file the context is gone.
 *
 * A command of td_redis_async_command is a batch of one: the same FIFO
 * numbers it, so its reply times out, and is lost, under the same rules;
 * its own callback (hiredis' privdata) gets the reply, or NULL when hiredis
 * drops the context with it unanswered.
 */
#include "store/redis_async.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/redis.h"

#include <async.h>
#include <hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Batches in flight at once: the engine's publisher keeps a few; the
 * stream one per pending client operation (an auth storm after a restart). */
#define BATCHES_MAX 65536
#define RETRY_MS 1000

typedef struct batch {
    uint64_t last; /* sequence number of its last command */
    int64_t sent_ms;
    td_redis_batch_fn fn;
    void *arg;
} batch;

struct td_redis_async {
    td_redis_addr addr;
    int timeout_ms;
    redisAsyncContext *ac;
    uint64_t serial;
    int want_write, connected;
    int64_t connect_ms, next_attempt_ms, now_ms;
    batch *q; /* ended batches, a ring of cap (grown as needed), oldest at head */
    size_t head, n, cap;
    /* Commands are numbered as appended; replies come back in that order,
     * so a batch is answered once `answered` reaches its last number. */
    uint64_t appended, answered, ended;
    unsigned connect_failures;
    td_redis_async_stats st;
};

static void ev_add_write(void *p)
{
    ((td_redis_async *)p)->want_write = 1;
}

static void ev_del_write(void *p)
{
    ((td_redis_async *)p)->want_write = 0;
}

static void ev_nop(void *p)
{
    (void)p;
}

/* The batch queue ends: every batch left, and the open one, are lost. */
static void fail_all(td_redis_async *r)
{
    while (r->n) {
        batch b = r->q[r->head];
        r->head = (r->head + 1) % r->cap;
        r->n--;
        r->st.errors++;
        td_metrics_count(TD_M_REDIS_ERROR);
        if (b.fn)
            b.fn(b.arg, 0);
    }
    r->answered = r->ended = r->appended;
}

/* hiredis is freeing the context (an error, or td_redis_async_free). */
static void ev_cleanup(void *p)
{
    td_redis_async *r = p;
    r->ac = NULL;
    r->connected = 0;
    r->want_write = 0;
    r->next_attempt_ms = r->now_ms + RETRY_MS;
    fail_all(r);
}

/* One reply read: counted, and the batches it completes answered. */
static void answered(td_redis_async *r, const redisReply *rep)
{
    if (rep->type == REDIS_REPLY_ERROR) {
        r->st.errors++;
        td_metrics_count(TD_M_REDIS_ERROR);
    }
    r->answered++;
    while (r->n && r->q[r->head].last <= r->answered) {
        batch done = r->q[r->head];
        r->head = (r->head + 1) % r->cap;
        r->n--;
        if (done.fn)
            done.fn(done.arg, 1);
    }
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    if (reply) /* NULL: the context is going away; fail_all ends the batches */
        answered(priv, reply);
}

typedef struct command {
    td_redis_async *r;
    td_redis_reply_fn fn;
    void *arg;
} command;

static void on_command_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    command c = *(command *)priv;
    free(priv);
    if (reply)
        answered(c.r, reply);
    if (c.fn)
        c.fn(c.arg, reply);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    td_redis_async *r = ac->ev.data;
    if (status == REDIS_OK) {
        r->connected = 1;
        r->connect_failures = 0;
        td_info("redis (async): connected");
    } else {
        td_warn("redis (async): connect failed: %s", ac->errstr);
        r->st.errors++;
        td_metrics_count(TD_M_REDIS_ERROR);
    }
}

td_redis_async *td_redis_async_open(const char *url, int timeout_ms)
{
    td_redis_async *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    td_redis_parse_url(url, &r->addr);
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 200;
    return r;
}

static void drop(td_redis_async *r, const char *why)
{
    if (!r->ac)
        return;
    td_warn("redis (async): %s; reconnecting within a second", why);
    redisAsyncFree(r->ac); /* calls ev_cleanup, which fails the batches */
}

void td_redis_async_close(td_redis_async *r)
{
    if (!r)
        return;
    if (r->ac)
        redisAsyncFree(r->ac);
    fail_all(r);
    free(r->q);
    free(r);
}

static void connect_now(td_redis_async *r)
{
    r->next_attempt_ms = r->now_ms + RETRY_MS;
    r->answered = r->ended = r->appended;
    redisAsyncContext *ac = r->addr.path[0] ? redisAsyncConnectUnix(r->addr.path)
                                            : redisAsyncConnect(r->addr.host, r->addr.port);
    if (!ac || ac->err) {
        if (r->connect_failures++ % 60 == 0) /* about once a minute while down */
            td_warn("redis (async): cannot connect: %s", ac ? ac->errstr : "out of memory");
        r->st.errors++;
        td_metrics_count(TD_M_REDIS_ERROR);
        if (ac)
            redisAsyncFree(ac);
        return;
    }
    r->ac = ac;
    r->serial++;
    r->st.reconnects++;
    r->connect_ms = r->now_ms;
    r->connected = 0;
    ac->ev.data = r;
    ac->ev.addRead = ev_nop; /* the loop always watches readability */
    ac->ev.delRead = ev_nop;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    /* Writability says when a connect in progress has finished. */
    r->want_write = 1;
    if (r->addr.db && td_redis_async_append(r, "SELECT %d", r->addr.db) == TD_OK)
        td_redis_async_end_batch(r, NULL, NULL);
}

static int64_t mono_ms(void)
{
    return td_mono_ns() / 1000000;
}

void td_redis_async_service(td_redis_async *r)
{
    int64_t now_ms = r->now_ms = mono_ms();
    if (!r->ac) {
        if (now_ms >= r->next_attempt_ms)
            connect_now(r);
        if (!r->ac)
            return;
    }
    if (!r->connected && now_ms - r->connect_ms > r->timeout_ms) {
        drop(r, "connect timed out");
        return;
    }
    if (r->n && now_ms - r->q[r->head].sent_ms > r->timeout_ms) {
        char why[64];
        snprintf(why, sizeof why, "no answer in %d ms", r->timeout_ms);
        drop(r, why);
        return;
    }
    /* Either may free the context (a transport error): check between. */
    redisAsyncHandleRead(r->ac);
    if (r->ac && r->want_write)
        redisAsyncHandleWrite(r->ac);
}

int td_redis_async_fd(const td_redis_async *r)
{
    return r->ac ? r->ac->c.fd : -1;
}

uint64_t td_redis_async_serial(const td_redis_async *r)
{
    return r->serial;
}

int td_redis_async_want_write(const td_redis_async *r)
{
    return r->ac && r->want_write;
}

int td_redis_async_ready(const td_redis_async *r)
{
    return r->ac != NULL && r->n < BATCHES_MAX;
}

/* Room in the ring for one more batch (it doubles, up to BATCHES_MAX). */
static int batch_room(td_redis_async *r)
{
    if (r->n < r->cap)
        return 1;
    if (r->cap >= BATCHES_MAX)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 64;
    batch *q = malloc(cap * sizeof *q);
    if (!q)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        q[i] = r->q[(r->head + i) % r->cap];
    free(r->q);
    r->q = q;
    r->head = 0;
    r->cap = cap;
    return 1;
}

static void batch_push(td_redis_async *r, td_redis_batch_fn fn, void *arg)
{
    batch *b = &r->q[(r->head + r->n++) % r->cap];
    *b = (batch){.last = r->appended, .sent_ms = mono_ms(), .fn = fn, .arg = arg};
    r->ended = r->appended;
    r->st.batches++;
}

/* A command with its own reply, before it is given to hiredis: its state
 * into *out, or why it cannot be sent. */
static td_status command_new(td_redis_async *r, td_redis_reply_fn fn, void *arg, command **out)
{
    if (!td_redis_async_ready(r) || (r->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
        return TD_EUNAVAIL; /* (the second: a lost context's callbacks are running) */
    if (r->ended != r->appended && r->answered < r->appended)
        return TD_EINVAL; /* a batch is open */
    if (!batch_room(r))
        return TD_ENOMEM;
    command *c = malloc(sizeof *c);
    if (!c)
        return TD_ENOMEM;
    *c = (command){.r = r, .fn = fn, .arg = arg};
    *out = c;
    return TD_OK;
}

/* hiredis took it (rc REDIS_OK): a batch of one. */
static td_status command_sent(td_redis_async *r, command *c, int rc)
{
    if (rc != REDIS_OK) {
        free(c);
        return TD_ERROR;
    }
    r->appended++;
    r->st.commands++;
    batch_push(r, NULL, NULL);
    return TD_OK;
}

td_status td_redis_async_command(td_redis_async *r, td_redis_reply_fn fn, void *arg,
                                 const char *fmt, ...)
{
    command *c;
    td_status st = command_new(r, fn, arg, &c);
    if (st != TD_OK)
        return st;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, on_command_reply, c, fmt, ap);
    va_end(ap);
    return command_sent(r, c, rc);
}

td_status td_redis_async_command_argv(td_redis_async *r, td_redis_reply_fn fn, void *arg,
                                      int argc, const char **argv, const size_t *lens)
{
    command *c;
    td_status st = command_new(r, fn, arg, &c);
    if (st != TD_OK)
        return st;
    return command_sent(r, c, redisAsyncCommandArgv(r->ac, on_command_reply, c, argc, argv, lens));
}

size_t td_redis_async_in_flight(const td_redis_async *r)
{
    return r->n;
}

td_status td_redis_async_append(td_redis_async *r, const char *fmt, ...)
{
    if (!r->ac)
        return TD_EUNAVAIL;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, on_reply, r, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        return TD_ERROR;
    r->appended++;
    r->st.commands++;
    return TD_OK;
}

static char *put_uint(char *p, size_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* RESP written here rather than by hiredis' printf-like formatter, which
 * cost the publisher more than the rest of a pass (docs/performance.md). */
td_status td_redis_async_argv(td_redis_async *r, int argc, const char **argv, const size_t *lens)
{
    if (!r->ac)
        return TD_EUNAVAIL;
    size_t need = 16;
    for (int i = 0; i < argc; i++)
        need += lens[i] + 32;
    char stack[2048], *buf = need <= sizeof stack ? stack : malloc(need);
    if (!buf)
        return TD_ENOMEM;
    char *p = buf;
    *p++ = '*';
    p = put_uint(p, (size_t)argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        *p++ = '$';
        p = put_uint(p, lens[i]);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, argv[i], lens[i]);
        p += lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    int rc = redisAsyncFormattedCommand(r->ac, on_reply, r, buf, (size_t)(p - buf));
    if (buf != stack)
        free(buf);
    if (rc != REDIS_OK)
        return TD_ERROR;
    r->appended++;
    r->st.commands++;
    return TD_OK;
}

td_status td_redis_async_end_batch(td_redis_async *r, td_redis_batch_fn fn, void *arg)
{
    if (!td_redis_async_ready(r))
        return TD_EUNAVAIL;
    if (r->ended == r->appended || r->answered >= r->appended) {
        r->ended = r->appended;
        if (fn) /* nothing to wait for */
            fn(arg, 1);
        return TD_OK;
    }
    if (!batch_room(r))
        return TD_ENOMEM; /* fn is not called: the caller writes the values again */
    batch_push(r, fn, arg);
    return TD_OK;
}

td_redis_async_stats td_redis_async_stats_get(const td_redis_async *r)
{
    return r->st;
}
