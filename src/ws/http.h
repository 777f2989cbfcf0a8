/*
 * http.h - the small HTTP responder tradedesk-engine and tradedesk-stream
 * serve /health and /metrics with on their own listening port: one
 * response per request, built whole by the program's render function and
 * written in one lws_write from the WRITEABLE callback, as libwebsockets
 * requires.
 */
#ifndef TD_WS_HTTP_H
#define TD_WS_HTTP_H

#include <libwebsockets.h>

#include "core/arena.h"
#include "core/buf.h"

/* Write the body of uri into b (allocated from a); returns the status and
 * sets *type when it is not JSON.  ctx is the context's user pointer. */
typedef int (*td_ws_http_render)(void *ctx, const char *uri, td_arena *a, td_buf *b,
                                 const char **type);

/* A request's state: the body waiting for WRITEABLE.  In the protocol's
 * per-session data (zeroed by lws). */
typedef struct td_ws_http {
    unsigned char *body; /* LWS_PRE bytes of headroom, then the body */
    size_t len;
} td_ws_http;

/* Handle an HTTP callback reason for a protocol callback: 1 when it was
 * one (*rc then is what the callback returns), 0 otherwise. */
int td_ws_http_serve(struct lws *wsi, enum lws_callback_reasons reason, td_ws_http *p, void *in,
                     size_t len, td_ws_http_render render, int *rc);

/* The usual not_found body, for a render function's unknown paths (404). */
int td_ws_http_not_found(td_arena *a, td_buf *b);

/* "host:port" into host and *port; -1 when it is not one. */
int td_ws_split_listen(const char *listen, char *host, size_t hcap, int *port);

/* libwebsockets' errors and warnings into core/log ("lws: ..."). */
void td_ws_log_init(void);

#endif
