/*
 * metrics.c - Prometheus counters and histograms in one shared anonymous
 * mapping, and their text rendering; see metrics.h.
 *
 * The master maps the region before it forks, so every worker shares it.
 * Writers only ever do relaxed __atomic adds: a worker killed mid-request can
 * leave nothing half-locked, and a request never waits on a scrape.  To keep
 * workers on different cores from fighting over cache lines, the region holds
 * one stripe of cells per CPU, picked with sched_getcpu(); a scrape sums the
 * stripes.  The pid table has one writer, the master.
 *
 * Must never: take a lock or make a syscall on the request path beyond
 * sched_getcpu (vDSO/rseq), allocate in shared memory after init, or render
 * two series with the same label set.  Rendering reads /proc; recording
 * does no I/O.
 */
#include "core/metrics.h"
#include "core/shm.h"
#include "core/clock.h"
#include "core/errors.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A libatomic fallback would use a lock private to each process: the sums
 * would silently go wrong across workers.  Refuse to build instead. */
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
               "64-bit atomics must be lock-free to be shared between processes");

/* Status codes with their own label value are those of core/errors.h;
 * everything else is "other".  A fixed set keeps the number of series
 * bounded whatever handlers answer. */
#define NCODES TD_HTTP_NSTATUS
#define NSTATUS (NCODES + 1)

/* Upper bounds in nanoseconds so recording compares integers, and the same
 * bounds as text so rendering never prints 0.00050000000000000001. */
static const uint64_t k_bucket_ns[] = {500000,     1000000,    2500000,   5000000,   10000000,
                                       25000000,   50000000,   100000000, 250000000, 500000000,
                                       1000000000, 2500000000, 5000000000};
static const char *const k_bucket_le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                          "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                          "1",      "2.5",   "5"};
#define NBOUNDS TD_ARRAY_LEN(k_bucket_ns)
#define NBUCKETS (NBOUNDS + 1) /* + the +Inf bucket */
_Static_assert(TD_ARRAY_LEN(k_bucket_le) == TD_ARRAY_LEN(k_bucket_ns), "bucket tables differ");

static const struct counter_desc {
    const char *name, *help;
} k_counters[TD_M_COUNTER_MAX] = {
    [TD_M_CACHE_HIT] = {"tradedesk_cache_hits_total",
                        "Responses served from a cache (worker memory or Redis)."},
    [TD_M_CACHE_MISS] = {"tradedesk_cache_misses_total",
                         "Cacheable responses not found in the cache."},
    [TD_M_CACHE_BYPASS] = {"tradedesk_cache_bypass_total",
                           "Requests that skipped the response cache."},
    [TD_M_CACHE_ERROR] = {"tradedesk_cache_errors_total",
                          "Response cache reads or writes that failed."},
    [TD_M_CACHE_LOCAL_HIT] = {"tradedesk_cache_local_hits_total",
                              "Responses served from the worker's own memory (a subset of hits)."},
    [TD_M_DB_ERROR] = {"tradedesk_db_errors_total", "PostgreSQL calls that failed."},
    [TD_M_DB_TIMEOUT] = {"tradedesk_db_timeouts_total",
                         "PostgreSQL calls abandoned at the client's deadline (server silent)."},
    [TD_M_DB_SHED] = {"tradedesk_db_shed_total",
                      "PostgreSQL calls refused because the workers allowed to wait on it were "
                      "all stuck."},
    [TD_M_REDIS_ERROR] = {"tradedesk_redis_errors_total", "Redis calls that failed."},
    [TD_M_WORKER_RESTART] = {"tradedesk_worker_restarts_total", "Workers respawned after dying."},
    [TD_M_RATE_LIMITED] = {"tradedesk_login_rate_limited_total",
                           "Login attempts refused by the rate limit."},
    [TD_M_LOGIN_BUSY] = {"tradedesk_login_busy_total",
                         "Logins answered 503 because as many passwords as allowed were being "
                         "verified."},
};

#define PID_TABLE (TD_METRICS_MAX_WORKERS * 4) /* slots, then displaced (draining) pids */
#define MAX_STRIPES 64
#define LINE 64

/* One route's cells in one stripe.  Buckets are stored per bucket, not
 * cumulative, so a request costs one add per family; the scrape accumulates. */
