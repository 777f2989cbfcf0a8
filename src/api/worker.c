/*
 * worker.c - one FastCGI worker: accept a request, turn FastCGI params into
 * a td_req, dispatch it, ship the response and log one line.
 *
 * A worker serves one request at a time (libfcgi has no multiplexing); the
 * master runs several.  SIGTERM lets the request in flight finish: the
 * handler only marks shutdown, and accept fails on the interrupt.
 */
#include "api/app.h"
#include "api/handlers/metrics_handler.h"
#include "api/recent.h"
#include "api/worker_cache.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"

#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

static volatile sig_atomic_t g_shutdown;

static void on_term(int sig)
{
    (void)sig;
    g_shutdown = 1;
    FCGX_ShutdownPending();
}

static const char *fcgi_header(td_req *r, const char *env_name)
{
    return FCGX_GetParam(env_name, ((FCGX_Request *)r->source)->envp);
}

static int request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 64 ||
            !(s[n] == '-' || s[n] == '_' || s[n] == '.' || (s[n] >= '0' && s[n] <= '9') ||
              (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
            return 0;
    return n > 0;
}

/* Read the body, or drain it when too large so nginx sees a clean exchange. */
static void read_body(td_req *r, FCGX_Request *fr, long long declared, long long max)
{
    if (declared <= 0)
        return;
    if (declared > max) {
        char scratch[8192];
        while (FCGX_GetStr(scratch, sizeof scratch, fr->in) > 0)
            ;
        td_resp_error(r, TD_ERR_PAYLOAD_TOO_LARGE, "request body is %lld bytes; the limit is %lld",
                      declared, max);
        return;
    }
    char *b = td_arena_alloc(r->arena, (size_t)declared + 1);
    int got = FCGX_GetStr(b, (int)declared, fr->in);
    if (got != declared) {
        td_resp_error(r, TD_ERR_INVALID_REQUEST, "request body ended early");
        return;
    }
    b[got] = '\0';
    r->body = b;
    r->body_len = (size_t)got;
}

static void parse_request(td_req *r, FCGX_Request *fr)
{
    const char *v;
    r->source = fr;
    r->header = fcgi_header;
    /* Copied: FastCGI params are freed at FCGX_Finish_r, before the log line. */
    if ((v = FCGX_GetParam("REQUEST_METHOD", fr->envp)))
        r->method = td_arena_strdup(r->arena, v);
    if ((v = FCGX_GetParam("REMOTE_ADDR", fr->envp)))
        r->remote_addr = td_arena_strdup(r->arena, v);
    if ((v = FCGX_GetParam("HTTP_USER_AGENT", fr->envp)))
        r->user_agent = td_arena_strdup(r->arena, v);
    v = FCGX_GetParam("HTTP_X_REQUEST_ID", fr->envp);
    if (v && request_id_ok(v))
        snprintf(r->request_id, sizeof r->request_id, "%s", v);
    else
        td_random_hex(r->request_id, 16);
    td_req_trace(r);

    const char *uri = FCGX_GetParam("REQUEST_URI", fr->envp);
    if (!uri)
        uri = FCGX_GetParam("SCRIPT_NAME", fr->envp);
    if (uri) {
        const char *q = strchr(uri, '?');
        r->path = td_arena_strndup(r->arena, uri, q ? (size_t)(q - uri) : strlen(uri));
        r->query = q ? td_arena_strdup(r->arena, q + 1) : "";
    }
    if (td_query_parse(r->arena, r->query, &r->params, &r->nparams) != TD_OK) {
        td_resp_error(r, TD_ERR_INVALID_QUERY,
                      "query string is malformed (bad percent-escape or repeated parameter)");
        return;
    }
    v = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
    long long declared = v && *v ? strtoll(v, NULL, 10) : 0;
    read_body(r, fr, declared, r->app->cfg.max_body_bytes);
}

static void log_request(const td_req *r)
{
    double ms = (double)(td_mono_ns() - r->started_ns) / 1e6;
    char f[1024];
    size_t n = (size_t)snprintf(f, sizeof f, "\"request_id\":\"%s\",\"method\":\"", r->request_id);
    td_json_escape(f, sizeof f - 200, &n, r->method);
    n += (size_t)snprintf(f + n, sizeof f - n, "\",\"route\":\"%s\",\"path\":\"", r->route);
    td_json_escape(f, sizeof f - 120, &n, r->path);
    n += (size_t)snprintf(f + n, sizeof f - n,
                          "\",\"status\":%d,\"duration_ms\":%.3f,\"user_id\":", r->status, ms);
    if (r->user_id)
        snprintf(f + n, sizeof f - n, "%lld", (long long)r->user_id);
    else
        snprintf(f + n, sizeof f - n, "null");
    td_log_fields(r->status >= 500 ? TD_LOG_ERROR : TD_LOG_INFO, "request", f);
}

int td_worker_run(int listen_fd, const td_config *cfg)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_term; /* no SA_RESTART: accept() must fail on SIGTERM */
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the whole group; the master drains us */
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the master */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    td_app app;
    if (td_app_open(&app, cfg) != TD_OK) {
        td_error("worker: out of memory at start");
        return 1;
    }
    FCGX_Request fr;
    if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
        return 1;
    td_arena arena;
    td_arena_init(&arena, 64 * 1024);

    td_wc_init(cfg);
    while (!g_shutdown && FCGX_Accept_r(&fr) >= 0) {
        td_wc_poll(); /* invalidations published since the last request */
        td_req r;
        td_req_init(&r, &arena, &app);
        parse_request(&r, &fr);
        if (!td_req_answered(&r))
            td_api_handle(&r);
        FCGX_PutStr(r.out.data, (int)r.out.len, fr.out);
        FCGX_Finish_r(&fr);
        log_request(&r);
        td_api_metrics_observe(&r);
        td_recent_record(&r, td_api_route_index(&r), (double)(td_mono_ns() - r.started_ns) / 1e6,
                         app.cfg.slow_request_ms);
        td_req_end(&r);
        td_arena_reset(&arena);
    }
    td_wc_shutdown();
    FCGX_Free(&fr, 0);
    td_arena_free(&arena);
    td_app_close(&app);
    return 0;
}
