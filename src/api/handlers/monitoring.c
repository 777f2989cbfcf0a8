/*
 * monitoring.c - what the API did lately, for operators (admin role):
 *
 *   GET /api/v1/monitoring/errors         5xx answers by route and code: count,
 *                                         first and last seen, sample request ids
 *   GET /api/v1/monitoring/slow-requests  the slowest recent requests at or over
 *                                         TRADEDESK_SLOW_REQUEST_MS, with where
 *                                         their time went
 *
 * Both read the table every worker of this instance writes (api/recent.h);
 * a request id finds the request's log lines.
 */
#include "api/app.h"
#include "api/params.h"
#include "api/recent.h"
#include "core/jsonw.h"

static void answer(td_req *r, const td_buf *b)
{
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_raw(r, 200, "application/json", b->data, b->len);
}

void td_h_monitoring_errors(td_req *r)
{
    static const char *const none[] = {NULL};
    if (!td_param_only(r, none))
        return;
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_recent_errors_json(&w);
    answer(r, &b);
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
    answer(r, &b);
}
