/*
 * itest.c - HTTP client (libcurl) and helpers for the integration tests.
 *
 * One curl easy handle per request: tests are about behaviour, not speed,
 * and a fresh connection per request keeps tests independent of each other
 * (nginx keep-alive, source addresses).  Failures of the harness itself
 * (cannot allocate, TD_TEST_URL unset) abort the test with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"
#include "core/clock.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

static char client_ip[64];

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "itest: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        die("%s is not set; run the tests through tests/integration/run.sh", name);
    return v;
}

long long itest_now_ms(void)
{
    return (long long)(td_mono_ns() / 1000000);
}

void itest_client_ip(const char *ip)
{
    snprintf(client_ip, sizeof client_ip, "%s", ip ? ip : "");
}

const char *itest_fresh_ip(void)
{
    /* 127.P1.P2.N: the pid keeps binaries apart (rate-limit state in Redis
     * outlives a binary), the counter keeps tests apart. */
    static char buf[64];
    static int n = 1;
    unsigned pid = (unsigned)getpid();
    if (++n > 254)
        n = 2;
    snprintf(buf, sizeof buf, "127.%u.%u.%d", (pid >> 8) & 0xff, pid & 0xff, n);
    return buf;
}

/* ------------------------------------------------------------------ http */

struct buf {
    char *p;
    size_t n;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t k = size * nmemb;
    b->p = xrealloc(b->p, b->n + k + 1);
    memcpy(b->p + b->n, data, k);
    b->n += k;
    b->p[b->n] = '\0';
    return k;
}

static void free_headers(itest_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    itest_response *r = ud;
    size_t k = size * nmemb, n = k;
    while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n'))
        n--;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        free_headers(r); /* a new response (after 100 Continue) */
        return k;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return k;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof *r->headers);
    itest_header_kv *h = &r->headers[r->nheaders++];
    h->name = xstrndup(data, nl);
    for (char *c = h->name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    h->value = xstrndup(v, (size_t)(end - v));
    return k;
}

static json_object *parse_json(const char *s, size_t n)
{
    if (n == 0)
        return NULL;
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != n) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

/* With TD_TEST_RECORD set, append each exchange as one JSON line for
 * tests/contract/validate.mjs, which checks it against openapi.yaml. */
static void record(const itest_response *r, const char *const *headers, const char *body)
{
    const char *path = getenv("TD_TEST_RECORD");
    if (!path || !*path || r->status == 0)
        return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "method", json_object_new_string(r->method));
    json_object_object_add(o, "path", json_object_new_string(r->path));
    json_object_object_add(o, "status", json_object_new_int((int)r->status));
    json_object *h = json_object_new_object();
    for (size_t i = 0; i < r->nheaders; i++)
        json_object_object_add(h, r->headers[i].name, json_object_new_string(r->headers[i].value));
    json_object_object_add(o, "headers", h);
    json_object *rh = json_object_new_object();
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        if (!colon || colon[1] == '\0')
            continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(colon - headers[i]), headers[i]);
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        json_object_object_add(rh, name, json_object_new_string(colon + 1 + (colon[1] == ' ')));
    }
    json_object_object_add(o, "request_headers", rh);
    json_object *req = body ? json_tokener_parse(body) : NULL;
    if (req)
        json_object_object_add(o, "request_body", req);
    json_object_object_add(o, "body",
                           r->json       ? json_object_get(r->json)
                           : r->body_len ? json_object_new_string(r->body)
                                         : NULL);
    const char *line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        size_t n = strlen(line);
        char *buf = xrealloc(NULL, n + 1);
        memcpy(buf, line, n);
        buf[n] = '\n';
        if (write(fd, buf, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "itest: could not record to %s\n", path);
        free(buf);
        close(fd);
    }
    json_object_put(o);
}

