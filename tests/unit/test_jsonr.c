/*
 * test_jsonr.c - the strict JSON reader (core/jsonr.h): the token layout
 * and lookups, decoded escapes, numbers kept as written, and every kind of
 * input RFC 8259 refuses, refused with a reason at the right byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/jsonr.h"

#include <string.h>

static td_jr R;

static int setup(void **state)
{
    (void)state;
    td_jr_init(&R, 10, 1000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    td_jr_free(&R);
    return 0;
}

static td_status parse(const char *s)
{
    return td_jr_parse(&R, s, strlen(s));
}

/* The text of value i as a C string (in a static buffer). */
static const char *text(int i)
{
    static char buf[256];
    size_t n;
    const char *s = td_jr_text(&R, i, &n);
    if (!s)
        return NULL;
    assert_true(n < sizeof buf);
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

static void objects_and_lookups(void **state)
{
    (void)state;
    assert_int_equal(parse(" {\"e\":\"trade\",\"k\":{\"x\":false,\"n\":[1,[2,3],{}]},\"p\":\"1.50\","
                           "\"m\":true,\"z\":null}\n"),
                     TD_OK);
    assert_int_equal(td_jr_type_of(&R, 0), TD_JR_OBJECT);
    assert_int_equal(R.tok[0].end, R.n);
    assert_string_equal(text(td_jr_member(&R, 0, "e")), "trade");
    assert_string_equal(text(td_jr_member(&R, 0, "p")), "1.50");
    assert_int_equal(td_jr_type_of(&R, td_jr_member(&R, 0, "m")), TD_JR_TRUE);
    assert_int_equal(td_jr_type_of(&R, td_jr_member(&R, 0, "z")), TD_JR_NULL);
    assert_int_equal(td_jr_member(&R, 0, "missing"), -1);
    assert_int_equal(td_jr_member(&R, 0, "E"), -1); /* case matters */
    /* Lookups skip whole subtrees: "x" and "n" are k's, not the root's. */
    assert_int_equal(td_jr_member(&R, 0, "x"), -1);
    int k = td_jr_member(&R, 0, "k");
    assert_int_equal(td_jr_type_of(&R, td_jr_member(&R, k, "x")), TD_JR_FALSE);
    int n = td_jr_member(&R, k, "n");
    assert_int_equal(td_jr_count(&R, n), 3);
    int a = td_jr_first(&R, n);
    assert_string_equal(text(a), "1");
    int b = td_jr_next(&R, n, a);
    assert_int_equal(td_jr_count(&R, b), 2);
    int c = td_jr_next(&R, n, b);
    assert_int_equal(td_jr_type_of(&R, c), TD_JR_OBJECT);
    assert_int_equal(td_jr_count(&R, c), 0);
    assert_int_equal(td_jr_first(&R, c), -1);
    assert_int_equal(td_jr_next(&R, n, c), -1);
    assert_int_equal(td_jr_count(&R, 0), 5);
    /* Missing values answer as missing all the way down. */
    assert_int_equal(td_jr_member(&R, -1, "e"), -1);
    assert_null(td_jr_text(&R, -1, NULL));
    assert_null(td_jr_text(&R, k, NULL)); /* an object has no text */
    assert_int_equal(td_jr_count(&R, -1), 0);
}

static void duplicate_key_first_wins(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"a\":\"1\",\"a\":\"2\"}"), TD_OK);
    assert_string_equal(text(td_jr_member(&R, 0, "a")), "1");
}

static void escapes_are_decoded(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\",\"u\":\"\\u00e9\\u20AC\\ud83d\\ude00\","
                           "\"k\\u0065y\":1,\"plain\":\"x\"}"),
                     TD_OK);
    assert_string_equal(text(td_jr_member(&R, 0, "s")), "a\"b\\c/d\n\t");
    assert_string_equal(text(td_jr_member(&R, 0, "u")), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    assert_string_equal(text(td_jr_member(&R, 0, "key")), "1"); /* an escaped key */
    assert_false(R.tok[td_jr_member(&R, 0, "plain")].decoded);  /* no copy without escapes */
    /* Raw UTF-8 passes as is. */
    assert_int_equal(parse("\"\xC3\xA9\xF0\x9F\x98\x80\""), TD_OK);
    assert_string_equal(text(0), "\xC3\xA9\xF0\x9F\x98\x80");
}

static void numbers_keep_their_text(void **state)
{
    (void)state;
    const char *ok[] = {"0", "-0", "12", "-12.5", "0.00000001", "1e5", "1E-5", "2.5e+10",
                        "123456789012345678901234567890.123456789"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(parse(ok[i]), TD_OK);
        assert_int_equal(td_jr_type_of(&R, 0), TD_JR_NUMBER);
        assert_string_equal(text(0), ok[i]);
    }
}

