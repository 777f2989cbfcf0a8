/*
 * ws_pusher.c - a local exchange for the market-data benchmark: a
 * libwebsockets server speaking Binance's raw stream protocol on /ws that
 * answers each SUBSCRIBE ({"result":null,"id":N}) and then pushes trade,
 * bookTicker and 24hrMiniTicker messages, round-robin over NSYM symbols
 * (B000USDT, B001USDT, ... as bench/ws_load.sh seeds them), as fast as the
 * connection takes them or at a fixed rate.
 *
 *   ws_pusher PORT NSYM [RATE [MODE]]
 *
 * RATE: messages per second per connection, 0 (default) as fast as the
 * client reads (TCP flow control is then the throttle).  MODE: `batch`
 * (default) puts many ready-made WebSocket frames into one write, as a
 * busy exchange's socket does; `frame` sends one lws_write per message,
 * libwebsockets' usual way (one write per WRITEABLE callback), to show what
 * per-frame writes cost the pusher.
 *
 * Every message carries the current wall-clock time (E, T), so the engine's
 * candles and feed lag see live data.  Prices walk a little each message so
 * that most of them move the oracle.  Once a second it prints
 * `pusher mono_ms=.. sent=.. conns=.. subscribes=..` (cumulative)
 * on stdout; the harness takes rates from those lines.  Benchmark only:
 * listens on 127.0.0.1.
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (48 * 1024)
#define MSG_MAX 256
#define MAX_SYM 1024

#define ACKS_MAX 16

typedef struct conn {
    int subscribed;
    long acks[ACKS_MAX]; /* ids of SUBSCRIBEs still to answer, in order */
    int nacks;
    uint64_t k; /* next message index of this connection */
    double budget;
} conn;

static struct {
    int nsym, batch;
    long rate;
    char sym[MAX_SYM][16];
    long cents[MAX_SYM];
    uint64_t trade_id, sent, subscribes;
    int conns;
    struct lws_context *ctx;
    lws_sorted_usec_list_t report;
    struct lws *wsi[64];
} g;

static volatile sig_atomic_t g_stop;

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Message k of a connection into out; its length. */
static size_t message(uint64_t k, int64_t now, char *out)
{
    int s = (int)(k % (uint64_t)g.nsym);
    int kind = (int)((k / (uint64_t)g.nsym) % 3);
    long step = (long)((k * 2654435761u) >> 7) % 7 - 3; /* -3..3 cents */
    long c = g.cents[s] + step;
    if (c < 1000)
        c = 1000;
    g.cents[s] = c;
    switch (kind) {
    case 0:
        return (size_t)snprintf(out, MSG_MAX,
                                "{\"e\":\"trade\",\"E\":%lld,\"s\":\"%s\",\"t\":%llu,"
                                "\"p\":\"%ld.%02ld\",\"q\":\"0.%05llu\",\"T\":%lld,\"m\":%s,"
                                "\"M\":true}",
                                (long long)now, g.sym[s], (unsigned long long)++g.trade_id, c / 100,
                                c % 100, (unsigned long long)(k % 99999 + 1), (long long)now,
                                k & 1 ? "true" : "false");
    case 1:
        return (size_t)snprintf(out, MSG_MAX,
                                "{\"u\":%llu,\"s\":\"%s\",\"b\":\"%ld.%02ld\",\"B\":\"1.50000000\","
                                "\"a\":\"%ld.%02ld\",\"A\":\"2.25000000\"}",
                                (unsigned long long)k, g.sym[s], (c - 1) / 100, (c - 1) % 100,
                                (c + 1) / 100, (c + 1) % 100);
    default:
        return (size_t)snprintf(out, MSG_MAX,
                                "{\"e\":\"24hrMiniTicker\",\"E\":%lld,\"s\":\"%s\","
                                "\"c\":\"%ld.%02ld\",\"o\":\"1000.00\",\"h\":\"1100.00\","
                                "\"l\":\"900.00\",\"v\":\"12345.678\",\"q\":\"9999999.00\"}",
                                (long long)now, g.sym[s], c / 100, c % 100);
    }
}

/* A server-to-client text frame header (unmasked) for len bytes. */
static size_t frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81; /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    h[1] = 126;
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    return 4;
}

static int push(struct lws *wsi, conn *c)
{
    static unsigned char buf[LWS_PRE + BATCH_BYTES + MSG_MAX + 8];
    unsigned char *p = buf + LWS_PRE;
    int64_t now = wall_ms();
    if (!g.batch) {
        size_t n = message(c->k++, now, (char *)p);
        if (lws_write(wsi, p, n, LWS_WRITE_TEXT) < (int)n)
            return -1;
        g.sent++;
        c->budget -= 1;
        return 0;
    }
    size_t len = 0;
    long count = 0;
    while (len < BATCH_BYTES && (!g.rate || c->budget >= 1)) {
        char msg[MSG_MAX];
        size_t n = message(c->k++, now, msg);
        len += frame_header(p + len, n);
        memcpy(p + len, msg, n);
        len += n;
        count++;
        c->budget -= 1;
    }
    if (!len)
        return 0;
    /* LWS_WRITE_RAW: the bytes already are frames; lws sends them as they are. */
    if (lws_write(wsi, p, len, LWS_WRITE_RAW) < (int)len)
        return -1;
    g.sent += (uint64_t)count;
    return 0;
}

