/*
 * main.c - tradedesk-stream: the WebSocket server web and mobile clients
 * keep open (PRODUCT.md, "WebSocket protocol"), behind nginx at /ws.
 *
 * Start: settings (the stream's rows of core/config), a PostgreSQL
 * connection (store/db's non-blocking face: session checks, revocation
 * epochs, events older than the Streams) and two Redis ones (a
 * subscription on every channel the stream serves; and store/redis_async
 * for session entries, the Streams, snapshots and the status, each
 * command bounded by TRADEDESK_REDIS_TIMEOUT_MS), all three sockets in
 * the loop through ws/loopfd, so the loop never waits on either server;
 * then one libwebsockets loop on TRADEDESK_STREAM_LISTEN serving /ws
 * (protocol.c) and /health, /metrics (http.c), and /ws on the unix socket
 * TRADEDESK_STREAM_SOCKET too when set (nginx's upstream, listen_unix).  A 100 ms timer polls the
 * subscription (reconnects, its liveness pings), services the other two
 * (timeouts, reconnects) and, once a second, checks sessions and token
 * expiry.  The loop is libev's on epoll (lws' event lib).  lws
 * pings sockets idle for 30 s and drops those silent for 60 s.  SIGTERM/SIGINT: the loop stops and
 * every socket is closed (going away); the process exits at once.
 */
#include "stream/stream.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/sched.h"
#include "core/unixsock.h"
#include "store/keys.h"
#include "ws/stop.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TICK_MS 100
#define DB_TIMEOUT_MS 500 /* the client gives up a second after it */

/* This instance's own status in td:status:stream (store/keys.h), once a
 * second, for GET /api/v1/monitoring/health/detailed: its sockets,
 * subscriptions by kind and memory. */
static void report_status(td_stream *st, int64_t now_ms)
{
    static int64_t last;
    if (now_ms - last < 1000)
        return;
    last = now_ms;
    char host[64] = "", instance[256], at[40], subs[512];
    gethostname(host, sizeof host - 1);
    snprintf(instance, sizeof instance, "%s/%s", host, st->cfg.stream_listen);
    td_rfc3339_ms(now_ms, at, sizeof at);
    size_t n = 0;
    for (int k = 0; k < TD_CH_KINDS && n < sizeof subs; k++)
        n += (size_t)snprintf(subs + n, sizeof subs - n, "%s\"%s\":%d", k ? "," : "",
                              td_chan_kind_name[k], st->nsubs[k]);
    long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lld %lld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    char json[1024];
    int len =
        snprintf(json, sizeof json,
                 "{\"instance\":\"%s\",\"at\":\"%s\",\"connections\":%d,"
                 "\"authenticated\":%d,\"subscriptions\":{%s},\"rss_bytes\":%lld}",
                 instance, at, st->nsocks, st->nauthed, subs, resident * sysconf(_SC_PAGESIZE));
    if (len <= 0 || (size_t)len >= sizeof json)
        return;
    if (td_redis_async_command(st->ar, NULL, NULL, "HSET " TD_KEY_STATUS_STREAM " %s %b", instance,
                               json, (size_t)len) == TD_OK)
        td_stream_kick(st);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    td_stream *st = lws_container_of(sul, td_stream, tick);
    td_stream_sub_poll(st);
    td_stream_service(st);
    td_log_tick(st);
    td_stream_sessions_check(st, td_wall_ms(), 0);
    td_stream_auths_check(st, td_wall_ms());
    report_status(st, td_wall_ms());
    if (!st->stopping)
        lws_sul_schedule(st->lws, 0, &st->tick, on_tick, TICK_MS * LWS_US_PER_MS);
}

/* TRADEDESK_STREAM_SOCKET: the same protocols on a unix socket, a second
 * lws vhost, for nginx's /ws: a write to it skips the TCP/IP stack that
 * loopback TCP runs on both ends (docs/performance.md: the stream's CPU
 * per message 23-43% lower).  Mode 0660 and nginx's group, in a directory
 * others cannot write, as the API's FastCGI socket (core/unixsock); the
 * TCP listener stays for /health, /metrics and direct clients. */