typedef struct route_cells {
    uint64_t status[NSTATUS];
    uint64_t bucket[NBUCKETS];
    uint64_t sum_ns; /* 2^64 ns is 584 years of summed request time per CPU */
    uint64_t cache[TD_CACHE_OUTCOMES];
} route_cells;

typedef struct shm_head {
    pid_t master;
    double start_time_s;  /* the master's, Unix time */
    double cache_reset_s; /* the last td_metrics_cache_reset, Unix time (0: none) */
    pid_t pids[PID_TABLE];
} shm_head;

#define ROUND_UP(n, to) (((n) + (to)-1) / (to) * (to))
#define COUNTERS_BYTES ROUND_UP(TD_M_COUNTER_MAX * sizeof(uint64_t), LINE)

/* Process-local view of the region; set before fork, read-only after. */
static struct metrics {
    unsigned char *map; /* NULL: disabled, every call a no-op */
    size_t map_size;
    shm_head *head;
    unsigned char *stripes;
    uint64_t *cache_base; /* per slot, TD_CACHE_OUTCOMES counts at the last reset */
    size_t stripe_size;
    unsigned nstripes; /* a power of two */
    size_t nroutes;    /* slot nroutes holds unmatched requests */
    const char **routes;
    const char **methods; /* NULL when no route has a method */
    size_t *canon;        /* route index -> slot that holds its series */
    long clk_tck;
    long page_size;
    char program[64];
} g;

static void add(uint64_t *cell, uint64_t n)
{
    __atomic_fetch_add(cell, n, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *cell)
{
    return __atomic_load_n(cell, __ATOMIC_RELAXED);
}

static uint64_t *stripe_counters(size_t stripe)
{
    return (uint64_t *)(g.stripes + stripe * g.stripe_size);
}

static route_cells *stripe_route(size_t stripe, size_t slot)
{
    return (route_cells *)(g.stripes + stripe * g.stripe_size + COUNTERS_BYTES) + slot;
}

/* The CPU we run on right now; if the scheduler moves us mid-add the atomic
 * still lands, only the cache line travels. */
static size_t my_stripe(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : (size_t)cpu & (g.nstripes - 1);
}

static unsigned stripe_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_CONF);
    unsigned s = 1;
    while (s < MAX_STRIPES && (long)s < n)
        s *= 2;
    return s;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* ---- /proc ---------------------------------------------------------------- */

typedef struct proc_stat {
    char state;
    pid_t ppid;
    unsigned long long cpu_ticks;   /* utime + stime */
    unsigned long long child_ticks; /* cutime + cstime: reaped children */
    unsigned long long start_ticks; /* since boot */
} proc_stat;

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < cap - 1) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR) /* workers take SIGTERM without SA_RESTART */
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static int read_stat(pid_t pid, proc_stat *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) <= 0)
        return -1;
    /* comm (field 2) may hold spaces and parentheses; the last ')' ends it. */
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut, st;
    long cut, cst;
    int ppid;
    int n = sscanf(p + 1,
                   " %c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s" /* 3-13 */
                   " %lu %lu %ld %ld %*s %*s %*s %*s %llu",     /* 14-22 */
                   &out->state, &ppid, &ut, &st, &cut, &cst, &out->start_ticks);
    if (n != 7)
        return -1;
    out->ppid = ppid;
    out->cpu_ticks = (unsigned long long)ut + st;
    out->child_ticks =
        (unsigned long long)(cut > 0 ? cut : 0) + (unsigned long long)(cst > 0 ? cst : 0);
    return 0;
}

static int read_rss(pid_t pid, uint64_t *bytes)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    unsigned long long size, resident;
    if (read_small(path, buf, sizeof buf) <= 0 || sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return -1;
    *bytes = (uint64_t)resident * (uint64_t)g.page_size;
    return 0;
}

static long count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Unix time at which this process started: boot time + start ticks. */
static double own_start_time(void)
{
    proc_stat s;
    unsigned long long btime = 0;
    FILE *f = fopen("/proc/stat", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "btime %llu", &btime) == 1)
                break;
        fclose(f);
    }
    if (btime && g.clk_tck > 0 && read_stat(getpid(), &s) == 0)
        return (double)btime + (double)s.start_ticks / (double)g.clk_tck;
    /* no /proc: init runs at start, close enough */
    return (double)(td_wall_ms() / 1000);
}

/* ---- setup ---------------------------------------------------------------- */

