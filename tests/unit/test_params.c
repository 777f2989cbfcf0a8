/*
 * test_params.c - unit tests for the keyset cursor (api/params.c): every
 * id round-trips, and text that is not a cursor this API could have
 * returned is refused, above all digits that overflow 64 bits (they once
 * wrapped to a small id and answered 200); and ids as JSON bodies carry
 * them (td_id_parse: position_id of a new order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/params.h"

static void round_trips(void **state)
{
    (void)state;
    const int64_t ids[] = {1,        35, 36, 1295, 1296, 123456789, INT64_MAX / 36, INT64_MAX - 1,
                           INT64_MAX};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        char buf[24];
        td_cursor_encode(ids[i], buf, sizeof buf);
        int64_t back = 0;
        assert_int_equal(td_cursor_decode(buf, &back), TD_OK);
        assert_true(back == ids[i]);
    }
    char buf[24];
    td_cursor_encode(INT64_MAX, buf, sizeof buf);
    assert_string_equal(buf, "p1y2p0ij32e8e7"); /* the largest cursor: 14 characters */
}

static void overflow_refused(void **state)
{
    (void)state;
    int64_t id = 42;
    /* 13 base-36 digits: 36^13 - 1 is about 1.7e20, past 2^64. */
    assert_int_equal(td_cursor_decode("pzzzzzzzzzzzzz", &id), TD_EINVAL);
    /* INT64_MAX + 1, and the first digit string that wraps to a small value. */
    assert_int_equal(td_cursor_decode("p1y2p0ij32e8e8", &id), TD_EINVAL);
    assert_int_equal(td_cursor_decode("p3w5e11264sgsg", &id), TD_EINVAL);
    assert_int_equal(td_cursor_decode("p3w5e11264sgsh", &id), TD_EINVAL);
    assert_int_equal(id, 42); /* untouched on failure */
}

static void malformed_refused(void **state)
{
    (void)state;
    int64_t id;
    const char *bad[] = {"", "p", "q1", "p0", "p00", "pA", "p-1", "p 1", "p1y2p0ij32e8e70", "zzz"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(td_cursor_decode(bad[i], &id), TD_EINVAL);
}

static void ids_parse(void **state)
{
    (void)state;
    int64_t id = 0;
    assert_true(td_id_parse("17", &id) && id == 17);
    assert_true(td_id_parse("9223372036854775807", &id) && id == INT64_MAX);
    const char *bad[] = {"", "0", "-1", "+1", " 1", "1 ", "1.0", "0x1", "9223372036854775808",
                         "99999999999999999999", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        id = 42;
        assert_false(td_id_parse(bad[i], &id));
        assert_true(id == 42); /* untouched on failure */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(overflow_refused),
        cmocka_unit_test(malformed_refused),
        cmocka_unit_test(ids_parse),
    };
    return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
