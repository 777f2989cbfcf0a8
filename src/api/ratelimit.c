/*
 * ratelimit.c - the GCRA script and its call; see ratelimit.h.
 *
 * GCRA keeps one number per key, the theoretical arrival time (TAT).  With
 * emission interval T = 60000/rate ms and tolerance tau = T*burst, a request
 * at `now` passes when TAT - now <= tau, and moves TAT to max(TAT, now) + T.
 * The script uses Redis' clock so all instances agree, and consumes from no
 * key unless every key allows the request.  The refund script moves TAT
 * back by T (deleting the key when that is not in the future), as
 * td_gcra_refund does.
 *
 * The script also takes what was already served without asking (`paid`,
 * the post-paid reads below): it moves every TAT by paid x T first,
 * whatever the check then decides, so a report is never refused.
 */
#include "api/ratelimit.h"
#include "api/app.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/slots.h"
#include "domain/gcra.h"

#include <stdio.h>

static const char GCRA_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local cost = tonumber(ARGV[2*#KEYS+1] or '1')\n"
    "local paid = tonumber(ARGV[2*#KEYS+2] or '0')\n"
    "local tats, retry, reset = {}, 0, 0\n"
    "local limit, remaining = 0, nil\n"
    "for i = 1, #KEYS do\n"
    "  local T, tau = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])\n"
    "  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if tat < now then tat = now end\n"
    "  tat = tat + paid * T\n"
    "  tats[i] = tat\n"
    "  local need = tat + (cost - 1) * T\n"
    "  if need - now > tau and need - tau - now > retry then retry = need - tau - now end\n"
    "end\n"
    "local binding = 1\n"
    "if retry > 0 then\n"
    "  for i = 1, #KEYS do\n"
    "    if paid > 0 then redis.call('SET', KEYS[i], tats[i], 'PX', tats[i] - now) end\n"
    "    if tats[i] - now > reset then reset = tats[i] - now end\n"
    "    local T, tau = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])\n"
    "    if tats[i] - now > tau and limit == 0 then limit, binding = math.floor(tau / T) + 1, i "
    "end\n"
    "  end\n"
    "  return {0, limit, 0, reset, retry, binding}\n"
    "end\n"
    "for i = 1, #KEYS do\n"
    "  local T, tau = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])\n"
    "  local new_tat = tats[i] + cost * T\n"
    "  redis.call('SET', KEYS[i], new_tat, 'PX', new_tat - now)\n"
    "  local left = math.floor((tau + T - (new_tat - now)) / T)\n"
    "  if remaining == nil or left < remaining then\n"
    "    remaining, limit, binding = left, math.floor(tau / T) + 1, i\n"
    "  end\n"
    "  if new_tat - now > reset then reset = new_tat - now end\n"
    "end\n"
    "return {1, limit, remaining, reset, 0, binding}\n";

static const char REFUND_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "for i = 1, #KEYS do\n"
    "  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') - tonumber(ARGV[i])\n"
    "  if tat > now then\n"
    "    redis.call('SET', KEYS[i], tat, 'PX', tat - now)\n"
    "  else\n"
    "    redis.call('DEL', KEYS[i])\n"
    "  end\n"
    "end\n"
    "return 1\n";

/* When Redis cannot answer: the same rules in this worker's memory, so an
 * outage makes the limit per worker (N times looser) instead of lifting it. */
#define LOCAL_SETS 256
#define LOCAL_WAYS 4     /* at least the 4 rules of one check, so none evicts another */
#define LOCAL_KEY_MAX 95 /* longer keys are limited within one check only */
static td_slots g_local = TD_SLOTS_INIT(LOCAL_SETS, LOCAL_WAYS, int64_t, LOCAL_KEY_MAX, NULL);

/* The key's TAT in this worker's memory (0 for a key not seen before), or
 * *scratch when the key cannot be kept. */
static int64_t *local_tat(const char *key, int64_t *scratch)
{
    int64_t *tat = td_slots_find(&g_local, key);
    if (!tat)
        tat = td_slots_claim(&g_local, key);
    if (tat)
        return tat;
    *scratch = 0;
    return scratch;
}

static int ceil_s(long long ms);

static void local_check(const td_rate_rule *rules, int n, td_rate_result *out)
{
    int64_t now = td_wall_ms();
    int64_t *tats[4], saved[4], scratch[4];
    td_gcra_result worst = {.allowed = 1, .remaining = 1 << 30};
    int binding = 0;
    for (int i = 0; i < n; i++) {
        tats[i] = local_tat(rules[i].key, &scratch[i]);
        saved[i] = *tats[i];
        td_gcra_result g = td_gcra_check(tats[i], now, rules[i].per_minute, rules[i].burst);
        if ((!g.allowed && (worst.allowed || g.retry_ms > worst.retry_ms)) ||
            (worst.allowed && g.allowed && g.remaining < worst.remaining)) {
            worst = g;
            binding = i;
        }
    }
    out->binding = binding;
    if (!worst.allowed) /* consume from no key unless every key allows */
        for (int i = 0; i < n; i++)
            *tats[i] = saved[i];
    out->allowed = worst.allowed;
    out->limit = worst.limit;
    out->remaining = worst.allowed ? worst.remaining : 0;
    out->reset_s = ceil_s(worst.reset_ms);
    out->retry_after_s =
        worst.allowed ? 0 : (ceil_s(worst.retry_ms) > 0 ? ceil_s(worst.retry_ms) : 1);
    out->local = 1;
}

static void local_refund(const td_rate_rule *rules, int n)
{
    int64_t now = td_wall_ms();
    for (int i = 0; i < n; i++) {
        int64_t *tat = td_slots_find(&g_local, rules[i].key);
        if (tat)
            td_gcra_refund(tat, now, rules[i].per_minute);
    }
}

static long long interval_ms(int per_minute)
{
    return (long long)td_gcra_interval_ms(per_minute);
}

static int ceil_s(long long ms)
{
    return (int)((ms + 999) / 1000);
}

/* The script's one answer shape: six integers.  Anything else (an error
 * reply, a script from another release) says nothing about the limit. */
static int script_reply_ok(const redisReply *rep)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 6)
        return 0;
    for (size_t i = 0; i < 6; i++)
        if (rep->element[i]->type != REDIS_REPLY_INTEGER)
            return 0;
    return 1;
}

