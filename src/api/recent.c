/*
 * recent.c - see recent.h.  Two fixed tables in one shared mapping: the
 * errors (a slot per route, status and code; the least recently seen is
 * replaced when full) and the slow requests (the SLOW_KEPT slowest of the
 * last SLOW_WINDOW_MS; a faster one replaces the fastest held once full,
 * and entries past the window are dropped when read).
 */
#include "api/recent.h"
#include "api/router.h"
#include "core/clock.h"
#include "core/shm.h"
#include "core/utf8.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ERR_SLOTS 128
#define ERR_SAMPLES 3
#define SLOW_KEPT 64
#define SLOW_WINDOW_MS (15 * 60 * 1000)
#define ID_MAX 65
#define PATH_MAX_KEPT 128

typedef struct err_slot {
    int used;
    int status;
    size_t route;
    char method[8];
    char code[40];
    unsigned long long count;
    int64_t first_ms, last_ms;
    char samples[ERR_SAMPLES][ID_MAX];
    unsigned next_sample;
} err_slot;

typedef struct slow_slot {
    int used;
    int status;
    size_t route;
    char method[8];
    char path[PATH_MAX_KEPT];
    char request_id[ID_MAX];
    int64_t at_ms;
    double ms, auth_ms, cache_ms, db_ms;
} slow_slot;

typedef struct shared {
    volatile pid_t lock; /* the holder's pid, 0 when free */
    err_slot err[ERR_SLOTS];
    slow_slot slow[SLOW_KEPT];
} shared;

static shared *g;

td_status td_recent_init(void)
{
    if (!g)
        g = td_shm_map(sizeof *g, "the recent errors and slow requests");
    return g ? TD_OK : TD_ENOMEM;
}

