/*
 * redisloop.c - store/redis_async on the engine's event loop, as dbloop.c
 * does for PostgreSQL: the Redis socket adopted into libwebsockets
 * (loopfd.c), so a reply is read the moment it arrives and a pipeline is
 * written the moment the socket takes it.  hiredis owns the socket and
 * frees it on a transport error or a timeout; the connection's serial
 * then changes and the new socket is adopted.
 */
#include "engine/engine.h"

static void serviced(void *arg)
{
    td_engine_redis_service(arg);
}

void td_engine_redis_watch(td_engine *e)
{
    e->redis_loop.service = serviced;
    e->redis_loop.arg = e;
    td_engine_loop_fd(e, &e->redis_loop, td_redis_async_fd(e->aredis),
                      td_redis_async_serial(e->aredis), td_redis_async_want_write(e->aredis));
}

void td_engine_redis_service(td_engine *e)
{
    td_redis_async_service(e->aredis);
    td_engine_redis_watch(e);
}
