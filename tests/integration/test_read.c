/*
 * test_read.c - portfolio, positions and prices through nginx against the
 * real API, PostgreSQL and Redis: happy paths, isolation between users,
 * keyset pagination under inserts, every validation error, the response
 * cache (MISS/HIT/BYPASS/304, invalidation, Redis stopped and restarted),
 * and /metrics checked by promtool.
 *
 * Tokens come from `tradedesk token` (no login, so no rate limit); rows are
 * read and written with `stack.sh psql` to check the API against the
 * database itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domain/decimal.h"
#include "itest.h"
#include "store/keys.h"
#include "store/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char alice[2048], bob[2048];

static int setup(void **state)
{
    (void)state;
    itest_token("alice", alice, sizeof alice);
    itest_token("bob", bob, sizeof bob);
    return 0;
}

static td_dec money(const itest_response *r, const char *dotted)
{
    const char *s = itest_json_str(r, dotted);
    td_dec v = 0;
    if (!s || td_dec_parse(s, strlen(s), &v) != TD_OK) {
        fprintf(stderr, "    %s is not a decimal string: %s\n", dotted, s ? s : "(missing)");
        itest_dump(r);
        fail();
    }
    return v;
}

static itest_response *get(const char *path, const char *token, const char *extra_header)
{
    char auth[2100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *h[] = {auth, extra_header, NULL};
    return itest_http("GET", path, h, NULL);
}

/* ------------------------------------------------------------ portfolio */

static void portfolio_adds_up(void **state)
{
    (void)state;
    itest_response *r = get("/api/v1/portfolio", alice, "Cache-Control: no-cache");
    ITEST_STATUS(r, 200);
    td_dec cash = money(r, "cash_balance"), value = money(r, "positions_value"),
           equity = money(r, "equity");
    money(r, "unrealized_pnl");
    money(r, "realized_pnl");
    assert_int_equal(cash + value, equity);
    char want[64];
    itest_sql(want, sizeof want,
              "SELECT cash_balance FROM accounts a JOIN users u ON u.id = a.user_id "
              "WHERE username = 'alice'");
    td_dec db_cash;
    assert_int_equal(td_dec_parse(want, strlen(want), &db_cash), TD_OK);
    assert_int_equal(cash, db_cash);
    json_object *n = itest_json_get(r, "open_positions");
    itest_sql(want, sizeof want,
              "SELECT count(*) FROM positions p JOIN users u ON u.id = p.user_id "
              "WHERE username = 'alice' AND status = 'open'");
    assert_int_equal(json_object_get_int(n), atoi(want));
    assert_true(json_object_array_length(itest_json_get(r, "exposure")) > 0);
    itest_free(r);
}

/* ------------------------------------------------------------ positions */

static void positions_filter_by_status_and_symbol(void **state)
{
    (void)state;
    itest_response *r = get("/api/v1/positions?status=closed&limit=200", alice, NULL);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_true(json_object_array_length(items) > 0);
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *p = json_object_array_get_idx(items, i), *st;
        assert_true(json_object_object_get_ex(p, "status", &st));
        assert_string_equal(json_object_get_string(st), "closed");
    }
    itest_free(r);

    r = get("/api/v1/positions?symbol=BTC-USDT", alice, NULL);
    ITEST_STATUS(r, 200);
    items = itest_json_get(r, "items");
    assert_true(json_object_array_length(items) > 0);
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *p = json_object_array_get_idx(items, i), *v;
        assert_true(json_object_object_get_ex(p, "symbol", &v));
        assert_string_equal(json_object_get_string(v), "BTC-USDT");
        assert_true(json_object_object_get_ex(p, "mark_price", &v));
        assert_non_null(v);
    }
    itest_free(r);
}

