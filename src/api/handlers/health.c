/*
 * health.c - GET /health and /api/v1/monitoring/health (no auth).
 *
 * ok: PostgreSQL and Redis answer.  degraded: Redis is down (the API still
 * serves from PostgreSQL).  down: PostgreSQL is down (503).
 */
#include "api/app.h"

#include <stdio.h>

static json_object *check(td_status st, double ms)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(st == TD_OK ? "ok" : "down"));
    char text[32];
    snprintf(text, sizeof text, "%.3f", ms);
    json_object_object_add(o, "latency_ms", json_object_new_double_s(ms, text));
    return o;
}

void td_h_health(td_req *r)
{
    double pg_ms, redis_ms;
    td_status pg = td_db_ping(r->app->db, &pg_ms);
    td_status rd = td_redis_ping(r->app->redis, &redis_ms);
    const char *status = pg != TD_OK ? "down" : rd != TD_OK ? "degraded" : "ok";

    json_object *checks = json_object_new_object();
    json_object_object_add(checks, "postgres", check(pg, pg_ms));
    json_object_object_add(checks, "redis", check(rd, redis_ms));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "checks", checks);
    json_object_object_add(o, "version", json_object_new_string(TD_VERSION));
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_json(r, pg != TD_OK ? 503 : 200, o);
}
