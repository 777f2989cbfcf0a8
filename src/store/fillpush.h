/*
 * fillpush.h - a fill into its user's Stream and onto the live channel in
 * one step Redis runs whole (a Lua script): XADD td:fills:<user> with the
 * entry id "<fill id>-0", then PUBLISH td:fills "<user> <fill>" only if the
 * XADD added it.  So a fill is published once however many times it is
 * pushed: by the engine's monitor from the fill's commit (sql/025) and by
 * the outbox relay, which delivers every outbox row whatever came first.
 *
 * after: the entry the Stream's newest must be for the push to go ahead
 * ("<previous fill id>-0", "0-0" for a user's first fill), so that a push
 * from the commit never passes a fill of the same user the relay has not
 * delivered yet (the Stream refuses an entry older than its newest, and
 * that fill would be lost from it); NULL for the relay, which delivers in
 * order and only needs a duplicate refused.
 *
 * The reply (td_fill_push_result): 1 added and published, 0 the Stream
 * already held it, -1 not its turn (the newest entry was not `after`), or
 * -2 for an error (Redis' own: a key of another type, out of memory).
 */
#ifndef TD_STORE_FILLPUSH_H
#define TD_STORE_FILLPUSH_H

#include "store/redis.h"
#include "store/redis_async.h"

#include <stddef.h>

/* Entries kept per user's Stream (approximately: MAXLEN ~). */
#define TD_FILL_STREAM_MAX 10000

typedef struct td_fill_push {
    const char *user;    /* the user's id, digits */
    const char *fill_id; /* the fill's id, digits */
    const char *fill;    /* the fill's JSON, as GET /fills shows it with its trace_id */
    size_t fill_len;
    const char *after; /* see above; NULL: no check */
} td_fill_push;

/* One fill appended to rd's pipeline (td_redis_append; the relay's):
 * TD_OK or TD_EUNAVAIL. */
td_status td_fill_push_append(td_redis *rd, const td_fill_push *p);
/* n fills (at most TD_FILL_PUSH_MAX) in one command on r, with its own
 * reply (td_redis_async_command's contract): the monitor's batch. */
#define TD_FILL_PUSH_MAX 2000
td_status td_fill_push_async(td_redis_async *r, const td_fill_push *p, size_t n,
                             td_redis_reply_fn fn, void *arg);
/* Fill k's result in rep (the reply to either): 1, 0, -1 as above, -2 for
 * no reply or an error (Redis' own: a key of another type, out of memory;
 * a batch's fills before it may have been added). */
int td_fill_push_result(const struct redisReply *rep, size_t k);

#endif