itest_response *itest_http_n(const char *method, const char *path, const char *const *headers,
                             const char *body, size_t body_len)
{
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            die("curl_global_init failed");
        curl_ready = 1;
    }
    itest_response *r = xrealloc(NULL, sizeof *r);
    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);

    char url[2048];
    snprintf(url, sizeof url, "%s%s", env_or_die("TD_TEST_URL"), path);

    CURL *c = curl_easy_init();
    if (!c)
        die("curl_easy_init failed");
    struct curl_slist *hl = NULL;
    int have_ct = 0;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        if (strncasecmp(headers[i], "content-type:", 13) == 0)
            have_ct = 1;
    }
    if (body && !have_ct)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */

    struct buf b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    if (client_ip[0])
        curl_easy_setopt(c, CURLOPT_INTERFACE, client_ip);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    } else {
        r->status = 0;
        snprintf(r->error, sizeof r->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);

    r->body = b.p ? b.p : xstrndup("", 0);
    r->body_len = b.n;
    r->json = parse_json(r->body, r->body_len);
    record(r, headers, body);
    return r;
}

itest_response *itest_http(const char *method, const char *path, const char *const *headers,
                           const char *body)
{
    return itest_http_n(method, path, headers, body, body ? strlen(body) : 0);
}

static itest_response *with_auth(const char *method, const char *path, const char *token,
                                 const char *body)
{
    char auth[8192];
    const char *h[] = {auth, NULL};
    if (!token)
        return itest_http(method, path, NULL, body);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    return itest_http(method, path, h, body);
}

itest_response *itest_get_auth(const char *path, const char *token)
{
    return with_auth("GET", path, token, NULL);
}

itest_response *itest_post_auth(const char *path, const char *token, const char *body)
{
    return with_auth("POST", path, token, body);
}

itest_response *itest_http_auth(const char *method, const char *path, const char *token)
{
    return with_auth(method, path, token, NULL);
}

void itest_free(itest_response *r)
{
    if (!r)
        return;
    free_headers(r);
    free(r->body);
    json_object_put(r->json);
    free(r);
}

