/*
 * worker_cache.c - a worker's own memory of responses, sessions and tokens;
 * see worker_cache.h for when each may be trusted.
 *
 * Each store is set-associative: a key's hash picks a set of WAYS slots and
 * the least recently used slot of the set is replaced, so lookups and
 * inserts are O(1) with no rehashing, and memory is bounded by the slot
 * count (responses also by a byte budget).
 */
#include "api/worker_cache.h"
#include "store/cachegen.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "store/redis.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SETS 512
#define WAYS 4
#define RESP_BUDGET (32u << 20) /* bytes of response bodies per worker */
#define RESP_MAX (256u << 10)   /* larger responses are not kept */
#define TOKEN_SETS 256
#define TOKEN_MAX 768 /* longer tokens are verified every time */

typedef struct entry {
    uint64_t hash;
    char *key;
    char *value;
    size_t len;
    double expires;
    int64_t user_id;
    uint64_t stamp;
} entry;

typedef struct token_entry {
    uint64_t hash;
    char token[TOKEN_MAX];
    td_claims claims;
    uint64_t stamp;
} token_entry;

static entry g_resp[SETS][WAYS];
static entry g_sess[SETS][WAYS];
static token_entry g_tok[TOKEN_SETS][WAYS];
static size_t g_resp_bytes;
static uint64_t g_clock, g_rng = 0x9e3779b97f4a7c15ULL;
static td_redis_sub *g_sub;
static int g_trusted;

static void entry_clear(entry *e)
{
    if (e->value)
        g_resp_bytes -= e->len;
    free(e->key);
    free(e->value);
    memset(e, 0, sizeof *e);
}

static void clear_all(entry (*store)[WAYS])
{
    for (int s = 0; s < SETS; s++)
        for (int w = 0; w < WAYS; w++)
            if (store[s][w].key)
                entry_clear(&store[s][w]);
}

static entry *find(entry (*store)[WAYS], const char *key, uint64_t h)
{
    entry *set = store[h & (SETS - 1)];
    for (int w = 0; w < WAYS; w++)
        if (set[w].key && set[w].hash == h && strcmp(set[w].key, key) == 0)
            return &set[w];
    return NULL;
}

/* The slot for key: its own, an empty one, or the set's least recent. */
static entry *slot_for(entry (*store)[WAYS], const char *key, uint64_t h)
{
    entry *e = find(store, key, h);
    if (e)
        return e;
    entry *set = store[h & (SETS - 1)], *victim = &set[0];
    for (int w = 0; w < WAYS; w++) {
        if (!set[w].key)
            return &set[w];
        if (set[w].stamp < victim->stamp)
            victim = &set[w];
    }
    return victim;
}

static void drop_user(entry (*store)[WAYS], int64_t user_id)
{
    for (int s = 0; s < SETS; s++)
        for (int w = 0; w < WAYS; w++)
            if (store[s][w].key && store[s][w].user_id == user_id)
                entry_clear(&store[s][w]);
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
    switch (msg[0]) {
    case 'u':
        drop_user(g_resp, strtoll(id, NULL, 10));
        break;
    case 'S':
        drop_user(g_sess, strtoll(id, NULL, 10));
        break;
    case 's': {
        entry *e = find(g_sess, id, td_hash_str(id));
        if (e)
            entry_clear(e);
        break;
    }
    default:
        break;
    }
}

void td_wc_init(const td_config *cfg)
{
    g_sub = td_redis_sub_open(cfg->redis_url, cfg->redis_timeout_ms, TD_INVAL_CHANNEL);
}

void td_wc_shutdown(void)
{
    td_redis_sub_close(g_sub);
    g_sub = NULL;
    clear_all(g_resp);
    clear_all(g_sess);
    g_trusted = 0;
}

