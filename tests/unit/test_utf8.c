/*
 * test_utf8.c - the valid UTF-8 rendering of header bytes (core/utf8.h):
 * valid text passes unchanged, every kind of ill-formed sequence becomes
 * U+FFFD once per maximal subpart, and the length cap never splits a
 * character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/utf8.h"

#include <string.h>

#define FFFD "\xEF\xBF\xBD"

static char out[512];

static const char *clean(const char *in, size_t len, size_t cap)
{
    size_t n = td_utf8_sanitize(in, len, out, cap);
    assert_int_equal(n, strlen(out));
    return out;
}

#define CLEAN(lit) clean((lit), sizeof(lit) - 1, sizeof out)

static void valid_text_is_unchanged(void **state)
{
    (void)state;
    assert_string_equal(CLEAN("Mozilla/5.0 (X11; Linux x86_64)"),
                        "Mozilla/5.0 (X11; Linux x86_64)");
    assert_string_equal(CLEAN("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
                        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    /* The edges of table 3-7. */
    assert_string_equal(CLEAN("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                              "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
                        "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                        "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    assert_string_equal(CLEAN(""), "");
}

static void latin1_byte_becomes_replacement(void **state)
{
    (void)state;
    assert_string_equal(CLEAN("Mozilla caf\xE9"), "Mozilla caf" FFFD);
    assert_string_equal(CLEAN("caf\xE9s"), "caf" FFFD "s");
}

static void ill_formed_sequences(void **state)
{
    (void)state;
    /* Stray continuation bytes and bytes that never start a sequence. */
    assert_string_equal(CLEAN("a\x80\xBF"
                              "b"),
                        "a" FFFD FFFD "b");
    assert_string_equal(CLEAN("\xC0\xAF"), FFFD FFFD); /* overlong '/' */
    assert_string_equal(CLEAN("\xE0\x80\xAF"), FFFD FFFD FFFD);
    assert_string_equal(CLEAN("\xF5\x80"), FFFD FFFD);
    assert_string_equal(CLEAN("\xFF"), FFFD);
    /* Surrogates and code points past U+10FFFF. */
    assert_string_equal(CLEAN("\xED\xA0\x80"), FFFD FFFD FFFD);
    assert_string_equal(CLEAN("\xF4\x90\x80\x80"), FFFD FFFD FFFD FFFD);
    /* A truncated sequence is one maximal subpart: one replacement. */
    assert_string_equal(CLEAN("\xE2\x82"
                              "x"),
                        FFFD "x");
    assert_string_equal(CLEAN("\xF0\x9F\x98"), FFFD);
    assert_string_equal(CLEAN("\xF0\x9F\x98\xC3\xA9"), FFFD "\xC3\xA9");
    /* A NUL inside the bytes would end the C string early. */
    assert_string_equal(clean("a\0b", 3, sizeof out), "a" FFFD "b");
}

static void cap_cuts_at_a_character_boundary(void **state)
{
    (void)state;
    /* cap 5: 4 bytes fit; "ab" + "é" is 4, the next "é" would split. */
    assert_string_equal(clean("ab\xC3\xA9\xC3\xA9", 6, 5), "ab\xC3\xA9");
    assert_string_equal(clean("abc\xC3\xA9", 5, 5), "abc");
    assert_string_equal(clean("ab\xE9", 3, 5), "ab"); /* U+FFFD needs 3 */
    assert_string_equal(clean("abcdef", 6, 1), "");
    assert_int_equal(td_utf8_sanitize("abc", 3, out, 0), 0);

    /* The User-Agent cap: 300 x "é" keeps 128 of them (256 bytes). */
    char ua[600];
    for (int i = 0; i < 300; i++)
        memcpy(ua + 2 * i, "\xC3\xA9", 2);
    assert_int_equal(td_utf8_sanitize(ua, 600, out, TD_USER_AGENT_MAX + 1), 256);
    /* Invalid bytes grow 1 -> 3: 85 replacements fit in 256. */
    memset(ua, 0xE9, 300);
    assert_int_equal(td_utf8_sanitize(ua, 300, out, TD_USER_AGENT_MAX + 1), 255);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_text_is_unchanged),
        cmocka_unit_test(latin1_byte_becomes_replacement),
        cmocka_unit_test(ill_formed_sequences),
        cmocka_unit_test(cap_cuts_at_a_character_boundary),
    };
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
