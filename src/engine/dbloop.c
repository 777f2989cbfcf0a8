/*
 * dbloop.c - store/db's non-blocking face on the engine's event loop: the
 * PostgreSQL socket adopted into libwebsockets (loopfd.c), serviced when
 * it is readable or writable, and watched again after every service.
 */
#include "engine/engine.h"

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    td_engine *e = lws_context_user(lws_get_context(wsi));
    int rc = td_engine_loop_fd_event(&e->db_loop, wsi, reason);
    if (rc != 1)
        return rc;
    td_db_service(e->db);
    td_engine_db_watch(e);
    return 0;
}

const struct lws_protocols td_engine_db_protocol = {"td-db", callback, 0, 0, 0, NULL, 0};

void td_engine_db_watch(td_engine *e)
{
    td_engine_loop_fd(e, &e->db_loop, "td-db", td_db_fd(e->db), 0,
                      td_db_events(e->db) & TD_DB_WANT_WRITE);
}
