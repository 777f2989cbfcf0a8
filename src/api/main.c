/*
 * main.c - tradedesk-api: the prefork master.
 *
 * Opens the FastCGI socket, forks the workers and then only supervises:
 * respawns a worker that dies (backing off when one dies right after start,
 * so a crash loop does not spin), drains on SIGTERM/SIGINT (workers finish
 * the request in flight, up to TRADEDESK_DRAIN_TIMEOUT), and on SIGHUP
 * re-reads configuration and replaces the workers one generation at a time.
 * With TRADEDESK_API_TRANSPORT=own the master also holds nginx's kept-alive
 * connections and hands each waiting request's connection to an idle worker
 * (api/front.h); its loop then waits in epoll, signals through a signalfd.
 * The master never touches PostgreSQL or Redis.
 */
#include "api/app.h"
#include "api/recent.h"
#include "api/worker_cache.h"
#include "api/error_pages.h"
#include "api/front.h"
#include "api/handlers/metrics_handler.h"
#include "api/login_gate.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/unixsock.h"
#include "store/dbgate.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256
#define BACKOFF_MIN_S 1.0
#define BACKOFF_MAX_S 30.0
#define QUICK_DEATH_S 2.0 /* a worker dying sooner than this counts as a crash loop */

typedef struct slot {
    pid_t pid; /* 0: empty, waiting for respawn_at */
    double started;
    double respawn_at;
    double backoff;
} slot;

static slot g_slots[MAX_WORKERS];
static pid_t g_retiring[MAX_WORKERS * 4]; /* old-generation workers draining */
static int g_nretiring;
static td_config g_cfg;
static int g_listen_fd = -1;
static int g_own; /* TRADEDESK_API_TRANSPORT=own, fixed at start */

static int is_unix_path(const char *listen)
{
    return strchr(listen, '/') != NULL || strchr(listen, ':') == NULL;
}

/* The unix socket is mode 0660, owned by the API's user and
 * TRADEDESK_FCGI_GROUP (nginx's workers): other local users cannot speak
 * FastCGI to it (no /metrics behind nginx's back, no forged REMOTE_ADDR). */
static int open_listen(const char *listen, const char *group)
{
    int unix_path = is_unix_path(listen);
    gid_t gid = (gid_t)-1;
    if (unix_path) {
        if (td_unix_socket_prepare(listen, "TRADEDESK_FCGI_LISTEN") != 0 ||
            td_unix_socket_group(group, "TRADEDESK_FCGI_GROUP", &gid) != 0)
            return -1;
    } else if (listen[0] == ':') {
        td_error("TRADEDESK_FCGI_LISTEN: '%s' would bind every interface; name the host", listen);
        return -1;
    }
    /* Born 0660: there is no moment at which others may connect. */
    mode_t old_umask = umask(TD_UNIX_SOCKET_UMASK);
    int fd = FCGX_OpenSocket(listen, 1024);
    umask(old_umask);
    if (fd < 0) {
        td_error("cannot listen on %s: %s", listen, strerror(errno));
        return -1;
    }
    if (!unix_path || td_unix_socket_finish(listen, gid, group, "TRADEDESK_FCGI_GROUP") == 0)
        return fd;
    close(fd);
    unlink(listen);
    return -1;
}

static pid_t spawn(void)
{
    int child_fd = -1, master_fd = -1;
    if (g_own && (master_fd = td_front_pair(&child_fd)) < 0)
        return 0;
    pid_t pid = fork();
    if (pid < 0) {
        td_error("fork: %s", strerror(errno));
        if (g_own) {
            close(master_fd);
            close(child_fd);
        }
        return 0;
    }
    if (pid == 0) {
        td_log_forked();
        if (!g_own)
            _exit(td_worker_run(g_listen_fd, &g_cfg));
        close(master_fd);
        td_front_child_close(); /* nginx's connections and the listening socket */
        _exit(td_worker_run_own(child_fd, &g_cfg));
    }
    if (g_own) {
        close(child_fd);
        td_front_worker_started(master_fd, pid);
    }
    return pid;
}

