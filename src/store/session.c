/*
 * session.c - session create/check/revoke; see session.h for the model.
 *
 * Redis keys: td:sess:<sid> (TD_KEY_SESSION, store/keys.h) = "<user_id>"
 * (valid) or "-" (revoked), with a TTL.  Redis failures are logged by the
 * redis layer and otherwise ignored: PostgreSQL decides.
 */
#include "store/session.h"
#include "store/cachegen.h"
#include "store/keys.h"
#include "core/log.h"
#include "core/random.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const td_db_stmt td_session_stmts[] = {
    {"session_insert",
     "INSERT INTO sessions (id, user_id, expires_at, client_addr, user_agent) "
     "VALUES ($1, $2, now() + make_interval(secs => $3::int), $4, $5)",
     5, 0},
    {"session_lookup",
     "SELECT user_id, revoked_at IS NULL AND expires_at > now(), "
     "GREATEST(0, EXTRACT(EPOCH FROM expires_at - now()))::int FROM sessions WHERE id = $1",
     1, 1},
    {"session_revoke",
     "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
     2, 0},
    {"session_revoke_all",
     "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL "
     "AND expires_at > now() RETURNING id, GREATEST(1, EXTRACT(EPOCH FROM expires_at - "
     "now()))::int",
     1, 0},
};
const size_t td_session_nstmts = TD_ARRAY_LEN(td_session_stmts);

static void cache_set(td_redis *rd, const char *sid, const char *value, int ttl_s)
{
    if (ttl_s <= 0)
        return;
    redisReply *rep = td_redis_cmd(rd, "SET " TD_KEY_SESSION " %s EX %d", sid, value, ttl_s);
    if (rep)
        freeReplyObject(rep);
}

td_status td_session_create(td_db *db, td_redis *rd, int64_t user_id, int ttl_s,
                            const char *client_addr, const char *user_agent,
                            char sid_out[TD_SID_LEN + 1])
{
    char uid[24], ttl[16];
    td_random_hex(sid_out, TD_SID_LEN / 2);
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    const char *p[] = {sid_out, uid, ttl, client_addr, user_agent};
    td_status st;
    PGresult *r = td_db_exec(db, "session_insert", 5, p, &st);
    if (!r)
        return st;
    PQclear(r);
    cache_set(rd, sid_out, uid, ttl_s < TD_SESSION_CACHE_S ? ttl_s : TD_SESSION_CACHE_S);
    return TD_OK;
}

td_status td_session_check(td_db *db, td_redis *rd, const char *sid, int64_t user_id)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);

    redisReply *rep = td_redis_cmd(rd, "GET " TD_KEY_SESSION, sid);
    if (rep && rep->type == REDIS_REPLY_STRING) {
        int match = strcmp(rep->str, uid) == 0;
        freeReplyObject(rep);
        return match ? TD_OK : TD_EDENIED;
    }
    if (rep)
        freeReplyObject(rep);

    const char *p[] = {sid};
    td_status st;
    PGresult *r = td_db_exec(db, "session_lookup", 1, p, &st);
    if (!r)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return TD_EDENIED;
    }
    char owner[24];
    snprintf(owner, sizeof owner, "%s", PQgetvalue(r, 0, 0));
    int valid = PQgetvalue(r, 0, 1)[0] == 't';
    int remaining = atoi(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (!valid) {
        cache_set(rd, sid, "-", remaining > 0 ? remaining : TD_SESSION_CACHE_S);
        return TD_EDENIED;
    }
    cache_set(rd, sid, owner, remaining < TD_SESSION_CACHE_S ? remaining : TD_SESSION_CACHE_S);
    return strcmp(owner, uid) == 0 ? TD_OK : TD_EDENIED;
}

td_status td_session_revoke(td_db *db, td_redis *rd, const char *sid, int64_t user_id)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    const char *p[] = {sid, uid};
    td_status st;
    PGresult *r = td_db_exec(db, "session_revoke", 2, p, &st);
    if (!r)
        return st;
    PQclear(r);
    /* Mark rather than delete, so a stale copy cannot be refilled from a
     * replica; the marker outlives any positive cache entry. */
    cache_set(rd, sid, "-", TD_SESSION_CACHE_S * 2);
    td_inval_publish(rd, TD_INVAL_SESSION, sid); /* workers drop it from memory */
    return TD_OK;
}

td_status td_session_revoke_all(td_db *db, td_redis *rd, int64_t user_id, int *count)
{
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    const char *p[] = {uid};
    td_status st;
    PGresult *r = td_db_exec(db, "session_revoke_all", 1, p, &st);
    if (!r)
        return st;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        td_redis_append(rd, "SET " TD_KEY_SESSION " - EX %d", PQgetvalue(r, i, 0),
                        TD_SESSION_CACHE_S * 2);
    if (n > 0) {
        redisReply **reps = calloc((size_t)n, sizeof *reps);
        if (reps && td_redis_flush(rd, reps, n) == TD_OK)
            for (int i = 0; i < n; i++)
                freeReplyObject(reps[i]);
        free(reps);
    }
    PQclear(r);
    td_inval_publish(rd, TD_INVAL_SESSIONS, uid);
    *count = n;
    return TD_OK;
}
