/*
 * session.c - session create/check/revoke and the repair of Redis'
 * tombstones; see session.h for the model.
 *
 * Redis keys (store/keys.h): td:sess:<sid> = "<user_id>" (valid, written
 * NX) or "-" (revoked, overwrites), with a TTL; td:rev_epoch, the epoch up
 * to which every tombstone is in Redis.  Redis failures never decide
 * anything here: a check that cannot trust Redis asks PostgreSQL, and a
 * revocation is complete once PostgreSQL has it.
 */
#include "store/session.h"
#include "store/cachegen.h"
#include "store/keys.h"
#include "core/log.h"
#include "core/random.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const td_db_stmt td_session_stmts[] = {
    {"session_insert",
     "INSERT INTO sessions (id, user_id, expires_at, client_addr, user_agent) "
     "VALUES ($1, $2, now() + make_interval(secs => $3::int), $4, $5)",
     5, 0},
    /* The user's disabled flag too: the trigger revokes a disabled user's
     * sessions, and this keeps them refused should it ever be bypassed. */
    {"session_lookup",
     "SELECT s.user_id, s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled, "
     "GREATEST(0, EXTRACT(EPOCH FROM s.expires_at - now()))::int "
     "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
     1, 1},
    /* sql/002_revocation.sql: the epoch and every session it revoked. */
    {"session_revoke", "SELECT rev_epoch, rev_session_id, rev_ttl_s FROM revoke_sessions($1, $2)",
     2, 0},
    {"revocation_epoch", "SELECT epoch FROM revocation_epoch", 0, 1},
    {"revocations_between",
     "SELECT session_id, GREATEST(0, CEIL(EXTRACT(EPOCH FROM expires_at - now())))::int "
     "FROM session_revocations WHERE epoch > $1 AND epoch <= $2 ORDER BY epoch, session_id",
     2, 1},
};
const size_t td_session_nstmts = TD_ARRAY_LEN(td_session_stmts);

/* Epochs one sync reads at most: a Redis flushed after a busy day is
 * repaired over several calls rather than in one long request. */
#define SYNC_EPOCHS 500
/* Tombstones per EVAL. */
#define TOMBSTONE_BATCH 100

/* KEYS[1] the mark, KEYS[2..] session keys; ARGV[1] the mark the caller
 * started from, ARGV[2] the epoch its tombstones complete, ARGV[3..] TTLs.
 * The mark rises only when it still covers ARGV[1] (a flush or restore
 * meanwhile lowered it: then earlier tombstones may be gone too), and never
 * falls.  A failed SET (Redis refusing writes) aborts with an error reply
 * before the mark moves. */
static const char TOMBSTONE_LUA[] =
    "for i = 2, #KEYS do redis.call('SET', KEYS[i], '-', 'EX', ARGV[i + 1]) end "
    "local m = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "local from, to = tonumber(ARGV[1]), tonumber(ARGV[2]) "
    "if m >= from and to > m then redis.call('SET', KEYS[1], ARGV[2]) return to end "
    "return m";

static void cache_set(td_redis *rd, const char *sid, const td_session_cache *c)
{
    if (c->ttl_s <= 0)
        return;
    redisReply *rep = td_redis_cmd(rd, td_session_cache_fmt(c), sid, c->value, c->ttl_s);
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
    td_session_cache c = {.ttl_s = ttl_s < TD_SESSION_CACHE_S ? ttl_s : TD_SESSION_CACHE_S, .nx = 1};
    snprintf(c.value, sizeof c.value, "%s", uid);
    cache_set(rd, sid_out, &c);
    return TD_OK;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return 0;
    *out = v;
    return 1;
}

td_session_verdict td_session_redis_verdict(const char *value, const char *mark,
                                            int64_t known_epoch, int64_t user_id)
{
    if (!value)
        return TD_SESSION_ASK_DB;
    if (strcmp(value, "-") == 0)
        return TD_SESSION_DENIED; /* wrong only after an un-revoke by hand: fails closed */
    int64_t m, owner;
    if (!mark || !parse_i64(mark, &m) || m < known_epoch)
        return TD_SESSION_ASK_DB; /* a tombstone newer than the mark may be missing */
    if (!parse_i64(value, &owner))
        return TD_SESSION_ASK_DB;
    return owner == user_id ? TD_SESSION_VALID : TD_SESSION_DENIED;
}

