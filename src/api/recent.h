/*
 * recent.h - what the API's workers did lately, shared by every worker of
 * one master (memory mapped before fork, like the metrics): the 5xx
 * answers grouped by route and error code, and the slowest recent requests
 * with where their time went.  GET /api/v1/monitoring/errors and
 * /api/v1/monitoring/slow-requests read it (handlers/monitoring.c).
 *
 * Recording is one short critical section on a spinlock in the shared
 * memory, only for a 5xx or a request above the slow threshold; every
 * other request costs a comparison.  A worker killed inside it cannot
 * leave the lock held: the holder's pid is in the lock and a waiter takes
 * it over from a dead one.
 */
#ifndef TD_API_RECENT_H
#define TD_API_RECENT_H

#include "api/request.h"
#include "core/jsonw.h"

#include <stddef.h>
#include <stdint.h>

/* The master, once before fork; TD_ENOMEM leaves recording off. */
td_status td_recent_init(void);

/* After a request was answered (route_idx: its index in the route
 * table): recorded when it is a 5xx or took at least slow_ms; r's
 * auth_ns, cache_ns and db_ns say where the time went. */
void td_recent_record(const td_req *r, size_t route_idx, double ms, int slow_ms);

/* {"items":[{route, method, status, code, count, first_seen, last_seen,
 * sample_request_ids}...]}, most recent last_seen first. */
void td_recent_errors_json(td_jw *w);
/* {"threshold_ms", "items":[{at, method, route, path, status,
 * duration_ms, auth_ms, cache_ms, db_ms, render_ms, request_id}...]},
 * slowest first, at most limit. */
void td_recent_slow_json(td_jw *w, int slow_ms, int limit);

#endif
