/*
 * cache.c - the response cache; see cache.h for the model.
 *
 * Lookup order: this worker's memory (worker_cache.h, trusted while the
 * invalidation channel reaches it), then Redis, then the builder.
 * Redis keys (store/keys.h): td:c:<scope>:<rule>:<path args>?<sorted query>,
 * where scope is u<user id> or pub; values are "<gen>:" + 16 hex digits of
 * ETag + the JSON body, gen being "<all>.<scope's>", the td:gen:all and
 * td:gen:<scope> counters when the body was built ("0" when never bumped):
 * bumping td:gen:all (POST /api/v1/admin/redis/clear) makes every entry
 * stale, bumping a user's makes theirs.
 */
#include "api/cache.h"
#include "api/app.h"
#include "api/handlers/metrics_handler.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/jsonw.h"
#include "api/worker_cache.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/keys.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOCK_MS 3000
#define WAIT_POLLS 200   /* a loser of the single-flight race polls this often */
#define WAIT_POLL_US 500 /* ... this far apart (a page builds in about 1 ms) */

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

static void send_body(td_req *r, const char *xcache, const char *etag, const char *body, size_t len)
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

/* Run the builder and shape "etag + body"; NULL when it answered an error. */
static const char *build_value_timed(td_req *r, td_cache_build_fn build, size_t *len)
{
    td_buf b = {0};
    td_buf_reserve(r->arena, &b, 16 * 1024);
    td_buf_add(r->arena, &b, "0000000000000000", 16); /* the ETag, once the body is known */
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    if (!build(r, &w))
        return NULL;
    char etag[17];
    /* td_hash, not td_hash_str: clients hold these ETags, so they stay the
     * plain FNV-1a of the body they always were. */
    snprintf(etag, sizeof etag, "%016" PRIx64, td_hash(b.data + 16, b.len - 16));
    memcpy(b.data, etag, 16);
    *len = b.len;
    return b.data;
}

static int64_t g_build_ns; /* of the request in hand: what is not the cache's own time */