static void subscribed(struct lws *wsi, conn *c, const char *in, size_t len)
{
    /* Binance answers {"result":null,"id":<the request's id>}. */
    long id = 0;
    const char *q = memmem(in, len, "\"id\":", 5);
    if (q)
        id = strtol(q + 5, NULL, 10);
    if (c->nacks < ACKS_MAX)
        c->acks[c->nacks++] = id; /* answered from WRITEABLE: one write per callback */
    g.subscribes++;
    c->subscribed = 1;
    lws_callback_on_writable(wsi);
}

static int ack(struct lws *wsi, conn *c)
{
    unsigned char out[LWS_PRE + 64];
    int n = snprintf((char *)out + LWS_PRE, 64, "{\"result\":null,\"id\":%ld}", c->acks[0]);
    memmove(c->acks, c->acks + 1, (size_t)--c->nacks * sizeof c->acks[0]);
    return lws_write(wsi, out + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: /* the harness asking whether it listens; unanswered, lws spins */
        if (lws_return_http_status(wsi, HTTP_STATUS_OK, NULL))
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        for (int i = 0; i < 64; i++)
            if (!g.wsi[i]) {
                g.wsi[i] = wsi;
                break;
            }
        g.conns++;
        break;
    case LWS_CALLBACK_RECEIVE:
        if (memmem(in, len, "SUBSCRIBE", 9)) /* every one is answered */
            subscribed(wsi, c, in, len);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c->subscribed)
            break;
        if (c->nacks ? ack(wsi, c) : push(wsi, c))
            return -1;
        if (c->nacks || !g.rate || c->budget >= 1)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLOSED:
        for (int i = 0; i < 64; i++)
            if (g.wsi[i] == wsi)
                g.wsi[i] = NULL;
        g.conns--;
        break;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
    return 0;
}

/* Paced mode: every millisecond each connection earns rate/1000 messages.
 * The tick is a timerfd in the loop: an lws timer of 1 ms would make
 * lws_service spin, as it sleeps in whole milliseconds. */
static int on_pace(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    if (reason != LWS_CALLBACK_RAW_RX_FILE)
        return 0;
    uint64_t ticks = 0;
    if (read(lws_get_socket_fd(wsi), &ticks, sizeof ticks) != sizeof ticks)
        return 0;
    for (int i = 0; i < 64; i++) {
        if (!g.wsi[i])
            continue;
        conn *c = lws_wsi_user(g.wsi[i]);
        if (!c->subscribed)
            continue;
        c->budget += (double)ticks * (double)g.rate / 1000.0;
        if (c->budget > (double)g.rate / 10) /* a slow reader does not bank a burst */
            c->budget = (double)g.rate / 10;
        if (c->budget >= 1)
            lws_callback_on_writable(g.wsi[i]);
    }
    return 0;
}

static void on_report(lws_sorted_usec_list_t *sul)
{
    printf("pusher mono_ms=%lld sent=%llu conns=%d subscribes=%llu\n", (long long)mono_ms(),
           (unsigned long long)g.sent, g.conns, (unsigned long long)g.subscribes);
    fflush(stdout);
    lws_sul_schedule(g.ctx, 0, sul, on_report, LWS_US_PER_SEC);
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g.ctx)
        lws_cancel_service(g.ctx);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ws_pusher PORT NSYM [RATE [batch|frame]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    g.nsym = atoi(argv[2]);
    g.rate = argc > 3 ? atol(argv[3]) : 0;
    g.batch = argc > 4 ? strcmp(argv[4], "frame") != 0 : 1;
    if (port <= 0 || g.nsym < 1 || g.nsym > MAX_SYM || g.rate < 0) {
        fprintf(stderr, "ws_pusher: bad arguments\n");
        return 2;
    }
    for (int i = 0; i < g.nsym; i++) {
        snprintf(g.sym[i], sizeof g.sym[i], "B%03dUSDT", i);
        g.cents[i] = 100000 + i * 1000;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);

    static struct lws_protocols protocols[] = {
        {"binance", callback, sizeof(conn), 4096, 0, NULL, 0},
        {"pace", on_pace, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    g.ctx = lws_create_context(&info);
    if (!g.ctx) {
        fprintf(stderr, "ws_pusher: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    if (g.rate) {
        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct itimerspec it = {{0, 1000000}, {0, 1000000}};
        lws_sock_file_fd_type u = {.filefd = tfd};
        if (tfd < 0 || timerfd_settime(tfd, 0, &it, NULL) ||
            !lws_adopt_descriptor_vhost(lws_get_vhost_by_name(g.ctx, "default"),
                                        LWS_ADOPT_RAW_FILE_DESC, u, "pace", NULL)) {
            fprintf(stderr, "ws_pusher: cannot set up the 1 ms tick\n");
            return 1;
        }
    }
    lws_sul_schedule(g.ctx, 0, &g.report, on_report, LWS_US_PER_SEC);
    while (!g_stop && lws_service(g.ctx, 0) >= 0)
        ;
    on_report(&g.report);
    lws_context_destroy(g.ctx);
    return 0;
}
