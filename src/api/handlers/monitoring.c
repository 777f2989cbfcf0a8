/*
 * monitoring.c - what the API did lately, for operators (admin role):
 *
 *   GET /api/v1/monitoring/errors         5xx answers by route and code: count,
 *                                         first and last seen, sample request ids
 *   GET /api/v1/monitoring/slow-requests  the slowest recent requests at or over
 *                                         TRADEDESK_SLOW_REQUEST_MS, with where
 *                                         their time went
 *   GET /api/v1/monitoring/health/detailed  each dependency and program with its
 *                                         own status: PostgreSQL, Redis, the data
 *                                         disk, the API's workers, the engines and
 *                                         streams (their status hashes in Redis)
 *
 * Both read the table every worker of this instance writes (api/recent.h);
 * a request id finds the request's log lines.
 */
#include "api/app.h"
#include "api/params.h"
#include "api/recent.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/metrics.h"
#include "store/keys.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

const td_db_stmt td_monitoring_stmts[] = {
    {"monitoring_pg",
     "SELECT count(*), count(*) FILTER (WHERE state = 'active'),"
     " current_setting('max_connections')::int FROM pg_stat_activity WHERE backend_type = "
     "'client backend'",
     0, 1},
};
const size_t td_monitoring_nstmts = TD_ARRAY_LEN(td_monitoring_stmts);

void td_h_monitoring_errors(td_req *r)
{
    if (!td_param_none(r))
        return;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_recent_errors_json(&w);
    td_resp_json_nostore(r, 200, b.data, b.len);
}

void td_h_monitoring_slow(td_req *r)
{
    static const char *const allowed[] = {"limit", NULL};
    int limit;
    if (!td_param_only(r, allowed) || !td_param_int(r, "limit", 20, 1, 64, &limit))
        return;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_recent_slow_json(&w, r->app->cfg.slow_request_ms, limit);
    td_resp_json_nostore(r, 200, b.data, b.len);
}

/* ---------------------------------------------------- detailed health */

/* Each part says ok, degraded or down; the whole is its worst part. */
enum { OK, DEGRADED, DOWN };
static const char *const LEVEL[] = {"ok", "degraded", "down"};

static int worse(int a, int b)
{
    return a > b ? a : b;
}

static int postgres_part(td_req *r, td_jw *w)
{
    double ms;
    td_status st = td_db_ping(r->app->db, &ms);
    td_jw_key(w, "postgres");
    td_jw_obj(w);
    td_jw_key(w, "status");
    td_jw_str(w, LEVEL[st == TD_OK ? OK : DOWN]);
    td_jw_key(w, "latency_ms");
    td_jw_fixed(w, ms, 3);
    PGresult *res = NULL;
    if (st == TD_OK)
        res = td_db_exec(r->app->db, "monitoring_pg", 0, NULL, &st);
    static const char *const keys[] = {"connections", "active_connections", "max_connections"};
    for (int i = 0; i < 3; i++) {
        td_jw_key(w, keys[i]);
        if (res && PQntuples(res) == 1)
            td_jw_int(w, atoll(PQgetvalue(res, 0, i)));
        else
            td_jw_null(w);
    }
    if (res)
        PQclear(res);
    td_jw_end(w, '}');
    return st == TD_OK ? OK : DOWN;
}

/* Redis down is degraded: the API serves from PostgreSQL meanwhile. */
static int redis_part(td_req *r, td_jw *w)
{
    double ms;
    td_status st = td_redis_ping(r->app->redis, &ms);
    redisReply *info = st == TD_OK ? td_redis_cmd(r->app->redis, "INFO") : NULL;
    const char *text = info && info->type == REDIS_REPLY_STRING ? info->str : NULL;
    td_jw_key(w, "redis");
    td_jw_obj(w);
    td_jw_key(w, "status");
    td_jw_str(w, LEVEL[st == TD_OK ? OK : DEGRADED]);
    td_jw_key(w, "latency_ms");
    td_jw_fixed(w, ms, 3);
    const char *mem = text ? td_redis_info_field(text, "used_memory", NULL) : NULL;
    td_jw_key(w, "used_memory_bytes");
    if (mem)
        td_jw_int(w, atoll(mem));
    else
        td_jw_null(w);
    /* The response cache's hit ratio, as this instance's workers saw it. */
    unsigned long long hits = td_metrics_counter(TD_M_CACHE_HIT),
                       misses = td_metrics_counter(TD_M_CACHE_MISS);
    td_jw_key(w, "cache_hit_ratio");
    if (hits + misses)
        td_jw_fixed(w, (double)hits / (double)(hits + misses), 4);
    else
        td_jw_null(w);
    td_jw_end(w, '}');
    if (info)
        freeReplyObject(info);
    return st == TD_OK ? OK : DEGRADED;
}

