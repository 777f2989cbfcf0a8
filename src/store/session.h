/*
 * session.h - login sessions: PostgreSQL is the record, Redis the cache.
 *
 * A session id (the JWT `sid`) is valid while its sessions row exists, is not
 * revoked and has not expired.  Checks read Redis first and fall back to
 * PostgreSQL on a miss or when Redis is down, so a Redis outage or flush logs
 * nobody out.  Positive cache entries live at most TD_SESSION_CACHE_S, which
 * bounds how long a revocation made while Redis was unreachable can be missed.
 */
#ifndef TD_SESSION_H
#define TD_SESSION_H

#include "store/db.h"
#include "store/redis.h"
#include "domain/td.h"

#define TD_SESSION_CACHE_S 60
#define TD_SID_LEN 32

/* SQL the session module needs; add to the process's statement table. */
extern const td_db_stmt td_session_stmts[];
extern const size_t td_session_nstmts;

td_status td_session_create(td_db *db, td_redis *rd, int64_t user_id, int ttl_s,
                            const char *client_addr, const char *user_agent,
                            char sid_out[TD_SID_LEN + 1]);

/* TD_OK, TD_EDENIED (unknown, revoked, expired or another user's), or
 * TD_EUNAVAIL when neither Redis nor PostgreSQL could answer. */
td_status td_session_check(td_db *db, td_redis *rd, const char *sid, int64_t user_id);

td_status td_session_revoke(td_db *db, td_redis *rd, const char *sid, int64_t user_id);
td_status td_session_revoke_all(td_db *db, td_redis *rd, int64_t user_id, int *count);

#endif
