/*
 * cache.h - response caching in Redis for read endpoints.
 *
 * A cached handler validates its input, then hands td_cache_respond() a
 * function that builds the JSON body.  The cache answers from Redis when it
 * can (X-Cache: HIT), runs the builder once per key when many requests miss
 * at the same moment (single flight across all workers), and falls back to a
 * small in-process cache and then the database when Redis is down.
 *
 * Per-user entries carry the user's generation number in their key; bumping
 * it (td_cache_invalidate_user in store/cachegen.h) makes all of that user's
 * entries unreachable in O(1), and their TTL reclaims them.
 */
#ifndef TD_API_CACHE_H
#define TD_API_CACHE_H

#include "api/request.h"
#include "store/redis.h"

typedef struct td_cache_rule {
    const char *name; /* short key prefix, e.g. "pos" */
    int ttl_s;
    int per_user; /* 0: one entry for everybody (prices) */
} td_cache_rule;

struct td_jw;
/* Write the body of a 200 and return 1, or answer an error on r and return
 * 0.  Errors are never cached. */
typedef int (*td_cache_build_fn)(td_req *r, struct td_jw *w);

void td_cache_respond(td_req *r, const td_cache_rule *rule, td_cache_build_fn build);

/* A pure helper, exposed for unit tests. */
int td_cache_etag_matches(const char *if_none_match, const char *etag);

#endif
