/*
 * http.c - the responder behind the engine's and the stream's /health and
 * /metrics, and the bits of server setup both share; see http.h.  Only
 * GET matters here: lws answers what it cannot parse itself.
 */
#include "ws/http.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int td_ws_split_listen(const char *listen, char *host, size_t hcap, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= hcap)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static void lws_log(int level, const char *line)
{
    char msg[256];
    snprintf(msg, sizeof msg, "lws: %s", line);
    msg[strcspn(msg, "\n")] = '\0';
    if (level & LLL_ERR)
        td_error("%s", msg);
    else
        td_warn("%s", msg);
}

void td_ws_log_init(void)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
}

int td_ws_http_not_found(td_arena *a, td_buf *b)
{
    const char *nf = "{\"error\":{\"code\":\"not_found\",\"message\":\"not found\"}}";
    td_buf_add(a, b, nf, strlen(nf));
    return 404;
}

static int respond(struct lws *wsi, td_ws_http *p, const char *uri, td_ws_http_render render)
{
    td_arena a;
    td_arena_init(&a, 16 * 1024);
    td_buf b = {0};
    const char *type = "application/json";
    int status = render(lws_context_user(lws_get_context(wsi)), uri, &a, &b, &type);
    free(p->body);
    p->body = malloc(LWS_PRE + b.len + 1);
    if (!p->body) {
        td_arena_free(&a);
        return -1;
    }
    memcpy(p->body + LWS_PRE, b.data, b.len);
    p->len = b.len;
    td_arena_free(&a);

    unsigned char hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *q = start,
                                      *end = &hdr[sizeof hdr - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)status, type, p->len, &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &q, end) ||
        lws_finalize_write_http_header(wsi, start, &q, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

int td_ws_http_serve(struct lws *wsi, enum lws_callback_reasons reason, td_ws_http *p, void *in,
                     size_t len, td_ws_http_render render, int *rc)
{
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        *rc = respond(wsi, p, in, render);
        return 1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        *rc = 0;
        if (!p->body)
            return 1;
        if (lws_write(wsi, p->body + LWS_PRE, p->len, LWS_WRITE_HTTP_FINAL) != (int)p->len)
            *rc = 1;
        free(p->body);
        p->body = NULL;
        if (!*rc && lws_http_transaction_completed(wsi))
            *rc = -1;
        return 1;
    case LWS_CALLBACK_CLOSED_HTTP:
        free(p->body);
        p->body = NULL;
        *rc = 0;
        return 1;
    default:
        return 0;
    }
}