/* Under 10% free is degraded, under 5% down (PostgreSQL stops at full). */
static int disk_part(td_req *r, td_jw *w)
{
    struct statvfs v;
    const char *dir = r->app->cfg.data_dir;
    int ok = statvfs(dir, &v) == 0 && v.f_blocks > 0;
    double total = ok ? (double)v.f_blocks * (double)v.f_frsize : 0;
    double avail = ok ? (double)v.f_bavail * (double)v.f_frsize : 0;
    double pct = ok ? 100.0 * avail / total : 0;
    int level = !ok ? DEGRADED : pct < 5 ? DOWN : pct < 10 ? DEGRADED : OK;
    td_jw_key(w, "disk");
    td_jw_obj(w);
    td_jw_key(w, "status");
    td_jw_str(w, LEVEL[level]);
    td_jw_key(w, "path");
    td_jw_str(w, dir);
    td_jw_key(w, "free_bytes");
    if (ok)
        td_jw_int(w, (long long)avail);
    else
        td_jw_null(w);
    td_jw_key(w, "total_bytes");
    if (ok)
        td_jw_int(w, (long long)total);
    else
        td_jw_null(w);
    td_jw_key(w, "free_pct");
    if (ok)
        td_jw_fixed(w, pct, 2);
    else
        td_jw_null(w);
    td_jw_end(w, '}');
    return level;
}

static int api_part(td_req *r, td_jw *w)
{
    int alive;
    unsigned long long rss;
    td_metrics_processes(&alive, &rss);
    int want = r->app->cfg.workers;
    int level = alive >= want ? OK : alive > 0 ? DEGRADED : DOWN;
    td_jw_key(w, "api");
    td_jw_obj(w);
    td_jw_key(w, "status");
    td_jw_str(w, LEVEL[level]);
    td_jw_key(w, "workers");
    td_jw_int(w, want);
    td_jw_key(w, "workers_alive");
    td_jw_int(w, alive);
    td_jw_key(w, "worker_restarts");
    td_jw_int(w, (long long)td_metrics_counter(TD_M_WORKER_RESTART));
    td_jw_key(w, "rss_bytes");
    td_jw_int(w, (long long)rss);
    td_jw_end(w, '}');
    return level;
}

/* A program's instances from their status hash (store/keys.h): each as it
 * wrote itself, with its age and status (down once it stopped writing).
 * *fresh counts those still writing; *leader, for engines, those leading. */
static void instances(td_req *r, td_jw *w, const char *hash, int *fresh, int *leader)
{
    *fresh = *leader = 0;
    redisReply *rep = td_redis_cmd(r->app->redis, "HGETALL %s", hash);
    td_jw_arr(w);
    int64_t now = td_wall_ms();
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        const redisReply *v = rep->element[i + 1];
        json_object *o = v->type == REDIS_REPLY_STRING ? json_tokener_parse(v->str) : NULL, *at,
                    *ld;
        int64_t at_ms = 0;
        if (o && json_object_object_get_ex(o, "at", &at))
            td_rfc3339_parse_ms(json_object_get_string(at), strlen(json_object_get_string(at)),
                                &at_ms);
        int64_t age = now - at_ms;
        if (o && age <= 3600 * 1000) { /* gone for an hour: no longer listed */
            int up = age <= TD_STATUS_STALE_MS;
            *fresh += up;
            *leader +=
                up && json_object_object_get_ex(o, "leader", &ld) && json_object_get_boolean(ld);
            td_jw_obj(w);
            td_jw_key(w, "status");
            td_jw_str(w, LEVEL[up ? OK : DOWN]);
            td_jw_key(w, "age_ms");
            td_jw_int(w, age);
            td_jw_key(w, "reported");
            td_jw_raw(w, v->str, v->len);
            td_jw_end(w, '}');
        }
        json_object_put(o);
    }
    td_jw_end(w, ']');
    if (rep)
        freeReplyObject(rep);
}

static int programs_part(td_req *r, td_jw *w)
{
    int fresh, leader;
    td_jw_key(w, "engines");
    instances(r, w, TD_KEY_STATUS_ENGINE, &fresh, &leader);
    /* No engine: no market data, no orders fire.  No leader: none fire. */
    int level = fresh == 0 ? DOWN : leader == 0 ? DEGRADED : OK;
    int streams, unused;
    td_jw_key(w, "streams");
    instances(r, w, TD_KEY_STATUS_STREAM, &streams, &unused);
    (void)streams; /* reported; the stream's absence is its own clients' to notice */
    return level;
}

void td_h_monitoring_health_detailed(td_req *r)
{
    if (!td_param_none(r))
        return;
    td_buf parts = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &parts);
    td_jw_obj(&w);
    int level = postgres_part(r, &w);
    level = worse(level, redis_part(r, &w));
    level = worse(level, disk_part(r, &w));
    level = worse(level, api_part(r, &w));
    level = worse(level, programs_part(r, &w));
    td_jw_end(&w, '}');
    /* {"status", "checked_at", then the parts}. */
    td_buf b = {0};
    td_jw out;
    td_jw_init(&out, r->arena, &b);
    td_jw_obj(&out);
    td_jw_key(&out, "status");
    td_jw_str(&out, LEVEL[level]);
    td_jw_key(&out, "checked_at");
    td_jw_time_ms(&out, td_wall_ms());
    td_jw_key(&out, "version");
    td_jw_str(&out, TD_VERSION);
    td_jw_key(&out, "checks");
    td_jw_raw(&out, parts.data, parts.len);
    td_jw_end(&out, '}');
    td_resp_json_nostore(r, 200, b.data, b.len);
}