static void refused(const char *s, const char *why, size_t at)
{
    td_status st = td_jr_parse(&R, s, strlen(s));
    if (st != TD_EINVAL)
        fail_msg("accepted: %s", s);
    assert_non_null(R.error);
    if (why && strcmp(R.error, why) != 0)
        fail_msg("%s: said \"%s\", not \"%s\"", s, R.error, why);
    if (at != (size_t)-1 && R.error_at != at)
        fail_msg("%s: at byte %zu, not %zu", s, R.error_at, at);
}

static void invalid_json_is_refused(void **state)
{
    (void)state;
    refused("", "unexpected end", 0);
    refused("   ", "unexpected end", 3);
    refused("{\"a\":1,}", "expected a member name", 7);
    refused("[1,]", "unexpected character", 3);
    refused("[1 2]", "expected ',' or ']'", 3);
    refused("{\"a\" 1}", "expected ':'", 5);
    refused("{a:1}", "expected a member name", 1);
    refused("{'a':1}", "expected a member name", 1);
    refused("01", "trailing bytes", 1);
    refused("1.", "invalid number", 2);
    refused(".5", "unexpected character", 0);
    refused("-", "invalid number", 1);
    refused("1e", "invalid number", 2);
    refused("+1", "unexpected character", 0);
    refused("NaN", "unexpected character", 0);
    refused("tru", "invalid literal", 0);
    refused("nul", "invalid literal", 0);
    refused("{} {}", "trailing bytes", 3);
    refused("[1] // c", "trailing bytes", 4);
    refused("\"abc", "unterminated string", 4);
    refused("\"a\tb\"", "control character in a string", 2);
    refused("\"\\x\"", "invalid escape in a string", 1);
    refused("\"\\u12g4\"", "invalid escape in a string", 1);
    refused("\"\\ud83d\"", "invalid escape in a string", 1);        /* lone high surrogate */
    refused("\"\\ude00\"", "invalid escape in a string", 1);        /* lone low surrogate */
    refused("\"\\ud83d\\u0041\"", "invalid escape in a string", 1); /* high + not low */
    refused("\"\xC3\"", "invalid UTF-8 in a string", 1);
    refused("\"\xC0\xAF\"", "invalid UTF-8 in a string", 1);      /* overlong */
    refused("\"\xED\xA0\x80\"", "invalid UTF-8 in a string", 1);  /* a surrogate */
    refused("\"\xF4\x90\x80\x80\"", "invalid UTF-8 in a string", 1); /* past U+10FFFF */
    refused("[1,{\"a\":[}]", "unexpected character", 9);
    refused("{\"a\":1", "unterminated object", 6);
    /* A NUL byte inside is refused, not taken for the end. */
    assert_int_equal(td_jr_parse(&R, "[1]\0", 4), TD_EINVAL);
    assert_int_equal(td_jr_parse(&R, "\"a\0\"", 4), TD_EINVAL);
}

static void depth_and_size_limits(void **state)
{
    (void)state;
    char deep[32];
    memset(deep, '[', 11);
    memset(deep + 11, ']', 11);
    assert_int_equal(td_jr_parse(&R, deep, 22), TD_EINVAL); /* 11 deep */
    assert_string_equal(R.error, "nested too deep");
    assert_int_equal(td_jr_parse(&R, deep + 1, 20), TD_OK); /* 10 */
    char big[4100];
    size_t n = 0;
    big[n++] = '[';
    for (int i = 0; i < 1000; i++) {
        big[n++] = '0';
        big[n++] = ',';
    }
    big[n++] = '0';
    big[n++] = ']';
    assert_int_equal(td_jr_parse(&R, big, n), TD_EINVAL); /* 1002 tokens, cap 1000 */
    assert_string_equal(R.error, "too many values");
    assert_int_equal(td_jr_parse(&R, big + 4, n - 4 - 2), TD_EINVAL); /* not one value */
}

static void reuse_between_messages(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"a\":\"\\u0041\",\"b\":[1,2,3]}"), TD_OK);
    assert_int_equal(parse("{\"c\":\"\\u0042\"}"), TD_OK);
    assert_int_equal(R.n, 3);
    assert_int_equal(td_jr_member(&R, 0, "a"), -1);
    assert_string_equal(text(td_jr_member(&R, 0, "c")), "B");
    assert_int_equal(R.text_len, 1); /* the decoded buffer starts over */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objects_and_lookups),
        cmocka_unit_test(duplicate_key_first_wins),
        cmocka_unit_test(escapes_are_decoded),
        cmocka_unit_test(numbers_keep_their_text),
        cmocka_unit_test(invalid_json_is_refused),
        cmocka_unit_test(depth_and_size_limits),
        cmocka_unit_test(reuse_between_messages),
    };
    return cmocka_run_group_tests_name("jsonr", tests, setup, teardown);
}