void td_metrics_shutdown(void)
{
    if (g.map)
        td_shm_unmap(g.map, g.map_size);
    free(g.routes);
    free(g.methods);
    free(g.canon);
    memset(&g, 0, sizeof g);
}

td_status td_metrics_init_routes(const char *const *methods, const char *const *route_names,
                                 size_t nroutes, const char *program)
{
    td_metrics_shutdown();
    if (nroutes > TD_METRICS_MAX_ROUTES || (nroutes && !route_names))
        return TD_EINVAL;
    for (size_t i = 0; i < nroutes; i++)
        if (!route_names[i])
            return TD_EINVAL;

    int any_method = 0;
    for (size_t i = 0; methods && i < nroutes; i++)
        any_method |= methods[i] != NULL;
    size_t nslots = nroutes + 1;
    g.routes = calloc(nslots, sizeof *g.routes);
    g.canon = calloc(nslots, sizeof *g.canon);
    g.methods = any_method ? calloc(nslots, sizeof *g.methods) : NULL;
    if (!g.routes || !g.canon || (any_method && !g.methods)) {
        td_metrics_shutdown();
        return TD_ENOMEM;
    }
    for (size_t i = 0; i < nroutes; i++) {
        g.routes[i] = route_names[i];
        if (g.methods)
            g.methods[i] = methods[i];
        /* GET and HEAD on one pattern without methods, or a route listed
         * twice, would otherwise render the same labels twice. */
        g.canon[i] = i;
        for (size_t j = 0; j < i; j++)
            if (strcmp(g.routes[j], g.routes[i]) == 0 &&
                (!g.methods || same_str(g.methods[j], g.methods[i]))) {
                g.canon[i] = g.canon[j];
                break;
            }
    }
    g.canon[nroutes] = nroutes;
    g.nroutes = nroutes;

    g.nstripes = stripe_count();
    g.stripe_size = ROUND_UP(COUNTERS_BYTES + nslots * sizeof(route_cells), LINE);
    size_t head_size = ROUND_UP(sizeof(shm_head), LINE);
    size_t base_size = ROUND_UP(nslots * TD_CACHE_OUTCOMES * sizeof(uint64_t), LINE);
    size_t size = head_size + base_size + g.nstripes * g.stripe_size;
    /* Created before fork so every worker inherits the same pages; pages a
     * CPU never touches are never backed by memory. */
    void *m = td_shm_map(size, "metrics");
    if (!m) {
        td_metrics_shutdown();
        return TD_ENOMEM;
    }
    g.map = m;
    g.map_size = size;
    g.head = m;
    g.cache_base = (uint64_t *)(g.map + head_size);
    g.stripes = g.map + head_size + base_size;
    g.clk_tck = sysconf(_SC_CLK_TCK);
    g.page_size = sysconf(_SC_PAGESIZE);
    snprintf(g.program, sizeof g.program, "%s", program ? program : "");
    g.head->master = getpid();
    g.head->start_time_s = own_start_time();
    return TD_OK;
}

td_status td_metrics_init(const char *const *route_names, size_t nroutes, const char *program)
{
    return td_metrics_init_routes(NULL, route_names, nroutes, program);
}

/* ---- recording ------------------------------------------------------------ */

void td_metrics_register_pid(int slot, pid_t pid)
{
    if (!g.map || slot < 0 || slot >= TD_METRICS_MAX_WORKERS)
        return;
    pid_t *pids = g.head->pids;
    pid_t old = __atomic_load_n(&pids[slot], __ATOMIC_RELAXED);
    if (old && pid && old != pid) {
        /* Replaced while alive (SIGHUP): it still uses memory and CPU until
         * reaped, and dropping it now would make the CPU counter dip. */
        for (int i = TD_METRICS_MAX_WORKERS; i < PID_TABLE; i++)
            if (!__atomic_load_n(&pids[i], __ATOMIC_RELAXED)) {
                __atomic_store_n(&pids[i], old, __ATOMIC_RELAXED);
                break;
            }
    }
    __atomic_store_n(&pids[slot], pid, __ATOMIC_RELAXED);
}

void td_metrics_forget_pid(pid_t pid)
{
    if (!g.map || pid <= 0)
        return;
    for (int i = 0; i < PID_TABLE; i++)
        if (__atomic_load_n(&g.head->pids[i], __ATOMIC_RELAXED) == pid)
            __atomic_store_n(&g.head->pids[i], 0, __ATOMIC_RELAXED);
}

