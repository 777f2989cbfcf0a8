/*
 * evloop.h - lws on a libev loop of the program's own, waiting with
 * epoll (tradedesk-engine, tradedesk-stream).  lws' own loop is poll():
 * every pass goes over every descriptor, and a program woken by each
 * message pays that each time (docs/performance.md).  The loop being
 * foreign lets a run return after each pass, for what the program does
 * between passes and for its signals (lws_cancel_service wakes it).
 */
#ifndef TD_WS_EVLOOP_H
#define TD_WS_EVLOOP_H

#include <libwebsockets.h>

struct ev_loop;

/* A new epoll loop, set in info as lws' loop (LWS_SERVER_OPTION_LIBEV
 * added to its options); NULL, logged, when none can be made.  Freed by
 * td_ws_evloop_free after lws_context_destroy.  Never lws_service on it:
 * under an event lib that runs the lib's loop until it is broken. */
struct ev_loop *td_ws_evloop(struct lws_context_creation_info *info);
void td_ws_evloop_free(struct ev_loop *loop);

/* One pass: wait for a socket or a timer, at most timeout_ms (< 0: as
 * long as it takes). */
void td_ws_evloop_pass(struct ev_loop *loop, int timeout_ms);

#endif