/* The session entry and the mark in one round trip; 0 when Redis did not
 * answer both (rep[] then holds nothing). */
static int read_entry_and_mark(td_redis *rd, const char *sid, redisReply *rep[2])
{
    rep[0] = rep[1] = NULL;
    if (!rd)
        return 0;
    if (td_redis_append(rd, "GET " TD_KEY_SESSION, sid) != TD_OK ||
        td_redis_append(rd, "GET " TD_KEY_REV_EPOCH) != TD_OK) {
        td_redis_flush(rd, rep, 2); /* resets the connection's pipeline */
        return 0;
    }
    return td_redis_flush(rd, rep, 2) == TD_OK;
}

td_session_verdict td_session_replies_verdict(const redisReply *entry, const redisReply *mark,
                                              int64_t known_epoch, int64_t user_id)
{
    const char *value = entry && entry->type == REDIS_REPLY_STRING ? entry->str : NULL;
    const char *m = !mark                              ? NULL
                    : mark->type == REDIS_REPLY_STRING ? mark->str
                    : mark->type == REDIS_REPLY_NIL    ? "0"
                                                       : NULL;
    return td_session_redis_verdict(value, m, known_epoch, user_id);
}

td_status td_session_lookup_verdict(const PGresult *r, int64_t user_id, td_session_cache *out)
{
    out->ttl_s = 0;
    if (PQntuples(r) == 0)
        return TD_EDENIED;
    int64_t owner = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    int valid = PQgetvalue(r, 0, 1)[0] == 't';
    int remaining = atoi(PQgetvalue(r, 0, 2));
    if (!valid) {
        snprintf(out->value, sizeof out->value, "-");
        out->ttl_s = remaining > 0 ? remaining : TD_SESSION_CACHE_S;
        out->nx = 0;
        return TD_EDENIED;
    }
    /* NX: a tombstone written since our read wins. */
    snprintf(out->value, sizeof out->value, "%" PRId64, owner);
    out->ttl_s = remaining < TD_SESSION_CACHE_S ? remaining : TD_SESSION_CACHE_S;
    out->nx = 1;
    return owner == user_id ? TD_OK : TD_EDENIED;
}

const char *td_session_cache_fmt(const td_session_cache *c)
{
    return c->nx ? "SET " TD_KEY_SESSION " %s EX %d NX" : "SET " TD_KEY_SESSION " %s EX %d";
}

td_status td_session_check(td_db *db, td_redis *rd, const char *sid, int64_t user_id,
                           int64_t known_epoch)
{
    redisReply *rep[2];
    if (read_entry_and_mark(rd, sid, rep)) {
        td_session_verdict v = td_session_replies_verdict(rep[0], rep[1], known_epoch, user_id);
        freeReplyObject(rep[0]);
        freeReplyObject(rep[1]);
        if (v == TD_SESSION_VALID)
            return TD_OK;
        if (v == TD_SESSION_DENIED)
            return TD_EDENIED;
    }

    const char *p[] = {sid};
    td_status st;
    PGresult *r = td_db_exec(db, "session_lookup", 1, p, &st);
    if (!r)
        return st;
    td_session_cache c;
    st = td_session_lookup_verdict(r, user_id, &c);
    PQclear(r);
    cache_set(rd, sid, &c);
    return st;
}

void td_revoked_free(td_revoked *rv)
{
    free(rv->sids);
    free(rv->ttls);
    rv->sids = NULL;
    rv->ttls = NULL;
    rv->n = 0;
}