static void start_slot(int i)
{
    g_slots[i].pid = spawn();
    g_slots[i].started = td_mono_s();
    if (g_slots[i].pid)
        td_metrics_register_pid(i, g_slots[i].pid);
    if (!g_slots[i].pid)
        g_slots[i].respawn_at = td_mono_s() + BACKOFF_MIN_S;
}

static void signal_all(int sig)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        if (g_slots[i].pid)
            kill(g_slots[i].pid, sig);
    for (int i = 0; i < g_nretiring; i++)
        kill(g_retiring[i], sig);
}

static int live_workers(void)
{
    int n = g_nretiring;
    for (int i = 0; i < MAX_WORKERS; i++)
        n += g_slots[i].pid != 0;
    return n;
}

static void describe_exit(pid_t pid, int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "worker %d exited with status %d", (int)pid, WEXITSTATUS(status));
    else
        snprintf(buf, cap, "worker %d killed by signal %d", (int)pid, WTERMSIG(status));
}

/* Collect dead children; schedule respawns unless stopping. */
static void reap(int stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        td_metrics_forget_pid(pid);
        td_login_gate_reaped(pid); /* a worker killed mid-verification */
        td_dbgate_forget(pid);     /* a worker killed inside a statement held a slot */
        char what[96];
        describe_exit(pid, status, what, sizeof what);
        int found = 0;
        for (int i = 0; i < g_nretiring; i++)
            if (g_retiring[i] == pid) {
                g_retiring[i] = g_retiring[--g_nretiring];
                found = 1;
                break;
            }
        if (found)
            continue;
        for (int i = 0; i < MAX_WORKERS; i++) {
            slot *s = &g_slots[i];
            if (s->pid != pid)
                continue;
            s->pid = 0;
            if (stopping)
                break;
            double t = td_mono_s();
            if (t - s->started < QUICK_DEATH_S) {
                s->backoff = s->backoff ? s->backoff * 2 : BACKOFF_MIN_S;
                if (s->backoff > BACKOFF_MAX_S)
                    s->backoff = BACKOFF_MAX_S;
            } else {
                s->backoff = 0;
            }
            s->respawn_at = t + s->backoff;
            td_metrics_count(TD_M_WORKER_RESTART);
            td_warn("%s; respawning in %.0f s", what, s->backoff);
            break;
        }
    }
}

static void respawn_due(void)
{
    double t = td_mono_s();
    for (int i = 0; i < g_cfg.workers; i++)
        if (!g_slots[i].pid && t >= g_slots[i].respawn_at)
            start_slot(i);
}

static int load_config(td_config *out)
{
    char err[512];
    if (td_config_read(out, TD_PROG_API, 1, err, sizeof err) != TD_OK) {
        td_error("configuration: %s", err);
        return -1;
    }
    return 0;
}

/* New workers get the new settings; old ones finish what they hold. */
static void reload(void)
{
    td_config next;
    if (load_config(&next) != 0) {
        td_error("SIGHUP: configuration invalid, keeping the running one");
        return;
    }
    if (strcmp(next.fcgi_listen, g_cfg.fcgi_listen) != 0)
        td_warn("SIGHUP: TRADEDESK_FCGI_LISTEN changed; it takes effect only on restart");
    snprintf(next.fcgi_listen, sizeof next.fcgi_listen, "%s", g_cfg.fcgi_listen);
    if (strcmp(next.fcgi_group, g_cfg.fcgi_group) != 0)
        td_warn("SIGHUP: TRADEDESK_FCGI_GROUP changed; it takes effect only on restart");
    snprintf(next.fcgi_group, sizeof next.fcgi_group, "%s", g_cfg.fcgi_group);
    if (next.api_transport != g_cfg.api_transport)
        td_warn("SIGHUP: TRADEDESK_API_TRANSPORT changed; it takes effect only on restart");
    next.api_transport = g_cfg.api_transport;
    for (int i = 0; i < MAX_WORKERS; i++) {
        if (g_slots[i].pid) {
            if (g_own)
                td_front_retire(g_slots[i].pid); /* nothing more handed to it */
            kill(g_slots[i].pid, SIGTERM);
            if (g_nretiring < (int)TD_ARRAY_LEN(g_retiring))
                g_retiring[g_nretiring++] = g_slots[i].pid;
        }
        memset(&g_slots[i], 0, sizeof g_slots[i]);
    }
    g_cfg = next;
    td_log_set_level(g_cfg.log_level);
    td_login_gate_set_limit(g_cfg.login_verify_max);
    for (int i = 0; i < g_cfg.workers; i++)
        start_slot(i);
    td_info("SIGHUP: configuration reloaded; %d workers started", g_cfg.workers);
}

