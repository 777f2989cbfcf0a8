/*
 * metrics.h - Prometheus metrics summed over every process of one program.
 *
 * The master maps one anonymous shared region before it forks; every worker
 * inherits it and adds to it with lock-free atomics, and whichever worker
 * serves GET /metrics renders the sum.  Until td_metrics_init succeeds every
 * call is a safe no-op, so code shared with the CLI or other programs may
 * count unconditionally.
 */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include "core/arena.h"
#include "domain/td.h"

#include <stddef.h>
#include <sys/types.h>

typedef enum td_counter {
    TD_M_CACHE_HIT,       /* a response served from a cache (worker memory or Redis) */
    TD_M_CACHE_MISS,      /* cacheable, not cached: went to PostgreSQL */
    TD_M_CACHE_BYPASS,    /* not cacheable (e.g. Cache-Control: no-cache) */
    TD_M_CACHE_ERROR,     /* Redis failed while reading or writing the cache */
    TD_M_CACHE_LOCAL_HIT, /* of those, served from the worker's own memory */
    TD_M_DB_ERROR,        /* a PostgreSQL call failed */
    TD_M_DB_TIMEOUT,      /* of those, PostgreSQL did not answer by the client's deadline */
    TD_M_DB_SHED,         /* of those, refused: the workers' share for PostgreSQL was stuck */
    TD_M_REDIS_ERROR,     /* a Redis call failed (transport or command) */
    TD_M_WORKER_RESTART,  /* the master respawned a worker that died */
    TD_M_RATE_LIMITED,    /* a login attempt answered 429 */
    TD_M_LOGIN_BUSY,      /* a login answered 503: the verification gate was full */
    TD_M_COUNTER_MAX
} td_counter;

/* What the response cache did for one request of a cached route. */
typedef enum td_cache_outcome {
    TD_CACHE_HIT,       /* served from Redis */
    TD_CACHE_LOCAL_HIT, /* served from the worker's own memory */
    TD_CACHE_MISS,      /* built from PostgreSQL */
    TD_CACHE_BYPASS,    /* the client asked for no cache */
    TD_CACHE_ERROR,     /* Redis failed on the way (counted besides the outcome) */
    TD_CACHE_OUTCOMES
} td_cache_outcome;

/* Pid table size: worker slots [0, TD_METRICS_MAX_WORKERS); larger slots
 * are ignored.  Workers replaced while still alive (SIGHUP) are kept in an
 * overflow area of 3 × that size until the master reaps them. */
#define TD_METRICS_MAX_WORKERS 256
#define TD_METRICS_MAX_ROUTES 1024

/* Called once in the master before fork.  route_names are the route
 * patterns in table order (they stay valid for the process lifetime; the
 * array itself is copied); index nroutes is reserved for "unmatched"
 * requests (404/405).  program labels tradedesk_build_info.  TD_EINVAL when
 * nroutes > TD_METRICS_MAX_ROUTES, TD_ENOMEM when the mapping fails; metrics
 * then stay disabled.  Calling it again starts from zero. */
td_status td_metrics_init(const char *const *route_names, size_t nroutes, const char *program);

/* As td_metrics_init, with an HTTP method per route (methods[i] may be NULL)
 * rendered as a `method` label.  Two indexes with the same method and
 * pattern share one series, so the output never repeats a label set. */
td_status td_metrics_init_routes(const char *const *methods, const char *const *route_names,
                                 size_t nroutes, const char *program);

/* Unmap and return to the uninitialised state (tests).  Other processes
 * keep their own mapping of the region. */
void td_metrics_shutdown(void);

/* Master only (the pid table has one writer).  Worker slot `slot` now runs
 * pid (0 = empty).  A live pid displaced by a new one is kept, as draining,
 * until td_metrics_forget_pid. */
void td_metrics_register_pid(int slot, pid_t pid);
/* Master only: pid was reaped; drop it wherever it is registered. */
void td_metrics_forget_pid(pid_t pid);

/* One finished request.  route_idx >= nroutes counts as unmatched; a
 * status outside the fixed set counts as "other"; seconds < 0 or NaN as 0. */
void td_metrics_request(size_t route_idx, int status, double seconds);
void td_metrics_count(td_counter c);

/* One cache outcome of a request of route route_idx: counted per route
 * (tradedesk_cache_requests_total{route,outcome}) and in the program-wide
 * counters above (a local hit is a hit too). */
void td_metrics_cache(size_t route_idx, td_cache_outcome o);
/* The route's outcomes since the last td_metrics_cache_reset (summed over
 * every worker of the program), into out[TD_CACHE_OUTCOMES]; 0 when the
 * index is out of range or metrics are off. */
int td_metrics_cache_read(size_t route_idx, uint64_t out[TD_CACHE_OUTCOMES]);
/* Start the counts td_metrics_cache_read gives from zero for every worker
 * (the Prometheus counters stay monotonic); when that last happened (Unix
 * seconds; the master's start before any reset). */
void td_metrics_cache_reset(void);
double td_metrics_cache_reset_at(void);

/* A program-wide counter's sum over every process (0 when metrics are off). */
unsigned long long td_metrics_counter(td_counter c);
/* The program's processes as the pid table knows them: the master and the
 * workers alive now (into *alive), their resident memory summed (bytes). */
void td_metrics_processes(int *alive, unsigned long long *rss_bytes);

/* Render the Prometheus text format (version 0.0.4) into an arena string,
 * NUL-terminated, length in *len (len may be NULL).  NULL only when memory
 * runs out.  Uninitialised: only tradedesk_build_info. */
char *td_metrics_render(td_arena *a, size_t *len);

#endif
