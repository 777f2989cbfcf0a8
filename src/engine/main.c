/*
 * main.c - tradedesk-engine: market data in, one trusted price per symbol
 * out, candles built, all on one libwebsockets event loop.
 *
 * Start: settings (core/config, the engine's rows), the active instruments
 * from PostgreSQL (retried every second until it answers), the market
 * state, the feeds of TRADEDESK_FEEDS, the small HTTP server for /health and
 * /metrics, then a 100 ms timer that steps the simulator, lets the oracle
 * re-decide staleness and writes PostgreSQL every 250 ms.  Redis is
 * written at the end of every pass of the loop (publish.c), so a price
 * reaches it about one Redis round trip after its message arrived.
 * SIGTERM/SIGINT stop after a last publish and up to 2 s for PostgreSQL and
 * Redis to confirm it;
 * SIGHUP re-reads the settings that can change while running (log level).
 *
 * TRADEDESK_FEEDS names the sources in priority order: `sim`, `binance`,
 * `coinbase`, `kraken` (adapter.c connects each exchange), `replay:FILE`
 * (replay.c plays a recording through the same parsers).
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/sched.h"
#include "ws/http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 100
#define PUBLISH_MS 250
#define DRAIN_MS 2000
#define SIM_SEED 42 /* the same walk on every start: demos and tests are repeatable */

static volatile sig_atomic_t g_stop, g_reload;
static struct lws_context *volatile g_ctx;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
    if (g_ctx)
        lws_cancel_service(g_ctx); /* the only lws call safe in a handler */
}

/* TRADEDESK_FEEDS: names in priority order. */
static int parse_feeds(td_engine *e, char *err, size_t cap)
{
    char list[sizeof e->cfg.feeds];
    snprintf(list, sizeof list, "%s", e->cfg.feeds);
    e->sim_source = -1;
    e->replay_source = -1;
    char *save = NULL;
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        while (*name == ' ')
            name++;
        if (e->nsources == TD_ENGINE_MAX_SOURCES) {
            snprintf(err, cap, "TRADEDESK_FEEDS: at most %d sources", TD_ENGINE_MAX_SOURCES);
            return -1;
        }
        int venue = td_engine_venue(name);
        if (strncmp(name, "replay:", 7) == 0 && name[7]) {
            if (e->replay_source >= 0) {
                snprintf(err, cap, "TRADEDESK_FEEDS: one replay at a time");
                return -1;
            }
            snprintf(e->replay_path, sizeof e->replay_path, "%s", name + 7);
            e->replay_source = e->nsources;
            name = "replay";
        } else if (strcmp(name, "sim") != 0 && !venue) {
            snprintf(err, cap,
                     "TRADEDESK_FEEDS: '%s' is not a source (binance, coinbase, kraken, sim, "
                     "replay:FILE)",
                     name);
            return -1;
        }
        for (int i = 0; i < e->nsources; i++)
            if (strcmp(e->feeds[i].name, name) == 0) {
                snprintf(err, cap, "TRADEDESK_FEEDS: '%s' is listed twice", name);
                return -1;
            }
        td_feed_state *f = &e->feeds[e->nsources];
        snprintf(f->name, sizeof f->name, "%s", name);
        f->state = venue ? "disconnected" : "connected";
        e->venue[e->nsources] = venue;
        if (!venue && e->replay_source != e->nsources)
            e->sim_source = e->nsources;
        e->nsources++;
    }
    if (e->nsources == 0) {
        snprintf(err, cap, "TRADEDESK_FEEDS: no source");
        return -1;
    }
    return 0;
}

