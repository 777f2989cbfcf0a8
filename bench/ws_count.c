/*
 * ws_count.c - the transport's ceiling for the market-data benchmark: a
 * libwebsockets client that connects to a Binance-style server the way the
 * engine's adapter does (same library, same receive buffer size), sends one
 * SUBSCRIBE, and only counts the messages that arrive.  Nothing is parsed.
 *
 *   ws_count URL WARMUP_S SECONDS
 *
 * Prints `count messages=N seconds=S rate=R cpu_user_s=U cpu_sys_s=Y` for
 * the SECONDS after WARMUP_S, and exits non-zero when nothing arrived.
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define RX_MAX (256 * 1024) /* as the engine's td-feed protocol */

static struct {
    struct lws_context *ctx;
    struct lws *wsi;
    int sent, done, failed;
    unsigned long long messages, at_start;
    double t_start, t_end, warmup, secs, first;
    struct rusage ru_start, ru_end;
} g;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "ws_count: %s\n", in && len ? (const char *)in : "connection error");
        g.failed = 1;
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!g.sent) {
            static const char sub[] =
                "{\"method\":\"SUBSCRIBE\",\"params\":[\"b000usdt@trade\"],\"id\":1}";
            unsigned char buf[LWS_PRE + sizeof sub];
            memcpy(buf + LWS_PRE, sub, sizeof sub - 1);
            g.sent = 1;
            if (lws_write(wsi, buf + LWS_PRE, sizeof sub - 1, LWS_WRITE_TEXT) < 0)
                return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            g.messages++;
            if (!g.first)
                g.first = now_s();
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        g.failed = !g.done;
        break;
    default:
        break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ws_count ws://HOST:PORT/PATH WARMUP_S SECONDS\n");
        return 2;
    }
    char url[256];
    snprintf(url, sizeof url, "%s", argv[1]);
    g.warmup = atof(argv[2]);
    g.secs = atof(argv[3]);
    const char *proto, *addr, *path;
    int port;
    if (lws_parse_uri(url, &proto, &addr, &port, &path)) {
        fprintf(stderr, "ws_count: bad URL\n");
        return 2;
    }
    char fullpath[256];
    snprintf(fullpath, sizeof fullpath, "/%s", path);
    lws_set_log_level(LLL_ERR, NULL);
    static struct lws_protocols protocols[] = {
        {"count", callback, 0, RX_MAX, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    g.ctx = lws_create_context(&info);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = g.ctx;
    ci.address = addr;
    ci.port = port;
    ci.path = fullpath;
    ci.host = addr;
    ci.origin = addr;
    ci.local_protocol_name = "count";
    ci.pwsi = &g.wsi;
    if (!g.ctx || !lws_client_connect_via_info(&ci)) {
        fprintf(stderr, "ws_count: cannot connect\n");
        return 1;
    }
    double t0 = now_s();
    while (!g.failed && lws_service(g.ctx, 0) >= 0) {
        double t = now_s();
        if (!g.first && t - t0 > 10)
            break;
        if (g.first && !g.t_start && t - g.first >= g.warmup) {
            g.t_start = t;
            g.at_start = g.messages;
            getrusage(RUSAGE_SELF, &g.ru_start);
        }
        if (g.t_start && t - g.t_start >= g.secs) {
            g.t_end = t;
            getrusage(RUSAGE_SELF, &g.ru_end);
            break;
        }
    }
    g.done = 1;
    lws_context_destroy(g.ctx);
    if (!g.t_end) {
        fprintf(stderr, "ws_count: no messages (or the connection failed)\n");
        return 1;
    }
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
    double n = (double)(g.messages - g.at_start), s = g.t_end - g.t_start;
    printf("count messages=%.0f seconds=%.3f rate=%.0f cpu_user_s=%.3f cpu_sys_s=%.3f\n", n, s,
           n / s, TV(g.ru_end.ru_utime) - TV(g.ru_start.ru_utime),
           TV(g.ru_end.ru_stime) - TV(g.ru_start.ru_stime));
    return n > 0 ? 0 : 1;
}
