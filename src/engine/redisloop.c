/*
 * redisloop.c - store/redis_async on the engine's event loop, as dbloop.c
 * does for PostgreSQL: a dup() of the Redis socket is adopted into
 * libwebsockets as a raw descriptor, so a reply is read the moment it
 * arrives and a pipeline is written the moment the socket takes it.
 *
 * hiredis owns the original socket and frees it on a transport error or a
 * timeout; the connection's serial then changes and td_engine_redis_watch
 * drops the old adoption and adopts the new socket.
 */
#include "engine/engine.h"

#include <unistd.h>

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    td_engine *e = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (wsi != e->aredis_wsi)
            return -1; /* an adoption of a socket hiredis has since closed */
        td_engine_redis_service(e);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (wsi == e->aredis_wsi)
            e->aredis_wsi = NULL;
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols td_engine_redis_protocol = {"td-redis", callback, 0, 0, 0, NULL, 0};

void td_engine_redis_watch(td_engine *e)
{
    uint64_t serial = td_redis_async_serial(e->aredis);
    int fd = td_redis_async_fd(e->aredis);
    if (serial != e->aredis_serial || (fd < 0 && e->aredis_wsi)) {
        if (e->aredis_wsi) {
            struct lws *old = e->aredis_wsi;
            e->aredis_wsi = NULL;
            lws_set_timeout(old, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        }
        e->aredis_serial = serial;
        if (fd >= 0) {
            int copy = dup(fd);
            lws_sock_file_fd_type u = {.filefd = copy};
            struct lws_vhost *vh = lws_get_vhost_by_name(e->lws, "default");
            e->aredis_wsi =
                copy >= 0 && vh
                    ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u, "td-redis", NULL)
                    : NULL;
            if (!e->aredis_wsi && copy >= 0)
                close(copy); /* the timer still services it, just later */
        }
    }
    if (e->aredis_wsi && td_redis_async_want_write(e->aredis))
        lws_callback_on_writable(e->aredis_wsi);
}

void td_engine_redis_service(td_engine *e)
{
    td_redis_async_service(e->aredis);
    td_engine_redis_watch(e);
}
