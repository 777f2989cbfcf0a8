/*
 * admin.c - the response cache's administration (admin role only):
 *
 *   GET  /api/v1/admin/redis/health       Redis' latency, version, memory, clients
 *   GET  /api/v1/admin/redis/stats        cache outcomes by route since the last
 *                                         reset, and Redis' own key counts
 *   POST /api/v1/admin/redis/clear        every cached response stale at once
 *   POST /api/v1/admin/redis/reset-stats  the stats' counts start from zero
 *
 * The clear is O(1) whatever the cache holds: it bumps the generation every
 * cache key carries (td:gen:all, store/keys.h; api/cache.c), tells every
 * worker of every instance to drop its memory (TD_INVAL_ALL on td:inval)
 * and fences this master's workers at once (td_wc_clear_all).  Never KEYS,
 * SCAN or FLUSHALL: the old entries are unreachable and their TTLs reclaim
 * them.  The stats are this instance's (its workers' shared counters), as
 * GET /metrics is; the Prometheus counters themselves never go back.
 */
#include "api/app.h"
#include "api/handlers/metrics_handler.h"
#include "api/params.h"
#include "api/router.h"
#include "api/worker_cache.h"
#include "core/jsonw.h"
#include "core/metrics.h"
#include "store/cachegen.h"
#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An INFO reply's field, as a string in the request's arena, or NULL. */
static const char *info_field(td_req *r, const char *info, const char *field)
{
    size_t n;
    const char *v = td_redis_info_field(info, field, &n);
    return v ? td_arena_strndup(r->arena, v, n) : NULL;
}

static void info_int(td_req *r, td_jw *w, const char *info, const char *field, const char *key)
{
    const char *v = info_field(r, info, field);
    td_jw_key(w, key);
    if (v)
        td_jw_int(w, strtoll(v, NULL, 10));
    else
        td_jw_null(w);
}

/* INFO's whole text, or NULL after answering 503. */
static char *redis_info(td_req *r)
{
    redisReply *rep = td_redis_cmd(r->app->redis, "INFO");
    if (!rep || rep->type != REDIS_REPLY_STRING) {
        if (rep)
            freeReplyObject(rep);
        td_resp_status_error(r, TD_EUNAVAIL);
        return NULL;
    }
    char *info = td_arena_strndup(r->arena, rep->str, rep->len);
    freeReplyObject(rep);
    return info;
}

void td_h_admin_redis_health(td_req *r)
{
    if (!td_param_none(r))
        return;
    double ms;
    if (td_redis_ping(r->app->redis, &ms) != TD_OK) {
        td_resp_status_error(r, TD_EUNAVAIL);
        return;
    }
    char *info = redis_info(r);
    if (!info)
        return;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "status");
    td_jw_str(&w, "ok");
    td_jw_key(&w, "latency_ms");
    td_jw_fixed(&w, ms, 3);
    td_jw_key(&w, "version");
    td_jw_str(&w, info_field(r, info, "redis_version"));
    info_int(r, &w, info, "uptime_in_seconds", "uptime_s");
    info_int(r, &w, info, "used_memory", "used_memory_bytes");
    info_int(r, &w, info, "maxmemory", "maxmemory_bytes");
    td_jw_key(&w, "maxmemory_policy");
    td_jw_str(&w, info_field(r, info, "maxmemory_policy"));
    info_int(r, &w, info, "connected_clients", "connected_clients");
    td_jw_end(&w, '}');
    td_resp_json_nostore(r, 200, b.data, b.len);
}

/* hits / (hits + misses), null before the first. */
static void ratio(td_jw *w, uint64_t hits, uint64_t misses)
{
    td_jw_key(w, "hit_ratio");
    if (hits + misses == 0)
        td_jw_null(w);
    else
        td_jw_fixed(w, (double)hits / (double)(hits + misses), 4);
}

static void outcomes(td_jw *w, const uint64_t n[TD_CACHE_OUTCOMES])
{
    td_jw_key(w, "hits");
    td_jw_int(w, (long long)(n[TD_CACHE_HIT] + n[TD_CACHE_LOCAL_HIT]));
    td_jw_key(w, "local_hits");
    td_jw_int(w, (long long)n[TD_CACHE_LOCAL_HIT]);
    td_jw_key(w, "misses");
    td_jw_int(w, (long long)n[TD_CACHE_MISS]);
    td_jw_key(w, "bypassed");
    td_jw_int(w, (long long)n[TD_CACHE_BYPASS]);
    td_jw_key(w, "errors");
    td_jw_int(w, (long long)n[TD_CACHE_ERROR]);
    ratio(w, n[TD_CACHE_HIT] + n[TD_CACHE_LOCAL_HIT], n[TD_CACHE_MISS]);
}