static void lock(void)
{
    pid_t me = getpid();
    for (unsigned spins = 0;; spins++) {
        pid_t cur = 0;
        if (__atomic_compare_exchange_n(&g->lock, &cur, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        /* A holder that died in here never lets go: take it over. */
        if (spins > 1000 && cur != me && kill(cur, 0) != 0 &&
            __atomic_compare_exchange_n(&g->lock, &cur, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        sched_yield();
    }
}

static void unlock(void)
{
    __atomic_store_n(&g->lock, 0, __ATOMIC_RELEASE);
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void record_error(const td_req *r, size_t route, int64_t now)
{
    const char *code = r->err_code ? r->err_code : "";
    err_slot *e = NULL, *oldest = &g->err[0];
    for (int i = 0; i < ERR_SLOTS && !e; i++) {
        err_slot *s = &g->err[i];
        if (!s->used) {
            e = s;
            break;
        }
        if (s->route == route && s->status == r->status && strcmp(s->code, code) == 0 &&
            strcmp(s->method, r->method) == 0)
            e = s;
        else if (s->last_ms < oldest->last_ms)
            oldest = s;
    }
    if (!e) {
        e = oldest;
        e->used = 0;
    }
    if (!e->used) {
        memset(e, 0, sizeof *e);
        e->used = 1;
        e->status = r->status;
        e->route = route;
        copy(e->method, sizeof e->method, r->method);
        copy(e->code, sizeof e->code, code);
        e->first_ms = now;
    }
    e->count++;
    e->last_ms = now;
    copy(e->samples[e->next_sample % ERR_SAMPLES], ID_MAX, r->request_id);
    e->next_sample++;
}

static void record_slow(const td_req *r, size_t route, int64_t now, double ms)
{
    slow_slot *s = NULL, *fastest = NULL;
    for (int i = 0; i < SLOW_KEPT; i++) {
        slow_slot *x = &g->slow[i];
        if (!x->used || now - x->at_ms > SLOW_WINDOW_MS) {
            s = x;
            break;
        }
        if (!fastest || x->ms < fastest->ms)
            fastest = x;
    }
    if (!s) {
        if (fastest->ms >= ms)
            return; /* the table holds slower ones */
        s = fastest;
    }
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->status = r->status;
    s->route = route;
    copy(s->method, sizeof s->method, r->method);
    /* A path is the client's bytes: kept as valid UTF-8 for the JSON. */
    td_utf8_sanitize(r->path ? r->path : "", r->path ? strlen(r->path) : 0, s->path,
                     sizeof s->path);
    copy(s->request_id, sizeof s->request_id, r->request_id);
    s->at_ms = now;
    s->ms = ms;
    s->auth_ms = (double)r->auth_ns / 1e6;
    s->cache_ms = (double)r->cache_ns / 1e6;
    s->db_ms = (double)r->db_ns / 1e6;
}

void td_recent_record(const td_req *r, size_t route_idx, double ms, int slow_ms)
{
    int error = r->status >= 500, slow = slow_ms > 0 && ms >= slow_ms;
    if (!g || (!error && !slow))
        return;
    int64_t now = td_wall_ms();
    lock();
    if (error)
        record_error(r, route_idx, now);
    if (slow)
        record_slow(r, route_idx, now, ms);
    unlock();
}

static const char *route_name(size_t i)
{
    return i < td_api_nroutes ? td_api_routes[i].pattern : "unmatched";
}

static int newest_seen_first(const void *a, const void *b)
{
    int64_t x = ((const err_slot *)a)->last_ms, y = ((const err_slot *)b)->last_ms;
    return (y > x) - (y < x);
}

static int slowest_first(const void *a, const void *b)
{
    double x = ((const slow_slot *)a)->ms, y = ((const slow_slot *)b)->ms;
    return (y > x) - (y < x);
}

void td_recent_errors_json(td_jw *w)
{
    err_slot copy_[ERR_SLOTS];
    int n = 0;
    if (g) {
        lock();
        for (int i = 0; i < ERR_SLOTS; i++)
            if (g->err[i].used)
                copy_[n++] = g->err[i];
        unlock();
    }
    qsort(copy_, (size_t)n, sizeof copy_[0], newest_seen_first);
    td_jw_obj(w);
    td_jw_key(w, "items");
    td_jw_arr(w);
    for (int i = 0; i < n; i++) {
        const err_slot *e = &copy_[i];
        td_jw_obj(w);
        td_jw_key(w, "method");
        td_jw_str(w, e->method);
        td_jw_key(w, "route");
        td_jw_str(w, route_name(e->route));
        td_jw_key(w, "status");
        td_jw_int(w, e->status);
        td_jw_key(w, "code");
        td_jw_str(w, e->code[0] ? e->code : NULL);
        td_jw_key(w, "count");
        td_jw_int(w, (long long)e->count);
        td_jw_key(w, "first_seen");
        td_jw_time_ms(w, e->first_ms);
        td_jw_key(w, "last_seen");
        td_jw_time_ms(w, e->last_ms);
        td_jw_key(w, "sample_request_ids");
        td_jw_arr(w);
        unsigned kept = e->next_sample < ERR_SAMPLES ? e->next_sample : ERR_SAMPLES;
        for (unsigned k = 0; k < kept; k++) /* newest first */
            td_jw_str(w, e->samples[(e->next_sample - 1 - k) % ERR_SAMPLES]);
        td_jw_end(w, ']');
        td_jw_end(w, '}');
    }
    td_jw_end(w, ']');
    td_jw_end(w, '}');
}

void td_recent_slow_json(td_jw *w, int slow_ms, int limit)
{
    slow_slot copy_[SLOW_KEPT];
    int n = 0;
    int64_t now = td_wall_ms();
    if (g) {
        lock();
        for (int i = 0; i < SLOW_KEPT; i++)
            if (g->slow[i].used && now - g->slow[i].at_ms <= SLOW_WINDOW_MS)
                copy_[n++] = g->slow[i];
        unlock();
    }
    qsort(copy_, (size_t)n, sizeof copy_[0], slowest_first);
    td_jw_obj(w);
    td_jw_key(w, "threshold_ms");
    td_jw_int(w, slow_ms);
    td_jw_key(w, "window_s");
    td_jw_int(w, SLOW_WINDOW_MS / 1000);
    td_jw_key(w, "items");
    td_jw_arr(w);
    for (int i = 0; i < n && i < limit; i++) {
        const slow_slot *s = &copy_[i];
        double render = s->ms - s->auth_ms - s->cache_ms - s->db_ms;
        td_jw_obj(w);
        td_jw_key(w, "at");
        td_jw_time_ms(w, s->at_ms);
        td_jw_key(w, "method");
        td_jw_str(w, s->method);
        td_jw_key(w, "route");
        td_jw_str(w, route_name(s->route));
        td_jw_key(w, "path");
        td_jw_str(w, s->path);
        td_jw_key(w, "status");
        td_jw_int(w, s->status);
        td_jw_key(w, "duration_ms");
        td_jw_fixed(w, s->ms, 3);
        td_jw_key(w, "auth_ms");
        td_jw_fixed(w, s->auth_ms, 3);
        td_jw_key(w, "cache_ms");
        td_jw_fixed(w, s->cache_ms, 3);
        td_jw_key(w, "db_ms");
        td_jw_fixed(w, s->db_ms, 3);
        td_jw_key(w, "other_ms"); /* parsing, handler logic, rendering, writing */
        td_jw_fixed(w, render > 0 ? render : 0, 3);
        td_jw_key(w, "request_id");
        td_jw_str(w, s->request_id);
        td_jw_end(w, '}');
    }
    td_jw_end(w, ']');
    td_jw_end(w, '}');
}
