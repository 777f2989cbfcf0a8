/*
 * dbloop.c - store/db's non-blocking face on the engine's event loop: the
 * PostgreSQL socket is adopted into libwebsockets as a raw descriptor, so a
 * result is read the moment it arrives instead of on the next timer tick.
 *
 * A dup() of the socket is adopted (lws closes what it adopted; libpq owns
 * the original).  When store/db reconnects, the socket changes: the old
 * adoption is dropped and the new socket adopted (td_engine_db_watch,
 * called after every service).  td_dbwatch does the same for any other
 * connection (the monitor's), told apart by the adoption's opaque data.
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
    td_dbwatch *w = lws_get_opaque_user_data(wsi); /* another connection than the publisher's */
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (w) {
            if (wsi != w->wsi)
                return -1;
            td_db_service(w->db);
            if (w->serviced)
                w->serviced(w->arg);
            td_dbwatch_update(e, w);
            return 0;
        }
        if (wsi != e->db_wsi)
            return -1; /* an adoption of a socket store/db has since closed */
        td_db_service(e->db);
        td_engine_db_watch(e);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (w) {
            if (wsi == w->wsi) {
                w->wsi = NULL;
                w->fd = -1;
            }
            return 0;
        }
        if (wsi == e->db_wsi) {
            e->db_wsi = NULL;
            e->db_fd = -1;
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols td_engine_db_protocol = {"td-db", callback, 0, 0, 0, NULL, 0};

void td_engine_db_watch(td_engine *e)
{
    int fd = td_db_fd(e->db);
    if (fd != e->db_fd) {
        if (e->db_wsi) {
            struct lws *old = e->db_wsi;
            e->db_wsi = NULL;
            lws_set_timeout(old, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        }
        e->db_fd = -1;
        if (fd >= 0) {
            int copy = dup(fd);
            lws_sock_file_fd_type u = {.filefd = copy};
            struct lws_vhost *vh = lws_get_vhost_by_name(e->lws, "default");
            e->db_wsi = copy >= 0 && vh ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u,
                                                                     "td-db", NULL)
                                        : NULL;
            if (e->db_wsi)
                e->db_fd = fd;
            else if (copy >= 0)
                close(copy); /* the timer still services store/db, just later */
        }
    }
    if (e->db_wsi && (td_db_events(e->db) & TD_DB_WANT_WRITE))
        lws_callback_on_writable(e->db_wsi);
}

void td_dbwatch_update(td_engine *e, td_dbwatch *w)
{
    int fd = td_db_fd(w->db);
    if (fd != w->fd) {
        if (w->wsi) {
            struct lws *old = w->wsi;
            w->wsi = NULL;
            lws_set_timeout(old, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        }
        w->fd = -1;
        if (fd >= 0) {
            int copy = dup(fd);
            lws_sock_file_fd_type u = {.filefd = copy};
            struct lws_vhost *vh = lws_get_vhost_by_name(e->lws, "default");
            w->wsi = copy >= 0 && vh ? lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u,
                                                                  "td-db", NULL)
                                     : NULL;
            if (w->wsi) {
                lws_set_opaque_user_data(w->wsi, w);
                w->fd = fd;
            } else if (copy >= 0) {
                close(copy);
            }
        }
    }
    if (w->wsi && (td_db_events(w->db) & TD_DB_WANT_WRITE))
        lws_callback_on_writable(w->wsi);
}
