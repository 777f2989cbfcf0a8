/*
 * metrics_handler.h - GET /metrics and the glue between the API's route
 * table and core/metrics.h.
 */
#ifndef TD_API_METRICS_HANDLER_H
#define TD_API_METRICS_HANDLER_H

#include "api/request.h"
#include "core/metrics.h"

#define TD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Master, once, before forking workers: metrics over td_api_routes, each
 * series labelled with the route's method and pattern. */
td_status td_api_metrics_init(void);

/* Index in td_api_routes of the route r matched; td_api_nroutes when none
 * (404, 405, or a request rejected before routing). */
size_t td_api_route_index(const td_req *r);

/* Worker, after each request: its route, status and duration so far. */
void td_api_metrics_observe(const td_req *r);

/* GET /metrics: the Prometheus text format, summed over all workers. */
void td_h_metrics(td_req *r);

#endif