/* The check for `cost` requests at once (a worker's lease, below), after
 * `paid` served ones; TD_EUNAVAIL when Redis could not decide. */
static td_status check_in_redis(td_redis *rd, const td_rate_rule *rules, int n, int cost,
                                int paid, td_rate_result *out)
{
    const char *argv[14];
    char nums[8][24], costs[16], paids[16];
    if (n < 1 || n > 4)
        return TD_EINVAL;
    for (int i = 0; i < n; i++)
        argv[i] = rules[i].key;
    for (int i = 0; i < n; i++) {
        long long T = interval_ms(rules[i].per_minute);
        snprintf(nums[2 * i], sizeof nums[0], "%lld", T);
        snprintf(nums[2 * i + 1], sizeof nums[0], "%lld", T * rules[i].burst);
        argv[n + 2 * i] = nums[2 * i];
        argv[n + 2 * i + 1] = nums[2 * i + 1];
    }
    snprintf(costs, sizeof costs, "%d", cost);
    snprintf(paids, sizeof paids, "%d", paid);
    argv[3 * n] = costs;
    argv[3 * n + 1] = paids;
    redisReply *rep = td_redis_eval(rd, GCRA_LUA, n, 3 * n + 2, argv);
    if (!script_reply_ok(rep)) {
        /* An error reply is as much an outage as no reply: with writes
         * refused (OOM under noeviction, a read-only replica) the script
         * fails exactly on the path that would have consumed, so treating
         * it as "allowed" would lift the limit while Redis is sick. */
        if (rep && rep->type == REDIS_REPLY_ERROR)
            td_warn("rate limit: Redis answered an error: %.200s", rep->str);
        if (rep)
            freeReplyObject(rep);
        return TD_EUNAVAIL;
    }
    long long v[6];
    for (int i = 0; i < 6; i++)
        v[i] = rep->element[i]->integer;
    freeReplyObject(rep);
    out->allowed = v[0] == 1;
    out->limit = (int)v[1];
    out->remaining = (int)v[2];
    out->reset_s = ceil_s(v[3]);
    out->retry_after_s = out->allowed ? 0 : (ceil_s(v[4]) > 0 ? ceil_s(v[4]) : 1);
    out->local = 0;
    out->binding = v[5] >= 1 && v[5] <= n ? (int)v[5] - 1 : 0;
    return TD_OK;
}