const char *itest_header(const itest_response *r, const char *name)
{
    for (size_t i = 0; r && i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

json_object *itest_json_get(const itest_response *r, const char *dotted)
{
    if (!r || !r->json)
        return NULL;
    json_object *o = r->json;
    char key[256];
    const char *p = dotted;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
            return NULL;
        p += n + (dot ? 1 : 0);
    }
    return o;
}

const char *itest_json_str(const itest_response *r, const char *dotted)
{
    json_object *o = itest_json_get(r, dotted);
    return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

void itest_dump(const itest_response *r)
{
    if (!r)
        return;
    fprintf(stderr, "    --- %s %s -> %ld%s%s\n", r->method, r->path, r->status,
            r->error[0] ? " " : "", r->error);
    for (size_t i = 0; i < r->nheaders; i++)
        fprintf(stderr, "    %s: %s\n", r->headers[i].name, r->headers[i].value);
    fprintf(stderr, "    %.*s\n", r->body_len > 2000 ? 2000 : (int)r->body_len, r->body);
}

/* ------------------------------------------------------------ assertions */

void itest_check_status(const itest_response *r, long status, const char *file, int line)
{
    if (r && r->status == status)
        return;
    fprintf(stderr, "    expected HTTP %ld\n", status);
    itest_dump(r);
    _fail(file, line);
}

void itest_check_error(const itest_response *r, long status, const char *code, const char *file,
                       int line)
{
    char why[512] = "";
    const char *got_code = itest_json_str(r, "error.code");
    const char *msg = itest_json_str(r, "error.message");
    const char *rid = itest_json_str(r, "error.request_id");
    const char *hrid = itest_header(r, "x-request-id");
    if (!r || r->status != status)
        snprintf(why, sizeof why, "expected HTTP %ld", status);
    else if (!r->json)
        snprintf(why, sizeof why, "body is not JSON");
    else if (!got_code || strcmp(got_code, code) != 0)
        snprintf(why, sizeof why, "expected error.code \"%s\"", code);
    else if (!msg || !*msg)
        snprintf(why, sizeof why, "error.message missing or empty");
    else if (!rid || !*rid)
        snprintf(why, sizeof why, "error.request_id missing or empty");
    else if (!hrid)
        snprintf(why, sizeof why, "no X-Request-ID header");
    else if (strcmp(rid, hrid) != 0)
        snprintf(why, sizeof why, "error.request_id \"%s\" != X-Request-ID \"%s\"", rid, hrid);
    else if (json_object_object_length(r->json) != 1)
        snprintf(why, sizeof why, "envelope has members besides \"error\"");
    if (!why[0])
        return;
    fprintf(stderr, "    error envelope: %s\n", why);
    itest_dump(r);
    _fail(file, line);
}

/* ------------------------------------------------------------- processes */

static int exit_status(int st)
{
    if (st == -1)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int itest_stack(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s", env_or_die("TD_TEST_STACK"), args);
    fprintf(stderr, "    $ stack.sh %s\n", args);
    fflush(NULL);
    return exit_status(system(cmd));
}

int itest_cli(const char *args, const char *input, char *out, size_t cap)
{
    char in_path[512] = "/dev/null";
    if (input) {
        snprintf(in_path, sizeof in_path, "%s/itest-stdin.XXXXXX", env_or_die("TD_TEST_VAR"));
        int fd = mkstemp(in_path);
        if (fd < 0)
            die("mkstemp %s failed", in_path);
        size_t n = strlen(input);
        if (write(fd, input, n) != (ssize_t)n)
            die("write %s failed", in_path);
        close(fd);
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s/tradedesk' %s < '%s'", env_or_die("TD_TEST_BIN"), args, in_path);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p)
        die("popen %s failed", cmd);
    size_t n = 0;
    char tmp[4096];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out && cap > 0) {
            size_t room = cap - 1 - n;
            size_t m = k < room ? k : room;
            memcpy(out + n, tmp, m);
            n += m;
        }
    }
    int st = exit_status(pclose(p));
    if (out && cap > 0) {
        out[n] = '\0';
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
            out[--n] = '\0';
    }
    if (input)
        unlink(in_path);
    return st;
}

int itest_user_add(const char *prefix, const char *pass, char *name_out, size_t cap)
{
    static int n;
    char args[256], input[256];
    snprintf(name_out, cap, "%s%ux%d", prefix, (unsigned)getpid(), ++n);
    snprintf(args, sizeof args, "user add %s", name_out);
    snprintf(input, sizeof input, "%s\n", pass);
    int st = itest_cli(args, input, NULL, 0);
    if (st != 0)
        fprintf(stderr, "    tradedesk %s: exit status %d\n", args, st);
    return st;
}

/* ------------------------------------------------------------ auth, poll */

long itest_login(const char *user, const char *pass, char *token_out, size_t cap)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "username", json_object_new_string(user));
    json_object_object_add(o, "password", json_object_new_string(pass));
    itest_response *r = itest_http("POST", "/api/v1/auth/login", NULL,
                                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    long st = r->status;
    if (token_out && cap > 0) {
        token_out[0] = '\0';
        const char *t = itest_json_str(r, "access_token");
        if (st == 200 && t)
            snprintf(token_out, cap, "%s", t);
    }
    if (st != 200 && st != 429 && st != 401)
        itest_dump(r);
    itest_free(r);
    return st;
}

itest_response *itest_poll(const char *path, long status, const char *dotted, const char *value,
                           int timeout_ms)
{
    long long deadline = itest_now_ms() + timeout_ms;
    for (;;) {
        itest_response *r = itest_http("GET", path, NULL, NULL);
        int ok = r->status == status;
        if (ok && dotted) {
            const char *v = itest_json_str(r, dotted);
            ok = v && strcmp(v, value) == 0;
        }
        if (ok || itest_now_ms() >= deadline)
            return r;
        itest_free(r);
        usleep(100 * 1000);
    }
}

/* A sample's value in a Prometheus text body (its whole name, labels
 * included), or -1 when absent. */
static double sample_in(const char *body, const char *series)
{
    double v = -1;
    size_t nl = strlen(series);
    for (const char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, nl) == 0 && p[nl] == ' ')
            v = strtod(p + nl + 1, NULL);
    return v;
}

long long itest_metric(const char *name)
{
    itest_response *r = itest_http("GET", "/metrics", NULL, NULL);
    long long v = r->status == 200 ? (long long)sample_in(r->body, name) : -1;
    itest_free(r);
    return v;
}

