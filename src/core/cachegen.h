/*
 * cachegen.h - per-user cache generations: the O(1) invalidation switch of
 * the API's response cache, shared by everything that writes a user's data
 * (API handlers, engine, CLI).
 *
 * Cached responses of user U live under keys containing U's generation;
 * bumping it makes all of them unreachable at once, and their TTLs reclaim
 * them.  No KEYS/SCAN, ever.
 */
#ifndef TD_CACHEGEN_H
#define TD_CACHEGEN_H

#include "core/redis.h"

/* The Redis key of a scope's generation: "td:gen:u<id>" or "td:gen:pub". */
#define TD_CACHEGEN_USER_FMT "td:gen:u%lld"

/* TD_OK, or TD_EUNAVAIL when Redis cannot be reached (entries then expire
 * by TTL, at most a few seconds later). */
td_status td_cache_invalidate_user(td_redis *rd, int64_t user_id);

#endif
