/*
 * worker_cache.c - a worker's own memory of responses, sessions and tokens;
 * see worker_cache.h for when each may be trusted.
 *
 * Each store is a core/slots.h store: a key's hash picks a set of WAYS
 * slots and the least recently used slot of the set is replaced, so lookups
 * and inserts are O(1) with no rehashing, and memory is bounded by the slot
 * count (responses also by a byte budget).
 */
#include "api/worker_cache.h"
#include "store/cachegen.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/shm.h"
#include "core/slots.h"
#include "store/keys.h"
#include "store/redis.h"
#include "store/session.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SETS 512
#define WAYS 4
#define RESP_BUDGET (32u << 20) /* bytes of response bodies per worker */
#define RESP_MAX (256u << 10)   /* larger responses are not kept */
#define RESP_KEY_MAX 1024       /* longer keys are served from Redis only */
#define SID_MAX 63              /* as td_claims.sid */
#define TOKEN_SETS 256
#define TOKEN_MAX 768 /* longer tokens are verified every time */

/* What responses and sessions share, first in both, so one predicate
 * serves both stores. */
typedef struct held {
    int64_t user_id; /* 0: shared by everybody (prices) */
    double expires;  /* td_mono_s() */
    uint64_t fence;  /* the user's fence when the entry was made */
} held;

typedef struct response {
    held h;
    char *value; /* "etag + body", owned; its bytes count against RESP_BUDGET */
    size_t len;
} response;

static size_t g_resp_bytes;

static void response_release(void *payload)
{
    response *e = payload;
    g_resp_bytes -= e->len;
    free(e->value);
}

static td_slots g_resp = TD_SLOTS_INIT(SETS, WAYS, response, RESP_KEY_MAX, response_release);
static td_slots g_sess = TD_SLOTS_INIT(SETS, WAYS, held, SID_MAX, NULL);
static td_slots g_tok = TD_SLOTS_INIT(TOKEN_SETS, WAYS, td_claims, TOKEN_MAX - 1, NULL);
static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static td_redis_sub *g_sub;
static int g_trusted;

/* The sibling fence: counters in memory shared by every worker of this
 * master, one per bucket of user ids.  A worker that revokes a session (or
 * changes a user's data) bumps the user's counter before it answers, so a
 * sibling's next request sees the change even when the pub/sub message
 * that says so is still on its way (Redis writes it to each subscriber
 * when it gets round to it; a loaded machine showed the race).  Entries
 * made under an older fence value are not trusted.  Without the shared map
 * (mmap failed, unit tests) every fence reads 0 and pub/sub alone rules. */
#define FENCE_BUCKETS 4096
static _Atomic uint64_t *g_fence;
/* After the fence buckets, in the same shared map: the newest revocation
 * epoch any worker of this master knows PostgreSQL has reached.  A worker
 * that revokes raises it before it answers, so its siblings stop believing
 * Redis' positive entries at once when Redis did not take the tombstone. */
static _Atomic int64_t *g_epoch;
/* And how many times a worker of this master cleared every response
 * (POST /api/v1/admin/redis/clear): part of every fence, so what a sibling
 * holds from before is not trusted even before the message arrives. */
static _Atomic uint64_t *g_clear;
#define CLEAR_SHIFT 40 /* a user's fence stays below 2^40 bumps */

td_status td_wc_shared_init(void)
{
    void *m = td_shm_map(FENCE_BUCKETS * sizeof *g_fence + sizeof *g_epoch + sizeof *g_clear,
                         "the sibling fence");
    if (!m)
        return TD_ENOMEM;
    g_fence = m;
    g_epoch = (_Atomic int64_t *)(g_fence + FENCE_BUCKETS);
    g_clear = (_Atomic uint64_t *)(g_epoch + 1);
    return TD_OK;
}

static _Atomic uint64_t *fence_of(int64_t user_id)
{
    return &g_fence[(uint64_t)user_id % FENCE_BUCKETS];
}

