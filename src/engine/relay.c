/*
 * relay.c - the outbox relay: rows fill_orders() wrote to `outbox` in the
 * fill's own transaction (sql/007_fills.sql) go to Redis, then are marked
 * published.  A fill goes to its user's Stream (td:fills:<user>, entry id
 * "<fill id>-0", for replay after a reconnect) and to the td:fills channel
 * (live delivery to every stream instance), and the user's cached API
 * responses are made stale (their orders, positions and cash changed).
 *
 * Exactly once downstream, whatever dies when: a row is marked only after
 * Redis confirmed it, so a crash before the mark sends it again; the
 * Stream refuses an entry id it already holds ("equal or smaller than the
 * target stream top item"), which the relay counts as already delivered;
 * the channel may see a message twice after such a crash, and subscribers
 * drop a fill id they have seen.  One user's fills are numbered, committed
 * and relayed in order (fill_orders holds the user's account row while it
 * numbers them), so a smaller id is always a duplicate, never a late fill.
 *
 * The same thread keeps the engine's leader lease (lease.c).
 *
 * A thread of its own with its own PostgreSQL (blocking face) and Redis
 * connections: it shares nothing with the event loop but its counters, so
 * a slow PostgreSQL or Redis never stalls market data, and market data
 * never delays a fill's delivery.  When either is down it retries every
 * half second; rows wait in PostgreSQL meanwhile.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/cachegen.h"
#include "store/keys.h"
#include "store/pgarray.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 500
#define BATCH_S "500"
#define IDLE_MS 20    /* nothing to relay: look again this soon */
#define RETRY_MS 500  /* PostgreSQL or Redis failed */
#define STREAM_MAX 10000 /* entries kept per user (approximately) */
#define ROW_CMDS 4        /* XADD, PUBLISH, and the user's cache invalidation (2) */

static const td_db_stmt RELAY_STMTS[] = {
    {"relay_batch",
     "SELECT id, topic, key, payload->>'id', payload::text FROM outbox WHERE published_at IS NULL"
     " ORDER BY id LIMIT " BATCH_S,
     0, 1},
    {"relay_mark",
     "UPDATE outbox SET published_at = now() WHERE id = ANY ($1::bigint[])"
     " AND published_at IS NULL",
     1, 1},
};

struct td_relay {
    pthread_t thread;
    atomic_int stop;
    atomic_ullong published, duplicates, failures;
    td_db *db;
    td_redis *redis;
    td_lease lease;
};

