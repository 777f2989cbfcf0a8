/*
 * ws_clients.c - tradedesk-stream's load generator: N WebSocket clients in
 * one thread and one libwebsockets context (bench/stream_load.sh).
 *
 *   ws_clients [options] ws://HOST:PORT/ws SYMBOL...
 *     -n N        connections (10000)
 *     -c K        channels per connection: once all are open, connection i
 *                 subscribes to prices:SYMBOL[(i + j) % nsym] for j < K;
 *                 0 = idle (none)
 *     -p P        handshakes in flight at once (256)
 *     -w S        seconds between "all open (and subscribed)" and the
 *                 measured window (2)
 *     -s S        the measured window, seconds (10)
 *     -m NAME=PID[,PID...]   a process group to watch (repeatable, at most
 *                 4): its summed VmRSS before connecting, once all are open
 *                 (and the warm-up passed) and at the end, and its CPU over
 *                 the window from /proc/PID/stat
 *
 * The protocol is PRODUCT.md's: {"op":"subscribe","channels":[...]} answered
 * by {"type":"subscribed",...}, then {"type":"price","data":{...}} pushes.
 * Each price's data.updated_at (RFC 3339, milliseconds) is the wall-clock
 * time the engine took the price; latency = this process' CLOCK_REALTIME
 * at receipt minus it, floored to whole milliseconds (core/latency), so a
 * value reads "between v and v+1 ms" give or take the source's truncation
 * (updated_at is itself truncated to the ms: latencies read up to 1 ms
 * high).  Only messages received inside the window count.
 *
 * Prints one line of key=value on stdout; exits 1 when a connection failed
 * or (with -c > 0) no price arrived.  Benchmark only.
 */
#include "core/clock.h"
#include "core/latency.h"

#include <ev.h>
#include <libwebsockets.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define RX_MAX 4096
#define SYM_MAX 64
#define GROUPS_MAX 4
#define PIDS_MAX 16
#define SUB_MAX 4096

enum { C_NONE, C_CONNECTING, C_OPEN, C_SUBSCRIBED, C_GONE };

typedef struct conn {
    struct lws *wsi;
    int state, sent;
} conn;

typedef struct group {
    const char *name;
    int pids[PIDS_MAX], npids;
    long rss_before, rss_with, rss_end; /* kB */
    unsigned long long ticks0, ticks1;
} group;

static struct {
    struct lws_context *ctx;
    struct ev_loop *loop; /* lws runs on it (LWS_SERVER_OPTION_LIBEV) */
    lws_sorted_usec_list_t wake;
    conn *c;
    int n, k, parallel, nsym;
    double warmup, secs;
    const char *sym[SYM_MAX];
    char host[128], path[128];
    int port;
    group grp[GROUPS_MAX];
    int ngrp;
    /* progress */
    int started, connecting, open, failed, closed, subscribed;
    volatile sig_atomic_t stop;
    int in_window;
    unsigned long long prices, window_prices, other, errors, partial, unparsed;
    char first_error[256];
    td_latency lat;
} g;

static double wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* ---------------------------------------------------------------- /proc */

static long vm_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat). */
static unsigned long long cpu_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
        return ut + st;
    return 0;
}

static long group_rss(const group *gr)
{
    long sum = 0;
    for (int i = 0; i < gr->npids; i++) {
        long kb = vm_rss_kb(gr->pids[i]);
        if (kb < 0)
            return -1;
        sum += kb;
    }
    return sum;
}

static unsigned long long group_ticks(const group *gr)
{
    unsigned long long sum = 0;
    for (int i = 0; i < gr->npids; i++)
        sum += cpu_ticks(gr->pids[i]);
    return sum;
}

static int parse_group(char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || g.ngrp == GROUPS_MAX)
        return -1;
    group *gr = &g.grp[g.ngrp];
    *eq = '\0';
    gr->name = arg;
    for (char *s = strtok(eq + 1, ","); s; s = strtok(NULL, ",")) {
        char *end;
        long pid = strtol(s, &end, 10);
        if (*end || pid <= 0 || gr->npids == PIDS_MAX)
            return -1;
        gr->pids[gr->npids++] = (int)pid;
    }
    if (!gr->npids || group_rss(gr) < 0)
        return -1;
    g.ngrp++;
    return 0;
}

/* ---------------------------------------------------------------- messages */

