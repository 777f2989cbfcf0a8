/*
 * cachegen.h - invalidation of cached data: per-user cache generations in
 * Redis (the shared response cache) and messages on one pub/sub channel
 * (each API worker's in-memory cache of responses and sessions).
 *
 * Cached responses of user U live under keys containing U's generation;
 * bumping it makes all of them unreachable at once, and their TTLs reclaim
 * them.  No KEYS/SCAN, ever.  Everything that writes a user's data (API
 * handlers, engine, CLI) calls td_cache_invalidate_user.
 *
 * Messages on TD_INVAL_CHANNEL: "u<id>" user's data changed, "s<sid>" one
 * session revoked, "S<id>" every session of a user revoked (the names and
 * kinds are in store/keys.h).
 */
#ifndef TD_CACHEGEN_H
#define TD_CACHEGEN_H

#include "store/keys.h"
#include "store/redis.h"
#include "store/redis_async.h"

/* TD_OK, or TD_EUNAVAIL when Redis cannot be reached (entries then expire
 * by TTL, at most a few seconds later, and workers' memory is not trusted
 * while their subscription is down). */
td_status td_cache_invalidate_user(td_redis *rd, int64_t user_id);

/* The same two commands appended to rd's pipeline (td_redis_append) for a
 * caller flushing many at once (the engine's relay, after fills); returns
 * how many were appended (2, or fewer when Redis is away). */
int td_cache_invalidate_user_append(td_redis *rd, int64_t user_id);

/* The same two commands on a non-blocking connection, replies unread (the
 * engine's monitor, before it pushes a fill from its commit); how many
 * were sent. */
int td_cache_invalidate_user_async(td_redis_async *r, int64_t user_id);

/* Publish one invalidation message (kind TD_INVAL_SESSION or
 * TD_INVAL_SESSIONS; see above). */
td_status td_inval_publish(td_redis *rd, char kind, const char *id);

#endif
