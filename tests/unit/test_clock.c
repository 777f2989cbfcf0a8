/*
 * test_clock.c - the product's one timestamp format (td_rfc3339_ms): known
 * instants, times before the epoch, the 32-bit time_t limit of 2038 and
 * beyond, and what a short buffer gets.  The clocks themselves are only
 * checked for moving forward.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"

#include <string.h>

static void expect(int64_t epoch_ms, const char *want)
{
    char buf[TD_RFC3339_MS_LEN + 8];
    size_t n = td_rfc3339_ms(epoch_ms, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void known_instants(void **state)
{
    (void)state;
    expect(0, "1970-01-01T00:00:00.000Z");
    expect(1, "1970-01-01T00:00:00.001Z");
    expect(1749556800000LL, "2025-06-10T12:00:00.000Z");
    expect(1749556800123LL, "2025-06-10T12:00:00.123Z");
    expect(1709164800999LL, "2024-02-29T00:00:00.999Z"); /* a leap day */
    expect(1767225599999LL, "2025-12-31T23:59:59.999Z");
}

static void before_the_epoch(void **state)
{
    (void)state;
    /* Milliseconds stay positive: the second rounds down, not toward zero. */
    expect(-1, "1969-12-31T23:59:59.999Z");
    expect(-999, "1969-12-31T23:59:59.001Z");
    expect(-1000, "1969-12-31T23:59:59.000Z");
    expect(-1001, "1969-12-31T23:59:58.999Z");
    expect(-86400000LL, "1969-12-31T00:00:00.000Z");
    expect(-2208988800000LL, "1900-01-01T00:00:00.000Z");
    expect(-30610224000000LL, "1000-01-01T00:00:00.000Z");
    expect(-62135596800000LL, "0001-01-01T00:00:00.000Z"); /* four digits, as RFC 3339 says */
}

static void year_2038_and_later(void **state)
{
    (void)state;
    expect(2147483647000LL, "2038-01-19T03:14:07.000Z"); /* INT32_MAX seconds */
    expect(2147483648000LL, "2038-01-19T03:14:08.000Z"); /* one past it */
    expect(2147483648500LL, "2038-01-19T03:14:08.500Z");
    expect(4102444800000LL, "2100-01-01T00:00:00.000Z");   /* not a leap year */
    expect(253402300799999LL, "9999-12-31T23:59:59.999Z"); /* the last 4-digit year */
    expect(253402300800000LL, "10000-01-01T00:00:00.000Z");
}

static void short_buffers(void **state)
{
    (void)state;
    char buf[TD_RFC3339_MS_LEN + 1];
    assert_int_equal(td_rfc3339_ms(0, buf, sizeof buf), TD_RFC3339_MS_LEN);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");

    memset(buf, 'x', sizeof buf);
    assert_int_equal(td_rfc3339_ms(0, buf, 11), 10);
    assert_string_equal(buf, "1970-01-01");

    memset(buf, 'x', sizeof buf);
    assert_int_equal(td_rfc3339_ms(0, buf, 1), 0);
    assert_string_equal(buf, "");

    buf[0] = 'x';
    assert_int_equal(td_rfc3339_ms(0, buf, 0), 0);
    assert_int_equal(buf[0], 'x'); /* cap 0: nothing written */
}

static void clocks_move_forward(void **state)
{
    (void)state;
    int64_t ns = td_mono_ns();
    double s = td_mono_s();
    int64_t ms = td_wall_ms();
    assert_true(ns > 0 && s > 0);
    assert_true(ms > 1600000000000LL); /* after 2020 */
    assert_true(td_mono_ns() >= ns);
    assert_true(td_mono_s() >= s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_instants),      cmocka_unit_test(before_the_epoch),
        cmocka_unit_test(year_2038_and_later), cmocka_unit_test(short_buffers),
        cmocka_unit_test(clocks_move_forward),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