/* A whole text message: a price (counted, timed in the window), the
 * subscribe answer, or something else (an error is kept for the report). */
static void on_message(conn *c, const char *m, size_t len)
{
    static const char price[] = "\"type\":\"price\"";
    static const char subscribed[] = "\"type\":\"subscribed\"";
    static const char error[] = "\"type\":\"error\"";
    static const char at[] = "\"updated_at\":\"";
    if (memmem(m, len, price, sizeof price - 1)) {
        g.prices++;
        if (!g.in_window)
            return;
        g.window_prices++;
        const char *p = memmem(m, len, at, sizeof at - 1);
        const char *q = p ? memchr(p + sizeof at - 1, '"', len - (size_t)(p - m) - (sizeof at - 1)) : NULL;
        int64_t ms;
        if (!q || td_rfc3339_parse_ms(p + sizeof at - 1, (size_t)(q - p) - (sizeof at - 1), &ms) != TD_OK) {
            g.unparsed++;
            return;
        }
        double d = wall_us() - (double)ms * 1e3;
        td_latency_add(&g.lat, d >= 0 ? (int64_t)(d / 1e3) : -(int64_t)(-d / 1e3) - 1);
    } else if (memmem(m, len, subscribed, sizeof subscribed - 1)) {
        if (c->state == C_OPEN) {
            c->state = C_SUBSCRIBED;
            g.subscribed++;
        }
    } else {
        g.other++;
        if (memmem(m, len, error, sizeof error - 1) && !g.errors++)
            snprintf(g.first_error, sizeof g.first_error, "%.*s", (int)len, m);
    }
}

static int send_subscribe(struct lws *wsi, int i)
{
    unsigned char buf[LWS_PRE + SUB_MAX];
    char *s = (char *)buf + LWS_PRE;
    size_t cap = SUB_MAX, n = 0;
    n += (size_t)snprintf(s + n, cap - n, "{\"op\":\"subscribe\",\"channels\":[");
    for (int j = 0; j < g.k && n < cap; j++)
        n += (size_t)snprintf(s + n, cap - n, "%s\"prices:%s\"", j ? "," : "", g.sym[(i + j) % g.nsym]);
    if (n < cap)
        n += (size_t)snprintf(s + n, cap - n, "]}");
    if (n >= cap)
        return -1;
    return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    conn *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c && c->state == C_CONNECTING) {
            g.connecting--;
            g.failed++;
            c->state = C_GONE;
            if (g.failed == 1)
                fprintf(stderr, "ws_clients: first failure: %s\n",
                        in && len ? (const char *)in : "connection error");
        }
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c && c->state == C_CONNECTING) {
            g.connecting--;
            g.open++;
            c->state = C_OPEN;
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c && g.k > 0 && !c->sent) {
            c->sent = 1;
            if (send_subscribe(wsi, (int)(c - g.c)) < 0)
                return -1;
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c)
            break;
        if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
            on_message(c, in, len);
        else if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
            g.partial++; /* larger than RX_MAX: counted, not read */
        break;
    case LWS_CALLBACK_WSI_DESTROY: /* gone without an error callback (a timeout) */
        if (c && c->state == C_CONNECTING) {
            g.connecting--;
            g.failed++;
            c->state = C_GONE;
            if (g.failed == 1)
                fprintf(stderr, "ws_clients: first failure: closed during the handshake\n");
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c && (c->state == C_OPEN || c->state == C_SUBSCRIBED)) {
            g.closed++;
            if (c->state == C_SUBSCRIBED)
                g.subscribed--;
            g.open--;
            c->state = C_GONE;
        }
        break;
    default:
        break;
    }
    return 0;
}

/* No lws validity timer (ping when idle): each one re-armed on every
 * received frame is a sorted insertion into the loop's one timer list, a
 * walk of up to N entries; the server pings, lws answers. */
static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

static void connect_more(void)
{
    while (g.started < g.n && g.connecting < g.parallel) {
        conn *c = &g.c[g.started++];
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = g.ctx;
        ci.address = g.host;
        ci.port = g.port;
        ci.path = g.path;
        ci.host = g.host;
        ci.origin = g.host;
        ci.local_protocol_name = "clients";
        ci.opaque_user_data = c;
        ci.retry_and_idle_policy = &no_validity;
        ci.pwsi = &c->wsi;
        c->state = C_CONNECTING;
        g.connecting++;
        if (!lws_client_connect_via_info(&ci) && c->state == C_CONNECTING) {
            g.connecting--;
            g.failed++;
            c->state = C_GONE;
        }
    }
}

