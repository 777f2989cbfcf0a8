/*
 * cache.c - the response cache; see cache.h for the model.
 *
 * Redis value layout: 16 hex digits of ETag, then the JSON body.
 * Keys: td:c:<scope>:<gen>:<rule>:<path args>?<sorted query>, where scope is
 * u<user id> or pub, and gen is the user's td:gen:<id> counter (0 for pub).
 */
#include "api/cache.h"
#include "api/app.h"
#include "core/log.h"
#include "core/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_ENTRIES 256
#define LOCK_MS 3000
#define WAIT_POLLS 50      /* a loser of the single-flight race polls this often */
#define WAIT_POLL_US 2000  /* ... this far apart, then builds the body itself */

/* One lookup: the user's generation and the entry, in one round trip. */
static const char LOOKUP_LUA[] = "local g = redis.call('GET', KEYS[1]) or '0'\n"
                                 "return {g, redis.call('GET', ARGV[1] .. g .. ARGV[2])}\n";

typedef struct local_entry {
    char *key;
    char *value; /* etag + body, as in Redis */
    size_t len;
    double expires;
    uint64_t used;
} local_entry;

static local_entry g_local[LOCAL_ENTRIES];
static uint64_t g_local_clock;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t td_cache_etag_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: fast, and ETags need no secrecy */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int td_cache_etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return 0;
    size_t el = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 1 && p[0] == '*')
            return 1;
        const char *t = p;
        if (n > 2 && t[0] == 'W' && t[1] == '/') { /* weak comparison for If-None-Match */
            t += 2;
            n -= 2;
        }
        if (n == el && memcmp(t, etag, n) == 0)
            return 1;
        p += end ? (size_t)(end - p) + 1 : strlen(p);
    }
    return 0;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const td_param *)a)->name, ((const td_param *)b)->name);
}

/* "<rule>:<arg>:<arg>?a=1&b=2" with parameters sorted, so ?b=2&a=1 shares it. */
static char *key_tail(td_req *r, const td_cache_rule *rule)
{
    td_param *ps = td_arena_alloc(r->arena, (r->nparams + 1) * sizeof *ps);
    if (r->nparams) { /* params is NULL when there are none */
        memcpy(ps, r->params, r->nparams * sizeof *ps);
        qsort(ps, r->nparams, sizeof *ps, cmp_param);
    }
    size_t cap = strlen(rule->name) + 2;
    for (size_t i = 0; i < r->npath_args; i++)
        cap += strlen(r->path_args[i]) + 1;
    for (size_t i = 0; i < r->nparams; i++)
        cap += strlen(ps[i].name) + strlen(ps[i].value) + 2;
    char *k = td_arena_alloc(r->arena, cap + 1);
    size_t n = (size_t)sprintf(k, "%s", rule->name);
    for (size_t i = 0; i < r->npath_args; i++)
        n += (size_t)sprintf(k + n, ":%s", r->path_args[i]);
    k[n++] = '?';
    for (size_t i = 0; i < r->nparams; i++)
        n += (size_t)sprintf(k + n, "%s%s=%s", i ? "&" : "", ps[i].name, ps[i].value);
    k[n] = '\0';
    return k;
}

static void send_body(td_req *r, const char *xcache, const char *etag, const char *body,
                      size_t len)
{
    char quoted[24];
    snprintf(quoted, sizeof quoted, "\"%.16s\"", etag);
    td_resp_header(r, "X-Cache", xcache);
    td_resp_header(r, "ETag", quoted);
    td_resp_header(r, "Cache-Control", "private, no-cache");
    if (td_cache_etag_matches(r->header(r, "HTTP_IF_NONE_MATCH"), quoted))
        td_resp_empty(r, 304);
    else
        td_resp_raw(r, 200, "application/json", body, len);
}

static void send_value(td_req *r, const char *xcache, const char *value, size_t len)
{
    send_body(r, xcache, value, value + 16, len - 16);
}

static local_entry *local_find(const char *key)
{
    double t = now_s();
    for (int i = 0; i < LOCAL_ENTRIES; i++)
        if (g_local[i].key && strcmp(g_local[i].key, key) == 0) {
            if (g_local[i].expires < t)
                return NULL;
            g_local[i].used = ++g_local_clock;
            return &g_local[i];
        }
    return NULL;
}

static void local_store(const char *key, const char *value, size_t len, int ttl_s)
{
    local_entry *victim = &g_local[0];
    for (int i = 0; i < LOCAL_ENTRIES; i++) {
        local_entry *e = &g_local[i];
        if (e->key && strcmp(e->key, key) == 0) {
            victim = e;
            break;
        }
        if (!e->key || e->used < victim->used)
            victim = e;
        if (!e->key)
            break;
    }
    free(victim->key);
    free(victim->value);
    victim->key = strdup(key);
    victim->value = malloc(len);
    if (!victim->key || !victim->value) {
        free(victim->key);
        free(victim->value);
        memset(victim, 0, sizeof *victim);
        return;
    }
    memcpy(victim->value, value, len);
    victim->len = len;
    victim->expires = now_s() + ttl_s;
    victim->used = ++g_local_clock;
}