static void positions_are_isolated(void **state)
{
    (void)state;
    char bob_id[32], n_alice[32];
    itest_sql(bob_id, sizeof bob_id,
              "SELECT p.id FROM positions p JOIN users u ON u.id = p.user_id "
              "WHERE username = 'bob' ORDER BY p.id LIMIT 1");
    assert_true(bob_id[0] != '\0');
    char path[128];
    snprintf(path, sizeof path, "/api/v1/positions/%s", bob_id);
    itest_response *r = get(path, alice, NULL);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);
    r = get(path, bob, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "id"), bob_id);
    itest_free(r);

    /* Alice's list holds exactly her rows. */
    itest_sql(n_alice, sizeof n_alice,
              "SELECT count(*) FROM positions p JOIN users u ON u.id = p.user_id "
              "WHERE username = 'alice'");
    r = get("/api/v1/positions?limit=200", alice, NULL);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_int_equal((int)json_object_array_length(items), atoi(n_alice));
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *id;
        json_object_object_get_ex(json_object_array_get_idx(items, i), "id", &id);
        assert_string_not_equal(json_object_get_string(id), bob_id);
    }
    itest_free(r);
}

/* Page with limit=2 while rows are inserted: every id exactly once. */
static void pagination_visits_every_row_once(void **state)
{
    (void)state;
    char user[64], token[2048], uid[32], before[32];
    assert_int_equal(itest_user_add("pager", "pager password", user, sizeof user), 0);
    itest_token(user, token, sizeof token);
    itest_sql(uid, sizeof uid, "SELECT id FROM users WHERE username = '%s'", user);
    assert_int_equal(
        itest_sql(NULL, 0,
                  "INSERT INTO positions (user_id, symbol, side, quantity, entry_price, "
                  "status, closed_at) SELECT %s, 'ETH-USDT', 'long', 1, 100 + g, "
                  "'closed', now() FROM generate_series(1, 7) g",
                  uid),
        0);
    char seen[64][32];
    int nseen = 0, pages = 0, inserted = 0;
    char cursor[64] = "";
    for (;;) {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/positions?limit=2%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        itest_response *r = get(path, token, NULL);
        ITEST_STATUS(r, 200);
        json_object *items = itest_json_get(r, "items");
        assert_true(json_object_array_length(items) <= 2);
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *id;
            json_object_object_get_ex(json_object_array_get_idx(items, i), "id", &id);
            for (int j = 0; j < nseen; j++)
                assert_string_not_equal(seen[j], json_object_get_string(id));
            assert_true(nseen < 64);
            snprintf(seen[nseen++], 32, "%s", json_object_get_string(id));
        }
        const char *next = itest_json_str(r, "next_cursor");
        pages++;
        if (pages == 2 && !inserted) { /* rows arrive mid-walk */
            itest_sql(
                NULL, 0,
                "INSERT INTO positions (user_id, symbol, side, quantity, entry_price, status, "
                "closed_at) SELECT %s, 'SOL-USDT', 'short', 2, 150, 'closed', now() "
                "FROM generate_series(1, 3)",
                uid);
            inserted = 1;
        }
        if (!next) {
            itest_free(r);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", next);
        itest_free(r);
        assert_true(pages < 40);
    }
    itest_sql(before, sizeof before, "SELECT count(*) FROM positions WHERE user_id = %s", uid);
    assert_int_equal(nseen, atoi(before));
    assert_int_equal(nseen, 10);
}

/* --------------------------------------------------------------- prices */

static void prices_list_and_one(void **state)
{
    (void)state;
    itest_response *r = get("/api/v1/prices", alice, NULL);
    ITEST_STATUS(r, 200);
    json_object *items = itest_json_get(r, "items");
    assert_true(json_object_array_length(items) >= 5);
    itest_free(r);

    r = get("/api/v1/prices/BTC-USDT", alice, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "symbol"), "BTC-USDT");
    char db_price[64];
    itest_sql(db_price, sizeof db_price,
              "SELECT price FROM prices_latest WHERE symbol = 'BTC-USDT'");
    td_dec a, b;
    assert_int_equal(td_dec_parse(db_price, strlen(db_price), &b), TD_OK);
    a = money(r, "price");
    assert_int_equal(a, b);
    assert_non_null(itest_json_get(r, "stale"));
    assert_non_null(itest_json_get(r, "age_ms"));
    itest_free(r);

    r = get("/api/v1/prices/DOGE-USDT", alice, NULL);
    ITEST_ERROR(r, 404, "not_found");
    itest_free(r);
}

