/*
 * test_digest.c - SHA-256 as hex against FIPS 180-2's test vectors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/digest.h"

static void vectors(void **state)
{
    (void)state;
    char hex[TD_SHA256_HEX_LEN + 1];
    assert_int_equal(td_sha256_hex("abc", 3, hex), TD_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(td_sha256_hex("", 0, hex), TD_OK);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(td_sha256_hex(two, strlen(two), hex), TD_OK);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(vectors)};
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