void td_metrics_request(size_t route_idx, int status, double seconds)
{
    if (!g.map)
        return;
    size_t slot = route_idx < g.nroutes ? g.canon[route_idx] : g.nroutes;
    uint64_t ns = 0;
    if (seconds > 0) /* false for NaN too */
        ns = seconds < 1e9 ? (uint64_t)(seconds * 1e9 + 0.5) : (uint64_t)1e18;
    size_t b = 0;
    while (b < NBOUNDS && ns > k_bucket_ns[b]) /* le: upper bounds are inclusive */
        b++;
    route_cells *c = stripe_route(my_stripe(), slot);
    add(&c->status[td_http_status_index(status)], 1);
    add(&c->bucket[b], 1);
    add(&c->sum_ns, ns);
}

void td_metrics_count(td_counter c)
{
    if (!g.map || (unsigned)c >= TD_M_COUNTER_MAX)
        return;
    add(&stripe_counters(my_stripe())[c], 1);
}

void td_metrics_cache(size_t route_idx, td_cache_outcome o)
{
    static const td_counter global[TD_CACHE_OUTCOMES] = {
        [TD_CACHE_HIT] = TD_M_CACHE_HIT,     [TD_CACHE_LOCAL_HIT] = TD_M_CACHE_LOCAL_HIT,
        [TD_CACHE_MISS] = TD_M_CACHE_MISS,   [TD_CACHE_BYPASS] = TD_M_CACHE_BYPASS,
        [TD_CACHE_ERROR] = TD_M_CACHE_ERROR,
    };
    if (!g.map || (unsigned)o >= TD_CACHE_OUTCOMES)
        return;
    size_t stripe = my_stripe();
    size_t slot = route_idx < g.nroutes ? g.canon[route_idx] : g.nroutes;
    add(&stripe_route(stripe, slot)->cache[o], 1);
    add(&stripe_counters(stripe)[global[o]], 1);
    if (o == TD_CACHE_LOCAL_HIT)
        add(&stripe_counters(stripe)[TD_M_CACHE_HIT], 1);
}

/* The route slot's counts summed over the stripes. */
static void cache_sum(size_t slot, uint64_t out[TD_CACHE_OUTCOMES])
{
    memset(out, 0, TD_CACHE_OUTCOMES * sizeof *out);
    for (size_t s = 0; s < g.nstripes; s++)
        for (int k = 0; k < TD_CACHE_OUTCOMES; k++)
            out[k] += load(&stripe_route(s, slot)->cache[k]);
}

int td_metrics_cache_read(size_t route_idx, uint64_t out[TD_CACHE_OUTCOMES])
{
    if (!g.map || route_idx >= g.nroutes)
        return 0;
    size_t slot = g.canon[route_idx];
    cache_sum(slot, out);
    for (int k = 0; k < TD_CACHE_OUTCOMES; k++) {
        uint64_t base = load(&g.cache_base[slot * TD_CACHE_OUTCOMES + k]);
        out[k] = out[k] > base ? out[k] - base : 0;
    }
    return 1;
}

void td_metrics_cache_reset(void)
{
    if (!g.map)
        return;
    for (size_t slot = 0; slot <= g.nroutes; slot++) {
        uint64_t now[TD_CACHE_OUTCOMES];
        cache_sum(slot, now);
        for (int k = 0; k < TD_CACHE_OUTCOMES; k++)
            __atomic_store_n(&g.cache_base[slot * TD_CACHE_OUTCOMES + k], now[k], __ATOMIC_RELAXED);
    }
    double t = (double)td_wall_ms() / 1000.0;
    __atomic_store(&g.head->cache_reset_s, &t, __ATOMIC_RELAXED);
}

double td_metrics_cache_reset_at(void)
{
    if (!g.map)
        return 0;
    double t;
    __atomic_load(&g.head->cache_reset_s, &t, __ATOMIC_RELAXED);
    return t > 0 ? t : g.head->start_time_s;
}

unsigned long long td_metrics_counter(td_counter c)
{
    if (!g.map || (unsigned)c >= TD_M_COUNTER_MAX)
        return 0;
    unsigned long long n = 0;
    for (size_t s = 0; s < g.nstripes; s++)
        n += load(&stripe_counters(s)[c]);
    return n;
}

