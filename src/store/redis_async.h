/*
 * redis_async.h - a non-blocking Redis connection (hiredis' async API) for
 * a program with an event loop of its own: commands are appended in
 * batches, written when the socket takes them and answered on the loop,
 * never waited for.  The loop watches td_redis_async_fd (readable always,
 * writable when td_redis_async_want_write) and calls
 * td_redis_async_service after either, and at least every 100 ms so that
 * timeouts and reconnects happen.
 *
 * Commands go in batches (the engine's publisher: td_redis_async_append
 * then _end_batch, one callback with ok) or one at a time with their own
 * reply (td_redis_async_command: the stream's reads).
 *
 * Redis is a cache and an event bus: a batch that fails (Redis down, the
 * connection lost, no answer within the timeout) is reported to its
 * callback with ok = 0 and is not retried; the caller writes the current
 * values again on its next batch.  hiredis 0.14 has no async timeouts, so
 * this file keeps its own: a batch unanswered for timeout_ms drops the
 * connection, and connecting is retried at most once a second.
 */
#ifndef TD_STORE_REDIS_ASYNC_H
#define TD_STORE_REDIS_ASYNC_H

#include "domain/td.h"

#include <stddef.h>
#include <stdint.h>

typedef struct td_redis_async td_redis_async;

/* Called once per command of td_redis_async_command: reply is hiredis'
 * (freed after the callback returns; copy what you keep), NULL when the
 * command was lost (the connection dropped, timed out, or closed).  May
 * run inside td_redis_async_service or _close; it may send commands (one
 * sent while the connection is being lost is refused TD_EUNAVAIL). */
struct redisReply;
typedef void (*td_redis_reply_fn)(void *arg, struct redisReply *reply);

/* Called once per batch, in order: ok = 1 when Redis answered every
 * command of it (error replies included, counted in the stats), 0 when the
 * batch was lost.  May run inside td_redis_async_service or _close. */
typedef void (*td_redis_batch_fn)(void *arg, int ok);

typedef struct td_redis_async_stats {
    uint64_t commands; /* appended */
    uint64_t batches;  /* ended (sent or queued for sending) */
    uint64_t errors;   /* error replies, lost batches, failed connects */
    uint64_t reconnects;
} td_redis_async_stats;

/* url as store/redis: redis://host:port[/db] or unix:/path.  Never
 * connects here; the first service does.  NULL on OOM. */
td_redis_async *td_redis_async_open(const char *url, int timeout_ms);
/* Every batch not yet answered ends with ok = 0. */
void td_redis_async_close(td_redis_async *r);

/* Connect when due, drop a connection whose oldest batch is overdue, then
 * read and write what the socket allows. */
void td_redis_async_service(td_redis_async *r);

/* The socket to watch, -1 while there is none.  The connection's serial
 * changes whenever the socket does (a new descriptor may reuse the number). */
int td_redis_async_fd(const td_redis_async *r);
uint64_t td_redis_async_serial(const td_redis_async *r);
int td_redis_async_want_write(const td_redis_async *r);

/* 1 when commands may be appended: a connection exists or is being made. */
int td_redis_async_ready(const td_redis_async *r);
/* Batches ended and not yet answered. */
size_t td_redis_async_in_flight(const td_redis_async *r);

/* Commands of the open batch (hiredis' format, %b for binary). */
td_status td_redis_async_append(td_redis_async *r, const char *fmt, ...);
td_status td_redis_async_argv(td_redis_async *r, int argc, const char **argv, const size_t *lens);
/* Close the open batch; fn(arg, ok) once its last reply is read (fn may be
 * NULL).  A batch without commands calls fn(arg, 1) at once.  TD_EUNAVAIL
 * when not ready (fn is then not called). */
td_status td_redis_async_end_batch(td_redis_async *r, td_redis_batch_fn fn, void *arg);

/* One command with its own reply: fn(arg, reply) exactly once (fn NULL:
 * the reply is not wanted), unless
 * this returns other than TD_OK (TD_EUNAVAIL when not ready, TD_EINVAL
 * inside an open batch, TD_ENOMEM).  It times out like a batch. */
td_status td_redis_async_command(td_redis_async *r, td_redis_reply_fn fn, void *arg,
                                 const char *fmt, ...);

/* The same with its arguments as they are (binary-safe, no format). */
td_status td_redis_async_command_argv(td_redis_async *r, td_redis_reply_fn fn, void *arg,
                                      int argc, const char **argv, const size_t *lens);

td_redis_async_stats td_redis_async_stats_get(const td_redis_async *r);

#endif