/* Wakes lws_service every 20 ms so the phases advance on an idle loop. */
static void on_wake(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(g.ctx, 0, sul, on_wake, 20 * LWS_US_PER_MS);
}

static void on_signal(int sig)
{
    (void)sig;
    g.stop = 1;
    if (g.ctx)
        lws_cancel_service(g.ctx);
}

static int all_settled(void) { return g.started == g.n && g.connecting == 0; }
static int all_subscribed(void) { return g.subscribed >= g.open; }
static int never(void) { return 0; }

/* Serve until done() or the deadline; 0 when done() became true. */
static int serve_until(int (*done)(void), double deadline_s)
{
    double until = td_mono_s() + deadline_s, report = td_mono_s() + 10;
    while (!g.stop && !done()) {
        double t = td_mono_s();
        if (t > until)
            return -1;
        if (t > report && done != never) {
            fprintf(stderr, "ws_clients: started %d open %d connecting %d failed %d subscribed %d\n", g.started,
                    g.open, g.connecting, g.failed, g.subscribed);
            report = t + 10;
        }
        connect_more();
        ev_run(g.loop, EVRUN_ONCE); /* the 20 ms wake, a socket, or a signal */
    }
    return g.stop ? -1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: ws_clients [-n N] [-c K] [-p P] [-w S] [-s S] [-m NAME=PID[,PID...]]..."
                    " ws://HOST:PORT/PATH SYMBOL...\n");
    exit(2);
}