static void drain_and_exit(int sig)
{
    td_info("signal %d: draining %d workers (up to %d s)", sig, live_workers(),
            g_cfg.drain_timeout_s);
    if (g_own)
        td_front_drain(); /* idle connections closed, held ones once answered */
    signal_all(SIGTERM);
    double deadline = td_mono_s() + g_cfg.drain_timeout_s;
    while (live_workers() > 0 && td_mono_s() < deadline) {
        if (g_own)
            td_front_wait(20); /* workers report; their connections close */
        else
            usleep(20 * 1000);
        reap(1);
    }
    if (live_workers() > 0) {
        td_warn("drain timeout: killing %d workers", live_workers());
        signal_all(SIGKILL);
        while (live_workers() > 0 && waitpid(-1, NULL, 0) > 0)
            reap(1);
    }
    if (is_unix_path(g_cfg.fcgi_listen))
        unlink(g_cfg.fcgi_listen);
    td_info("stopped");
    exit(0);
}

int main(int argc, char **argv)
{
    td_log_init("tradedesk-api", TD_LOG_INFO);
    /* The error table for nginx and for openapi.yaml's checks: no config,
     * so it prints the same whatever the environment holds. */
    if (argc == 2 && strcmp(argv[1], "--print-nginx-errors") == 0)
        return td_error_pages_print_nginx(stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    if (argc == 2 && strcmp(argv[1], "--print-error-codes") == 0)
        return td_error_pages_print_codes(stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    if (argc > 1) {
        fprintf(stderr, "usage: tradedesk-api (configured by TRADEDESK_* variables; see README)\n"
                        "       tradedesk-api --print-nginx-errors | --print-error-codes\n");
        return 2;
    }
    if (load_config(&g_cfg) != 0)
        return 2;
    td_log_set_level(g_cfg.log_level);
    if (g_cfg.workers > MAX_WORKERS)
        g_cfg.workers = MAX_WORKERS;

    /* Signals are taken synchronously with sigtimedwait: no handler races. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (FCGX_Init() != 0)
        return 1;
    g_listen_fd = open_listen(g_cfg.fcgi_listen, g_cfg.fcgi_group);
    if (g_listen_fd < 0)
        return 1;
    if (td_api_metrics_init() != TD_OK)
        td_warn("metrics disabled: shared memory unavailable");
    td_recent_init();        /* without it, nothing is kept for the monitoring endpoints */
    td_wc_shared_init();     /* without it, pub/sub alone keeps workers' memory current */
    td_dbgate_shared_init(); /* without it, any number of workers may wait on PostgreSQL */
    if (td_login_gate_init(g_cfg.login_verify_max) != TD_OK)
        td_warn("login: password verifications at once are unbounded (no shared memory)");
    g_own = g_cfg.api_transport == TD_TRANSPORT_OWN;
    if (g_own) {
        int sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sig_fd < 0 || td_front_open(g_listen_fd, sig_fd) != 0) {
            td_error("own transport: cannot set up the dispatcher: %s", strerror(errno));
            return 1;
        }
    }
    for (int i = 0; i < g_cfg.workers; i++)
        start_slot(i);
    td_info("listening on %s with %d workers (%s transport)", g_cfg.fcgi_listen, g_cfg.workers,
            g_own ? "own" : "libfcgi");

    double next_tick = 0;
    for (;;) {
        struct timespec tick = {0, 250 * 1000 * 1000};
        int sig = g_own ? td_front_wait(250) : sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            drain_and_exit(sig);
        if (sig == SIGHUP)
            reload();
        /* The own transport wakes for every request: reap only when a
         * child exited, or at the tick (respawns are due by the clock). */
        if (!g_own || sig == SIGCHLD || td_mono_s() >= next_tick) {
            reap(0);
            respawn_due();
            next_tick = td_mono_s() + 0.25;
        }
    }
}