static int listen_unix(td_stream *st, const struct lws_context_creation_info *tcp)
{
    const char *path = st->cfg.stream_socket, *group = st->cfg.stream_socket_group;
    gid_t gid;
    /* Another instance's socket is not ours to take over (nginx would
     * lose it): only one nobody answers on is removed. */
    if (td_unix_socket_unused(path, "TRADEDESK_STREAM_SOCKET") != 0 ||
        td_unix_socket_prepare(path, "TRADEDESK_STREAM_SOCKET") != 0 ||
        td_unix_socket_group(group, "TRADEDESK_STREAM_SOCKET_GROUP", &gid) != 0)
        return -1;
    struct lws_context_creation_info ux = *tcp;
    ux.vhost_name = "unix";
    ux.iface = path;
    ux.port = 0;
    ux.options |= LWS_SERVER_OPTION_UNIX_SOCK;
    ux.foreign_loops = NULL;
    mode_t old_umask = umask(TD_UNIX_SOCKET_UMASK);
    st->ux = lws_create_vhost(st->lws, &ux);
    umask(old_umask);
    if (!st->ux) {
        td_error("TRADEDESK_STREAM_SOCKET: cannot listen on %s", path);
        return -1;
    }
    if (td_unix_socket_finish(path, gid, group, "TRADEDESK_STREAM_SOCKET_GROUP") != 0) {
        unlink(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: tradedesk-stream (settings: TRADEDESK_*; `tradedesk settings`)\n");
        return 2;
    }
    static td_stream st;
    char err[512];
    if (td_config_read(&st.cfg, TD_PROG_STREAM, 1, err, sizeof err) != TD_OK) {
        fprintf(stderr, "tradedesk-stream: %s\n", err);
        return 2;
    }
    td_log_init("tradedesk-stream", st.cfg.log_level);
    td_sched_realtime(st.cfg.rt_priority);
    td_token_config_of(&st.cfg, &st.tok);
    const char *why;
    if (td_token_config_check(&st.tok, &why) != TD_OK) {
        td_error("token settings: %s", why);
        return 2;
    }
    char host[64];
    int port;
    if (td_ws_split_listen(st.cfg.stream_listen, host, sizeof host, &port) != 0) {
        td_error("TRADEDESK_STREAM_LISTEN: '%s' is not host:port", st.cfg.stream_listen);
        return 2;
    }
    td_ws_stop_catch(NULL);
    signal(SIGHUP, SIG_IGN);

    const td_db_stmts parts[] = {{td_session_stmts, td_session_nstmts},
                                 {td_stream_stmts, td_stream_nstmts}};
    /* A short deadline (TRADEDESK_DB_TIMEOUT_MS when lower) for these few
     * small statements: a client waits at most about that for an answer. */
    td_db_opts o = {.conninfo = st.cfg.database_url,
                    .application_name = "tradedesk-stream",
                    .statement_timeout_ms =
                        st.cfg.db_timeout_ms < DB_TIMEOUT_MS ? st.cfg.db_timeout_ms : DB_TIMEOUT_MS,
                    .connect_timeout_s = 1,
                    .nonblocking = 1};
    st.db = td_db_open(&o, parts, 2);
    st.ar = td_redis_async_open(st.cfg.redis_url, st.cfg.redis_timeout_ms);
    st.dbw = (td_dbwatch){.db = st.db, .loop.fd = -1};
    st.arw = (td_redis_watch){.r = st.ar, .loop.fd = -1};
    st.rev = (td_rev_sync)TD_REV_SYNC_INIT;
    st.exp_next_s = INT64_MAX;
    if (!st.db || !st.ar || td_stream_sub_open(&st) != TD_OK) {
        td_error("cannot set up the PostgreSQL and Redis connections");
        return 1;
    }
    if (td_metrics_init(NULL, 0, "tradedesk-stream") == TD_OK)
        td_metrics_register_pid(0, getpid());

    td_ws_log_init();
    static struct lws_protocols protocols[3]; /* must outlive the context; the last ends it */
    protocols[0] = td_stream_protocol;
    protocols[0].rx_buffer_size = (size_t)st.cfg.stream_max_message;
    protocols[1] = td_ws_fd_protocol; /* the Redis subscription's socket (ws/loopfd) */
    /* lws pings a socket idle this long and hangs up one silent longer. */
    static const lws_retry_bo_t idle = {.secs_since_valid_ping = 30, .secs_since_valid_hangup = 60};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.user = &st;
    info.retry_and_idle_policy = &idle;
    /* lws' own loop is poll(): every pass scans all 10,000 sockets.  Its
     * libev event lib (a plugin, libwebsockets-evlib-ev) on a loop of ours
     * waits with epoll, so a pass costs what is ready; the loop being ours
     * (foreign) lets one run return after each pass, to see SIGTERM. */
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    void *loops[] = {loop};
    if (!loop) {
        td_error("cannot create the event loop (epoll)");
        return 1;
    }
    info.foreign_loops = loops;
    info.options =
        LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBEV;
    st.lws = lws_create_context(&info);
    if (!st.lws) {
        td_error("cannot start the event loop (is %s free?)", st.cfg.stream_listen);
        return 1;
    }
    if (st.cfg.stream_socket[0] && listen_unix(&st, &info) != 0) {
        lws_context_destroy(st.lws);
        ev_loop_destroy(loop);
        return 1;
    }
    td_ws_stop_context(st.lws);
    st.arw.lws = st.dbw.lws = st.lws;
    td_stream_sub_poll(&st);
    td_stream_service(&st);
    lws_sul_schedule(st.lws, 0, &st.tick, on_tick, 1);
    td_info("serving /ws, /health and /metrics on %s%s%s", st.cfg.stream_listen,
            st.ux ? " and /ws on " : "", st.ux ? st.cfg.stream_socket : "");

    while (!td_ws_stop)
        ev_run(loop, EVRUN_ONCE); /* a signal's lws_cancel_service wakes it */
    td_info("stopping (%d sockets)", st.nsocks);
    st.stopping = 1;
    lws_sul_cancel(&st.tick);
    lws_sul_cancel(&st.kick);
    td_ws_stop_context(NULL);
    td_ws_loop_fd_release(&st.sub_loop);
    td_ws_loop_fd_release(&st.arw.loop);
    td_ws_loop_fd_release(&st.dbw.loop);
    lws_context_destroy(st.lws); /* closes every socket (CLOSED frees its state) */
    if (st.ux)
        unlink(st.cfg.stream_socket);
    ev_loop_destroy(loop);
    td_redis_sub_close(st.sub);
    /* Replies still awaited end now, to waits whose sockets are gone. */
    td_redis_async_close(st.ar);
    td_db_close(st.db);
    td_info("stopped");
    return 0;
}
