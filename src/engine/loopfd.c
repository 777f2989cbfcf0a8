/*
 * loopfd.c - a client connection's socket in the engine's libwebsockets
 * loop, for store/db (dbloop.c: the publisher's and the monitor's
 * PostgreSQL connections) and store/redis_async (redisloop.c): a dup() of
 * the socket is adopted as a raw descriptor, so a reply is read the moment
 * it arrives instead of on the next timer tick.
 *
 * lws closes what it adopted and the client library owns the original,
 * hence the dup.  When the library reconnects, the socket changes (its
 * number may even be reused: the serial tells connections apart); the old
 * adoption is then dropped and the new socket adopted.  Each adoption
 * carries its td_loop_fd as lws' opaque user data, so one protocol serves
 * every connection.
 */
#include "engine/engine.h"

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

void td_engine_loop_fd(td_engine *e, td_loop_fd *w, int fd, uint64_t serial, int want_write)
{
    if (fd != w->fd || serial != w->serial) {
        drop(w);
        w->fd = -1;
        w->serial = serial;
        if (fd >= 0) {
            int copy = dup(fd);
            lws_sock_file_fd_type u = {.filefd = copy};
            struct lws_vhost *vh = lws_get_vhost_by_name(e->lws, "default");
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

void td_engine_loop_fd_release(td_loop_fd *w)
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

const struct lws_protocols td_engine_fd_protocol = {PROTOCOL, callback, 0, 0, 0, NULL, 0};
