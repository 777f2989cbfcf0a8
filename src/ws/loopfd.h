/*
 * loopfd.h - a client connection's socket in a program's libwebsockets
 * loop, shared by tradedesk-engine and tradedesk-stream: store/db's
 * non-blocking face (td_dbwatch), store/redis_async (td_ws_redis_watch)
 * and any other descriptor a library owns (the stream's pub/sub
 * connection).  A dup() of the socket is adopted as a raw descriptor, so a
 * reply is read the moment it arrives instead of on the next timer tick.
 *
 * The context must list TD_WS_FD_PROTOCOL and have a vhost named
 * "default" (lws' name when the creation info gives none).  Nothing here
 * blocks; one thread.
 */
#ifndef TD_WS_LOOPFD_H
#define TD_WS_LOOPFD_H

#include <libwebsockets.h>
#include <stdint.h>

#include "store/db.h"
#include "store/redis_async.h"

/* A socket (a dup of it) in the loop; service(arg) runs when it is
 * readable or writable.  Zero it, fd -1. */
typedef struct td_loop_fd {
    struct lws *wsi; /* the adoption, NULL none */
    int fd;          /* the socket it is a dup of, -1 none */
    uint64_t serial; /* the connection it belongs to (a reused number is another) */
    void (*service)(void *arg);
    void *arg;
} td_loop_fd;

/* The one protocol every adoption uses. */
extern const struct lws_protocols td_ws_fd_protocol;

/* Adopt fd (its serial-th connection) when either changed, dropping the
 * old adoption; ask for writability when want_write.  fd -1: none. */
void td_ws_loop_fd(struct lws_context *ctx, td_loop_fd *w, int fd, uint64_t serial,
                   int want_write);
/* Drop the adoption (before w's memory goes). */
void td_ws_loop_fd_release(td_loop_fd *w);

/* A non-blocking PostgreSQL connection on the loop: serviced when its
 * socket is ready, then serviced(arg) (may be NULL).  Zero it, set db and
 * loop.fd = -1, and call td_dbwatch_update after every td_db_send or
 * td_db_service. */
typedef struct td_dbwatch {
    td_db *db;
    void (*serviced)(void *arg);
    void *arg;
    struct lws_context *lws;
    td_loop_fd loop;
} td_dbwatch;
void td_dbwatch_update(struct lws_context *ctx, td_dbwatch *w);

/* store/redis_async's socket on the loop: service reads, writes, times out
 * and reconnects, then (re)adopts the socket as needed; serviced(arg)
 * afterwards (may be NULL). */
typedef struct td_redis_watch {
    td_redis_async *r;
    void (*serviced)(void *arg);
    void *arg;
    struct lws_context *lws;
    td_loop_fd loop;
} td_redis_watch;
void td_ws_redis_watch(struct lws_context *ctx, td_redis_watch *w);
void td_ws_redis_service(td_redis_watch *w);

/* A one-shot timer on the loop as a descriptor (timerfd): poll() wakes
 * when it is due, to the microsecond.  lws' own timers (lws_sul) wake its
 * poll() a fraction of a millisecond early (it waits whole milliseconds,
 * rounded down), and the loop then spins with zero timeouts until the
 * timer is due: up to a millisecond of a core each time, under SCHED_FIFO
 * the core a PostgreSQL backend needed.  For the timers that fire many
 * times a second; lws_sul for the rest.  Zero it, then td_ws_timer_init;
 * fired(t) runs in the loop. */
typedef struct td_ws_timer {
    int fd; /* the timerfd, -1 none */
    void (*fired)(struct td_ws_timer *t);
    td_loop_fd loop;
} td_ws_timer;
/* 0, or -1 when no timerfd could be made (fired then never runs). */
int td_ws_timer_init(struct lws_context *ctx, td_ws_timer *t, void (*fired)(td_ws_timer *t));
/* Due in us microseconds (at once when us <= 0), replacing any earlier
 * time; td_ws_timer_cancel unsets it. */
void td_ws_timer_schedule(td_ws_timer *t, int64_t us);
void td_ws_timer_cancel(td_ws_timer *t);
/* Out of the loop and closed (before t's memory goes); a zeroed timer
 * never initialised is left alone. */
void td_ws_timer_release(td_ws_timer *t);

#endif