static void nap(td_relay *r, int ms)
{
    for (int left = ms; left > 0 && !atomic_load(&r->stop); left -= 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Queue one row's commands; how many were queued, -1 for a row nothing
 * knows how to deliver. */
static int queue_row(td_relay *r, PGresult *res, int i)
{
    const char *topic = PQgetvalue(res, i, 1), *user = PQgetvalue(res, i, 2),
               *fill = PQgetvalue(res, i, 3), *payload = PQgetvalue(res, i, 4);
    size_t plen = (size_t)PQgetlength(res, i, 4);
    if (strcmp(topic, "fills") != 0 || !*user || !*fill)
        return -1;
    int n = 0;
    n += td_redis_append(r->redis, "XADD " TD_KEY_FILLS " MAXLEN ~ %d %s-0 fill %b", user,
                         STREAM_MAX, fill, payload, plen) == TD_OK;
    /* "<user id> <fill>" as one argument: the stream routes by the id. */
    size_t ulen = strlen(user);
    char *msg = malloc(ulen + 1 + plen);
    if (msg) {
        memcpy(msg, user, ulen);
        msg[ulen] = ' ';
        memcpy(msg + ulen + 1, payload, plen);
        n += td_redis_append(r->redis, "PUBLISH " TD_CHANNEL_FILLS " %b", msg, ulen + 1 + plen) ==
             TD_OK;
        free(msg);
    }
    /* The fill changed the user's orders, positions and cash: their cached
     * responses are stale now (store/cachegen). */
    n += td_cache_invalidate_user_append(r->redis, strtoll(user, NULL, 10));
    return n;
}

static int duplicate_entry(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "equal or smaller");
}

/* One batch: 1 when there was work, 0 when idle, -1 on failure. */
static int relay_once(td_relay *r)
{
    td_status st;
    PGresult *res = td_db_exec(r->db, "relay_batch", 0, NULL, &st);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    if (rows == 0) {
        PQclear(res);
        return 0;
    }
    int cmds[BATCH], queued = 0, short_queued = 0;
    for (int i = 0; i < rows; i++) {
        cmds[i] = queue_row(r, res, i);
        if (cmds[i] < 0)
            td_error("relay: outbox row %s has topic '%s', which nothing delivers; marked sent",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        else
            queued += cmds[i];
        short_queued |= cmds[i] >= 0 && cmds[i] < ROW_CMDS;
    }
    redisReply *rep[ROW_CMDS * BATCH];
    if (queued && td_redis_flush(r->redis, rep, queued) != TD_OK) {
        PQclear(res);
        return -1;
    }
    if (short_queued) { /* Redis went away while queueing: all again later */
        for (int i = 0; i < queued; i++)
            freeReplyObject(rep[i]);
        PQclear(res);
        return -1;
    }
    /* Mark the rows up to the first one Redis did not take. */
    td_arena a;
    td_arena_init(&a, 16 * 1024);
    td_pg_cols ids;
    td_pg_cols_init(&ids, &a, 1);
    int k = 0, ok = 1, nmark = 0;
    for (int i = 0; i < rows; i++) {
        for (int c = 0; c < (cmds[i] > 0 ? cmds[i] : 0); c++, k++) {
            redisReply *x = rep[k];
            if (x->type == REDIS_REPLY_ERROR) {
                if (c == 0 && duplicate_entry(x))
                    atomic_fetch_add(&r->duplicates, 1);
                else {
                    if (ok)
                        td_warn("relay: Redis refused outbox row %s: %.200s",
                                PQgetvalue(res, i, 0), x->str);
                    ok = 0;
                }
            }
        }
        if (!ok)
            break;
        td_pg_col_add(&ids, 0, PQgetvalue(res, i, 0));
        nmark++;
        if (cmds[i] > 0)
            atomic_fetch_add(&r->published, 1);
    }
    for (int i = 0; i < queued; i++)
        freeReplyObject(rep[i]);
    PQclear(res);
    int marked = 0;
    if (nmark) {
        const char *p[1];
        td_pg_cols_params(&ids, p);
        PGresult *m = td_db_exec(r->db, "relay_mark", 1, p, &st);
        if (m) {
            marked = 1;
            PQclear(m);
        }
    }
    td_arena_free(&a);
    return ok && marked ? 1 : -1;
}

static void *relay_main(void *arg)
{
    td_relay *r = arg;
    int64_t lease_due = 0;
    while (!atomic_load(&r->stop)) {
        int64_t now = td_mono_ns() / 1000000;
        if (now >= lease_due) {
            td_lease_step(&r->lease, r->redis, r->db);
            lease_due = now + r->lease.renew_ms;
        }
        int got = relay_once(r);
        if (got < 0) {
            atomic_fetch_add(&r->failures, 1);
            nap(r, RETRY_MS);
        } else if (got == 0) {
            nap(r, IDLE_MS);
        }
    }
    td_lease_release(&r->lease, r->redis);
    return NULL;
}

td_relay *td_relay_start(const td_config *cfg)
{
    td_relay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    const td_db_stmts parts[] = {{RELAY_STMTS, TD_ARRAY_LEN(RELAY_STMTS)},
                                 {td_lease_stmts, td_lease_nstmts}};
    td_lease_init(&r->lease, cfg->leader_lease_ms);
    td_db_opts o = {.conninfo = cfg->database_url,
                    .application_name = "tradedesk-engine relay",
                    .statement_timeout_ms = cfg->db_timeout_ms};
    r->db = td_db_open(&o, parts, 2);
    r->redis = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    if (!r->db || !r->redis || pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        td_db_close(r->db);
        td_redis_close(r->redis);
        free(r);
        return NULL;
    }
    return r;
}

void td_relay_stop(td_relay *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    td_db_close(r->db);
    td_redis_close(r->redis);
    free(r);
}

td_relay_stats td_relay_stats_get(const td_relay *r)
{
    td_relay_stats s = {0};
    if (r) {
        s.published = atomic_load(&((td_relay *)r)->published);
        s.duplicates = atomic_load(&((td_relay *)r)->duplicates);
        s.failures = atomic_load(&((td_relay *)r)->failures);
    }
    return s;
}

long long td_relay_leader_token(const td_relay *r)
{
    return r ? atomic_load(&((td_relay *)r)->lease.token) : 0;
}