void td_h_admin_redis_stats(td_req *r)
{
    if (!td_param_none(r))
        return;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "since");
    td_jw_time_ms(&w, (long long)(td_metrics_cache_reset_at() * 1000.0));
    uint64_t total[TD_CACHE_OUTCOMES] = {0};
    td_jw_key(&w, "routes");
    td_jw_arr(&w);
    for (size_t i = 0; i < td_api_nroutes; i++) {
        uint64_t n[TD_CACHE_OUTCOMES];
        if (!td_metrics_cache_read(i, n))
            continue;
        uint64_t any = 0;
        for (int k = 0; k < TD_CACHE_OUTCOMES; k++)
            any += n[k];
        if (!any)
            continue;
        for (int k = 0; k < TD_CACHE_OUTCOMES; k++)
            total[k] += n[k];
        td_jw_obj(&w);
        td_jw_key(&w, "method");
        td_jw_str(&w, td_api_routes[i].method);
        td_jw_key(&w, "route");
        td_jw_str(&w, td_api_routes[i].pattern);
        outcomes(&w, n);
        td_jw_end(&w, '}');
    }
    td_jw_end(&w, ']');
    td_jw_key(&w, "total");
    td_jw_obj(&w);
    outcomes(&w, total);
    td_jw_end(&w, '}');
    /* Redis' own view (the whole server's, since it started), when it answers. */
    td_jw_key(&w, "redis");
    redisReply *keys = td_redis_cmd(r->app->redis, "DBSIZE");
    redisReply *info = keys ? td_redis_cmd(r->app->redis, "INFO stats") : NULL;
    if (keys && keys->type == REDIS_REPLY_INTEGER && info && info->type == REDIS_REPLY_STRING) {
        td_jw_obj(&w);
        td_jw_key(&w, "keys");
        td_jw_int(&w, keys->integer);
        info_int(r, &w, info->str, "keyspace_hits", "keyspace_hits");
        info_int(r, &w, info->str, "keyspace_misses", "keyspace_misses");
        info_int(r, &w, info->str, "expired_keys", "expired_keys");
        info_int(r, &w, info->str, "evicted_keys", "evicted_keys");
        td_jw_end(&w, '}');
    } else {
        td_jw_null(&w); /* Redis is away: the API's own counts still say what happened */
    }
    if (keys)
        freeReplyObject(keys);
    if (info)
        freeReplyObject(info);
    td_jw_end(&w, '}');
    td_resp_json_nostore(r, 200, b.data, b.len);
}

void td_h_admin_redis_clear(td_req *r)
{
    if (!td_param_none(r))
        return;
    redisReply *rep = td_redis_cmd(r->app->redis, "INCR " TD_KEY_GEN_ALL);
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        if (rep)
            freeReplyObject(rep);
        td_resp_status_error(r, TD_EUNAVAIL); /* nothing was cleared in Redis */
        return;
    }
    long long gen = rep->integer;
    freeReplyObject(rep);
    /* This master's workers at once; every other worker by the message. */
    td_wc_clear_all();
    const char msg[] = {TD_INVAL_ALL, '0'};
    redisReply *pub =
        td_redis_cmd(r->app->redis, "PUBLISH " TD_INVAL_CHANNEL " %b", msg, sizeof msg);
    if (pub)
        freeReplyObject(pub);
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "cleared");
    td_jw_bool(&w, 1);
    td_jw_key(&w, "generation");
    td_jw_int(&w, gen);
    td_jw_end(&w, '}');
    td_resp_json_nostore(r, 200, b.data, b.len);
}

void td_h_admin_redis_reset_stats(td_req *r)
{
    if (!td_param_none(r))
        return;
    td_metrics_cache_reset();
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "since");
    td_jw_time_ms(&w, (long long)(td_metrics_cache_reset_at() * 1000.0));
    td_jw_end(&w, '}');
    td_resp_json_nostore(r, 200, b.data, b.len);
}