double itest_engine_metric(const char *listen, const char *series)
{
    enum { CAP = 1 << 18 };
    char cmd[160], *body = malloc(CAP);
    assert_non_null(body);
    snprintf(cmd, sizeof cmd, "curl -s -m 5 http://%s/metrics", listen);
    double v = itest_sh(cmd, body, CAP) == 0 ? sample_in(body, series) : -1;
    free(body);
    return v;
}

int itest_pg_signal(int sig)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pg/postmaster.pid", env_or_die("TD_TEST_VAR"));
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int pm = 0;
    if (fscanf(f, "%d", &pm) != 1 || pm <= 1) {
        fclose(f);
        return 0;
    }
    fclose(f);
    /* Postmaster first on SIGSTOP (it forks no new backend meanwhile),
     * last on SIGCONT (its children are running when it looks at them). */
    int n = 0;
    if (sig != SIGCONT && kill(pm, sig) == 0)
        n++;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char stat[600], buf[512];
        snprintf(stat, sizeof stat, "/proc/%s/stat", e->d_name);
        FILE *s = fopen(stat, "r");
        if (!s)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, s);
        fclose(s);
        buf[len] = '\0';
        const char *rp = strrchr(buf, ')'); /* the command may hold spaces */
        int ppid = 0;
        char st;
        if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 && ppid == pm &&
            kill(atoi(e->d_name), sig) == 0)
            n++;
    }
    if (d)
        closedir(d);
    if (sig == SIGCONT && kill(pm, sig) == 0)
        n++;
    return n;
}

