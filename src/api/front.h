/*
 * front.h - the own FastCGI transport's dispatcher (TRADEDESK_API_TRANSPORT=own).
 *
 * The master holds every connection nginx keeps open to the API
 * (`fastcgi_keep_conn on`, upstream `keepalive`) in one epoll set.  When a
 * connection has a request waiting, the master passes the connection itself
 * (SCM_RIGHTS over a unix socket pair, one per worker) to an idle worker;
 * the worker reads the request, answers it on the connection with one
 * writev (api/worker.c, core/fcgi.h) and reports back, and the master
 * watches the connection again.  A worker holds one request at a time, so a
 * slow one (a stalled PostgreSQL, a cache miss) holds only that worker:
 * other connections go to the idle workers, and wait in the master's FIFO
 * only while every worker is busy.  The master never reads a request's
 * bytes and never touches PostgreSQL or Redis.
 *
 * Everything here runs in the master except td_front_child_close (in a
 * fresh worker) and td_front_receive/td_front_report (the worker's side).
 */
#ifndef TD_API_FRONT_H
#define TD_API_FRONT_H

#include "core/config.h"
#include "core/fcgi.h"

#include <stdint.h>
#include <sys/types.h>

#define TD_FRONT_MAX_CONNS 4096 /* nginx connections held at once; more are closed */
#define TD_FRONT_MAX_PARAMS_BYTES 65536
#define TD_FRONT_MAX_PARAMS 512
#define TD_FRONT_IO_TIMEOUT_S 30 /* a peer stalled mid-request or mid-response */

/* One hand-off: master → worker with the connection, worker → master with
 * keep set (1: watch it again, 0: close it). */
typedef struct td_front_handoff {
    uint32_t conn;
    uint32_t keep;
} td_front_handoff;

/* Take over listen_fd (made non-blocking) and sig_fd (a signalfd).  0 ok. */
int td_front_open(int listen_fd, int sig_fd);

/* A worker's socket pair: returns the master's end (or -1), *child_fd the
 * worker's. */
int td_front_pair(int *child_fd);
/* The worker forked with that pair runs as pid. */
void td_front_worker_started(int master_fd, pid_t pid);
/* In a fresh worker: close every descriptor the master's front holds. */
void td_front_child_close(void);
/* Hand nothing more to pid; it exits once it has reported what it holds. */
void td_front_retire(pid_t pid);

/* Wait up to timeout_ms and handle what is ready.  Returns a signal taken
 * from sig_fd (SIGCHLD only when no other came), or 0. */
int td_front_wait(int timeout_ms);
/* Stop: no more connections accepted, idle and queued ones closed; those a
 * worker holds are closed when it reports.  Every worker is retired. */
void td_front_drain(void);
/* Connections a worker holds now. */
int td_front_in_flight(void);

/* The worker's side.  Wait for a hand-off (or only take one already sent,
 * when nowait): the connection's fd, -1 when the master shut the socket
 * (or nothing was waiting), -2 when interrupted. */
int td_front_receive(int ctl_fd, td_front_handoff *h, int nowait);
int td_front_report(int ctl_fd, const td_front_handoff *h);

/* Serve the requests waiting on a handed-over connection fd, then give it
 * back: returns 1 to keep it (the master watches it again), 0 to close it.
 * handle answers one complete request (*out, *len stay valid until done is
 * called, after the response is written); the arena is reset after each.
 * Reads and writes block at most the socket timeouts the master set. */
typedef void (*td_front_handler)(void *ctx, td_fcgi_request *req, td_arena *arena, const char **out,
                                 size_t *len);
int td_front_serve(int fd, td_arena *arena, const td_fcgi_limits *lim, td_front_handler handle,
                   void (*done)(void *ctx), void *ctx);

/* A worker serving hand-offs from ctl_fd until retired (api/worker.c). */
int td_worker_run_own(int ctl_fd, const td_config *cfg);

#endif
