/*
 * dbloop.c - store/db's non-blocking face on the engine's event loop: the
 * PostgreSQL socket adopted into libwebsockets (loopfd.c), serviced when
 * it is readable or writable, and watched again after every service.
 */
#include "engine/engine.h"

#include <stddef.h>

static void service(td_engine *e)
{
    td_db_service(e->db);
    td_engine_db_watch(e);
}

static const td_loop_fd_kind kind = {offsetof(td_engine, db_loop), service};
const struct lws_protocols td_engine_db_protocol = {
    "td-db", td_engine_loop_fd_callback, 0, 0, 0, (void *)&kind, 0};

void td_engine_db_watch(td_engine *e)
{
    td_engine_loop_fd(e, &e->db_loop, "td-db", td_db_fd(e->db), 0,
                      td_db_events(e->db) & TD_DB_WANT_WRITE);
}