/* The open bars an earlier run stored, continued rather than restarted. */
static void resume_candles(td_engine *e, td_db *db)
{
    td_status st;
    PGresult *r = td_db_exec(db, "engine_last_candles", 0, NULL, &st);
    int n = 0;
    for (int i = 0; r && i < PQntuples(r); i++) {
        td_candle b = {.open_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10),
                       .trades = strtoll(PQgetvalue(r, i, 8), NULL, 10)};
        const char *f[] = {PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
                           PQgetvalue(r, i, 6), PQgetvalue(r, i, 7)};
        td_dec *v[] = {&b.open, &b.high, &b.low, &b.close, &b.volume};
        int ok = 1;
        for (int k = 0; k < 5; k++)
            ok &= td_dec_parse_number(f[k], strlen(f[k]), v[k]) == TD_OK;
        if (ok && td_market_resume(e->market, PQgetvalue(r, i, 0),
                                   td_candle_interval_index(PQgetvalue(r, i, 1)), &b) == TD_OK)
            n++;
    }
    if (!r)
        td_warn("cannot read the stored candles (%s); bars start afresh", td_db_last_error(db));
    else if (n)
        td_info("continuing %d candle series from the last run", n);
    PQclear(r);
}

/* The active instruments and their last prices, from PostgreSQL; waits
 * (once a second) until it answers or a signal says stop. */
static int load_instruments(td_engine *e, char (*symbols)[TD_SYMBOL_STR_MAX], td_dec *prices,
                            int cap)
{
    const td_db_stmts parts[] = {{td_engine_stmts, td_engine_nstmts},
                                 {td_history_stmts, td_history_nstmts},
                                 {td_retention_stmts, td_retention_nstmts},
                                 {td_alert_stmts, td_alert_nstmts}};
    td_db_opts o = {.conninfo = e->cfg.database_url,
                    .application_name = "tradedesk-engine",
                    .statement_timeout_ms = e->cfg.db_timeout_ms};
    td_db *db = td_db_open(&o, parts, TD_ARRAY_LEN(parts));
    if (!db)
        return -1;
    int n = -1, said = 0;
    while (n < 0 && !g_stop) {
        td_status st;
        PGresult *r = td_db_exec(db, "engine_instruments", 0, NULL, &st);
        if (!r) {
            if (!said++)
                td_warn("waiting for PostgreSQL to list the instruments: %s", td_db_last_error(db));
            sleep(1);
            continue;
        }
        n = 0;
        for (int i = 0; i < PQntuples(r) && n < cap; i++) {
            snprintf(symbols[n], TD_SYMBOL_STR_MAX, "%s", PQgetvalue(r, i, 0));
            const char *p = PQgetvalue(r, i, 1);
            if (PQgetisnull(r, i, 1) || td_dec_parse_number(p, strlen(p), &prices[n]) != TD_OK ||
                prices[n] <= 0)
                prices[n] = 100 * TD_DEC_SCALE;
            n++;
        }
        PQclear(r);
    }
    e->boot_db = db; /* kept for resume_candles once the market exists */
    return n;
}

static int64_t thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void on_tick(td_ws_timer *t)
{
    td_engine *e = lws_container_of(t, td_engine, tick);
    int64_t t0 = td_mono_ns(), c0 = thread_cpu_ns();
    int64_t now = td_wall_ms();
    if (e->sim_source >= 0) {
        td_market_event ev[2 * TD_SIM_MAX_SYMBOLS];
        size_t n = td_sim_step(&e->sim, now, ev, TD_ARRAY_LEN(ev));
        td_feed_state *f = &e->feeds[e->sim_source];
        if (n) {
            f->messages++;
            f->last_ms = now;
            f->lag_ms = 0;
        }
        for (size_t i = 0; i < n; i++) {
            ev[i].recv_ms = now;
            if (td_market_apply(e->market, e->sim_source, &ev[i], now) == TD_OK)
                f->events++;
        }
    }
    td_engine_replay_step(e, now);
    td_market_tick(e->market, now);
    td_alerts_tick(e->alerts, now);
    if (e->monitor)
        td_monitor_tick(e->monitor, now);
    if (now - e->last_flush_ms >= PUBLISH_MS)
        td_engine_publish_db(e, now); /* prices now, candles a slice per pass */
    td_db_service(e->db); /* also starts a reconnect when one is due */
    td_engine_db_watch(e);
    td_engine_redis_service(e); /* timeouts and reconnects */
    /* What this tick changed (the simulator's and the replay's prices,
     * alerts) goes now: lws runs a pass's ripe timers before it waits, so
     * the main loop's publish after lws_service comes only once the next
     * socket or timer wakes it, on a quiet feed the next tick, 100 ms on. */
    td_engine_publish_redis(e);
    td_engine_latency_tick(td_mono_ns() - t0, thread_cpu_ns() - c0);
    if (!e->stopping)
        td_ws_timer_schedule(&e->tick, TICK_MS * 1000);
}