uint64_t td_wc_fence(int64_t user_id)
{
    if (!g_fence)
        return 0;
    uint64_t clear = atomic_load_explicit(g_clear, memory_order_acquire) << CLEAR_SHIFT;
    return clear + (user_id ? atomic_load_explicit(fence_of(user_id), memory_order_acquire) : 0);
}

void td_wc_clear_all(void)
{
    if (g_clear)
        atomic_fetch_add_explicit(g_clear, 1, memory_order_acq_rel);
    td_slots_clear(&g_resp);
}

void td_wc_user_changed(int64_t user_id)
{
    if (g_fence && user_id)
        atomic_fetch_add_explicit(fence_of(user_id), 1, memory_order_acq_rel);
}

/* This worker's own view, for when the shared map is missing. */
static td_rev_sync g_rev = TD_REV_SYNC_INIT;
static double g_rev_next; /* td_mono_s() of the next sync */
static int g_rev_ok;      /* the last sync succeeded */

void td_wc_epoch_seen(int64_t epoch)
{
    if (epoch > g_rev.pg)
        g_rev.pg = epoch;
    if (!g_epoch)
        return;
    int64_t cur = atomic_load_explicit(g_epoch, memory_order_acquire);
    while (cur < epoch && !atomic_compare_exchange_weak_explicit(
                              g_epoch, &cur, epoch, memory_order_acq_rel, memory_order_acquire))
        ;
}

int64_t td_wc_epoch(void)
{
    int64_t shared = g_epoch ? atomic_load_explicit(g_epoch, memory_order_acquire) : 0;
    return shared > g_rev.pg ? shared : g_rev.pg;
}

static int fenced_out(const held *h)
{
    return h->fence != td_wc_fence(h->user_id);
}

static int of_user(const void *payload, void *user_id)
{
    return ((const held *)payload)->user_id == *(const int64_t *)user_id;
}

static int of_any_user(const void *payload, void *arg)
{
    (void)arg;
    return ((const held *)payload)->user_id != 0;
}

static void on_message(const char *msg, size_t len, void *arg)
{
    (void)arg;
    if (len < 2)
        return;
    char id[80];
    size_t n = len - 1 < sizeof id - 1 ? len - 1 : sizeof id - 1;
    memcpy(id, msg + 1, n);
    id[n] = '\0';
    int64_t user_id = strtoll(id, NULL, 10);
    switch (msg[0]) {
    case TD_INVAL_USER:
        td_slots_drop_if(&g_resp, of_user, &user_id);
        break;
    case TD_INVAL_SESSIONS:
        td_slots_drop_if(&g_sess, of_user, &user_id);
        break;
    case TD_INVAL_ALL:
        td_slots_clear(&g_resp);
        break;
    case TD_INVAL_SESSION: {
        held *e = td_slots_find(&g_sess, id);
        if (e)
            td_slots_drop(&g_sess, e);
        break;
    }
    default:
        break;
    }
}

static void drop_revoked(const char *sid, void *arg)
{
    (void)arg;
    if (!sid) {
        td_slots_clear(&g_sess);
        return;
    }
    held *e = td_slots_find(&g_sess, sid);
    if (e)
        td_slots_drop(&g_sess, e);
}

void td_wc_revocation_sync(td_db *db, td_redis *rd)
{
    double now = td_mono_s();
    /* Due once a period, or at once when a sibling has seen a newer epoch
     * than this worker applied (a revocation by the CLI or psql that the
     * sibling's sync found): its memory may hold the session.  Not sooner
     * after a failure, so a stalled PostgreSQL costs one wait a period. */
    int sibling_ahead = g_rev_ok && g_rev.applied >= 0 && td_wc_epoch() > g_rev.applied;
    if (now < g_rev_next && !sibling_ahead)
        return;
    g_rev_next = now + TD_SESSION_RECHECK_MS / 1000.0;
    g_rev_ok = td_session_sync(db, rd, &g_rev, drop_revoked, NULL) == TD_OK;
    if (g_rev_ok)
        td_wc_epoch_seen(g_rev.pg);
}