void td_wc_poll(void)
{
    int gap = 0;
    g_trusted = td_redis_sub_poll(g_sub, on_message, NULL, &gap);
    if (gap) {
        /* Messages may have been missed: users' responses and sessions go.
         * Shared entries (prices) are never invalidated by message, only by
         * their TTL, so they stay. */
        for (int s = 0; s < SETS; s++)
            for (int w = 0; w < WAYS; w++)
                if (g_resp[s][w].key && g_resp[s][w].user_id != 0)
                    entry_clear(&g_resp[s][w]);
        clear_all(g_sess);
    }
}

int td_wc_trusted(void)
{
    return g_trusted;
}

const char *td_wc_get(const char *key, size_t *len)
{
    entry *e = find(g_resp, key, td_hash_str(key));
    if (!e || !e->value)
        return NULL;
    if (e->expires < td_mono_s()) {
        entry_clear(e);
        return NULL;
    }
    e->stamp = ++g_clock;
    *len = e->len;
    return e->value;
}

void td_wc_put(const char *key, int64_t user_id, const char *value, size_t len, int ttl_s)
{
    if (len > RESP_MAX)
        return;
    uint64_t h = td_hash_str(key);
    entry *e = slot_for(g_resp, key, h);
    if (e->key)
        entry_clear(e);
    if (g_resp_bytes + len > RESP_BUDGET)
        return;
    e->key = strdup(key);
    e->value = malloc(len);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        memset(e, 0, sizeof *e);
        return;
    }
    memcpy(e->value, value, len);
    e->len = len;
    g_resp_bytes += len;
    e->hash = h;
    e->user_id = user_id;
    /* Up to 20% shorter TTLs, so entries filled together (a restart, a
     * burst) do not all expire in the same instant and stampede. */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    e->expires = td_mono_s() + ttl_s * (0.8 + 0.2 * (double)(g_rng % 1000) / 1000.0);
    e->stamp = ++g_clock;
}

int td_wc_session_ok(const char *sid, int64_t user_id)
{
    if (!g_trusted)
        return 0;
    entry *e = find(g_sess, sid, td_hash_str(sid));
    if (!e)
        return 0;
    if (e->expires < td_mono_s() || e->user_id != user_id) {
        entry_clear(e);
        return 0;
    }
    e->stamp = ++g_clock;
    return 1;
}

void td_wc_session_put(const char *sid, int64_t user_id, int ttl_s)
{
    if (!g_trusted)
        return;
    uint64_t h = td_hash_str(sid);
    entry *e = slot_for(g_sess, sid, h);
    if (e->key)
        entry_clear(e);
    if (!(e->key = strdup(sid)))
        return;
    e->hash = h;
    e->user_id = user_id;
    e->expires = td_mono_s() + ttl_s;
    e->stamp = ++g_clock;
}

int td_wc_token_get(const char *token, long leeway_s, td_claims *out)
{
    uint64_t h = td_hash_str(token);
    token_entry *set = g_tok[h & (TOKEN_SETS - 1)];
    for (int w = 0; w < WAYS; w++) {
        token_entry *t = &set[w];
        if (t->hash != h || strcmp(t->token, token) != 0)
            continue;
        if (time(NULL) - t->claims.exp > leeway_s) {
            memset(t, 0, sizeof *t);
            return 0;
        }
        t->stamp = ++g_clock;
        *out = t->claims;
        return 1;
    }
    return 0;
}

void td_wc_token_put(const char *token, const td_claims *c)
{
    size_t n = strlen(token);
    if (n >= TOKEN_MAX)
        return;
    uint64_t h = td_hash_str(token);
    token_entry *set = g_tok[h & (TOKEN_SETS - 1)], *victim = &set[0];
    for (int w = 0; w < WAYS; w++) {
        if (set[w].hash == h && strcmp(set[w].token, token) == 0)
            return;
        if (set[w].stamp < victim->stamp)
            victim = &set[w];
    }
    victim->hash = h;
    memcpy(victim->token, token, n + 1);
    victim->claims = *c;
    victim->stamp = ++g_clock;
}
