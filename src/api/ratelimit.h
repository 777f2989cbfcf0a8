/*
 * ratelimit.h - GCRA rate limiting in Redis, atomic across all workers and
 * instances (one Lua script checks and consumes every key at once).
 *
 * A limit that should count only some outcomes (failed logins) is checked
 * and consumed before the work, like any other, and refunded once the
 * outcome turns out not to count: concurrent attempts can never all slip
 * through a "would it be allowed?" peek.
 */
#ifndef TD_API_RATELIMIT_H
#define TD_API_RATELIMIT_H

#include "api/request.h"
#include "store/redis.h"

typedef struct td_rate_rule {
    const char *key;    /* Redis key, e.g. td:rl:login:u:alice */
    int per_minute;     /* sustained rate */
    int burst;          /* extra requests allowed at once */
    const char *policy; /* its name in the RateLimit-Policy and RateLimit headers */
} td_rate_rule;

typedef struct td_rate_result {
    int allowed;
    int limit; /* requests allowed at once by the binding rule */
    int remaining;
    int reset_s;       /* until the binding rule is fully replenished */
    int retry_after_s; /* when denied: until the next request may pass */
    int local;         /* decided in this worker's memory (Redis could not) */
    int binding;       /* index of the rule the numbers are of (the first refusing one) */
} td_rate_result;

/* TD_OK with *out filled from Redis; TD_EUNAVAIL when Redis cannot answer
 * or answers anything but the script's result (an error reply such as OOM
 * under noeviction included), with *out filled from this worker's own
 * memory instead: never "allowed" by default.  TD_EINVAL: n outside 1..4. */
td_status td_ratelimit_check(td_redis *rd, const td_rate_rule *rules, int n, td_rate_result *out);

/* Check and consume for request r, and say so on it: RateLimit-Limit,
 * -Remaining and -Reset headers always, and the IETF draft's
 * RateLimit-Policy (every rule: "name";q=per minute;w=60;burst=B) and
 * RateLimit (the binding rule: "name";r=remaining;t=seconds to reset); when denied, Retry-After and
 * 429 rate_limited with "too many <what>; retry in N s".  Returns 1 when the request may go on, 0
 * when r is answered.  *local (may be NULL): decided in this worker's memory because Redis could
 * not. */
int td_ratelimit_answer(td_req *r, const td_rate_rule *rules, int n, const char *what, int *local);

/* As td_ratelimit_check, but this worker takes up to a sixteenth of the
 * smallest burst (at most 64) from Redis at once and spends it over the
 * next second before asking again: one script per that many requests.
 * Up to (workers × that) requests may pass past a limit; for limits too
 * small for it (burst under 32) every request is checked. */
td_status td_ratelimit_check_leased(td_redis *rd, const td_rate_rule *rules, int n,
                                    td_rate_result *out);
/* td_ratelimit_answer over td_ratelimit_check_leased (no refunds). */
int td_ratelimit_answer_leased(td_req *r, const td_rate_rule *rules, int n, const char *what);

/* The same rules decided in this worker's memory alone, each worker
 * holding its share (rate and burst divided by workers): no Redis round
 * trip, for the cheapest requests (a user's cached reads).  nginx spreads
 * a client's requests over the workers, so together they hold about the
 * whole limit; per instance, not across instances. */
td_status td_ratelimit_check_shared_out(const td_rate_rule *rules, int n, int workers,
                                        td_rate_result *out);
int td_ratelimit_answer_shared_out(td_req *r, const td_rate_rule *rules, int n, const char *what);

/* Atomic in Redis, post-paid: the first request of a set of keys in this
 * worker is checked in Redis, which also tells how many remain; the worker
 * then serves a share of those, remaining / (2 x workers), without asking,
 * and reports them with its next check (the script counts them before it
 * decides).  Past a limit go at most those shares (per instance: half of
 * what remained), and near it none, where the share is 0 and each request
 * is checked; a worker told no answers no until Redis said it may.  While
 * Redis cannot answer, this worker's share of the limits decides
 * (td_ratelimit_check_shared_out), TD_EUNAVAIL.  For a user's reads: one
 * Redis round trip per share, not per request. */
td_status td_ratelimit_check_postpaid(td_redis *rd, const td_rate_rule *rules, int n, int workers,
                                      td_rate_result *out);
int td_ratelimit_answer_postpaid(td_req *r, const td_rate_rule *rules, int n, const char *what);

/* Give back the request an allowed td_ratelimit_check consumed from these
 * rules (all or some of the checked ones), where that check decided: in
 * Redis, or (local, or Redis failing now) in this worker's memory. */
void td_ratelimit_refund(td_redis *rd, const td_rate_rule *rules, int n, int local);

#endif
