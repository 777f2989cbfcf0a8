/*
 * test_password.c - unit tests for Argon2id hashing (core/password.c) and
 * kernel randomness (core/random.c).  No I/O beyond getrandom().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/password.h"
#include "core/random.h"

static void test_hash_then_verify(void **state)
{
    (void)state;
    char h[TD_PASSWORD_HASH_MAX];

    assert_int_equal(td_password_hash("correct horse battery staple", h, sizeof(h)), TD_OK);
    assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_int_equal(td_password_verify(h, "correct horse battery staple"), TD_OK);
    assert_int_equal(td_password_verify(h, "correct horse battery stapl"), TD_EDENIED);
    assert_int_equal(td_password_verify(h, "Correct horse battery staple"), TD_EDENIED);
    assert_int_equal(td_password_verify(h, ""), TD_EDENIED);
}

static void test_salt_makes_hashes_differ(void **state)
{
    (void)state;
    char a[TD_PASSWORD_HASH_MAX], b[TD_PASSWORD_HASH_MAX];

    assert_int_equal(td_password_hash("hunter2", a, sizeof(a)), TD_OK);
    assert_int_equal(td_password_hash("hunter2", b, sizeof(b)), TD_OK);
    assert_string_not_equal(a, b);
    assert_int_equal(td_password_verify(a, "hunter2"), TD_OK);
    assert_int_equal(td_password_verify(b, "hunter2"), TD_OK);
}

static void test_overlong_password(void **state)
{
    (void)state;
    char h[TD_PASSWORD_HASH_MAX];
    char *pw = malloc(TD_PASSWORD_MAX_LEN + 2);
    assert_non_null(pw);
    memset(pw, 'p', TD_PASSWORD_MAX_LEN);
    pw[TD_PASSWORD_MAX_LEN] = '\0';

    /* Exactly the limit is fine... */
    assert_int_equal(td_password_hash(pw, h, sizeof(h)), TD_OK);
    assert_int_equal(td_password_verify(h, pw), TD_OK);
    /* ...one byte more is not, for hashing or verifying. */
    pw[TD_PASSWORD_MAX_LEN] = 'p';
    pw[TD_PASSWORD_MAX_LEN + 1] = '\0';
    assert_int_equal(td_password_hash(pw, h, sizeof(h)), TD_EINVAL);
    assert_int_equal(td_password_verify(h, pw), TD_EINVAL);
    free(pw);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char h[TD_PASSWORD_HASH_MAX];

    assert_int_equal(td_password_hash(NULL, h, sizeof(h)), TD_EINVAL);
    assert_int_equal(td_password_hash("pw", h, 50), TD_ENOMEM);
    assert_int_equal(td_password_verify(NULL, "pw"), TD_EINVAL);
    assert_int_equal(td_password_verify("$argon2id$v=19$", NULL), TD_EINVAL);
    assert_int_equal(td_password_verify("", "pw"), TD_EINVAL);
    assert_int_equal(td_password_verify("$argon2id$v=19$garbage", "pw"), TD_EINVAL);
    /* Other Argon2 variants are not ours. */
    assert_int_equal(td_password_verify("$argon2i$v=19$m=19456,t=2,p=1$"
                                        "AAAAAAAAAAAAAAAAAAAAAA$"
                                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                        "pw"),
                     TD_EINVAL);
}

/*
 * burn must cost about what a real verify costs, or it does not hide which
 * usernames exist.  A malformed dummy hash would fail fast and show here.
 * The bound is loose (a quarter of the fastest verify) to stay stable on a
 * loaded machine or under sanitizers.
 */
static void test_burn_costs_a_verify(void **state)
{
    (void)state;
    char h[TD_PASSWORD_HASH_MAX];
    assert_int_equal(td_password_hash("pw", h, sizeof(h)), TD_OK);

    double best = 1e9;
    for (int i = 0; i < 2; i++) {
        double t0 = td_mono_s();
        assert_int_equal(td_password_verify(h, "wrong"), TD_EDENIED);
        double dt = td_mono_s() - t0;
        if (dt < best)
            best = dt;
    }
    double t0 = td_mono_s();
    td_password_burn("wrong");
    td_password_burn(NULL);
    double burn = (td_mono_s() - t0) / 2;
    if (burn * 4 < best)
        fail_msg("burn took %.4f s, a verify %.4f s", burn, best);
}

static void test_random_hex(void **state)
{
    (void)state;
    char a[2 * 100 + 2], b[2 * 100 + 2];

    memset(a, 'x', sizeof(a));
    td_random_hex(a, 100);
    assert_int_equal(strlen(a), 200);
    assert_int_equal(a[201], 'x'); /* nothing written past the NUL */
    assert_int_equal(strspn(a, "0123456789abcdef"), 200);
    td_random_hex(b, 100);
    assert_string_not_equal(a, b);

    td_random_hex(a, 0);
    assert_string_equal(a, "");

    unsigned char buf[1000] = {0};
    assert_int_equal(td_random_bytes(buf, sizeof(buf)), TD_OK);
    size_t zeros = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        zeros += buf[i] == 0;
    assert_true(zeros < 30); /* about 4 expected; all zeros means not filled */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_then_verify),    cmocka_unit_test(test_salt_makes_hashes_differ),
        cmocka_unit_test(test_overlong_password),   cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_burn_costs_a_verify), cmocka_unit_test(test_random_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