/* Copy a result's rows (sid in column sid_col, TTL in the next) into rv. */
static td_status revoked_from(const PGresult *r, int sid_col, td_revoked *rv)
{
    int n = PQntuples(r);
    rv->n = 0;
    if (n == 0)
        return TD_OK;
    rv->sids = malloc((size_t)n * sizeof *rv->sids);
    rv->ttls = malloc((size_t)n * sizeof *rv->ttls);
    if (!rv->sids || !rv->ttls) {
        td_revoked_free(rv);
        return TD_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        snprintf(rv->sids[i], sizeof rv->sids[i], "%s", PQgetvalue(r, i, sid_col));
        rv->ttls[i] = atoi(PQgetvalue(r, i, sid_col + 1));
    }
    rv->n = n;
    return TD_OK;
}

td_status td_session_revoke(td_db *db, const char *sid, int64_t user_id, td_revoked *out)
{
    memset(out, 0, sizeof *out);
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, user_id);
    const char *p[] = {uid, sid}; /* sid NULL: every session of the user */
    td_status st;
    PGresult *r = td_db_exec(db, "session_revoke", 2, p, &st);
    if (!r)
        return st;
    if (PQntuples(r) > 0)
        out->epoch = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    /* Out of memory here still leaves the revocation done in PostgreSQL;
     * the tombstones then come from td_session_sync. */
    if (revoked_from(r, 1, out) != TD_OK)
        td_warn("session: out of memory listing revoked sessions");
    PQclear(r);
    return TD_OK;
}

/* Tombstones for rv's sessions, then the mark from `from` to `to` (both -1:
 * leave it).  TD_OK only when Redis took every write. */
static td_status tombstones(td_redis *rd, const td_revoked *rv, int64_t from, int64_t to)
{
    if (!rd)
        return TD_EUNAVAIL;
    int i = 0;
    do {
        int n = rv->n - i < TOMBSTONE_BATCH ? rv->n - i : TOMBSTONE_BATCH;
        int last = i + n >= rv->n;
        const char *argv[4 + 2 * TOMBSTONE_BATCH + 2];
        char keys[TOMBSTONE_BATCH][TD_SID_LEN + 16], ttls[TOMBSTONE_BATCH][16], nk[16], a[24],
            b[24];
        int argc = 0;
        argv[argc++] = "EVAL";
        argv[argc++] = TOMBSTONE_LUA;
        snprintf(nk, sizeof nk, "%d", n + 1);
        argv[argc++] = nk;
        argv[argc++] = TD_KEY_REV_EPOCH;
        for (int k = 0; k < n; k++) {
            snprintf(keys[k], sizeof keys[k], TD_KEY_SESSION, rv->sids[i + k]);
            argv[argc++] = keys[k];
        }
        snprintf(a, sizeof a, "%" PRId64, last ? from : -1);
        snprintf(b, sizeof b, "%" PRId64, last ? to : -1);
        argv[argc++] = a;
        argv[argc++] = b;
        for (int k = 0; k < n; k++) {
            int ttl = rv->ttls[i + k] > 0 ? rv->ttls[i + k] : 1;
            snprintf(ttls[k], sizeof ttls[k], "%d", ttl);
            argv[argc++] = ttls[k];
        }
        redisReply *rep = td_redis_argv(rd, argc, argv, NULL);
        int ok = rep && rep->type == REDIS_REPLY_INTEGER;
        if (rep && !ok)
            td_warn("session: Redis refused tombstones: %s",
                    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        if (rep)
            freeReplyObject(rep);
        if (!ok)
            return TD_EUNAVAIL;
        i += n;
    } while (i < rv->n);
    return TD_OK;
}

td_status td_session_announce(td_redis *rd, const td_revoked *rv, char kind, const char *id)
{
    td_status st = TD_OK;
    if (rv->n > 0 && rv->epoch > 0) {
        /* Epochs have no gaps (sql/002_revocation.sql), so a mark at
         * epoch - 1 plus these tombstones covers epoch. */
        st = tombstones(rd, rv, rv->epoch - 1, rv->epoch);
        if (st != TD_OK)
            td_warn("session: revocation epoch %" PRId64 " is in PostgreSQL but not in Redis; "
                    "checks bypass Redis until it is repaired",
                    rv->epoch);
    }
    if (rd)
        td_inval_publish(rd, kind, id); /* workers drop it from memory */
    return st;
}

static td_status rows_between(td_db *db, int64_t from, int64_t to, td_revoked *out)
{
    memset(out, 0, sizeof *out);
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRId64, from);
    snprintf(b, sizeof b, "%" PRId64, to);
    const char *p[] = {a, b};
    td_status st;
    PGresult *r = td_db_exec(db, "revocations_between", 2, p, &st);
    if (!r)
        return st;
    st = td_session_revoked_rows(r, out);
    PQclear(r);
    return st;
}