static const char *build_value(td_req *r, td_cache_build_fn build, size_t *len)
{
    int64_t t0 = td_mono_ns();
    const char *v = build_value_timed(r, build, len);
    g_build_ns += td_mono_ns() - t0;
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

/* The "etag + body" inside a Redis value "<gen>:<etag><body>" when it was
 * built for generation gen; NULL otherwise (stale, foreign or malformed). */
static const char *for_generation(const redisReply *v, const char *gen, size_t *len)
{
    size_t gl = strlen(gen);
    if (!v || v->type != REDIS_REPLY_STRING || v->len <= gl + 17 || memcmp(v->str, gen, gl) != 0 ||
        v->str[gl] != ':')
        return NULL;
    *len = v->len - gl - 1;
    return v->str + gl + 1;
}

/* Serve a stored "etag + body" and keep it in this worker's memory. */
static void serve_and_keep(td_req *r, const char *lkey, int64_t owner, uint64_t fence,
                           const char *value, size_t len, int ttl_s, const char *xcache)
{
    if (ttl_s > 0)
        td_wc_put(lkey, owner, fence, value, len, ttl_s);
    send_value(r, xcache, value, len);
}

static void respond(td_req *r, const td_cache_rule *rule, td_cache_build_fn build);

/* The cache's own time (its Redis round trips, the single-flight waits)
 * goes to r->cache_ns; the builder's to what it does (the database). */
void td_cache_respond(td_req *r, const td_cache_rule *rule, td_cache_build_fn build)
{
    int64_t t0 = td_mono_ns();
    g_build_ns = 0;
    respond(r, rule, build);
    r->cache_ns += td_mono_ns() - t0 - g_build_ns;
}

static void respond(td_req *r, const td_cache_rule *rule, td_cache_build_fn build)
{
    td_redis *rd = r->app->redis;
    size_t route = td_api_route_index(r);
    int64_t owner = rule->per_user ? r->user_id : 0;
    uint64_t fence = td_wc_fence(owner); /* before anything we keep is read or built */
    char scope[32];
    if (rule->per_user)
        snprintf(scope, sizeof scope, TD_SCOPE_USER, (long long)r->user_id);
    else
        snprintf(scope, sizeof scope, TD_SCOPE_PUB);
    const char *lkey = td_arena_printf(r->arena, "%s:%s", scope, key_tail(r, rule));
    size_t len;
    const char *value;

    if (wants_bypass(r)) {
        td_metrics_cache(route, TD_CACHE_BYPASS);
        if ((value = build_value(r, build, &len)))
            send_value(r, "BYPASS", value, len);
        return;
    }

    /* 1. This worker's memory, while invalidations reach it. */
    if (td_wc_trusted() && (value = td_wc_get(lkey, &len))) {
        td_metrics_cache(route, TD_CACHE_LOCAL_HIT);
        send_value(r, "HIT", value, len);
        return;
    }

    /* 2. Redis: the scope's generation, the entry and its remaining TTL in
     * one round trip.  The entry is "<gen>:<etag><body>"; a generation other
     * than the current one means the user's data changed since. */
    char *key = td_arena_printf(r->arena, TD_KEY_CACHE, lkey);
    redisReply *rep[2] = {NULL, NULL};
    td_status st = td_redis_append(rd, "MGET " TD_KEY_GEN " " TD_KEY_GEN_ALL " %s", scope, key);
    if (st == TD_OK)
        st = td_redis_append(rd, "PTTL %s", key);
    if (st == TD_OK)
        st = td_redis_flush(rd, rep, 2);
    else
        td_redis_flush(rd, rep, 0);
    if (st != TD_OK || rep[0]->type != REDIS_REPLY_ARRAY || rep[0]->elements != 3) {
        /* Redis is down: this worker's memory, then the database. */
        free_reply(rep[0]);
        free_reply(rep[1]);
        td_metrics_cache(route, TD_CACHE_ERROR);
        if ((value = td_wc_get(lkey, &len))) {
            td_metrics_cache(route, TD_CACHE_LOCAL_HIT);
            send_value(r, "HIT", value, len);
            return;
        }
        td_metrics_cache(route, TD_CACHE_MISS);
        if ((value = build_value(r, build, &len)))
            serve_and_keep(r, lkey, owner, fence, value, len, rule->ttl_s, "MISS");
        return;
    }
    redisReply *gen = rep[0]->element[0], *all = rep[0]->element[1];
    const char *g =
        td_arena_printf(r->arena, "%s.%s", all->type == REDIS_REPLY_STRING ? all->str : "0",
                        gen->type == REDIS_REPLY_STRING ? gen->str : "0");
    if ((value = for_generation(rep[0]->element[2], g, &len))) {
        long long pttl = rep[1]->type == REDIS_REPLY_INTEGER ? rep[1]->integer : 0;
        td_metrics_cache(route, TD_CACHE_HIT);
        serve_and_keep(r, lkey, owner, fence, value, len, (int)(pttl / 1000), "HIT");
        freeReplyObject(rep[0]);
        freeReplyObject(rep[1]);
        return;
    }
    char *tagged_gen = td_arena_strdup(r->arena, g);
    freeReplyObject(rep[0]);
    freeReplyObject(rep[1]);
    td_metrics_cache(route, TD_CACHE_MISS);

    /* 3. Single flight: one request per key and generation builds; the
     * others wait briefly for its result, and build themselves only if it
     * does not come. */
    char *lock = td_arena_printf(r->arena, TD_KEY_LOCK, tagged_gen, lkey);
    /* Take the lock and look again in one round trip: a builder that
     * finished between our lookup and now has released the lock already. */
    redisReply *lk[2] = {NULL, NULL};
    int builder = 1;
    if (td_redis_append(rd, "SET %s 1 NX PX %d", lock, LOCK_MS) == TD_OK &&
        td_redis_append(rd, "GET %s", key) == TD_OK && td_redis_flush(rd, lk, 2) == TD_OK) {
        builder = lk[0]->type == REDIS_REPLY_STATUS;
        if ((value = for_generation(lk[1], tagged_gen, &len))) {
            if (builder)
                free_reply(td_redis_cmd(rd, "DEL %s", lock));
            serve_and_keep(r, lkey, owner, fence, value, len, rule->ttl_s, "HIT");
            freeReplyObject(lk[0]);
            freeReplyObject(lk[1]);
            return;
        }
        freeReplyObject(lk[0]);
        freeReplyObject(lk[1]);
    } else {
        td_redis_flush(rd, lk, 0); /* Redis went away: build without a lock */
    }
    if (!builder) {
        /* Wait for the entry while the lock stands.  A builder that
         * answered an error (a 404) stores nothing and drops the lock, so
         * a lock gone with no entry means: stop waiting, build ourselves.
         * EXISTS goes first: the builder stores before it unlocks, so an
         * unlocked key read after it holds whatever the builder made. */
        for (int i = 0; i < WAIT_POLLS; i++) {
            usleep(WAIT_POLL_US);
            redisReply *w[2] = {NULL, NULL};
            if (td_redis_append(rd, "EXISTS %s", lock) != TD_OK ||
                td_redis_append(rd, "GET %s", key) != TD_OK || td_redis_flush(rd, w, 2) != TD_OK) {
                td_redis_flush(rd, w, 0);
                break; /* Redis went away */
            }
            if ((value = for_generation(w[1], tagged_gen, &len))) {
                serve_and_keep(r, lkey, owner, fence, value, len, rule->ttl_s, "HIT");
                freeReplyObject(w[0]);
                freeReplyObject(w[1]);
                return;
            }
            int unlocked = w[0]->type == REDIS_REPLY_INTEGER && w[0]->integer == 0;
            freeReplyObject(w[0]);
            freeReplyObject(w[1]);
            if (unlocked)
                break;
        }
    }

    /* 4. Build, store under the generation it was built for, release the
     * lock, answer. */
    if ((value = build_value(r, build, &len))) {
        char *stored = td_arena_printf(r->arena, "%s:", tagged_gen);
        size_t sl = strlen(stored);
        char *buf = td_arena_alloc(r->arena, sl + len);
        memcpy(buf, stored, sl);
        memcpy(buf + sl, value, len);
        td_redis_append(rd, "SET %b %b EX %d", key, strlen(key), buf, sl + len, rule->ttl_s);
        if (builder)
            td_redis_append(rd, "DEL %s", lock);
        redisReply *done[2];
        if (td_redis_flush(rd, done, builder ? 2 : 1) == TD_OK) {
            free_reply(done[0]);
            if (builder)
                free_reply(done[1]);
        }
        serve_and_keep(r, lkey, owner, fence, value, len, rule->ttl_s, "MISS");
    } else if (builder) {
        free_reply(td_redis_cmd(rd, "DEL %s", lock));
    }
}