static void write_ready_file(const char *path)
{
    if (!path[0])
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        td_warn("cannot create TRADEDESK_READY_FILE %s: %s", path, strerror(errno));
        return;
    }
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (write(fd, pid, (size_t)n) != n)
        td_warn("cannot write TRADEDESK_READY_FILE %s", path);
    close(fd);
}

/* Wait (bounded) for PostgreSQL and Redis to confirm what was queued;
 * Redis within its own timeout, which drops an unanswered pipeline. */
static void drain(td_engine *e)
{
    int64_t deadline = td_wall_ms() + DRAIN_MS;
    while ((td_db_pending(e->db) > 0 || td_redis_async_in_flight(e->aredis) > 0) &&
           td_wall_ms() < deadline) {
        struct pollfd p[2] = {{.fd = td_db_fd(e->db), .events = POLLIN | POLLOUT},
                              {.fd = td_redis_async_fd(e->aredis), .events = POLLIN}};
        if (td_redis_async_want_write(e->aredis))
            p[1].events |= POLLOUT;
        if (p[0].fd >= 0 || p[1].fd >= 0)
            poll(p, 2, 50);
        else
            usleep(50 * 1000);
        td_db_service(e->db);
        td_redis_async_service(e->aredis);
    }
    if (td_db_pending(e->db) > 0)
        td_warn("stopping with %zu statements unconfirmed", td_db_pending(e->db));
    if (td_redis_async_in_flight(e->aredis) > 0)
        td_warn("stopping with the last Redis pipeline unconfirmed");
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: tradedesk-engine (settings: TRADEDESK_*; `tradedesk settings`)\n");
        return 2;
    }
    static td_engine e;
    char err[512];
    if (td_config_read(&e.cfg, TD_PROG_ENGINE, 0, err, sizeof err) != TD_OK) {
        fprintf(stderr, "tradedesk-engine: %s\n", err);
        return 2;
    }
    td_log_init("tradedesk-engine", e.cfg.log_level);
    if (parse_feeds(&e, err, sizeof err) != 0) {
        td_error("%s", err);
        return 2;
    }
    char host[64] = "";
    int port = 0;
    if (e.cfg.engine_listen[0] &&
        td_ws_split_listen(e.cfg.engine_listen, host, sizeof host, &port) != 0) {
        td_error("TRADEDESK_ENGINE_LISTEN: '%s' is not host:port", e.cfg.engine_listen);
        return 2;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    td_sched_realtime(e.cfg.rt_priority); /* before the relay's and guard's threads: they inherit it */

    static char symbols[TD_MARKET_MAX_SYMBOLS][TD_SYMBOL_STR_MAX];
    static td_dec prices[TD_MARKET_MAX_SYMBOLS];
    int n = load_instruments(&e, symbols, prices, TD_MARKET_MAX_SYMBOLS);
    if (n <= 0) {
        if (!g_stop)
            td_error("no active instruments in PostgreSQL (run tradedesk migrate and seed)");
        return g_stop ? 0 : 1;
    }
    const char *names[TD_MARKET_MAX_SYMBOLS];
    for (int i = 0; i < n; i++)
        names[i] = symbols[i];
    td_oracle_cfg ocfg = {.mode = e.cfg.oracle_mode ? TD_ORACLE_MEDIAN : TD_ORACLE_PRIORITY,
                          .nsources = e.nsources,
                          .stale_ms = e.cfg.price_stale_ms,
                          .max_deviation_bp = e.cfg.oracle_max_dev_bp};
    e.market = td_market_new(&ocfg, names, n);
    int nsim = n < TD_SIM_MAX_SYMBOLS ? n : TD_SIM_MAX_SYMBOLS;
    if (!e.market || (e.sim_source >= 0 && td_sim_init(&e.sim, SIM_SEED, e.cfg.sim_step_ms, names,
                                                       prices, nsim) != TD_OK)) {
        td_error("cannot set up the market for %d instruments", n);
        return 1;
    }
    if (e.replay_source >= 0 && td_engine_replay_open(&e, e.replay_source, e.replay_path) != TD_OK)
        return 2;
    if (!(e.alerts = td_alerts_new(&e, err, sizeof err))) {
        td_error("market alerts: %s", err);
        return 2;
    }
    resume_candles(&e, e.boot_db);
    td_db_close(e.boot_db);
    e.boot_db = NULL;
    const td_db_stmts parts[] = {{td_engine_stmts, td_engine_nstmts},
                                 {td_history_stmts, td_history_nstmts},
                                 {td_retention_stmts, td_retention_nstmts},
                                 {td_alert_stmts, td_alert_nstmts}};
    td_db_opts o = {.conninfo = e.cfg.database_url,
                    .application_name = "tradedesk-engine",
                    .statement_timeout_ms = e.cfg.db_timeout_ms,
                    .nonblocking = 1};
    e.db = td_db_open(&o, parts, TD_ARRAY_LEN(parts));
    e.aredis = td_redis_async_open(e.cfg.redis_url, e.cfg.redis_timeout_ms);
    if (!e.db || !e.aredis || td_engine_publish_init(&e) != TD_OK)
        return 1;
    if (!(e.relay = td_relay_start(&e.cfg)))
        td_error("cannot start the outbox relay; fills stay in PostgreSQL until a restart");
    if (e.cfg.guard_interval_s > 0 && !(e.guard = td_guard_start(&e.cfg, e.relay)))
        td_error("cannot start the drawdown guard; no equity snapshot is taken");
    if (td_metrics_init(NULL, 0, "tradedesk-engine") == TD_OK)
        td_metrics_register_pid(0, getpid());

    td_ws_log_init();
    static struct lws_protocols protocols[4]; /* must outlive the context; the last ends it */
    protocols[0] = td_engine_http_protocol;
    protocols[1] = td_ws_fd_protocol; /* PostgreSQL's and Redis' sockets (ws/loopfd) */
    protocols[2] = td_engine_timed_feed_protocol();
    e.db_watch.loop.fd = e.redis_watch.loop.fd = -1;
    e.redis_watch.r = e.aredis;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port ? port : CONTEXT_PORT_NO_LISTEN;
    info.iface = port ? host : NULL;
    info.protocols = protocols;
    info.user = &e;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* lws' own loop (poll()).  libev's epoll, the stream's, was tried and
     * not kept: docs/performance.md, "the engine's loop on epoll, tried". */
    e.lws = lws_create_context(&info);
    if (!e.lws) {
        td_error("cannot start the event loop (is %s free?)", e.cfg.engine_listen);
        return 1;
    }
    g_ctx = e.lws;
    if (td_ws_timer_init(e.lws, &e.tick, on_tick) != 0 ||
        td_ws_timer_init(e.lws, &e.latest_due, td_engine_on_latest_due) != 0) {
        td_error("cannot make the loop's timers (timerfd): %s", strerror(errno));
        lws_context_destroy(e.lws);
        return 1;
    }
    e.redis_watch.lws = e.lws;
    td_engine_redis_service(&e); /* connect (never waits) */
    if (!(e.monitor = td_monitor_new(&e)))
        td_error("cannot start the order monitor; no conditional order fires");
    td_ws_timer_schedule(&e.tick, 0);
    for (int i = 0; i < e.nsources; i++)
        if (e.venue[i] && td_engine_adapter_start(&e, i, e.venue[i]) != TD_OK) {
            td_error("feed %s: cannot start (no instrument it quotes, or out of memory)",
                     e.feeds[i].name);
            e.feeds[i].state = "error";
        }
    td_info("serving %d instruments from %s%s%s", n, e.cfg.feeds, port ? "; health on " : "",
            port ? e.cfg.engine_listen : "");
    write_ready_file(e.cfg.ready_file);

    while (!g_stop) {
        if (lws_service(e.lws, 0) < 0)
            break;
        td_engine_publish_redis(&e); /* what this pass changed */
        if (g_reload) {
            g_reload = 0;
            td_config c;
            if (td_config_read(&c, TD_PROG_ENGINE, 0, err, sizeof err) != TD_OK) {
                td_warn("SIGHUP: keeping the running settings: %s", err);
            } else {
                /* What applies live; the rest (feeds, URLs, listen address,
                 * lease) on restart. */
                e.cfg.log_level = c.log_level;
                td_log_init("tradedesk-engine", c.log_level);
                e.cfg.price_stale_ms = c.price_stale_ms;
                e.cfg.oracle_max_dev_bp = c.oracle_max_dev_bp;
                td_market_set_oracle(e.market, c.price_stale_ms, c.oracle_max_dev_bp);
                e.cfg.price_history_interval_s = c.price_history_interval_s;
                e.cfg.price_history_days = c.price_history_days;
                e.cfg.idempotency_key_hours = c.idempotency_key_hours;
                e.cfg.outbox_retention_days = c.outbox_retention_days;
                e.cfg.equity_snapshot_days = c.equity_snapshot_days;
                if (td_alerts_configure(e.alerts, &c, err, sizeof err) == TD_OK)
                    e.cfg.alert_retention_days = c.alert_retention_days;
                else
                    td_warn("SIGHUP: keeping the market alerts' thresholds: %s", err);
                td_info("SIGHUP: settings read again (the log level, TRADEDESK_PRICE_STALE_MS, "
                        "TRADEDESK_ORACLE_MAX_DEVIATION_BP, TRADEDESK_PRICE_HISTORY_*, the "
                        "retention settings and TRADEDESK_ALERT_* but the volatility window "
                        "apply now; the rest on restart)");
            }
        }
    }
    td_info("stopping");
    e.stopping = 1;
    td_ws_timer_cancel(&e.tick);
    lws_sul_cancel(&e.candle_slice);
    td_ws_timer_cancel(&e.latest_due);
    td_engine_adapters_stop(&e);
    /* The last publish: a pipeline still in flight is waited for first,
     * so that the one after it carries what changed since. */
    drain(&e);
    td_engine_publish_redis(&e);
    td_engine_publish_db(&e, td_wall_ms());
    drain(&e);
    td_guard_stop(e.guard); /* before the relay: it reads the relay's lease */
    td_relay_stop(e.relay);
    g_ctx = NULL;
    td_monitor_free(e.monitor);
    e.monitor = NULL;
    td_ws_timer_release(&e.tick);
    td_ws_timer_release(&e.latest_due);
    lws_context_destroy(e.lws);
    td_engine_adapters_free(&e);
    td_engine_replay_free();
    td_db_close(e.db);
    td_redis_async_close(e.aredis);
    td_engine_publish_free(&e);
    td_alerts_free(e.alerts);
    td_market_free(e.market);
    if (e.cfg.ready_file[0])
        unlink(e.cfg.ready_file);
    td_info("stopped");
    return 0;
}