static void read_endpoints_need_a_token(void **state)
{
    (void)state;
    const char *paths[] = {"/api/v1/portfolio", "/api/v1/positions", "/api/v1/positions/1"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        itest_response *r = itest_http("GET", paths[i], NULL, NULL);
        ITEST_ERROR(r, 401, "unauthorized");
        itest_free(r);
    }
}

/* ----------------------------------------------------------- validation */

static void every_bad_parameter_is_400(void **state)
{
    (void)state;
    static const struct {
        const char *path, *code;
    } cases[] = {
        {"/api/v1/positions?status=pending", "invalid_parameter"},
        {"/api/v1/positions?status=", "invalid_parameter"},
        {"/api/v1/positions?symbol=btc-usdt", "invalid_parameter"},
        {"/api/v1/positions?symbol=BTCUSDT", "invalid_parameter"},
        {"/api/v1/positions?limit=0", "invalid_parameter"},
        {"/api/v1/positions?limit=201", "invalid_parameter"},
        {"/api/v1/positions?limit=abc", "invalid_parameter"},
        {"/api/v1/positions?limit=-1", "invalid_parameter"},
        {"/api/v1/positions?cursor=zzz", "invalid_parameter"},
        {"/api/v1/positions?cursor=p", "invalid_parameter"},
        {"/api/v1/positions?cursor=pzzzzzzzzzzzzz", "invalid_parameter"}, /* wraps uint64 */
        {"/api/v1/positions?colour=red", "invalid_parameter"},
        {"/api/v1/positions?limit=1&limit=2", "invalid_query"},
        {"/api/v1/positions?symbol=%zz", "invalid_query"},
        {"/api/v1/positions/abc", "invalid_parameter"},
        {"/api/v1/positions/0", "invalid_parameter"},
        {"/api/v1/positions/99999999999999999999", "invalid_parameter"},
        {"/api/v1/prices/btc-usdt", "invalid_parameter"},
        {"/api/v1/portfolio?x=1", "invalid_parameter"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        itest_response *r = get(cases[i].path, alice, NULL);
        ITEST_ERROR(r, 400, cases[i].code);
        itest_free(r);
    }
}

/* ---------------------------------------------------------------- cache */

static void cache_miss_hit_bypass_and_304(void **state)
{
    (void)state;
    /* A query shape no other test used, so the first answer is a MISS. */
    itest_response *r = get("/api/v1/positions?limit=3&status=open", bob, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "x-cache"), "MISS");
    char etag[64];
    snprintf(etag, sizeof etag, "%s", itest_header(r, "etag"));
    assert_non_null(strstr(itest_header(r, "cache-control"), "private"));
    char *first = strdup(r->body);
    itest_free(r);

    /* Same query, parameters in another order: the same entry. */
    r = get("/api/v1/positions?status=open&limit=3", bob, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "x-cache"), "HIT");
    assert_string_equal(itest_header(r, "etag"), etag);
    assert_string_equal(r->body, first);
    itest_free(r);
    free(first);

    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    r = get("/api/v1/positions?limit=3&status=open", bob, inm);
    ITEST_STATUS(r, 304);
    assert_int_equal(r->body_len, 0);
    itest_free(r);

    r = get("/api/v1/positions?limit=3&status=open", bob, "Cache-Control: no-cache");
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "x-cache"), "BYPASS");
    itest_free(r);

    /* Another user's entry is separate. */
    r = get("/api/v1/positions?limit=3&status=open", alice, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "x-cache"), "MISS");
    itest_free(r);
}

/* Many requests for one uncached key at the same moment: one builds it, the
 * others wait for its result (single flight), so exactly one says MISS. */