int itest_pid(const char *name)
{
    char path[512];
    const char *var = getenv("TD_TEST_VAR");
    assert_non_null(var);
    snprintf(path, sizeof path, "%s/run/%s.pid", var, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int pid = 0;
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    assert_true(pid > 1);
    return pid;
}

int itest_api_pid(void)
{
    return itest_pid("api");
}

int itest_api_restart(void)
{
    if (itest_stack("restart api") != 0)
        return -1;
    itest_response *r = itest_poll("/health", 200, "status", "ok", 20000);
    int ok = r->status == 200;
    itest_free(r);
    return ok ? 0 : -1;
}

int itest_free_port(void)
{
    /* A port is free until someone binds it: two calls before either is
     * bound may get the same one, so never hand one out twice. */
    static int given[64]; /* a ring of the last ones handed out */
    static size_t next;
    char cmd[600], out[16];
    snprintf(cmd, sizeof cmd, "'%s' free-port", getenv("TD_TEST_STACK"));
    for (int tries = 0; tries < 20; tries++) {
        if (itest_sh(cmd, out, sizeof out) != 0)
            return -1;
        int port = atoi(out), seen = 0;
        for (size_t i = 0; i < (next < 64 ? next : 64) && !seen; i++)
            seen = given[i] == port;
        if (seen)
            continue;
        given[next++ % 64] = port;
        return port;
    }
    return -1;
}

int itest_fake_exchange(const char *venue, int port)
{
    /* Next to the tests' sources: <repo>/src/run/stack.sh -> <repo>/tests/... */
    char stack[512], script[600], portstr[16];
    snprintf(stack, sizeof stack, "%s", env_or_die("TD_TEST_STACK"));
    char *slash = strrchr(stack, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(script, sizeof script, "%s/../../tests/integration/fake_exchange.mjs", stack);
    snprintf(portstr, sizeof portstr, "%d", port);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char log[512];
        snprintf(log, sizeof log, "%s/log/fake_%s.log", getenv("TD_TEST_VAR"), venue);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        execlp("node", "node", script, venue, portstr, (char *)NULL);
        _exit(127);
    }
    long long until = itest_now_ms() + 10000;
    char cmd[256], out[256] = "";
    snprintf(cmd, sizeof cmd, "curl -s -m 1 'http://127.0.0.1:%d/control/stats'", port);
    while (itest_now_ms() < until && !strstr(out, "connections")) {
        usleep(100 * 1000);
        itest_sh(cmd, out, sizeof out);
    }
    if (!strstr(out, "connections")) {
        itest_fake_exchange_stop(pid);
        return -1;
    }
    return pid;
}

void itest_fake_exchange_stop(int pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

int itest_redis_cli(const char *args, char *out, size_t cap)
{
    const char *u = getenv("TRADEDESK_REDIS_URL");
    assert_non_null(u);
    assert_true(strncmp(u, "unix:", 5) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout 10 redis-cli -s '%s' %s", u + 5, args);
    int rc = itest_sh(cmd, out, cap);
    for (size_t n = out ? strlen(out) : 0; n > 0 && out[n - 1] == '\r';)
        out[--n] = '\0';
    return rc;
}

/* PUBSUB NUMSUB's count (args: the command), -1 on failure. */
static int numsub(const char *args)
{
    char out[256] = "";
    const char *nl;
    if (itest_redis_cli(args, out, sizeof out) != 0 || !(nl = strchr(out, '\n')))
        return -1;
    return atoi(nl + 1);
}

int itest_redis_listen(const char *name, const char *channel, int seconds)
{
    const char *u = getenv("TRADEDESK_REDIS_URL"), *var = getenv("TD_TEST_VAR");
    assert_non_null(u);
    assert_non_null(var);
    char cmd[1024], args[160];
    snprintf(args, sizeof args, "PUBSUB NUMSUB '%s'", channel);
    int before = numsub(args);
    snprintf(cmd, sizeof cmd, "timeout %d redis-cli -s '%s' SUBSCRIBE '%s' > '%s/%s.sub' 2>&1 &",
             seconds, u + 5, channel, var, name);
    if (before < 0 || itest_sh(cmd, NULL, 0) != 0)
        return -1;
    /* Subscribed once the server counts one more (a stream may be one). */
    for (int i = 0; i < 100; i++) {
        if (numsub(args) > before)
            return 0;
        usleep(20 * 1000);
    }
    return -1;
}

int itest_redis_heard(const char *name, const char *needle)
{
    const char *var = getenv("TD_TEST_VAR");
    assert_non_null(var);
    char path[512], line[8192];
    snprintf(path, sizeof path, "%s/%s.sub", var, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* itest_psql_as, with every line of the output (all) or the first. */
static int psql_run(const char *role, const char *sql, char *out, size_t cap, int all)
{
    const char *var = getenv("TD_TEST_VAR");
    assert_non_null(var);
    char path[512], opath[600], cmd[2048];
    snprintf(path, sizeof path, "%s/itest-sql.%d", var, (int)getpid());
    snprintf(opath, sizeof opath, "%s.out", path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", sql);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd,
             "\"%s\" psql %s%s -XAtq -v ON_ERROR_STOP=1 -f '%s' > '%s' 2>&1 </dev/null",
             getenv("TD_TEST_STACK"), role ? "--as " : "", role ? role : "", path, opath);
    int st = system(cmd);
    char line[1024] = "";
    size_t used = 0;
    if (out && cap)
        out[0] = '\0';
    FILE *o = fopen(opath, "r");
    if (o) {
        if (fgets(line, sizeof line, o))
            line[strcspn(line, "\n")] = '\0';
        if (all && out && cap) {
            rewind(o);
            used = fread(out, 1, cap - 1, o);
            out[used] = '\0';
        }
        fclose(o);
    }
    fprintf(stderr, "    psql%s%s: %.200s -> %s%s\n", role ? " as " : "", role ? role : "", sql,
            line, all ? " ..." : "");
    if (out && !all)
        snprintf(out, cap, "%s", line);
    unlink(path);
    unlink(opath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int itest_psql_as(const char *role, const char *sql, char *out, size_t cap)
{
    return psql_run(role, sql, out, cap, 0);
}

int itest_psql_all_as(const char *role, const char *sql, char *out, size_t cap)
{
    return psql_run(role, sql, out, cap, 1);
}

int itest_psql(const char *sql, char *out, size_t cap)
{
    return itest_psql_as(NULL, sql, out, cap);
}

long long itest_psql_int(const char *sql)
{
    char out[64];
    return itest_psql(sql, out, sizeof out) == 0 ? atoll(out) : -1;
}

void itest_check_rate_limited(const itest_response *r, const char *file, int line)
{
    itest_check_error(r, 429, "rate_limited", file, line);
    const char *names[] = {"retry-after", "ratelimit-limit", "ratelimit-remaining",
                           "ratelimit-reset"};
    for (size_t i = 0; i < 4; i++) {
        const char *v = itest_header(r, names[i]);
        if (!v || !*v) {
            fprintf(stderr, "    missing header %s\n", names[i]);
            itest_dump(r);
            _fail(file, line);
        }
    }
    assert_true(atoi(itest_header(r, "retry-after")) >= 1);
    assert_int_equal(atoi(itest_header(r, "ratelimit-remaining")), 0);
}

int itest_sh(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char sink[256];
    if (out && cap > 0) {
        size_t n = fread(out, 1, cap - 1, p);
        out[n] = '\0';
        while (n > 0 && out[n - 1] == '\n')
            out[--n] = '\0';
    }
    while (fread(sink, 1, sizeof sink, p) > 0)
        ;
    return pclose(p);
}

/* See itest.h. */
int itest_sql(char *out, size_t cap, const char *fmt, ...)
{
    char stmt[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(stmt, sizeof stmt, fmt, ap);
    va_end(ap);
    return itest_psql_as(NULL, stmt, out, cap);
}

long long itest_sql_int(const char *fmt, ...)
{
    char stmt[4096], out[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(stmt, sizeof stmt, fmt, ap);
    va_end(ap);
    return itest_psql_as(NULL, stmt, out, sizeof out) == 0 ? atoll(out) : -1;
}

long long itest_user_cash(const char *name, const char *cash)
{
    return itest_sql_int("WITH u AS (INSERT INTO users (username, password_hash, role) SELECT "
                         "'%s', password_hash, 'user' FROM users WHERE username = 'alice' "
                         "RETURNING id), a AS (INSERT INTO accounts (user_id, cash_balance) "
                         "SELECT id, %s FROM u) SELECT id FROM u",
                         name, cash);
}

long long itest_fill(long long user)
{
    char sql[1024], out[128];
    snprintf(sql, sizeof sql,
             "WITH o AS (INSERT INTO conditional_orders (user_id, client_order_id, type, side, "
             "symbol, quantity, trigger_price) VALUES (%lld, 'r' || substr(md5(random()::text), 1, "
             "20), 'stop_loss', 'buy', 'BTC-USDT', 0.01, 90) RETURNING id) SELECT id FROM o",
             user);
    assert_int_equal(itest_psql(sql, out, sizeof out), 0);
    long long order = atoll(out);
    snprintf(sql, sizeof sql,
             "SELECT fill_id FROM fill_orders((SELECT token FROM engine_fence), ARRAY[%lld]"
             "::bigint[], ARRAY[100]::numeric[], ARRAY[now()])",
             order);
    assert_int_equal(itest_psql_as("app", sql, out, sizeof out), 0);
    long long fill = atoll(out);
    /* A running engine's monitor may have filled it first (its trigger
     * holds at once): then fill_orders skipped it and the fill is that one. */
    for (int i = 0; fill <= 0 && i < 50; i++) {
        fill = itest_sql_int("SELECT coalesce(max(id), 0) FROM fills WHERE order_id = %lld", order);
        if (fill <= 0)
            usleep(100 * 1000);
    }
    assert_true(fill > 0);
    return fill;
}

int itest_engine_start(char *listen, size_t cap)
{
    int port = itest_free_port();
    if (port < 0)
        return -1;
    snprintf(listen, cap, "127.0.0.1:%d", port);
    setenv("TRADEDESK_ENGINE_LISTEN", listen, 1);
    return itest_stack("start engine");
}

int itest_engine_spawn(const char *listen)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char log[512], bin[512];
        snprintf(log, sizeof log, "%s/log/engine_%s.log", getenv("TD_TEST_VAR"),
                 strrchr(listen, ':') + 1);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        setenv("TRADEDESK_ENGINE_LISTEN", listen, 1);
        unsetenv("TRADEDESK_READY_FILE");
        snprintf(bin, sizeof bin, "%s/tradedesk-engine", getenv("TD_TEST_BIN"));
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    return pid;
}

void itest_token(const char *user, char *out, size_t cap)
{
    char args[128];
    snprintf(args, sizeof args, "token %s --ttl 3600", user);
    assert_int_equal(itest_cli(args, NULL, out, cap), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_true(strlen(out) > 20);
}
