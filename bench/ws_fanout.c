/*
 * ws_fanout.c - the baseline of bench/stream_load.sh: the least a
 * libwebsockets server can do to fan prices out the way tradedesk-stream
 * does, on the same path through nginx.  No Redis, no JSON parser, no
 * auth, no limits: what is left is the transport.
 *
 *   ws_fanout PORT STEP_MS [SOCKET]
 *
 * Listens on 127.0.0.1:PORT, and on the unix socket SOCKET when given
 * (where the stack's nginx proxies /ws, as tradedesk-stream's
 * TRADEDESK_STREAM_SOCKET; mode 0666: a benchmark's private directory).
 * A text message naming channels ("prices:SYM", as PRODUCT.md's
 * subscribe) is answered
 * {"type":"subscribed",...}; every STEP_MS every symbol any client named
 * gets a new price message shaped like the stream's (updated_at = now, RFC
 * 3339 ms), and each subscribed socket is sent the latest of each of its
 * symbols (one lws_write per WRITEABLE callback; a slow socket skips to the
 * latest, as the stream's conflation does).  Benchmark only.
 */
#include "core/clock.h"

#include <ev.h>
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYM_MAX 64
#define PER_CONN 8
#define MSG_MAX 320

typedef struct sess {
    int nsym, reply;
    unsigned char sym[PER_CONN];
    unsigned gen[PER_CONN]; /* the generation of sym last sent */
} sess;

static struct {
    struct lws_context *ctx;
    lws_sorted_usec_list_t tick;
    int step_ms, nsym;
    char sym[SYM_MAX][24];
    unsigned gen;
    unsigned char msg[SYM_MAX][LWS_PRE + MSG_MAX];
    size_t len[SYM_MAX];
    long cents[SYM_MAX];
    volatile sig_atomic_t stop;
} g;

static int sym_index(const char *s, size_t n)
{
    for (int i = 0; i < g.nsym; i++)
        if (strlen(g.sym[i]) == n && memcmp(g.sym[i], s, n) == 0)
            return i;
    if (g.nsym == SYM_MAX || n >= sizeof g.sym[0])
        return -1;
    memcpy(g.sym[g.nsym], s, n);
    g.sym[g.nsym][n] = '\0';
    g.cents[g.nsym] = 10000000;
    return g.nsym++;
}

static void render(int i, int64_t now_ms)
{
    char at[TD_RFC3339_MS_LEN + 1];
    td_rfc3339_ms(now_ms, at, sizeof at);
    g.cents[i] += (now_ms & 1) ? 1 : -1;
    int n =
        snprintf((char *)g.msg[i] + LWS_PRE, MSG_MAX,
                 "{\"type\":\"price\",\"channel\":\"prices:%s\",\"data\":{\"symbol\":\"%s\","
                 "\"price\":\"%ld.%02ld\",\"source\":\"sim\",\"updated_at\":\"%s\",\"age_ms\":0,"
                 "\"stale\":false}}",
                 g.sym[i], g.sym[i], g.cents[i] / 100, g.cents[i] % 100, at);
    g.len[i] = n > 0 && n < MSG_MAX ? (size_t)n : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
static const struct lws_protocols protocols[] = {
    {"fanout", callback, sizeof(sess), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
    int64_t now = td_wall_ms();
    g.gen++;
    for (int i = 0; i < g.nsym; i++)
        render(i, now);
    lws_callback_on_writable_all_protocol(g.ctx, &protocols[0]);
    lws_sul_schedule(g.ctx, 0, sul, on_tick, g.step_ms * LWS_US_PER_MS);
}

/* "prices:SYM" entries of a subscribe, found by their prefix. */
static void subscribe(sess *s, const char *in, size_t len)
{
    static const char pre[] = "\"prices:";
    const char *p = in, *end = in + len;
    while ((p = memmem(p, (size_t)(end - p), pre, sizeof pre - 1))) {
        p += sizeof pre - 1;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            break;
        int k = sym_index(p, (size_t)(q - p));
        if (k >= 0 && s->nsym < PER_CONN) {
            s->sym[s->nsym] = (unsigned char)k;
            s->gen[s->nsym++] = g.gen;
        }
        p = q;
    }
    s->reply = 1;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    sess *s = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(s, 0, sizeof *s);
        break;
    case LWS_CALLBACK_RECEIVE:
        subscribe(s, in, len);
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (s->reply) {
            static const char ok[] = "{\"type\":\"subscribed\",\"channels\":[]}";
            unsigned char buf[LWS_PRE + sizeof ok];
            memcpy(buf + LWS_PRE, ok, sizeof ok - 1);
            s->reply = 0;
            if (lws_write(wsi, buf + LWS_PRE, sizeof ok - 1, LWS_WRITE_TEXT) < 0)
                return -1;
            lws_callback_on_writable(wsi);
            break;
        }
        for (int j = 0; j < s->nsym; j++) {
            int k = s->sym[j];
            if (s->gen[j] == g.gen || !g.len[k])
                continue;
            s->gen[j] = g.gen;
            if (lws_write(wsi, g.msg[k] + LWS_PRE, g.len[k], LWS_WRITE_TEXT) < 0)
                return -1;
            if (j + 1 < s->nsym)
                lws_callback_on_writable(wsi);
            break;
        }
        break;
    default:
        break;
    }
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    g.stop = 1;
    if (g.ctx)
        lws_cancel_service(g.ctx);
}

int main(int argc, char **argv)
{
    if ((argc != 3 && argc != 4) || atoi(argv[1]) <= 0 || atoi(argv[2]) <= 0) {
        fprintf(stderr, "usage: ws_fanout PORT STEP_MS [SOCKET]\n");
        return 2;
    }
    g.step_ms = atoi(argv[2]);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = atoi(argv[1]);
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    /* The same loop as tradedesk-stream's (libev on epoll, foreign), so
     * the baseline differs from the stream only in what it sends. */
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    void *loops[] = {loop};
    if (!loop) {
        fprintf(stderr, "ws_fanout: cannot create the event loop (epoll)\n");
        return 1;
    }
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBEV;
    g.ctx = lws_create_context(&info);
    if (!g.ctx) {
        fprintf(stderr, "ws_fanout: cannot listen on 127.0.0.1:%s\n", argv[1]);
        return 1;
    }
    if (argc == 4) {
        struct lws_context_creation_info ux = info;
        ux.vhost_name = "unix";
        ux.iface = argv[3];
        ux.port = 0;
        ux.options |= LWS_SERVER_OPTION_UNIX_SOCK;
        ux.foreign_loops = NULL;
        unlink(argv[3]);
        if (!lws_create_vhost(g.ctx, &ux) || chmod(argv[3], 0666) != 0) {
            fprintf(stderr, "ws_fanout: cannot listen on %s\n", argv[3]);
            return 1;
        }
    }
    memset(&g.tick, 0, sizeof g.tick);
    lws_sul_schedule(g.ctx, 0, &g.tick, on_tick, g.step_ms * LWS_US_PER_MS);
    while (!g.stop)
        ev_run(loop, EVRUN_ONCE); /* a signal's lws_cancel_service wakes it */
    lws_context_destroy(g.ctx);
    ev_loop_destroy(loop);
    if (argc == 4)
        unlink(argv[3]);
    return 0;
}
