/*
 * worker.c - one FastCGI worker: accept a request, turn FastCGI params into
 * a td_req, dispatch it, ship the response and log one line.
 *
 * A worker serves one request at a time; the master runs several.  With
 * libfcgi a worker accepts one connection per request itself; with the own
 * transport (TRADEDESK_API_TRANSPORT=own) the master holds nginx's
 * kept-alive connections and hands this worker one connection whose request
 * is waiting (api/front.h), which it serves with core/fcgi and gives back.
 * SIGTERM lets the request in flight finish: the handler only marks
 * shutdown, and accept (or the wait for a hand-off) fails on the interrupt.
 */
#include "api/app.h"
#include "api/handlers/metrics_handler.h"
#include "api/recent.h"
#include "api/worker_cache.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"
#include "core/fcgi.h"
#include "api/front.h"

#include <fcgiapp.h>
#include <errno.h>
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

/* Where a request's FastCGI params come from: libfcgi's envp, or the own
 * transport's codec (core/fcgi.h). */
static const char *fcgx_param(void *src, const char *name)
{
    return FCGX_GetParam(name, ((FCGX_Request *)src)->envp);
}

static const char *own_param(void *src, const char *name)
{
    return td_fcgi_param_get(src, name);
}

static const char *fcgi_header(td_req *r, const char *env_name)
{
    return fcgx_param(r->source, env_name);
}

