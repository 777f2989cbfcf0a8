/*
 * redis.h - one blocking hiredis connection per process, with timeouts and
 * lazy reconnection.
 *
 * Redis is a cache and event bus here, never the source of truth: callers
 * treat a NULL reply as "Redis unavailable" and carry on without it.
 */
#ifndef TD_REDIS_H
#define TD_REDIS_H

#include "domain/td.h"
#include <hiredis.h>
#include <stdint.h>

typedef struct td_redis td_redis;

/* Where a Redis URL points: a unix socket (path) or host and port; db. */
typedef struct td_redis_addr {
    char host[200];
    char path[200];
    int port, db;
} td_redis_addr;
/* url: redis://host:port[/db] or unix:/path (unix:///path). */
void td_redis_parse_url(const char *url, td_redis_addr *out);

/* url: redis://host:port[/db] or unix:/path/to/sock.  Never connects here. */
td_redis *td_redis_open(const char *url, int timeout_ms);
void td_redis_close(td_redis *r);

/* A reply the caller frees with freeReplyObject(), or NULL when Redis is
 * unreachable (the connection is dropped and retried at most once a second).
 * A REDIS_REPLY_ERROR reply is returned as is. */
redisReply *td_redis_cmd(td_redis *r, const char *fmt, ...);
redisReply *td_redis_argv(td_redis *r, int argc, const char **argv, const size_t *lens);

/* Send n commands previously queued with td_redis_append and read n replies
 * into out[]; on transport failure all out[] are NULL and TD_EUNAVAIL. */
td_status td_redis_append(td_redis *r, const char *fmt, ...);
td_status td_redis_flush(td_redis *r, redisReply **out, int n);

td_status td_redis_ping(td_redis *r, double *latency_ms);

/* Connects when needed (at most once a second); the connection's serial
 * number (1, 2, ...: each new connection a new one), 0 when Redis is
 * unreachable.  A serial that did not change means the same connection,
 * so the same Redis process: nothing it held was lost meanwhile. */
uint64_t td_redis_connection(td_redis *r);

/* The value of `field` in the text of an INFO reply (the rest of its
 * "field:value" line; its length in *len, which may be NULL), or NULL. */
const char *td_redis_info_field(const char *info, const char *field, size_t *len);

/* Run a short Lua script with EVAL (Redis caches its compiled form). */
redisReply *td_redis_eval(td_redis *r, const char *script, int nkeys, int argc, const char **argv);

/* A second connection per process that only listens on one pub/sub channel
 * (cache and session invalidations).  Polling never blocks. */
typedef struct td_redis_sub td_redis_sub;
typedef void (*td_redis_msg_fn)(const char *msg, size_t len, void *arg);

td_redis_sub *td_redis_sub_open(const char *url, int timeout_ms, const char *channel);
/* The same on up to TD_REDIS_SUB_MAX channels at once (the stream's). */
#define TD_REDIS_SUB_MAX 8
td_redis_sub *td_redis_sub_open_many(const char *url, int timeout_ms, const char *const *channels,
                                     int n);
/* The subscription's socket (-1 while there is none), for an event loop
 * to watch; its serial changes whenever the socket does. */
int td_redis_sub_fd(const td_redis_sub *s);
uint64_t td_redis_sub_serial(const td_redis_sub *s);
void td_redis_sub_close(td_redis_sub *s);

/* (Re)subscribe when due (at most once a second), then hand every message
 * already received to fn.  Returns 1 while the subscription is proven
 * current: a PING sent on it at most about a second ago has been answered,
 * so every message published before then has been handed over (a stalled
 * Redis that keeps the socket open fails this within about a second).
 * *gap is set to 1 when messages may have been missed since the last call
 * (the subscription broke, went a second without answering, or was just
 * established): whatever they would have invalidated must be dropped. */
int td_redis_sub_poll(td_redis_sub *s, td_redis_msg_fn fn, void *arg, int *gap);
/* The same for a subscription of several channels: fn gets the channel. */
typedef void (*td_redis_chmsg_fn)(const char *channel, const char *msg, size_t len, void *arg);
int td_redis_sub_poll_many(td_redis_sub *s, td_redis_chmsg_fn fn, void *arg, int *gap);

#endif
