/*
 * session.h - login sessions: PostgreSQL is the record, Redis the cache.
 *
 * A session id (the JWT `sid`) is valid while its sessions row exists, is
 * not revoked and has not expired, and its user is not disabled.  Checks
 * read Redis first and fall back to PostgreSQL, so a Redis outage or flush
 * logs nobody out, and nothing Redis holds can undo a revocation:
 *
 * - Every revocation, by any path (API, CLI, psql), gets an epoch in
 *   PostgreSQL (sql/002_revocation.sql).  Redis' td:rev_epoch is the epoch
 *   up to which Redis holds every tombstone ("-").  A positive entry is
 *   believed only while that mark is at least the newest epoch the caller
 *   knows of; otherwise PostgreSQL answers.  So a tombstone write that
 *   failed, a trigger that revoked behind the API's back, a flush or a
 *   restore from an old snapshot all send checks to PostgreSQL until
 *   td_session_sync has put the missing tombstones back.
 * - Positive entries are written with NX, tombstones overwrite: a worker
 *   that read PostgreSQL just before a revocation cannot cover its
 *   tombstone with a late positive entry.
 * - Positive entries live at most TD_SESSION_CACHE_S.
 */
#ifndef TD_SESSION_H
#define TD_SESSION_H

#include "store/db.h"
#include "store/redis.h"
#include "domain/td.h"

#define TD_SESSION_CACHE_S 60
#define TD_SID_LEN 32
/* How often a process reads PostgreSQL's revocation epoch: the bound on
 * how long another instance's revocation, or one made by the CLI or psql,
 * can go unseen whatever Redis does. */
#define TD_SESSION_RECHECK_MS 1000

/* SQL the session module needs; add to the process's statement table. */
extern const td_db_stmt td_session_stmts[];
extern const size_t td_session_nstmts;

td_status td_session_create(td_db *db, td_redis *rd, int64_t user_id, int ttl_s,
                            const char *client_addr, const char *user_agent,
                            char sid_out[TD_SID_LEN + 1]);

/* known_epoch: the newest revocation epoch the caller knows PostgreSQL has
 * reached (0 when it knows none).  TD_OK, TD_EDENIED (unknown, revoked,
 * expired, disabled or another user's), or TD_EUNAVAIL when neither Redis
 * nor PostgreSQL could answer. */
td_status td_session_check(td_db *db, td_redis *rd, const char *sid, int64_t user_id,
                           int64_t known_epoch);

/* What Redis' answer alone says (pure, for the check above): value is the
 * td:sess entry (NULL: none or unreadable), mark td:rev_epoch ("0" when
 * absent, NULL when unreadable). */
typedef enum td_session_verdict {
    TD_SESSION_VALID,  /* a positive entry for this user, and Redis is current */
    TD_SESSION_DENIED, /* a tombstone (always believed), or another user's session */
    TD_SESSION_ASK_DB, /* no entry, or Redis may be missing a tombstone */
} td_session_verdict;
td_session_verdict td_session_redis_verdict(const char *value, const char *mark,
                                            int64_t known_epoch, int64_t user_id);

/* The same from the replies to GET td:sess:<sid> and GET td:rev_epoch
 * (or an MGET's two elements); NULL: no reply. */
td_session_verdict td_session_replies_verdict(const redisReply *entry, const redisReply *mark,
                                              int64_t known_epoch, int64_t user_id);

/* The non-blocking face of td_session_check (the stream's): ask Redis
 * "MGET td:sess:<sid> td:rev_epoch" (TD_KEY_SESSION, TD_KEY_REV_EPOCH) and
 * judge with td_session_replies_verdict; on TD_SESSION_ASK_DB run
 * "session_lookup" (sid) and judge its result with
 * td_session_lookup_verdict, which says what to cache: write it with
 * td_session_cache_fmt(c), sid, c->value, c->ttl_s when c->ttl_s > 0. */
typedef struct td_session_cache {
    char value[24];
    int ttl_s; /* 0: nothing to write */
    int nx;
} td_session_cache;
td_status td_session_lookup_verdict(const PGresult *r, int64_t user_id, td_session_cache *out);
const char *td_session_cache_fmt(const td_session_cache *c);

/* Sessions revoked by one statement: all share one epoch (0: none was
 * live).  Arrays are malloc'd; td_revoked_free releases them. */
typedef struct td_revoked {
    int64_t epoch;
    int n;
    char (*sids)[TD_SID_LEN + 1];
    int *ttls; /* seconds the session had left: its tombstone's TTL */
} td_revoked;
void td_revoked_free(td_revoked *rv);

/* Revoke one session of user_id (sid) or all of them (sid NULL) in
 * PostgreSQL.  Only PostgreSQL: once this returns TD_OK the revocation
 * holds whatever Redis does; tell the process's siblings (the epoch) and
 * then call td_session_announce. */
td_status td_session_revoke(td_db *db, const char *sid, int64_t user_id, td_revoked *out);

/* Write rv's tombstones (checking every reply), raise td:rev_epoch to
 * rv->epoch when Redis held every earlier one, and publish the kind/id
 * invalidation.  TD_OK when the tombstones are in Redis; TD_EUNAVAIL when
 * not (td_session_sync repairs them; the revocation stands either way). */
td_status td_session_announce(td_redis *rd, const td_revoked *rv, char kind, const char *id);

/* One process's view of the revocation epochs, for td_session_sync. */
typedef struct td_rev_sync {
    int64_t pg;      /* newest epoch read from PostgreSQL (0 before the first read) */
    int64_t applied; /* epoch up to which drop() has been called (-1: never synced) */
} td_rev_sync;
#define TD_REV_SYNC_INIT                                                                           \
    {                                                                                              \
        0, -1                                                                                      \
    }

/* Called for each session revoked since the last sync (sid), or once with
 * sid NULL when too many were revoked to list: drop whatever memory of
 * sessions the caller keeps. */
typedef void (*td_rev_drop_fn)(const char *sid, void *arg);

/* Read PostgreSQL's epoch into s->pg, tell drop() about revocations since
 * s->applied, and when Redis' mark is behind, write the missing
 * tombstones (a bounded batch per call) and raise the mark.  Call at most
 * every TD_SESSION_RECHECK_MS.  TD_EUNAVAIL when PostgreSQL could not be
 * read (s is unchanged). */
td_status td_session_sync(td_db *db, td_redis *rd, td_rev_sync *s, td_rev_drop_fn drop, void *arg);

/* td_session_sync's rule in steps, for a caller that reads PostgreSQL
 * without blocking: run "revocation_epoch", take td_session_epoch_of its
 * result, then td_session_sync_step: TD_REV_ALL, call drop(NULL);
 * TD_REV_ROWS, run "revocations_between" (s->applied, s->pg), drop each
 * of td_session_revoked_rows' sids and set s->applied = s->pg (on failure
 * leave s->applied: the next sync asks again).  Redis' tombstones are not
 * repaired this way (td_session_sync's callers, the API's workers, do). */
typedef enum td_rev_step { TD_REV_NONE, TD_REV_ALL, TD_REV_ROWS } td_rev_step;
int64_t td_session_epoch_of(const PGresult *r);
td_rev_step td_session_sync_step(td_rev_sync *s, int64_t pg);
td_status td_session_revoked_rows(const PGresult *r, td_revoked *out);

#endif
