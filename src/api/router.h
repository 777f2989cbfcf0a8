/*
 * router.h - method + path pattern → handler.
 *
 * Patterns are literal segments and {placeholders}; a placeholder matches one
 * non-empty segment, percent-decoded into req->path_args in order.
 */
#ifndef TD_API_ROUTER_H
#define TD_API_ROUTER_H

#include "api/request.h"

typedef void (*td_handler)(td_req *r);

enum td_access {
    TD_PUBLIC = 0, /* no token needed */
    TD_USER,       /* a valid token and live session */
    TD_ADMIN,      /* as TD_USER, and role admin */
};

/* The rate limit class a route's requests count against (api/dispatch.c).
 * Every route that needs a token counts as its user's read (GET) or write
 * (any other method), and against its client address; public routes other
 * than market data are not limited here (the health probes, and /metrics,
 * which nginx restricts); login has its own limits, in its handler. */
enum td_route_limit {
    TD_LIMIT_DEFAULT = 0,
    TD_LIMIT_MARKET, /* public market data, per client address (TRADEDESK_MARKET_RATE) */
};

typedef struct td_route {
    const char *method;
    const char *pattern;
    td_handler fn;
    enum td_access access;
    enum td_route_limit limit;
} td_route;

typedef enum td_match {
    TD_MATCH_FOUND,
    TD_MATCH_NO_PATH,   /* 404 */
    TD_MATCH_NO_METHOD, /* 405; allow holds "GET, POST" */
} td_match;

td_match td_route_match(const td_route *routes, size_t n, td_req *r, const td_route **found,
                        char *allow, size_t allowcap);

/* The API's route table (routes.c). */
extern const td_route td_api_routes[];
extern const size_t td_api_nroutes;

#endif
