/*
 * health.c - GET /health and /api/v1/monitoring/health (no auth).
 *
 * ok: PostgreSQL and Redis answer.  degraded: Redis is down (the API still
 * serves from PostgreSQL).  down: PostgreSQL is down (503).
 *
 * Never waits long on PostgreSQL: td_db_ping gives up after 800 ms (a
 * stopped server never answers), and when the workers' share for
 * PostgreSQL (store/dbgate.h) is stuck it answers "down" at once, saying
 * why, instead of joining the waiters.
 */
#include "api/app.h"
#include "core/jsonw.h"

#include <stdio.h>
#include <string.h>

/* error: why a check failed ("" or NULL: not said). */
static void check(td_jw *w, const char *name, td_status st, double ms, const char *error)
{
    td_jw_key(w, name);
    td_jw_obj(w);
    td_jw_key(w, "status");
    td_jw_str(w, st == TD_OK ? "ok" : "down");
    td_jw_key(w, "latency_ms");
    td_jw_fixed(w, ms, 3);
    if (st != TD_OK && error && *error) {
        td_jw_key(w, "error");
        td_jw_str(w, error);
    }
    td_jw_end(w, '}');
}

void td_h_health(td_req *r)
{
    double pg_ms, redis_ms;
    td_status pg = td_db_ping(r->app->db, &pg_ms);
    td_status rd = td_redis_ping(r->app->redis, &redis_ms);
    const char *status = pg != TD_OK ? "down" : rd != TD_OK ? "degraded" : "ok";

    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "status");
    td_jw_str(&w, status);
    td_jw_key(&w, "checks");
    td_jw_obj(&w);
    const char *cause = td_db_last_cause(r->app->db);
    check(&w, "postgres", pg, pg_ms,
          !cause                          ? NULL
          : strcmp(cause, "timeout") == 0 ? "no answer within the check's deadline"
                                          : "every worker allowed to wait on PostgreSQL is stuck");
    check(&w, "redis", rd, redis_ms, NULL);
    td_jw_end(&w, '}');
    td_jw_key(&w, "version");
    td_jw_str(&w, TD_VERSION);
    td_jw_end(&w, '}');
    td_resp_json_nostore(r, pg != TD_OK ? 503 : 200, b.data, b.len);
}
