/*
 * router.c - matching a request against the route table; see router.h.
 */
#include "api/router.h"

#include <stdio.h>
#include <string.h>

/* Match path against pattern; on success fill args (decoded) when r != NULL. */
static int path_matches(const char *pattern, const char *path, td_req *r)
{
    const char *p = pattern, *s = path;
    size_t nargs = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t sl = se ? (size_t)(se - s) : strlen(s);
        if (pl > 1 && p[0] == '{' && p[pl - 1] == '}') {
            if (sl == 0 || nargs >= TD_MAX_PATH_PARAMS)
                return 0;
            if (r) {
                const char *v = td_percent_decode(r->arena, s, sl, 0);
                if (!v)
                    return 0;
                r->path_args[nargs] = v;
            }
            nargs++;
        } else if (pl != sl || memcmp(p, s, pl) != 0) {
            return 0;
        }
        p += pl;
        s += sl;
    }
    if (*p || *s)
        return 0;
    if (r)
        r->npath_args = nargs;
    return 1;
}

td_match td_route_match(const td_route *routes, size_t n, td_req *r, const td_route **found,
                        char *allow, size_t allowcap)
{
    size_t alen = 0;
    allow[0] = '\0';
    *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!path_matches(routes[i].pattern, r->path, NULL))
            continue;
        if (strcmp(routes[i].method, r->method) == 0) {
            if (!path_matches(routes[i].pattern, r->path, r))
                return TD_MATCH_NO_PATH; /* a bad escape in a placeholder */
            *found = &routes[i];
            r->route = routes[i].pattern;
            return TD_MATCH_FOUND;
        }
        int listed = 0;
        for (size_t j = 0; j < i && !listed; j++)
            listed = strcmp(routes[j].method, routes[i].method) == 0 &&
                     path_matches(routes[j].pattern, r->path, NULL);
        if (!listed && alen < allowcap) {
            int w =
                snprintf(allow + alen, allowcap - alen, "%s%s", alen ? ", " : "", routes[i].method);
            alen = w < 0 ? alen : alen + (size_t)w >= allowcap ? allowcap - 1 : alen + (size_t)w;
        }
    }
    return alen ? TD_MATCH_NO_METHOD : TD_MATCH_NO_PATH;
}
