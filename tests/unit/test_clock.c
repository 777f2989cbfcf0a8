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

static int64_t parsed(const char *s)
{
    int64_t ms = -12345;
    assert_int_equal(td_rfc3339_parse_ms(s, strlen(s), &ms), TD_OK);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = -12345;
    assert_int_equal(td_rfc3339_parse_ms(s, strlen(s), &ms), TD_EINVAL);
    assert_int_equal(ms, -12345);
}

/* What Coinbase and Kraken send reads back to the instant; formatting and
 * parsing agree over a wide range. */
static void parse_venue_timestamps(void **state)
{
    (void)state;
    assert_int_equal(parsed("2022-10-19T23:28:22.061769Z"), 1666222102061LL);
    assert_int_equal(parsed("2023-10-04T16:10:00.000000000Z"), 1696435800000LL);
    assert_int_equal(parsed("2023-10-04T16:10:00Z"), 1696435800000LL);
    assert_int_equal(parsed("2023-10-04T18:10:00.5+02:00"), 1696435800500LL);
    assert_int_equal(parsed("2023-10-04T15:40:00-00:30"), 1696435800000LL);
    assert_int_equal(parsed("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parsed("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parsed("2024-02-29T00:00:00Z"), 1709164800000LL);
    assert_int_equal(parsed("2016-12-31T23:59:60Z"), 1483228799999LL);
    for (int64_t t = -62135596800000LL; t < 253402300799000LL; t += 7777777777777LL) {
        char buf[TD_RFC3339_MS_LEN + 1];
        size_t n = td_rfc3339_ms(t, buf, sizeof buf);
        int64_t back = 0;
        assert_int_equal(td_rfc3339_parse_ms(buf, n, &back), TD_OK);
        assert_int_equal(back, t);
    }
    parse_bad("");
    parse_bad("2023-10-04");
    parse_bad("2023-10-04T16:10:00");  /* no zone */
    parse_bad("2023-02-29T00:00:00Z"); /* not a leap year */
    parse_bad("2023-13-01T00:00:00Z");
    parse_bad("2023-10-04T24:00:00Z");
    parse_bad("2023-10-04T16:10:00.Z");
    parse_bad("2023-10-04T16:10:00Zjunk");
    parse_bad("2023-10-04T16:10:00+0200");
    parse_bad("20231004T161000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_instants),      cmocka_unit_test(before_the_epoch),
        cmocka_unit_test(year_2038_and_later), cmocka_unit_test(short_buffers),
        cmocka_unit_test(clocks_move_forward), cmocka_unit_test(parse_venue_timestamps),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