void td_metrics_processes(int *alive, unsigned long long *rss_bytes)
{
    *alive = 0;
    *rss_bytes = 0;
    if (!g.map)
        return;
    uint64_t b;
    if (read_rss(g.head->master, &b) == 0)
        *rss_bytes += b;
    for (int i = 0; i < TD_METRICS_MAX_WORKERS; i++) {
        pid_t pid = __atomic_load_n(&g.head->pids[i], __ATOMIC_RELAXED);
        if (pid > 0 && read_rss(pid, &b) == 0) {
            (*alive)++;
            *rss_bytes += b;
        }
    }
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct route_total {
    uint64_t status[NSTATUS];
    uint64_t bucket[NBUCKETS];
    double sum_s;
} route_total;

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void put_labels(FILE *f, size_t slot)
{
    if (slot == g.nroutes) {
        fputs("route=\"unmatched\"", f);
        return;
    }
    if (g.methods && g.methods[slot]) {
        fputs("method=\"", f);
        put_escaped(f, g.methods[slot]);
        fputs("\",", f);
    }
    fputs("route=\"", f);
    put_escaped(f, g.routes[slot]);
    fputc('"', f);
}

static int render_http(FILE *f)
{
    size_t nslots = g.nroutes + 1;
    route_total *t = calloc(nslots, sizeof *t);
    if (!t)
        return -1;
    for (size_t s = 0; s < g.nstripes; s++)
        for (size_t r = 0; r < nslots; r++) {
            const route_cells *c = stripe_route(s, r);
            for (size_t k = 0; k < NSTATUS; k++)
                t[r].status[k] += load(&c->status[k]);
            for (size_t k = 0; k < NBUCKETS; k++)
                t[r].bucket[k] += load(&c->bucket[k]);
            t[r].sum_s += (double)load(&c->sum_ns) / 1e9;
        }

    /* Series appear on first use, as with the official client libraries;
     * only canonical slots ever receive counts. */
    family(f, "tradedesk_http_requests_total", "counter",
           "HTTP requests answered, by route pattern and status code.");
    for (size_t r = 0; r < nslots; r++)
        for (size_t k = 0; k < NSTATUS; k++) {
            if (!t[r].status[k])
                continue;
            fputs("tradedesk_http_requests_total{", f);
            put_labels(f, r);
            if (k < NCODES)
                fprintf(f, ",status=\"%d\"} %" PRIu64 "\n", td_http_status_at(k), t[r].status[k]);
            else
                fprintf(f, ",status=\"other\"} %" PRIu64 "\n", t[r].status[k]);
        }

    static const char *const outcome[TD_CACHE_OUTCOMES] = {"hit", "local_hit", "miss", "bypass",
                                                           "error"};
    family(f, "tradedesk_cache_requests_total", "counter",
           "What the response cache did, by route pattern (hit: from Redis, local_hit: from "
           "the worker's memory, miss: built, bypass: not looked up, error: Redis failed).");
    for (size_t r = 0; r < nslots; r++) {
        uint64_t n[TD_CACHE_OUTCOMES];
        cache_sum(r, n);
        for (int k = 0; k < TD_CACHE_OUTCOMES; k++) {
            if (!n[k])
                continue;
            fputs("tradedesk_cache_requests_total{", f);
            put_labels(f, r);
            fprintf(f, ",outcome=\"%s\"} %" PRIu64 "\n", outcome[k], n[k]);
        }
    }

    family(f, "tradedesk_http_request_duration_seconds", "histogram",
           "Time from request accepted to response written, by route pattern.");
    for (size_t r = 0; r < nslots; r++) {
        /* _count is the +Inf bucket by construction, even while workers add. */
        uint64_t cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++)
            cum += t[r].bucket[k];
        if (!cum)
            continue;
        cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++) {
            cum += t[r].bucket[k];
            fputs("tradedesk_http_request_duration_seconds_bucket{", f);
            put_labels(f, r);
            fprintf(f, ",le=\"%s\"} %" PRIu64 "\n", k < NBOUNDS ? k_bucket_le[k] : "+Inf", cum);
        }
        fputs("tradedesk_http_request_duration_seconds_sum{", f);
        put_labels(f, r);
        fprintf(f, "} %.9f\n", t[r].sum_s);
        fputs("tradedesk_http_request_duration_seconds_count{", f);
        put_labels(f, r);
        fprintf(f, "} %" PRIu64 "\n", cum);
    }
    free(t);
    return 0;
}