static void concurrent_misses_build_once(void **state)
{
    (void)state;
    enum { N = 8 };
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 0) /* released when the parent closes */
                _exit(3);
            itest_response *r = get("/api/v1/positions?limit=137&status=closed", bob, NULL);
            int rc = r->status != 200 ? 3 : strcmp(itest_header(r, "x-cache"), "MISS") == 0 ? 1 : 0;
            itest_free(r);
            _exit(rc);
        }
    }
    close(gate[0]);
    close(gate[1]); /* go */
    int misses = 0, errors = 0;
    for (int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        misses += WEXITSTATUS(st) == 1;
        errors += WEXITSTATUS(st) == 3;
    }
    assert_int_equal(errors, 0);
    assert_int_equal(misses, 1);
}

/* A builder that answers an error (a 404: never cached) drops its lock,
 * and a request waiting on that lock stops waiting at once and answers
 * for itself, instead of polling for an entry that never comes (it slept
 * the whole single-flight wait, about 100 ms, before).  The test holds the
 * lock itself, as a builder in flight would, and drops it 40 ms later. */
static void failed_build_releases_waiters_at_once(void **state)
{
    (void)state;
    char id[32];
    assert_int_equal(itest_sql(id, sizeof id, "SELECT id FROM users WHERE username = 'bob'"), 0);
    td_redis *rd = td_redis_open(getenv("TRADEDESK_REDIS_URL"), 1000);
    assert_non_null(rd);
    for (int round = 0; round < 3; round++) {
        redisReply *g = td_redis_cmd(rd, "GET " TD_KEY_GEN_USER, atoll(id));
        assert_non_null(g);
        char lkey[96], lock[256]; /* the cache's key: scope, rule, path args, query */
        snprintf(lkey, sizeof lkey, TD_SCOPE_USER ":pos1:999999999?", atoll(id));
        snprintf(lock, sizeof lock, TD_KEY_LOCK, g->type == REDIS_REPLY_STRING ? g->str : "0",
                 lkey);
        freeReplyObject(g);
        redisReply *set = td_redis_cmd(rd, "SET %s 1 PX 3000", lock);
        assert_non_null(set);
        freeReplyObject(set);
        pid_t kid = fork();
        assert_true(kid >= 0);
        if (kid == 0) {
            itest_response *r = get("/api/v1/positions/999999999", bob, NULL);
            _exit(r->status == 404 ? 0 : 1);
        }
        usleep(40 * 1000);
        redisReply *del = td_redis_cmd(rd, "DEL %s", lock);
        assert_non_null(del);
        assert_int_equal(del->integer, 1); /* nobody else took it */
        freeReplyObject(del);
        long long t0 = itest_now_ms();
        int st;
        assert_int_equal(waitpid(kid, &st, 0), kid);
        long long after = itest_now_ms() - t0;
        fprintf(stderr, "    round %d: answered %lld ms after the lock was dropped\n", round,
                after);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_true(after < 40);
    }
    td_redis_close(rd);
}

static void invalidation_makes_a_change_visible_at_once(void **state)
{
    (void)state;
    itest_response *r = get("/api/v1/portfolio", alice, NULL);
    ITEST_STATUS(r, 200);
    td_dec before = money(r, "cash_balance");
    itest_free(r);
    r = get("/api/v1/portfolio", alice, NULL);
    assert_string_equal(itest_header(r, "x-cache"), "HIT");
    itest_free(r);

    assert_int_equal(
        itest_sql(NULL, 0,
                  "UPDATE accounts SET cash_balance = cash_balance + 1.25 WHERE user_id = "
                  "(SELECT id FROM users WHERE username = 'alice')"),
        0);
    /* Not invalidated yet: the cached answer stands (TTL 5 s). */
    r = get("/api/v1/portfolio", alice, NULL);
    assert_string_equal(itest_header(r, "x-cache"), "HIT");
    assert_int_equal(money(r, "cash_balance"), before);
    itest_free(r);

    assert_int_equal(itest_cli("cache invalidate alice", NULL, NULL, 0), 0);
    r = get("/api/v1/portfolio", alice, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_header(r, "x-cache"), "MISS");
    assert_int_equal(money(r, "cash_balance"), before + 125000000);
    itest_free(r);
    /* Bob's cache was not touched by alice's invalidation. */
}

