/*
 * evloop.c - lws on a libev loop of the program's own; see evloop.h.
 */
#include "ws/evloop.h"

#include <ev.h>

#include "core/log.h"

struct ev_loop *td_ws_evloop(struct lws_context_creation_info *info)
{
    static void *loops[1]; /* read by lws_create_context; one loop a program */
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    if (!loop) {
        td_error("cannot create the event loop (epoll)");
        return NULL;
    }
    loops[0] = loop;
    info->foreign_loops = loops;
    info->options |= LWS_SERVER_OPTION_LIBEV;
    return loop;
}

void td_ws_evloop_free(struct ev_loop *loop)
{
    if (loop)
        ev_loop_destroy(loop);
}

static void wake(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop, (void)t, (void)revents;
}

void td_ws_evloop_pass(struct ev_loop *loop, int timeout_ms)
{
    if (timeout_ms < 0) {
        ev_run(loop, EVRUN_ONCE);
        return;
    }
    ev_timer t;
    ev_timer_init(&t, wake, timeout_ms / 1000.0, 0.);
    ev_timer_start(loop, &t);
    ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &t);
}
