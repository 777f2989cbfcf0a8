/*
 * dbloop.c - store/db's non-blocking face on the engine's event loop: a
 * PostgreSQL connection's socket adopted into libwebsockets (loopfd.c),
 * serviced when it is readable or writable, and watched again after every
 * service: the publisher's connection (td_engine_db_watch) and any other
 * (the monitor's, td_dbwatch).
 */
#include "engine/engine.h"

static void serviced(void *arg)
{
    td_dbwatch *w = arg;
    td_db_service(w->db);
    if (w->serviced)
        w->serviced(w->arg);
    td_dbwatch_update(w->e, w);
}

void td_dbwatch_update(td_engine *e, td_dbwatch *w)
{
    w->e = e;
    w->loop.service = serviced;
    w->loop.arg = w;
    td_engine_loop_fd(e, &w->loop, td_db_fd(w->db), 0, td_db_events(w->db) & TD_DB_WANT_WRITE);
}

void td_engine_db_watch(td_engine *e)
{
    e->db_watch.db = e->db;
    td_dbwatch_update(e, &e->db_watch);
}