static void redis_down_then_back(void **state)
{
    (void)state;
    long long local_before = itest_metric("tradedesk_cache_local_hits_total");
    assert_true(local_before >= 0);
    assert_int_equal(itest_stack("stop redis"), 0);

    /* Both workers must answer from PostgreSQL, then from their own memory. */
    int local_hits = 0;
    for (int i = 0; i < 8; i++) {
        itest_response *r = get("/api/v1/positions?limit=4", alice, NULL);
        ITEST_STATUS(r, 200);
        const char *xc = itest_header(r, "x-cache");
        assert_true(strcmp(xc, "MISS") == 0 || strcmp(xc, "HIT") == 0);
        local_hits += strcmp(xc, "HIT") == 0;
        assert_true(json_object_array_length(itest_json_get(r, "items")) > 0);
        itest_free(r);
    }
    assert_true(local_hits > 0);
    assert_true(itest_metric("tradedesk_cache_local_hits_total") > local_before);
    assert_true(itest_metric("tradedesk_cache_errors_total") > 0);

    assert_int_equal(itest_stack("start redis"), 0);
    /* The cache heals by itself: within a few seconds responses are stored
     * in Redis again (the restarted Redis started empty). */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "redis-cli -s '%s/run/redis.sock' exists 'td:c:pub:px?' | grep -qx 1",
             getenv("TD_TEST_VAR"));
    long long deadline = itest_now_ms() + 10000;
    int healed = 0;
    while (!healed && itest_now_ms() < deadline) {
        itest_response *r = get("/api/v1/prices", alice, NULL);
        ITEST_STATUS(r, 200);
        itest_free(r);
        healed = system(cmd) == 0;
        if (!healed)
            usleep(200 * 1000);
    }
    assert_true(healed);
}

