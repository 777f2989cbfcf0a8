/*
 * lease.c - which engine fires orders: a lease in Redis with a fencing
 * token, so two engines running at once never both fill (PostgreSQL
 * refuses a fill batch carrying an older token; sql/007_fills.sql).
 *
 * One Lua script acquires and renews: while td:leader holds this engine's
 * id it extends the lease (TRADEDESK_LEADER_LEASE_MS) and answers the token it holds;
 * when the key is absent it takes the next token from td:leader:token
 * (INCR: every new lease gets a larger one) and writes "<id> <token>";
 * while another engine holds it, 0.  A new token is only used once
 * engine_fence_advance() moved PostgreSQL's fence to it, which also waits
 * for the old leader's fill batches in flight to commit.
 *
 * The lease is renewed every third of its length.  An engine that cannot
 * renew (Redis away, or it was paused) stops being leader once its lease
 * may have expired by its own clock; anything it still sends with the old
 * token is refused by the fence.  On SIGTERM it deletes the lease (only if
 * still its own) so the next engine takes over within a renew period; a
 * killed one is replaced once the lease expires.  Tokens stay above
 * PostgreSQL's fence even when Redis loses its counter: a refused token
 * raises the floor the script takes the next one from.  Runs on the relay's
 * thread with its connections (relay.c); the event loop reads the token.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"
#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ARGV: id, lease ms, floor (PostgreSQL's fence as last seen: a token at
 * or below it is useless, e.g. after Redis lost td:leader:token). */
static const char LEASE_LUA[] =
    "local floor = tonumber(ARGV[3])\n"
    "local v = redis.call('GET', KEYS[1])\n"
    "if v then\n"
    "  local id, tok = string.match(v, '^(.*) (%d+)$')\n"
    "  if id ~= ARGV[1] then return 0 end\n"
    "  if tonumber(tok) > floor then\n"
    "    redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "    return tonumber(tok)\n"
    "  end\n"
    "end\n"
    "local t = redis.call('INCR', KEYS[2])\n"
    "if t <= floor then\n"
    "  t = floor + 1\n"
    "  redis.call('SET', KEYS[2], t)\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. t, 'PX', ARGV[2])\n"
    "return t\n";

static const char RELEASE_LUA[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v and string.match(v, '^(.*) %d+$') == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

const td_db_stmt td_lease_stmts[] = {
    /* The subquery reads the statement's snapshot: the fence before this
     * call, which is the one that refused when the advance fails. */
    {"lease_check", "SELECT token FROM engine_fence WHERE name = 'monitor'", 0, 1},
    {"lease_fence",
     "SELECT engine_fence_advance($1::bigint), (SELECT token FROM engine_fence WHERE name ="
     " 'monitor')",
     1, 1},
};
const size_t td_lease_nstmts = TD_ARRAY_LEN(td_lease_stmts);

void td_lease_init(td_lease *l, int lease_ms)
{
    memset(l, 0, sizeof *l);
    l->lease_ms = lease_ms;
    l->renew_ms = lease_ms / 3;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    uint64_t nonce = 0;
    td_random_bytes(&nonce, sizeof nonce);
    snprintf(l->id, sizeof l->id, "%s/%d/%016llx", host, (int)getpid(),
             (unsigned long long)nonce);
}

static void lose(td_lease *l, const char *why)
{
    if (atomic_load(&l->token) != 0)
        td_warn("lease: no longer the leader (%s); orders fire elsewhere", why);
    atomic_store(&l->token, 0);
    l->held = 0;
}

void td_lease_step(td_lease *l, td_redis *rd, td_db *db)
{
    int64_t now = td_mono_ns() / 1000000;
    char ttl[16], floor[24];
    snprintf(ttl, sizeof ttl, "%d", l->lease_ms);
    snprintf(floor, sizeof floor, "%lld", l->floor);
    const char *argv[] = {TD_KEY_LEADER, TD_KEY_LEADER_TOKEN, l->id, ttl, floor};
    redisReply *rep = td_redis_eval(rd, LEASE_LUA, 2, 5, argv);
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        if (rep)
            freeReplyObject(rep);
        /* Redis cannot say: ours at most until the lease we last renewed
         * ends, less a margin for clocks and the time this took. */
        if (l->held && now - l->renewed_ms > l->lease_ms - l->renew_ms)
            lose(l, "Redis cannot renew the lease");
        return;
    }
    long long token = rep->integer;
    freeReplyObject(rep);
    if (token == 0) {
        if (l->held)
            lose(l, "another engine holds the lease");
        return;
    }
    l->renewed_ms = now;
    if (l->held == token) {
        /* Still ours in Redis; and still the newest in PostgreSQL?  (Not if
         * Redis lost the lease and another engine fenced past us.) */
        td_status cst;
        PGresult *c = td_db_exec(db, "lease_check", 0, NULL, &cst);
        long long fence = c && PQntuples(c) == 1 ? atoll(PQgetvalue(c, 0, 0)) : 0;
        if (c)
            PQclear(c);
        if (fence > token) {
            l->floor = fence;
            lose(l, "PostgreSQL's fence moved past this engine's token");
        }
        return;
    }
    /* A new lease: fence PostgreSQL first. */
    char t[24];
    snprintf(t, sizeof t, "%lld", token);
    const char *p[] = {t};
    td_status st;
    PGresult *res = td_db_exec(db, "lease_fence", 1, p, &st);
    if (!res)
        return; /* PostgreSQL away: try again next step, the lease is ours meanwhile */
    int moved = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    long long fence = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 1)) : 0;
    PQclear(res);
    if (!moved) {
        /* Redis' counter is behind PostgreSQL's fence (Redis lost it, or
         * another engine leads with a newer one): the next step takes a
         * token above the fence. */
        td_warn("lease: token %lld is not above PostgreSQL's fence %lld; asking for a newer one",
                token, fence);
        if (fence > l->floor)
            l->floor = fence;
        return;
    }
    l->held = token;
    atomic_store(&l->token, token);
    l->acquired++;
    td_info("lease: leading with fencing token %lld", token);
}

void td_lease_release(td_lease *l, td_redis *rd)
{
    if (!l->held)
        return;
    atomic_store(&l->token, 0);
    const char *argv[] = {TD_KEY_LEADER, l->id};
    redisReply *rep = td_redis_eval(rd, RELEASE_LUA, 1, 2, argv);
    if (rep)
        freeReplyObject(rep);
    l->held = 0;
    td_info("lease: released");
}
