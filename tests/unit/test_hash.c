/*
 * test_hash.c - the one FNV-1a (core/hash.h), pinned to the values it has
 * always produced: response ETags are td_hash of the body, and clients hold
 * them across releases, so any change here would turn every 304 into a 200.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/hash.h"

#include <string.h>

static void pinned_values(void **state)
{
    (void)state;
    assert_true(td_hash("", 0) == 0x14650fb0739d0383ULL);
    assert_true(td_hash("a", 1) == 0x44bd8ad473cd9906ULL);
    assert_true(td_hash("foobar", 6) == 0x88fad7c0a8ff07f2ULL);
    /* A body's ETag as the etag function in api/cache.c made it before. */
    const char *body = "{\"symbol\":\"BTCUSDT\",\"price\":\"106562.08\"}";
    assert_true(td_hash(body, strlen(body)) == 0xe154644ae9d2a62fULL);
}

static void more_continues_a_hash(void **state)
{
    (void)state;
    uint64_t h = td_hash_more(TD_HASH_SEED, "foo", 3);
    assert_true(td_hash_more(h, "bar", 3) == td_hash("foobar", 6));
    assert_true(td_hash_more(TD_HASH_SEED, "", 0) == TD_HASH_SEED);
}

static void str_folds_the_high_bits(void **state)
{
    (void)state;
    uint64_t h = td_hash("foobar", 6);
    assert_true(td_hash_str("foobar") == (h ^ (h >> 29)));
    assert_true(td_hash_str("foobar") == 0x88fad7c4ef29b9f7ULL);
    assert_true(td_hash_str("") == 0x14650fb0d0b57e00ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pinned_values),
        cmocka_unit_test(more_continues_a_hash),
        cmocka_unit_test(str_folds_the_high_bits),
    };
    return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
