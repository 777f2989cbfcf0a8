/*
 * stop.h - SIGTERM and SIGINT for a program whose work is one
 * libwebsockets loop (tradedesk-stream, `tradedesk feed test`): the
 * handler sets td_ws_stop and wakes the loop with lws_cancel_service, the
 * only lws call safe in a signal handler (otherwise lws_service keeps
 * sleeping until its next timer).  SIGPIPE is ignored.
 */
#ifndef TD_WS_STOP_H
#define TD_WS_STOP_H

#include <libwebsockets.h>
#include <signal.h>

extern volatile sig_atomic_t td_ws_stop;

/* Install the handlers and clear td_ws_stop; ctx is the loop to wake
 * (may be NULL until it exists: td_ws_stop_context). */
void td_ws_stop_catch(struct lws_context *ctx);
/* The loop the handler wakes; NULL before the context is destroyed. */
void td_ws_stop_context(struct lws_context *ctx);
/* Stop as a signal would, from the loop itself (a deadline). */
void td_ws_stop_now(void);

#endif
