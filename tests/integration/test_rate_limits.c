/*
 * test_rate_limits.c - every authenticated route is limited per user (its
 * reads and its writes apart, all addresses together) and per client
 * address (all users together), in one atomic GCRA check in Redis
 * (api/dispatch.c, api/ratelimit.c): the burst passes, the next is 429
 * with Retry-After and the RateLimit-* headers naming the binding policy,
 * one user's limit is not another's, the rate refills, and with Redis down
 * each worker still limits from its own memory.
 *
 * The API runs here with small limits: reads 60/min (burst 4: 5 at once),
 * writes 60/min (burst 1), 600/min per address (burst 9).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const SETTINGS[][2] = {
    {"TRADEDESK_READ_RATE", "60"},     {"TRADEDESK_READ_BURST", "4"},
    {"TRADEDESK_WRITE_RATE", "60"},    {"TRADEDESK_WRITE_BURST", "1"},
    {"TRADEDESK_ADDRESS_RATE", "600"}, {"TRADEDESK_ADDRESS_BURST", "9"},
};
#define NSETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSETTINGS; i++)
        setenv(SETTINGS[i][0], SETTINGS[i][1], 1);
    return itest_api_restart();
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSETTINGS; i++)
        unsetenv(SETTINGS[i][0]);
    itest_stack("start redis"); /* whatever a test left */
    return itest_api_restart();
}

/* Each test from an address of its own, with users of its own. */
static int fresh_client(void **state)
{
    (void)state;
    itest_client_ip(itest_fresh_ip());
    return 0;
}

static void new_token(char *token, size_t cap)
{
    char name[64];
    assert_int_equal(itest_user_add("rl", "secret-pass-1", name, sizeof name), 0);
    itest_token(name, token, cap);
}

static long status_of(const char *method, const char *path, const char *token,
                      itest_response **keep)
{
    itest_response *r =
        method[0] == 'G' ? itest_get_auth(path, token) : itest_http_auth(method, path, token);
    long st = r->status;
    if (keep)
        *keep = r;
    else
        itest_free(r);
    return st;
}

static void reads_per_user(void **state)
{
    (void)state;
    char a[2048], b[2048];
    new_token(a, sizeof a);
    new_token(b, sizeof b);
    itest_response *r = NULL;
    int ok = 0;
    long long t0 = itest_now_ms();
    for (int i = 0; i < 20; i++) {
        r = itest_get_auth("/api/v1/portfolio", a);
        if (r->status != 200)
            break;
        const char *policy = itest_header(r, "RateLimit-Policy");
        assert_non_null(policy);
        assert_non_null(strstr(policy, "\"read\";q=60;w=60;burst=4"));
        assert_non_null(strstr(policy, "\"address\";q=600;w=60;burst=9"));
        itest_free(r);
        r = NULL;
        ok++;
    }
    /* Decided in Redis across both workers: the burst and one more, exactly
     * (near the limit each worker's share of what remains is 0, so every
     * read is checked), plus one for each whole second the loop took on a
     * busy machine (the limit refills at one a second). */
    long long took_s = (itest_now_ms() - t0) / 1000;
    assert_true(ok >= 5);
    assert_true(ok <= 5 + took_s);
    assert_non_null(r);
    ITEST_RATE_LIMITED(r);
    assert_non_null(strstr(itest_header(r, "RateLimit"), "\"read\";r=0"));
    itest_free(r);
    /* Another user's reads are theirs. */
    assert_int_equal(status_of("GET", "/api/v1/portfolio", b, NULL), 200);
    /* Writes are counted apart from reads. */
    assert_int_equal(status_of("DELETE", "/api/v1/orders/conditional/999999999", a, NULL), 404);
    /* The limit refills at 60/min: reads pass again 2 s later. */
    sleep(2);
    assert_int_equal(status_of("GET", "/api/v1/portfolio", a, NULL), 200);
}

static void writes_per_user(void **state)
{
    (void)state;
    char a[2048];
    new_token(a, sizeof a);
    itest_response *r;
    for (int i = 0; i < 2; i++)
        assert_int_equal(status_of("DELETE", "/api/v1/orders/conditional/999999999", a, NULL), 404);
    assert_int_equal(status_of("DELETE", "/api/v1/orders/conditional/999999999", a, &r), 429);
    ITEST_RATE_LIMITED(r);
    assert_non_null(strstr(itest_header(r, "RateLimit"), "\"write\";r=0"));
    itest_free(r);
    /* Nothing was done by the refused one, and reads still pass. */
    assert_int_equal(status_of("GET", "/api/v1/portfolio", a, NULL), 200);
}

static void address_shared_by_users(void **state)
{
    (void)state;
    /* Writes, decided in Redis: five users' two each fill the address's
     * ten; the next user's first is refused by the address.  The address
     * refills at ten a second, so each whole 100 ms the writes took (a
     * sanitizer build, a busy machine) may let one more user's through:
     * fresh users go on until one is refused, at most that many pass. */
    enum { USERS = 16 };
    static char t[USERS][2048];
    for (int i = 0; i < USERS; i++)
        new_token(t[i], sizeof t[i]);
    long long t0 = itest_now_ms();
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 2; k++)
            assert_int_equal(
                status_of("DELETE", "/api/v1/orders/conditional/999999999", t[i], NULL), 404);
    itest_response *r = NULL;
    int refused = 5; /* the user whose write the address refused */
    for (; refused < USERS; refused++) {
        long st = status_of("DELETE", "/api/v1/orders/conditional/999999999", t[refused], &r);
        if (st == 429)
            break;
        assert_int_equal(st, 404);
        itest_free(r);
        r = NULL;
    }
    long long took_100ms = (itest_now_ms() - t0) / 100;
    assert_non_null(r);
    assert_true(refused - 5 <= took_100ms);
    ITEST_RATE_LIMITED(r);
    assert_non_null(strstr(itest_header(r, "RateLimit"), "\"address\";r=0"));
    itest_free(r);
    /* The same user from another address: only its own limit counts. */
    itest_client_ip(itest_fresh_ip());
    assert_int_equal(
        status_of("DELETE", "/api/v1/orders/conditional/999999999", t[refused], NULL), 404);
}

static void redis_down_limits_per_worker(void **state)
{
    (void)state;
    char a[2048];
    new_token(a, sizeof a);
    assert_int_equal(itest_stack("stop redis"), 0);
    int limited = 0, ok = 0;
    for (int i = 0; i < 20; i++) {
        long st = status_of("DELETE", "/api/v1/orders/conditional/999999999", a, NULL);
        ok += st == 404;
        limited += st == 429;
    }
    assert_int_equal(itest_stack("start redis"), 0);
    /* Each of the 2 workers lets its own burst (2) through, not more. */
    assert_true(ok >= 2 && ok <= 4);
    assert_true(limited >= 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(reads_per_user, fresh_client),
        cmocka_unit_test_setup(writes_per_user, fresh_client),
        cmocka_unit_test_setup(address_shared_by_users, fresh_client),
        cmocka_unit_test_setup(redis_down_limits_per_worker, fresh_client),
    };
    return cmocka_run_group_tests_name("rate_limits", tests, setup, teardown);
}