static void metrics_pass_promtool(void **state)
{
    (void)state;
    itest_response *r = itest_http("GET", "/metrics", NULL, NULL);
    ITEST_STATUS(r, 200);
    assert_non_null(strstr(itest_header(r, "content-type"), "text/plain"));
    assert_non_null(strstr(r->body, "tradedesk_http_requests_total{"));
    assert_non_null(strstr(r->body, "tradedesk_http_request_duration_seconds_bucket{"));
    char path[512], cmd[1100];
    snprintf(path, sizeof path, "%s/itest-metrics.txt", getenv("TD_TEST_VAR"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(r->body, 1, r->body_len, f);
    fclose(f);
    itest_free(r);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s'", path);
    assert_int_equal(system(cmd), 0);
}

/* nginx lets loopback 127.0.0.1 scrape, not any other client. */
static void metrics_refused_to_other_clients(void **state)
{
    (void)state;
    const char *keep = getenv("TD_TEST_RECORD"); /* nginx's 403, not the API's */
    char saved[512];
    snprintf(saved, sizeof saved, "%s", keep ? keep : "");
    unsetenv("TD_TEST_RECORD");
    itest_client_ip("127.0.0.7");
    itest_response *r = itest_http("GET", "/metrics", NULL, NULL);
    itest_client_ip(NULL);
    if (saved[0])
        setenv("TD_TEST_RECORD", saved, 1);
    assert_int_equal(r->status, 403);
    assert_null(strstr(r->body, "tradedesk_http_requests_total"));
    itest_free(r);
}

/* ------------------------------------------------------------ pnl/daily */

/* GET /api/v1/pnl/daily against the fills table itself: every day of the
 * range (zeros where nothing filled), each day's sums, the caller's only. */
static void pnl_daily_matches_the_fills(void **state)
{
    (void)state;
    char out[256], path[160];
    assert_int_equal(
        itest_psql("SELECT min(f.created_at AT TIME ZONE 'UTC')::date || ' ' || "
                   "max(f.created_at AT TIME ZONE 'UTC')::date FROM fills f JOIN users u "
                   "ON u.id = f.user_id WHERE u.username = 'alice'",
                   out, sizeof out),
        0);
    char from[16], to[16];
    assert_int_equal(sscanf(out, "%15s %15s", from, to), 2);
    snprintf(path, sizeof path, "/api/v1/pnl/daily?from=%s&to=%s", from, to);
    itest_response *r = get(path, alice, NULL);
    ITEST_STATUS(r, 200);
    assert_string_equal(itest_json_str(r, "from"), from);
    assert_string_equal(itest_json_str(r, "to"), to);
    json_object *items = itest_json_get(r, "items");
    long long days = itest_sql_int("SELECT '%s'::date - '%s'::date + 1", to, from);
    assert_int_equal(json_object_array_length(items), days);
    td_dec pnl = 0;
    long long fills = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i), *v;
        assert_true(json_object_object_get_ex(it, "realized_pnl", &v));
        td_dec d;
        assert_int_equal(
            td_dec_parse(json_object_get_string(v), strlen(json_object_get_string(v)), &d), TD_OK);
        pnl += d;
        assert_true(json_object_object_get_ex(it, "fills", &v));
        fills += json_object_get_int64(v);
    }
    assert_int_equal(fills, itest_sql_int("SELECT count(*) FROM fills f JOIN users u ON u.id = "
                                          "f.user_id WHERE u.username = 'alice'"));
    assert_int_equal(itest_psql("SELECT sum(realized_pnl) FROM fills f JOIN users u ON u.id = "
                                "f.user_id WHERE u.username = 'alice'",
                                out, sizeof out),
                     0);
    td_dec want;
    assert_int_equal(td_dec_parse(out, strlen(out), &want), TD_OK);
    assert_int_equal(pnl, want);
    /* The first day, exactly. */
    assert_int_equal(
        itest_psql(
            "SELECT round(sum(f.price * f.quantity), 8) FROM fills f JOIN users u ON u.id = "
            "f.user_id WHERE u.username = 'alice' AND (f.created_at AT TIME ZONE 'UTC')::date = "
            "(SELECT min(g.created_at AT TIME ZONE 'UTC')::date FROM fills g WHERE g.user_id = "
            "u.id)",
            out, sizeof out),
        0);
    json_object *first = json_object_array_get_idx(items, 0), *vol;
    assert_true(json_object_object_get_ex(first, "volume", &vol));
    td_dec a, b;
    assert_int_equal(td_dec_parse(out, strlen(out), &a), TD_OK);
    assert_int_equal(
        td_dec_parse(json_object_get_string(vol), strlen(json_object_get_string(vol)), &b), TD_OK);
    assert_int_equal(a, b);
    itest_free(r);

    /* Without parameters: the last 30 days, ending today. */
    r = get("/api/v1/pnl/daily", bob, NULL);
    ITEST_STATUS(r, 200);
    assert_int_equal(json_object_array_length(itest_json_get(r, "items")), 30);
    itest_free(r);

    static const char *const bad[] = {
        "/api/v1/pnl/daily?from=2026-02-30", "/api/v1/pnl/daily?from=2026-1-01",
        "/api/v1/pnl/daily?from=2026-12-02&to=2026-12-01",
        "/api/v1/pnl/daily?from=2024-01-01&to=2026-01-01", "/api/v1/pnl/daily?day=2026-01-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = get(bad[i], alice, NULL);
        ITEST_ERROR(r, 400, "invalid_parameter");
        itest_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_endpoints_need_a_token),
        cmocka_unit_test(portfolio_adds_up),
        cmocka_unit_test(positions_filter_by_status_and_symbol),
        cmocka_unit_test(positions_are_isolated),
        cmocka_unit_test(pagination_visits_every_row_once),
        cmocka_unit_test(prices_list_and_one),
        cmocka_unit_test(every_bad_parameter_is_400),
        cmocka_unit_test(cache_miss_hit_bypass_and_304),
        cmocka_unit_test(concurrent_misses_build_once),
        cmocka_unit_test(failed_build_releases_waiters_at_once),
        cmocka_unit_test(invalidation_makes_a_change_visible_at_once),
        cmocka_unit_test(redis_down_then_back),
        cmocka_unit_test(pnl_daily_matches_the_fills),
        cmocka_unit_test(metrics_pass_promtool),
        cmocka_unit_test(metrics_refused_to_other_clients),
    };
    return cmocka_run_group_tests_name("read API", tests, setup, NULL);
}
