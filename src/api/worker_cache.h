/*
 * worker_cache.h - what one worker keeps in its own memory so a request can
 * be answered without a Redis round trip: cached responses, sessions already
 * checked, and tokens already verified.
 *
 * Responses and sessions are trusted only while the worker's subscription to
 * the invalidation channel (store/cachegen.h) is unbroken: every write that
 * could make them stale publishes there, and td_wc_poll() applies those
 * messages before each request.  When the subscription breaks or restarts,
 * everything is dropped, since messages may have been missed.  Verified
 * tokens need no invalidation: a token's signature does not change, and its
 * expiry is checked on every use.
 */
#ifndef TD_API_WORKER_CACHE_H
#define TD_API_WORKER_CACHE_H

#include "core/config.h"
#include "core/token.h"
#include "domain/td.h"
#include "store/db.h"
#include "store/redis.h"

#include <stdint.h>

/* The master calls this once before forking workers: the sibling fence
 * (worker_cache.c) lives in memory they all share. */
td_status td_wc_shared_init(void);

/* A user's fence: read it before checking or building what you then put,
 * so a change made meanwhile by a sibling worker is not cached over. */
uint64_t td_wc_fence(int64_t user_id);
/* Call after a write that makes a user's sessions or cached responses
 * stale (logout, logout-all, and every write to their data), before
 * answering: every sibling worker stops trusting its memory of them. */
void td_wc_user_changed(int64_t user_id);
/* Every response this worker and its siblings hold is stale (the admin
 * clear, besides its message on the invalidation channel for the other
 * instances). */
void td_wc_clear_all(void);

/* Revocation epochs (store/session.h).  td_wc_epoch: the newest epoch
 * this worker or a sibling knows PostgreSQL has reached; pass it to
 * td_session_check.  A worker that revokes calls td_wc_epoch_seen with the
 * revocation's epoch before it answers. */
int64_t td_wc_epoch(void);
void td_wc_epoch_seen(int64_t epoch);
/* Before a session check, at most every TD_SESSION_RECHECK_MS: read
 * PostgreSQL's epoch, forget sessions revoked since the last time (by any
 * path: another instance, the CLI, psql), and repair Redis' tombstones
 * when its mark is behind. */
void td_wc_revocation_sync(td_db *db, td_redis *rd);

void td_wc_init(const td_config *cfg);
void td_wc_shutdown(void);
/* Apply pending invalidations; never blocks.  Call before each request. */
void td_wc_poll(void);
/* 1 while this worker's memory is kept current by the channel. */
int td_wc_trusted(void);

/* Responses, keyed by scope and query ("u42:pos?limit=2"); user_id 0 for
 * data shared by everybody.  The value is "etag + body" as in Redis. */
const char *td_wc_get(const char *key, size_t *len);
void td_wc_put(const char *key, int64_t user_id, uint64_t fence, const char *value, size_t len,
               int ttl_s);

/* Sessions already checked against Redis/PostgreSQL (only while trusted). */
int td_wc_session_ok(const char *sid, int64_t user_id);
void td_wc_session_put(const char *sid, int64_t user_id, uint64_t fence, int ttl_s);

/* Tokens already verified: the exact token text → its claims, until exp. */
int td_wc_token_get(const char *token, long leeway_s, td_claims *out);
void td_wc_token_put(const char *token, const td_claims *c);

#endif