/* Redis' mark, or -1 when Redis cannot be read. */
static int64_t redis_mark(td_redis *rd)
{
    redisReply *rep = rd ? td_redis_cmd(rd, "GET " TD_KEY_REV_EPOCH) : NULL;
    int64_t m = -1;
    if (rep && rep->type == REDIS_REPLY_NIL)
        m = 0;
    else if (rep && rep->type == REDIS_REPLY_STRING && !parse_i64(rep->str, &m))
        m = 0; /* garbage: repair from the start */
    if (rep)
        freeReplyObject(rep);
    return m;
}

td_rev_step td_session_sync_step(td_rev_sync *s, int64_t pg)
{
    if (pg > s->pg)
        s->pg = pg;
    if (s->applied < 0) {
        s->applied = pg; /* first sync: nothing remembered yet */
        return TD_REV_NONE;
    }
    if (s->applied >= pg)
        return TD_REV_NONE;
    if (pg - s->applied > SYNC_EPOCHS) {
        s->applied = pg;
        return TD_REV_ALL;
    }
    return TD_REV_ROWS;
}

int64_t td_session_epoch_of(const PGresult *r)
{
    return PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
}

td_status td_session_revoked_rows(const PGresult *r, td_revoked *out)
{
    memset(out, 0, sizeof *out);
    return revoked_from(r, 0, out);
}

td_status td_session_sync(td_db *db, td_redis *rd, td_rev_sync *s, td_rev_drop_fn drop, void *arg)
{
    td_status st;
    PGresult *r = td_db_exec(db, "revocation_epoch", 0, NULL, &st);
    if (!r)
        return st;
    int64_t pg = td_session_epoch_of(r);
    PQclear(r);

    /* The caller's memory: sessions revoked since it last looked. */
    td_revoked seen = {0};
    int64_t seen_from = -1;
    td_rev_step step = td_session_sync_step(s, pg);
    if (step == TD_REV_ALL) {
        drop(NULL, arg);
    } else if (step == TD_REV_ROWS) {
        if ((st = rows_between(db, s->applied, pg, &seen)) != TD_OK)
            return st;
        for (int i = 0; i < seen.n; i++)
            drop(seen.sids[i], arg);
        seen_from = s->applied;
        s->applied = pg;
    }

    /* Redis: put back what its mark says it lacks. */
    int64_t mark = redis_mark(rd);
    if (mark < 0 || mark >= pg) {
        td_revoked_free(&seen);
        return TD_OK;
    }
    int64_t to = pg - mark > SYNC_EPOCHS ? mark + SYNC_EPOCHS : pg;
    td_revoked fix = {0};
    if (seen_from == mark && to == pg) {
        fix = seen; /* the same rows: read once */
        seen.sids = NULL;
        seen.ttls = NULL;
    } else if ((st = rows_between(db, mark, to, &fix)) != TD_OK) {
        td_revoked_free(&seen);
        return TD_OK; /* Redis stays distrusted; the next sync tries again */
    }
    td_revoked_free(&seen);
    if (tombstones(rd, &fix, mark, to) == TD_OK)
        td_info("session: Redis was missing revocations %" PRId64 "..%" PRId64
                "; %d tombstones written",
                mark + 1, to, fix.n);
    td_revoked_free(&fix);
    return TD_OK;
}