/* In Redis, or in this worker's memory when Redis cannot decide. */
static td_status check_cost(td_redis *rd, const td_rate_rule *rules, int n, int cost,
                            td_rate_result *out)
{
    td_status st = check_in_redis(rd, rules, n, cost, 0, out);
    if (st == TD_EUNAVAIL)
        local_check(rules, n, out);
    return st;
}

td_status td_ratelimit_check(td_redis *rd, const td_rate_rule *rules, int n, td_rate_result *out)
{
    return check_cost(rd, rules, n, 1, out);
}

/* A worker's lease: requests it took from Redis' limits ahead, for one set
 * of keys, spent locally until used up or LEASE_MS old.  One Redis check
 * then serves `lease` requests, not one (at 12k requests/s one GCRA script
 * each was most of Redis' time and doubled the API's latency).  The price:
 * up to (workers × lease) requests past a limit's burst across all
 * workers, and a lease's unused requests are not given back (they are
 * counted, stricter). */
#define LEASE_MS 1000
#define LEASE_SETS 512
#define LEASE_KEY_MAX 255
typedef struct lease {
    int left;            /* requests still to spend */
    int64_t until_ms;    /* td_wall_ms() past which it is void */
    td_rate_result last; /* what Redis said when it was taken */
} lease;
static td_slots g_lease = TD_SLOTS_INIT(LEASE_SETS, 4, lease, LEASE_KEY_MAX, NULL);

/* How many to take at once: a sixteenth of the smallest burst (1: none). */
static int lease_size(const td_rate_rule *rules, int n)
{
    int size = 1 << 20;
    for (int i = 0; i < n; i++)
        if (rules[i].burst / 16 < size)
            size = rules[i].burst / 16;
    return size > 1 ? (size > 64 ? 64 : size) : 1;
}

/* One check's keys joined ("k1|k2"), what a worker's lease or share is
 * kept under; 0 when they do not fit in cap. */
static int rules_key(const td_rate_rule *rules, int n, char *key, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(key + len, cap - len, "%s%s", i ? "|" : "", rules[i].key);
    return len < cap;
}

td_status td_ratelimit_check_leased(td_redis *rd, const td_rate_rule *rules, int n,
                                    td_rate_result *out)
{
    int size = lease_size(rules, n);
    if (size <= 1 || n < 1 || n > 4)
        return td_ratelimit_check(rd, rules, n, out);
    char key[LEASE_KEY_MAX + 1];
    if (!rules_key(rules, n, key, sizeof key))
        return td_ratelimit_check(rd, rules, n, out);
    int64_t now = td_wall_ms();
    lease *l = td_slots_find(&g_lease, key);
    if (l && l->left > 0 && now < l->until_ms) {
        l->left--;
        *out = l->last;
        out->remaining = out->remaining + l->left; /* what this worker still holds counts */
        return TD_OK;
    }
    td_status st = check_cost(rd, rules, n, size, out);
    if (st == TD_OK && !out->allowed) /* not room for a lease: maybe for one */
        return td_ratelimit_check(rd, rules, n, out);
    if (st == TD_OK && (l || (l = td_slots_claim(&g_lease, key)))) {
        l->left = size - 1;
        l->until_ms = now + LEASE_MS;
        l->last = *out;
    }
    return st;
}

