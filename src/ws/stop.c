/*
 * stop.c - SIGTERM/SIGINT for a libwebsockets loop; see stop.h.
 */
#include "ws/stop.h"

#include <string.h>

volatile sig_atomic_t td_ws_stop;
static struct lws_context *volatile g_ctx;

static void on_signal(int sig)
{
    (void)sig;
    td_ws_stop = 1;
    if (g_ctx)
        lws_cancel_service(g_ctx);
}

void td_ws_stop_context(struct lws_context *ctx)
{
    g_ctx = ctx;
}

void td_ws_stop_now(void)
{
    on_signal(0);
}

void td_ws_stop_catch(struct lws_context *ctx)
{
    td_ws_stop = 0;
    g_ctx = ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
