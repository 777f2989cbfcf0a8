/*
 * loopfd.c - a client connection's socket in a libwebsockets loop; see
 * loopfd.h.  Used by the engine (the publisher's and the monitor's
 * PostgreSQL connections, the publisher's Redis) and the stream (its
 * Redis subscription).
 *
 * lws closes what it adopted and the client library owns the original,
 * hence the dup.  When the library reconnects, the socket changes (its
 * number may even be reused: the serial tells connections apart); the old
 * adoption is then dropped and the new socket adopted.  Each adoption
 * carries its td_loop_fd as lws' opaque user data, so one protocol serves
 * every connection.  hiredis owns its socket and frees it on a transport
 * error or a timeout; the connection's serial then changes.
 */
#include "ws/loopfd.h"

#include <stdint.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define PROTOCOL "td-fd"

static void drop(td_loop_fd *w)
{
    if (!w->wsi)
        return;
    struct lws *old = w->wsi;
    w->wsi = NULL;
    lws_set_opaque_user_data(old, NULL);
    lws_set_timeout(old, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}

void td_ws_loop_fd(struct lws_context *ctx, td_loop_fd *w, int fd, uint64_t serial,
                   int want_write)
{
    if (fd != w->fd || serial != w->serial) {
        drop(w);
        w->fd = -1;
        w->serial = serial;
        if (fd >= 0) {
            int copy = dup(fd);
            lws_sock_file_fd_type u = {.filefd = copy};
            struct lws_vhost *vh = lws_get_vhost_by_name(ctx, "default");
            w->wsi = copy >= 0 && vh ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u,
                                                                  PROTOCOL, NULL)
                                     : NULL;
            if (w->wsi) {
                lws_set_opaque_user_data(w->wsi, w);
                w->fd = fd;
            } else if (copy >= 0) {
                close(copy); /* the timer still services the connection, just later */
            }
        }
    }
    if (w->wsi && want_write)
        lws_callback_on_writable(w->wsi);
}

void td_ws_loop_fd_release(td_loop_fd *w)
{
    drop(w);
    w->fd = -1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    td_loop_fd *w = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (!w || wsi != w->wsi)
            return -1; /* an adoption of a socket the library has since closed */
        w->service(w->arg);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (w && wsi == w->wsi) {
            w->wsi = NULL;
            w->fd = -1;
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols td_ws_fd_protocol = {PROTOCOL, callback, 0, 0, 0, NULL, 0};

/* ---- PostgreSQL (store/db's non-blocking face) ---------------------------- */

static void db_serviced(void *arg)
{
    td_dbwatch *w = arg;
    td_db_service(w->db);
    if (w->serviced)
        w->serviced(w->arg);
    td_dbwatch_update(w->lws, w);
}

void td_dbwatch_update(struct lws_context *ctx, td_dbwatch *w)
{
    w->lws = ctx;
    w->loop.service = db_serviced;
    w->loop.arg = w;
    td_ws_loop_fd(ctx, &w->loop, td_db_fd(w->db), 0, td_db_events(w->db) & TD_DB_WANT_WRITE);
}

/* ---- Redis (store/redis_async) ------------------------------------------- */

static void redis_serviced(void *arg)
{
    td_ws_redis_service(arg);
}

void td_ws_redis_watch(struct lws_context *ctx, td_redis_watch *w)
{
    w->lws = ctx;
    w->loop.service = redis_serviced;
    w->loop.arg = w;
    td_ws_loop_fd(ctx, &w->loop, td_redis_async_fd(w->r), td_redis_async_serial(w->r),
                  td_redis_async_want_write(w->r));
}

void td_ws_redis_service(td_redis_watch *w)
{
    td_redis_async_service(w->r);
    if (w->serviced)
        w->serviced(w->arg);
    td_ws_redis_watch(w->lws, w);
}

/* ---- timers (timerfd) ---------------------------------------------------- */

static void timer_serviced(void *arg)
{
    td_ws_timer *t = arg;
    uint64_t expirations;
    if (read(t->fd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations)
        return; /* not due (a reschedule moved it): nothing to run */
    t->fired(t);
}

int td_ws_timer_init(struct lws_context *ctx, td_ws_timer *t, void (*fired)(td_ws_timer *t))
{
    t->fired = fired;
    t->loop.fd = -1;
    t->loop.service = timer_serviced;
    t->loop.arg = t;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->fd < 0)
        return -1;
    td_ws_loop_fd(ctx, &t->loop, t->fd, 0, 0);
    if (!t->loop.wsi) {
        close(t->fd);
        t->fd = -1;
        return -1;
    }
    return 0;
}

static void timer_set(td_ws_timer *t, int64_t ns)
{
    if (t->fd < 0)
        return;
    struct itimerspec it = {.it_value = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}};
    timerfd_settime(t->fd, 0, &it, NULL);
}

void td_ws_timer_schedule(td_ws_timer *t, int64_t us)
{
    timer_set(t, us > 0 ? us * 1000 : 1); /* an it_value of zero would disarm it */
}

void td_ws_timer_cancel(td_ws_timer *t)
{
    timer_set(t, 0);
}

void td_ws_timer_release(td_ws_timer *t)
{
    if (!t->fired)
        return; /* zeroed, never initialised: no descriptor of its own */
    td_ws_loop_fd_release(&t->loop);
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}