/* Run the builder and shape "etag + body"; NULL when it answered an error. */
static char *build_value(td_req *r, td_cache_build_fn build, size_t *len)
{
    json_object *o = build(r);
    if (!o)
        return NULL;
    size_t bl;
    const char *body = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &bl);
    char *v = td_arena_alloc(r->arena, bl + 17);
    snprintf(v, 17, "%016" PRIx64, td_cache_etag_hash(body, bl));
    memcpy(v + 16, body, bl);
    v[16 + bl] = '\0';
    json_object_put(o);
    *len = bl + 16;
    return v;
}

static int wants_bypass(td_req *r)
{
    const char *cc = r->header(r, "HTTP_CACHE_CONTROL");
    const char *pragma = r->header(r, "HTTP_PRAGMA");
    return (cc && (strcasestr(cc, "no-cache") || strcasestr(cc, "no-store"))) ||
           (pragma && strcasestr(pragma, "no-cache"));
}

static void free_reply(redisReply *rep)
{
    if (rep)
        freeReplyObject(rep);
}

void td_cache_respond(td_req *r, const td_cache_rule *rule, td_cache_build_fn build)
{
    td_redis *rd = r->app->redis;
    char scope[32];
    if (rule->per_user)
        snprintf(scope, sizeof scope, "u%lld", (long long)r->user_id); /* as cachegen.h */
    else
        snprintf(scope, sizeof scope, "pub");
    const char *tail = key_tail(r, rule);
    size_t len;
    char *value;

    if (wants_bypass(r)) {
        td_metrics_count(TD_M_CACHE_BYPASS);
        if ((value = build_value(r, build, &len)))
            send_value(r, "BYPASS", value, len);
        return;
    }

    /* 1. Look up generation and entry together. */
    char *prefix = td_arena_printf(r->arena, "td:c:%s:", scope);
    char *suffix = td_arena_printf(r->arena, ":%s", tail);
    char *genkey = td_arena_printf(r->arena, "td:gen:%s", scope);
    const char *args[] = {genkey, prefix, suffix};
    redisReply *rep = td_redis_eval(rd, LOOKUP_LUA, 1, 3, args);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        /* Redis is down or confused: the in-process cache, then the database. */
        free_reply(rep);
        td_metrics_count(TD_M_CACHE_ERROR);
        char *lkey = td_arena_printf(r->arena, "%s%s", prefix, tail);
        local_entry *e = local_find(lkey);
        if (e) {
            td_metrics_count(TD_M_CACHE_LOCAL_HIT);
            send_value(r, "HIT", e->value, e->len);
            return;
        }
        td_metrics_count(TD_M_CACHE_MISS);
        if ((value = build_value(r, build, &len))) {
            local_store(lkey, value, len, rule->ttl_s);
            send_value(r, "MISS", value, len);
        }
        return;
    }
    redisReply *gen = rep->element[0], *hit = rep->element[1];
    if (hit->type == REDIS_REPLY_STRING && hit->len >= 16) {
        td_metrics_count(TD_M_CACHE_HIT);
        send_value(r, "HIT", hit->str, hit->len);
        freeReplyObject(rep);
        return;
    }
    char *key = td_arena_printf(r->arena, "%s%s%s", prefix,
                                gen->type == REDIS_REPLY_STRING ? gen->str : "0", suffix);
    freeReplyObject(rep);
    td_metrics_count(TD_M_CACHE_MISS);

    /* 2. Single flight: one request per key builds; the others wait briefly
     * for its result, and build themselves only if it does not come. */
    char *lock = td_arena_printf(r->arena, "td:lk:%s", key);
    rep = td_redis_cmd(rd, "SET %s 1 NX PX %d", lock, LOCK_MS);
    int owner = !rep || rep->type == REDIS_REPLY_STATUS;
    free_reply(rep);
    if (!owner) {
        for (int i = 0; i < WAIT_POLLS; i++) {
            usleep(WAIT_POLL_US);
            rep = td_redis_cmd(rd, "GET %s", key);
            if (rep && rep->type == REDIS_REPLY_STRING && rep->len >= 16) {
                send_value(r, "HIT", rep->str, rep->len);
                freeReplyObject(rep);
                return;
            }
            int gone = !rep;
            free_reply(rep);
            if (gone)
                break;
        }
    }

    /* 3. Build, store, release the lock, answer. */
    value = build_value(r, build, &len);
    if (value) {
        td_redis_append(rd, "SET %b %b EX %d", key, strlen(key), value, len, rule->ttl_s);
        if (owner)
            td_redis_append(rd, "DEL %s", lock);
        redisReply *reps[2];
        if (td_redis_flush(rd, reps, owner ? 2 : 1) == TD_OK) {
            free_reply(reps[0]);
            if (owner)
                free_reply(reps[1]);
        }
        send_value(r, "MISS", value, len);
    } else if (owner) {
        free_reply(td_redis_cmd(rd, "DEL %s", lock));
    }
}