static double tv_s(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv)
{
    g.n = 10000;
    g.parallel = 256;
    g.warmup = 2;
    g.secs = 10;
    int opt;
    while ((opt = getopt(argc, argv, "n:c:p:w:s:m:")) != -1) {
        switch (opt) {
        case 'n': g.n = atoi(optarg); break;
        case 'c': g.k = atoi(optarg); break;
        case 'p': g.parallel = atoi(optarg); break;
        case 'w': g.warmup = atof(optarg); break;
        case 's': g.secs = atof(optarg); break;
        case 'm':
            if (parse_group(optarg) < 0) {
                fprintf(stderr, "ws_clients: -m wants NAME=PID[,PID...] of running processes\n");
                return 2;
            }
            break;
        default: usage();
        }
    }
    if (argc - optind < 2 || g.n < 1 || g.k < 0 || g.parallel < 1 || g.secs <= 0 || g.warmup < 0)
        usage();
    char url[256];
    snprintf(url, sizeof url, "%s", argv[optind++]);
    const char *proto, *addr, *path;
    if (lws_parse_uri(url, &proto, &addr, &g.port, &path) || strcmp(proto, "ws") != 0) {
        fprintf(stderr, "ws_clients: want a ws:// URL\n");
        return 2;
    }
    snprintf(g.host, sizeof g.host, "%s", addr);
    snprintf(g.path, sizeof g.path, "/%s", path);
    for (; optind < argc && g.nsym < SYM_MAX; optind++)
        g.sym[g.nsym++] = argv[optind];
    if (g.k > g.nsym)
        g.k = g.nsym;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)g.n + 64) {
        fprintf(stderr, "ws_clients: ulimit -n is %llu, below N + 64\n", (unsigned long long)rl.rlim_cur);
        return 2;
    }
    g.c = calloc((size_t)g.n, sizeof *g.c);
    if (!g.c)
        return 1;
    td_latency_init(&g.lat);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    for (int i = 0; i < g.ngrp; i++)
        g.grp[i].rss_before = group_rss(&g.grp[i]);

    lws_set_log_level(LLL_ERR, NULL);
    static struct lws_protocols protocols[] = {
        {"clients", callback, 0, RX_MAX, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* The stream's loop (libev on epoll, foreign so one run returns per
     * pass): lws' own poll() would scan all N sockets on every wake, and
     * the load generator's CPU comes out of the two cores the server has. */
    g.loop = ev_loop_new(EVBACKEND_EPOLL);
    void *loops[] = {g.loop};
    if (!g.loop) {
        fprintf(stderr, "ws_clients: cannot create the event loop (epoll)\n");
        return 1;
    }
    info.foreign_loops = loops;
    info.options = LWS_SERVER_OPTION_LIBEV;
    g.ctx = lws_create_context(&info);
    if (!g.ctx) {
        fprintf(stderr, "ws_clients: lws_create_context failed\n");
        return 1;
    }
    memset(&g.wake, 0, sizeof g.wake);
    on_wake(&g.wake);

    double t0 = td_mono_s();
    int rc = serve_until(all_settled, 120);
    double connect_s = td_mono_s() - t0, subscribe_s = 0;
    if (rc == 0 && g.k > 0) { /* all connected first, then every subscribe at once */
        double t1 = td_mono_s();
        for (int i = 0; i < g.n; i++)
            if (g.c[i].state == C_OPEN)
                lws_callback_on_writable(g.c[i].wsi);
        rc = serve_until(all_subscribed, 60);
        subscribe_s = td_mono_s() - t1;
        if (rc < 0)
            fprintf(stderr, "ws_clients: %d of %d subscribed after 60 s\n", g.subscribed, g.open);
    }
    if (rc == 0) {
        serve_until(never, g.warmup);
        for (int i = 0; i < g.ngrp; i++) {
            g.grp[i].rss_with = group_rss(&g.grp[i]);
            g.grp[i].ticks0 = group_ticks(&g.grp[i]);
        }
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double w0 = td_mono_s(), w1 = w0;
    int open_at_start = g.open;
    if (rc == 0) {
        g.in_window = 1;
        serve_until(never, g.secs);
        g.in_window = 0;
        w1 = td_mono_s();
    }
    getrusage(RUSAGE_SELF, &ru1);
    for (int i = 0; i < g.ngrp; i++) {
        g.grp[i].ticks1 = group_ticks(&g.grp[i]);
        g.grp[i].rss_end = group_rss(&g.grp[i]);
    }
    int stopped = g.stop, failed = g.failed, closed = g.closed; /* destroy closes the rest */
    double win = w1 - w0, hz = (double)sysconf(_SC_CLK_TCK);

    printf("connections=%d open=%d failed=%d closed=%d connect_s=%.2f", g.n, open_at_start, g.failed,
           g.closed, connect_s);
    if (g.k > 0) {
        printf(" channels=%d subscribed=%d subscribe_s=%.2f seconds=%.2f prices=%llu rate=%.0f", g.k,
               g.subscribed, subscribe_s, win, g.window_prices, win > 0 ? (double)g.window_prices / win : 0);
        printf(" lat_p50_ms=%lld lat_p99_ms=%lld lat_p999_ms=%lld lat_max_ms=%lld",
               (long long)td_latency_percentile(&g.lat, 50), (long long)td_latency_percentile(&g.lat, 99),
               (long long)td_latency_percentile(&g.lat, 99.9), (long long)g.lat.max);
        printf(" unparsed=%llu partial=%llu", g.unparsed, g.partial);
    }
    printf(" other=%llu errors=%llu client_cpu=%.0f%%", g.other, g.errors,
           win > 0 ? 100 * (tv_s(ru1.ru_utime) + tv_s(ru1.ru_stime) - tv_s(ru0.ru_utime) - tv_s(ru0.ru_stime)) / win
                   : 0);
    for (int i = 0; i < g.ngrp; i++) {
        const group *gr = &g.grp[i];
        printf(" %s_rss_before_kb=%ld %s_rss_with_kb=%ld %s_rss_end_kb=%ld %s_per_conn_bytes=%.0f %s_cpu=%.0f%%",
               gr->name, gr->rss_before, gr->name, gr->rss_with, gr->name, gr->rss_end, gr->name,
               open_at_start > 0 ? (double)(gr->rss_with - gr->rss_before) * 1024 / open_at_start : 0,
               gr->name, win > 0 ? 100 * (double)(gr->ticks1 - gr->ticks0) / hz / win : 0);
    }
    printf("\n");
    fflush(stdout);
    if (g.errors)
        fprintf(stderr, "ws_clients: first error message: %s\n", g.first_error);
    lws_context_destroy(g.ctx);
    ev_loop_destroy(g.loop);
    free(g.c);
    if (stopped || rc < 0 || failed || closed)
        return 1;
    return g.k > 0 && !g.window_prices ? 1 : 0;
}