void td_wc_init(const td_config *cfg)
{
    g_sub = td_redis_sub_open(cfg->redis_url, cfg->redis_timeout_ms, TD_INVAL_CHANNEL);
}

void td_wc_shutdown(void)
{
    td_redis_sub_close(g_sub);
    g_sub = NULL;
    td_slots_free(&g_resp);
    td_slots_free(&g_sess);
    td_slots_free(&g_tok);
    g_trusted = 0;
    g_rev = (td_rev_sync)TD_REV_SYNC_INIT;
    g_rev_next = 0;
    g_rev_ok = 0;
}

void td_wc_poll(void)
{
    int gap = 0;
    g_trusted = td_redis_sub_poll(g_sub, on_message, NULL, &gap);
    if (gap) {
        /* Messages may have been missed: users' responses and sessions go.
         * Shared entries (prices) are never invalidated by message, only by
         * their TTL, so they stay. */
        td_slots_drop_if(&g_resp, of_any_user, NULL);
        td_slots_clear(&g_sess);
    }
}

int td_wc_trusted(void)
{
    return g_trusted;
}

const char *td_wc_get(const char *key, size_t *len)
{
    response *e = td_slots_find(&g_resp, key);
    if (!e)
        return NULL;
    if (e->h.expires < td_mono_s() || fenced_out(&e->h)) {
        td_slots_drop(&g_resp, e);
        return NULL;
    }
    *len = e->len;
    return e->value;
}

void td_wc_put(const char *key, int64_t user_id, uint64_t fence, const char *value, size_t len,
               int ttl_s)
{
    if (len > RESP_MAX)
        return;
    response *e = td_slots_claim(&g_resp, key); /* what the slot held is released */
    if (!e)
        return;
    if (g_resp_bytes + len > RESP_BUDGET || !(e->value = malloc(len))) {
        td_slots_drop(&g_resp, e);
        return;
    }
    memcpy(e->value, value, len);
    e->len = len;
    g_resp_bytes += len;
    e->h.user_id = user_id;
    e->h.fence = fence;
    /* Up to 20% shorter TTLs, so entries filled together (a restart, a
     * burst) do not all expire in the same instant and stampede. */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    e->h.expires = td_mono_s() + ttl_s * (0.8 + 0.2 * (double)(g_rng % 1000) / 1000.0);
}

int td_wc_session_ok(const char *sid, int64_t user_id)
{
    if (!g_trusted)
        return 0;
    held *e = td_slots_find(&g_sess, sid);
    if (!e)
        return 0;
    if (e->expires < td_mono_s() || e->user_id != user_id || fenced_out(e)) {
        td_slots_drop(&g_sess, e);
        return 0;
    }
    return 1;
}

void td_wc_session_put(const char *sid, int64_t user_id, uint64_t fence, int ttl_s)
{
    if (!g_trusted)
        return;
    held *e = td_slots_claim(&g_sess, sid);
    if (!e)
        return;
    e->user_id = user_id;
    e->fence = fence;
    e->expires = td_mono_s() + ttl_s;
}

int td_wc_token_get(const char *token, long leeway_s, td_claims *out)
{
    td_claims *t = td_slots_find(&g_tok, token);
    if (!t)
        return 0;
    if (time(NULL) - t->exp > leeway_s) {
        td_slots_drop(&g_tok, t);
        return 0;
    }
    *out = *t;
    return 1;
}

void td_wc_token_put(const char *token, const td_claims *c)
{
    td_claims *t = td_slots_claim(&g_tok, token); /* NULL past TOKEN_MAX - 1 bytes */
    if (t)
        *t = *c;
}