void td_ratelimit_refund(td_redis *rd, const td_rate_rule *rules, int n, int local)
{
    if (n < 1 || n > 4)
        return;
    if (local) {
        local_refund(rules, n);
        return;
    }
    const char *argv[8];
    char nums[4][24];
    for (int i = 0; i < n; i++) {
        argv[i] = rules[i].key;
        snprintf(nums[i], sizeof nums[0], "%lld", interval_ms(rules[i].per_minute));
        argv[n + i] = nums[i];
    }
    /* When Redis took the request but cannot give it back, the keys stay one
     * request fuller until they drain: the safe side. */
    redisReply *rep = td_redis_eval(rd, REFUND_LUA, n, 2 * n, argv);
    if (rep && rep->type != REDIS_REPLY_INTEGER)
        td_warn("rate limit: refund refused by Redis: %.200s",
                rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    if (rep)
        freeReplyObject(rep);
}

static const char *policy_name(const td_rate_rule *rule)
{
    return rule->policy ? rule->policy : "default";
}

static void rate_headers(td_req *r, const td_rate_rule *rules, int n, const td_rate_result *rl)
{
    char v[24];
    snprintf(v, sizeof v, "%d", rl->limit);
    td_resp_header(r, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%d", rl->remaining);
    td_resp_header(r, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%d", rl->reset_s);
    td_resp_header(r, "RateLimit-Reset", v);
    /* draft-ietf-httpapi-ratelimit-headers: every policy, then where the
     * binding one stands. */
    char policy[512];
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof policy; i++)
        len += (size_t)snprintf(policy + len, sizeof policy - len, "%s\"%s\";q=%d;w=60;burst=%d",
                                i ? ", " : "", policy_name(&rules[i]), rules[i].per_minute,
                                rules[i].burst);
    td_resp_header(r, "RateLimit-Policy", policy);
    int b = rl->binding >= 0 && rl->binding < n ? rl->binding : 0;
    snprintf(policy, sizeof policy, "\"%s\";r=%d;t=%d", policy_name(&rules[b]), rl->remaining,
             rl->reset_s);
    td_resp_header(r, "RateLimit", policy);
}

static int answer(td_req *r, const td_rate_rule *rules, int n, const char *what, int *local,
                  int leased)
{
    td_rate_result rl;
    td_status st =
        leased == 3   ? td_ratelimit_check_postpaid(r->app->redis, rules, n, r->app->cfg.workers, &rl)
        : leased == 2 ? td_ratelimit_check_shared_out(rules, n, r->app->cfg.workers, &rl)
        : leased == 1 ? td_ratelimit_check_leased(r->app->redis, rules, n, &rl)
                      : td_ratelimit_check(r->app->redis, rules, n, &rl);
    if (st == TD_EUNAVAIL)
        td_warn("%s rate limit: Redis unavailable, limiting per worker", what);
    else if (st != TD_OK) {
        td_resp_error(r, TD_ERR_INTERNAL, "the %s rate limit could not be checked", what);
        return 0;
    }
    if (local)
        *local = rl.local;
    rate_headers(r, rules, n, &rl);
    if (rl.allowed)
        return 1;
    char v[24];
    snprintf(v, sizeof v, "%d", rl.retry_after_s);
    td_resp_header(r, "Retry-After", v);
    td_metrics_count(TD_M_RATE_LIMITED);
    td_resp_error(r, TD_ERR_RATE_LIMITED, "too many %s; retry in %d s", what, rl.retry_after_s);
    return 0;
}

int td_ratelimit_answer(td_req *r, const td_rate_rule *rules, int n, const char *what, int *local)
{
    return answer(r, rules, n, what, local, 0);
}

int td_ratelimit_answer_leased(td_req *r, const td_rate_rule *rules, int n, const char *what)
{
    return answer(r, rules, n, what, NULL, 1);
}

td_status td_ratelimit_check_shared_out(const td_rate_rule *rules, int n, int workers,
                                        td_rate_result *out)
{
    if (n < 1 || n > 4)
        return TD_EINVAL;
    td_rate_rule mine[4];
    int w = workers > 1 ? workers : 1;
    for (int i = 0; i < n; i++) {
        mine[i] = rules[i];
        mine[i].per_minute = rules[i].per_minute / w > 0 ? rules[i].per_minute / w : 1;
        mine[i].burst = rules[i].burst / w;
    }
    local_check(mine, n, out);
    out->local = 1;
    return TD_OK;
}

int td_ratelimit_answer_shared_out(td_req *r, const td_rate_rule *rules, int n, const char *what)
{
    return answer(r, rules, n, what, NULL, 2);
}

/* Post-paid: what a worker may still serve of one set of keys without
 * asking Redis, and what it served so (reported with its next check).  The
 * allowance is a share of what Redis said remained, remaining / (2 x
 * workers): one instance's workers together hold at most half of what
 * remained (Redis only refills meanwhile, and each check sees every report
 * made before it), so at most those shares pass past the limit, per
 * instance.  Near the limit the allowance is 0 and every
 * request is checked in Redis, so the limit holds exactly there.  No
 * expiry: a user seen once a second by each worker keeps its allowance. */
#define TAB_SETS 2048
#define TAB_KEY_MAX 127
typedef struct tab {
    int allow;              /* requests this worker may still serve unasked */
    int unreported;         /* served so, not yet told to Redis */
    int64_t blocked_until;  /* td_wall_ms(): Redis said no until then */
    td_rate_result last;    /* Redis' last answer */
} tab;
static td_slots g_tab = TD_SLOTS_INIT(TAB_SETS, 4, tab, TAB_KEY_MAX, NULL);

td_status td_ratelimit_check_postpaid(td_redis *rd, const td_rate_rule *rules, int n, int workers,
                                      td_rate_result *out)
{
    if (n < 1 || n > 4)
        return TD_EINVAL;
    char key[TAB_KEY_MAX + 1];
    int keyed = rules_key(rules, n, key, sizeof key);
    tab *t = keyed ? td_slots_find(&g_tab, key) : NULL;
    int64_t now = td_wall_ms();
    if (t && now < t->blocked_until) {
        *out = t->last;
        out->retry_after_s = (int)((t->blocked_until - now + 999) / 1000);
        return TD_OK;
    }
    if (t && t->allow > 0) {
        t->allow--;
        t->unreported++;
        *out = t->last;
        out->remaining = t->last.remaining > t->unreported ? t->last.remaining - t->unreported : 0;
        return TD_OK;
    }
    int paid = t ? t->unreported : 0;
    td_status st = check_in_redis(rd, rules, n, 1, paid, out);
    if (st == TD_EUNAVAIL) /* kept to report later; this worker's share decides now */
        return td_ratelimit_check_shared_out(rules, n, workers, out) == TD_OK ? TD_EUNAVAIL
                                                                                : TD_EINVAL;
    if (st != TD_OK)
        return st;
    if (!t && keyed)
        t = td_slots_claim(&g_tab, key);
    if (t) {
        int w = workers > 1 ? workers : 1;
        t->unreported = 0;
        t->last = *out;
        t->allow = out->allowed ? out->remaining / (2 * w) : 0;
        t->blocked_until = out->allowed ? 0 : now + (int64_t)out->retry_after_s * 1000;
    }
    return TD_OK;
}

int td_ratelimit_answer_postpaid(td_req *r, const td_rate_rule *rules, int n, const char *what)
{
    return answer(r, rules, n, what, NULL, 3);
}
