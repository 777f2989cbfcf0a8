/*
 * metrics_handler.c - GET /metrics, and the two calls the master and the
 * worker loop make so that every request is counted under its route.
 *
 * Never does PostgreSQL or Redis work: a scrape must answer while both are
 * down, which is exactly when operators look.
 */
#include "api/handlers/metrics_handler.h"
#include "api/login_gate.h"
#include "api/router.h"
#include "core/clock.h"

#include <stdlib.h>
#include <string.h>

td_status td_api_metrics_init(void)
{
    /* Held for the life of the process, as td_metrics_init requires. */
    static const char **methods, **patterns;
    free(methods);
    free(patterns);
    size_t n = td_api_nroutes;
    methods = calloc(n ? n : 1, sizeof *methods);
    patterns = calloc(n ? n : 1, sizeof *patterns);
    if (!methods || !patterns)
        return TD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        methods[i] = td_api_routes[i].method;
        patterns[i] = td_api_routes[i].pattern;
    }
    return td_metrics_init_routes(methods, patterns, n, "tradedesk-api");
}

size_t td_api_route_index(const td_req *r)
{
    if (r->route_slot) /* dispatch matched it: the cache, metrics and log ask each request */
        return r->route_slot - 1;
    if (!r->route || r->route[0] != '/') /* "-": never routed */
        return td_api_nroutes;
    /* The router stores the table's own pattern pointer, so a pointer
     * compare finds it; GET and DELETE on one pattern differ by method. */
    for (size_t i = 0; i < td_api_nroutes; i++)
        if (td_api_routes[i].pattern == r->route && strcmp(td_api_routes[i].method, r->method) == 0)
            return i;
    for (size_t i = 0; i < td_api_nroutes; i++)
        if (strcmp(td_api_routes[i].pattern, r->route) == 0 &&
            strcmp(td_api_routes[i].method, r->method) == 0)
            return i;
    return td_api_nroutes;
}

void td_api_metrics_observe(const td_req *r)
{
    double s = (double)(td_mono_ns() - r->started_ns) / 1e9;
    td_metrics_request(td_api_route_index(r), r->status, s);
}

void td_h_metrics(td_req *r)
{
    size_t len;
    char *body = td_metrics_render(r->arena, &len);
    if (!body) {
        td_resp_error(r, TD_ERR_INTERNAL, "metrics could not be rendered");
        return;
    }
    const char *gate = td_login_gate_metrics(r->arena);
    if (*gate) {
        body = td_arena_printf(r->arena, "%s%s", body, gate);
        len = strlen(body);
    }
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_raw(r, 200, TD_METRICS_CONTENT_TYPE, body, len);
}