static const char *own_header(td_req *r, const char *env_name)
{
    return own_param(r->source, env_name);
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

static void body_too_large(td_req *r, long long declared, long long max)
{
    td_resp_error(r, TD_ERR_PAYLOAD_TOO_LARGE, "request body is %lld bytes; the limit is %lld",
                  declared, max);
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
        body_too_large(r, declared, max);
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

/* The same checks on a body the codec has already read (and dropped past
 * the limit). */
static void own_body(td_req *r, const td_fcgi_request *fr, long long declared, long long max)
{
    if (declared <= 0)
        return;
    if (declared > max || fr->body_overflow) {
        body_too_large(
            r, declared > (long long)fr->body_total ? declared : (long long)fr->body_total, max);
        return;
    }
    if (fr->body_len != (size_t)declared) {
        td_resp_error(r, TD_ERR_INVALID_REQUEST, "request body ended early");
        return;
    }
    r->body = fr->body;
    r->body_len = fr->body_len;
}

/* Method, path, query, ids from the params; returns CONTENT_LENGTH (0 when
 * absent), or -1 when the request is already answered. */
static long long parse_params(td_req *r, const char *(*get)(void *, const char *), void *src)
{
    const char *v;
    r->source = src;
    /* Copied: libfcgi's params are freed at FCGX_Finish_r, before the log line. */
    if ((v = get(src, "REQUEST_METHOD")))
        r->method = td_arena_strdup(r->arena, v);
    if ((v = get(src, "REMOTE_ADDR")))
        r->remote_addr = td_arena_strdup(r->arena, v);
    if ((v = get(src, "HTTP_USER_AGENT")))
        r->user_agent = td_arena_strdup(r->arena, v);
    v = get(src, "HTTP_X_REQUEST_ID");
    if (v && request_id_ok(v))
        snprintf(r->request_id, sizeof r->request_id, "%s", v);
    else
        td_random_hex(r->request_id, 16);
    td_req_trace(r);

    const char *uri = get(src, "REQUEST_URI");
    if (!uri)
        uri = get(src, "SCRIPT_NAME");
    if (uri) {
        const char *q = strchr(uri, '?');
        r->path = td_arena_strndup(r->arena, uri, q ? (size_t)(q - uri) : strlen(uri));
        r->query = q ? td_arena_strdup(r->arena, q + 1) : "";
    }
    if (td_query_parse(r->arena, r->query, &r->params, &r->nparams) != TD_OK) {
        td_resp_error(r, TD_ERR_INVALID_QUERY,
                      "query string is malformed (bad percent-escape or repeated parameter)");
        return -1;
    }
    v = get(src, "CONTENT_LENGTH");
    return v && *v ? strtoll(v, NULL, 10) : 0;
}

static void parse_request(td_req *r, FCGX_Request *fr)
{
    r->header = fcgi_header;
    long long declared = parse_params(r, fcgx_param, fr);
    if (declared >= 0)
        read_body(r, fr, declared, r->app->cfg.max_body_bytes);
}

static void parse_own_request(td_req *r, td_fcgi_request *fr)
{
    r->header = own_header;
    long long declared = parse_params(r, own_param, fr);
    if (declared >= 0)
        own_body(r, fr, declared, r->app->cfg.max_body_bytes);
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

/* The process' signals: SIGTERM only marks shutdown and, installed without
 * SA_RESTART, interrupts a blocking accept or hand-off wait. */
static void worker_signals(void)
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
}

/* What both transports' workers do first: signals, then the app. */
static int worker_start(td_app *app, const td_config *cfg)
{
    worker_signals();
    if (td_app_open(app, cfg) != TD_OK) {
        td_error("worker: out of memory at start");
        return -1;
    }
    return 0;
}

/* After the response has gone: the log line, metrics, the slow log. */
static void request_done(td_req *r, const td_app *app)
{
    log_request(r);
    td_api_metrics_observe(r);
    td_recent_record(r, td_api_route_index(r), (double)(td_mono_ns() - r->started_ns) / 1e6,
                     app->cfg.slow_request_ms);
    td_req_end(r);
}

int td_worker_run(int listen_fd, const td_config *cfg)
{
    td_app app;
    if (worker_start(&app, cfg) != 0)
        return 1;
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
        request_done(&r, &app);
        td_arena_reset(&arena);
    }
    td_wc_shutdown();
    FCGX_Free(&fr, 0);
    td_arena_free(&arena);
    td_app_close(&app);
    return 0;
}

/* ---- the own transport: connections handed over by the master ---- */

typedef struct own_ctx {
    td_app *app;
    td_req r;
} own_ctx;

static void own_handle(void *ctx, td_fcgi_request *req, td_arena *arena, const char **out,
                       size_t *len)
{
    own_ctx *o = ctx;
    td_wc_poll(); /* invalidations published since the last request */
    td_req_init(&o->r, arena, o->app);
    parse_own_request(&o->r, req);
    if (!td_req_answered(&o->r))
        td_api_handle(&o->r);
    *out = o->r.out.data;
    *len = o->r.out.len;
}

static void own_done(void *ctx)
{
    own_ctx *o = ctx;
    request_done(&o->r, o->app);
}

int td_worker_run_own(int ctl_fd, const td_config *cfg)
{
    td_app app;
    if (worker_start(&app, cfg) != 0)
        return 1;
    td_arena arena;
    td_arena_init(&arena, 64 * 1024);
    const td_fcgi_limits lim = {.max_params_bytes = TD_FRONT_MAX_PARAMS_BYTES,
                                .max_params = TD_FRONT_MAX_PARAMS,
                                .max_body_bytes = (size_t)cfg->max_body_bytes,
                                .max_conns = TD_FRONT_MAX_CONNS,
                                .max_reqs = TD_FRONT_MAX_CONNS};
    own_ctx ctx = {.app = &app};
    td_wc_init(cfg);
    for (;;) {
        /* After SIGTERM, only hand-offs already sent are still served. */
        td_front_handoff h;
        int fd = td_front_receive(ctl_fd, &h, g_shutdown);
        if (fd == -2)
            continue; /* interrupted: look again (without waiting, after SIGTERM) */
        if (fd < 0)
            break; /* the master shut our socket (retired), or shutdown */
        h.keep = (uint32_t)td_front_serve(fd, &arena, &lim, own_handle, own_done, &ctx);
        close(fd);
        if (td_front_report(ctl_fd, &h) != 0)
            break;
    }
    td_wc_shutdown();
    td_arena_free(&arena);
    td_app_close(&app);
    return 0;
}