static void render_counters(FILE *f)
{
    for (int c = 0; c < TD_M_COUNTER_MAX; c++) {
        uint64_t v = 0;
        for (size_t s = 0; s < g.nstripes; s++)
            v += load(&stripe_counters(s)[c]);
        family(f, k_counters[c].name, "counter", k_counters[c].help);
        fprintf(f, "%s %" PRIu64 "\n", k_counters[c].name, v);
    }
}

typedef struct proc_totals {
    unsigned long long ticks;
    uint64_t rss;
} proc_totals;

/* Live workers: only pids whose parent is still the master, so a pid
 * reused by an unrelated process after a reap is never counted. */
static void sum_workers(pid_t master, proc_totals *t)
{
    for (int i = 0; i < PID_TABLE; i++) {
        pid_t pid = __atomic_load_n(&g.head->pids[i], __ATOMIC_RELAXED);
        proc_stat s;
        uint64_t rss;
        if (pid <= 0 || read_stat(pid, &s) != 0 || s.ppid != master)
            continue;
        t->ticks += s.cpu_ticks;
        if (read_rss(pid, &rss) == 0)
            t->rss += rss;
    }
}

static void render_process(FILE *f)
{
    pid_t master = g.head->master;
    int workers = 0;
    for (int i = 0; i < PID_TABLE; i++)
        workers += __atomic_load_n(&g.head->pids[i], __ATOMIC_RELAXED) > 0;

    /* CPU of the master, of the workers it has reaped (its cutime/cstime) and
     * of the live ones: monotonic across worker restarts.  A worker reaped
     * during the scan would be missed or counted twice, and Prometheus would
     * read the dip as a counter reset; the master's cutime changing between
     * two reads reveals that, so scan again. */
    proc_stat before, after = {0};
    proc_totals w = {0, 0};
    int have_master = 0;
    for (int attempt = 0; attempt < 3 && !have_master; attempt++) {
        if (read_stat(master, &before) != 0)
            break;
        memset(&w, 0, sizeof w);
        sum_workers(master, &w);
        if (read_stat(master, &after) != 0)
            break;
        have_master = after.child_ticks == before.child_ticks || attempt == 2;
    }
    uint64_t master_rss = 0;
    if (have_master && g.clk_tck > 0 && read_rss(master, &master_rss) == 0) {
        family(f, "process_cpu_seconds_total", "counter",
               "User and system CPU time of the master and its workers, live and reaped.");
        fprintf(f, "process_cpu_seconds_total %.2f\n",
                (double)(after.cpu_ticks + after.child_ticks + w.ticks) / (double)g.clk_tck);
        family(f, "process_resident_memory_bytes", "gauge",
               "Resident memory of the master and live workers (shared pages counted per "
               "process).");
        fprintf(f, "process_resident_memory_bytes %" PRIu64 "\n", master_rss + w.rss);
    }
    family(f, "process_start_time_seconds", "gauge",
           "Start time of the master since the Unix epoch in seconds.");
    fprintf(f, "process_start_time_seconds %.2f\n", g.head->start_time_s);
    long fds = count_fds(master);
    if (fds >= 0) {
        family(f, "process_open_fds", "gauge", "Open file descriptors of the master.");
        fprintf(f, "process_open_fds %ld\n", fds);
    }
    family(f, "tradedesk_workers", "gauge", "Worker processes alive, draining ones included.");
    fprintf(f, "tradedesk_workers %d\n", workers);
}

char *td_metrics_render(td_arena *a, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    int bad = 0;
    if (g.map) {
        bad = render_http(f) != 0;
        render_counters(f);
        render_process(f);
    }
    family(f, "tradedesk_build_info", "gauge", "Always 1; labels carry the version.");
    fputs("tradedesk_build_info{", f);
    if (g.program[0]) {
        fputs("program=\"", f);
        put_escaped(f, g.program);
        fputs("\",", f);
    }
    fputs("version=\"" TD_VERSION "\"} 1\n", f);
    bad |= ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return NULL;
    }
    char *out = td_arena_strndup(a, buf, size);
    free(buf);
    if (len)
        *len = size;
    return out;
}
