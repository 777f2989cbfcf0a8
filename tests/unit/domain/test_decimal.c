/*
 * test_decimal.c - unit tests for td_dec parsing, formatting and arithmetic
 * (domain/decimal.c).  Pure computation; no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "domain/decimal.h"

static td_status parse(const char *s, td_dec *v)
{
    return td_dec_parse(s, strlen(s), v);
}

static td_dec P(const char *s)
{
    td_dec v = 0;
    if (parse(s, &v) != TD_OK)
        fail_msg("did not parse: \"%s\"", s);
    return v;
}

static void assert_fmt(td_dec v, const char *want)
{
    char buf[TD_DEC_STR_MAX];
    size_t n = td_dec_format(v, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_parse_values(void **state)
{
    (void)state;
    assert_int_equal(P("0"), 0);
    assert_int_equal(P("-0"), 0);
    assert_int_equal(P("1"), TD_DEC_SCALE);
    assert_int_equal(P("106562.08"), INT64_C(10656208000000));
    assert_int_equal(P("-0.5"), -TD_DEC_SCALE / 2);
    assert_int_equal(P("0.00000001"), 1);
    assert_int_equal(P("-0.00000001"), -1);
    assert_int_equal(P("1.10"), INT64_C(110000000));
    assert_int_equal(P("92233720368.54775807"), INT64_MAX);
    assert_int_equal(P("-92233720368.54775808"), INT64_MIN);
}

static void test_parse_uses_len_not_nul(void **state)
{
    (void)state;
    td_dec v = 0;
    assert_int_equal(td_dec_parse("12.5xyz", 4, &v), TD_OK);
    assert_int_equal(v, 1200000000 + 50000000);
    static const char with_nul[] = {'1', '\0', '5'};
    assert_int_equal(td_dec_parse(with_nul, sizeof(with_nul), &v), TD_EINVAL);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "-",
        "+1",
        "1e5",
        "1E5",
        " 1",
        "1 ",
        "1\n",
        ".",
        "1.",
        ".5",
        "-.5",
        "--1",
        "1.2.3",
        "0x10",
        "01",
        "-01",
        "00.5",
        "1.123456789", /* 9 fractional digits: refused, never rounded */
        "0.000000001",
        "1,5",
        "NaN",
        "inf",
        "92233720368.54775808",  /* INT64_MAX + 1 unit */
        "-92233720368.54775809", /* INT64_MIN - 1 unit */
        "92233720369",
        "99999999999999999999999999999",
        "18446744073709551616",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        td_dec v = 12345;
        if (parse(bad[i], &v) != TD_EINVAL)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_int_equal(v, 12345); /* untouched on failure */
    }
    td_dec v;
    assert_int_equal(td_dec_parse(NULL, 1, &v), TD_EINVAL);
    assert_int_equal(td_dec_parse("1", 1, NULL), TD_EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    assert_fmt(0, "0.00");
    assert_fmt(P("106562.08"), "106562.08");
    assert_fmt(P("1.5"), "1.50");
    assert_fmt(P("0.00001"), "0.00001");
    assert_fmt(P("-3"), "-3.00");
    assert_fmt(P("-0.5"), "-0.50");
    assert_fmt(1, "0.00000001");
    assert_fmt(-1, "-0.00000001");
    assert_fmt(P("12.34567"), "12.34567");
    assert_fmt(INT64_MAX, "92233720368.54775807");
    assert_fmt(INT64_MIN, "-92233720368.54775808");
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    char buf[9];
    /* "-3.00" needs 6 bytes with the NUL. */
    assert_int_equal(td_dec_format(P("-3"), buf, 6), 5);
    assert_string_equal(buf, "-3.00");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(td_dec_format(P("-3"), buf, 5), 0);
    assert_string_equal(buf, "");
    assert_int_equal(td_dec_format(P("-3"), NULL, 0), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const canon[] = {
        "0.00",
        "1.00",
        "-1.00",
        "106562.08",
        "0.00001",
        "-3.00",
        "1.50",
        "0.12345678",
        "-0.00000001",
        "92233720368.54775807",
        "-92233720368.54775808",
        "123456789.10",
    };
    for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++)
        assert_fmt(P(canon[i]), canon[i]);
}

static void test_add_sub(void **state)
{
    (void)state;
    td_dec r = 7;
    assert_int_equal(td_dec_add(P("0.1"), P("0.2"), &r), TD_OK);
    assert_int_equal(r, P("0.3"));
    assert_int_equal(td_dec_sub(P("1"), P("2.5"), &r), TD_OK);
    assert_int_equal(r, P("-1.5"));

    r = 7;
    assert_int_equal(td_dec_add(INT64_MAX, 1, &r), TD_EINVAL);
    assert_int_equal(td_dec_add(INT64_MIN, -1, &r), TD_EINVAL);
    assert_int_equal(td_dec_sub(INT64_MIN, 1, &r), TD_EINVAL);
    assert_int_equal(td_dec_sub(0, INT64_MIN, &r), TD_EINVAL);
    assert_int_equal(r, 7);
    assert_int_equal(td_dec_sub(-1, INT64_MIN, &r), TD_OK);
    assert_int_equal(r, INT64_MAX);
}

static void test_mul(void **state)
{
    (void)state;
    td_dec r;
    assert_int_equal(td_dec_mul(P("106562.08"), P("0.5"), &r), TD_OK);
    assert_int_equal(r, P("53281.04"));
    assert_int_equal(td_dec_mul(P("-2"), P("3.5"), &r), TD_OK);
    assert_int_equal(r, P("-7"));
    assert_int_equal(td_dec_mul(P("-2"), P("-3.5"), &r), TD_OK);
    assert_int_equal(r, P("7"));

    /* 0.00000001 * 0.5 = 0.000000005: a half rounds away from zero. */
    assert_int_equal(td_dec_mul(1, P("0.5"), &r), TD_OK);
    assert_int_equal(r, 1);
    assert_int_equal(td_dec_mul(-1, P("0.5"), &r), TD_OK);
    assert_int_equal(r, -1);
    /* 0.000000004 rounds to 0, 0.000000006 to 0.00000001. */
    assert_int_equal(td_dec_mul(1, P("0.4"), &r), TD_OK);
    assert_int_equal(r, 0);
    assert_int_equal(td_dec_mul(1, P("0.6"), &r), TD_OK);
    assert_int_equal(r, 1);
    assert_int_equal(td_dec_mul(-1, P("0.6"), &r), TD_OK);
    assert_int_equal(r, -1);
    /* 0.12345678 * 0.1 = 0.012345678 -> 0.01234568 */
    assert_int_equal(td_dec_mul(P("0.12345678"), P("0.1"), &r), TD_OK);
    assert_int_equal(r, P("0.01234568"));

    /* Large operands need the 128-bit intermediate. */
    assert_int_equal(td_dec_mul(P("90000000000"), P("1"), &r), TD_OK);
    assert_int_equal(r, P("90000000000"));
    assert_int_equal(td_dec_mul(INT64_MIN, P("1"), &r), TD_OK);
    assert_int_equal(r, INT64_MIN);

    r = 7;
    assert_int_equal(td_dec_mul(P("10000000"), P("10000"), &r), TD_EINVAL);
    assert_int_equal(td_dec_mul(INT64_MIN, P("-1"), &r), TD_EINVAL);
    assert_int_equal(td_dec_mul(INT64_MAX, INT64_MAX, &r), TD_EINVAL);
    assert_int_equal(r, 7);
}

static void test_div(void **state)
{
    (void)state;
    td_dec r;
    assert_int_equal(td_dec_div(P("1"), P("4"), &r), TD_OK);
    assert_int_equal(r, P("0.25"));
    assert_int_equal(td_dec_div(P("106562.08"), P("-2"), &r), TD_OK);
    assert_int_equal(r, P("-53281.04"));

    /* 1/3 = 0.333333333... -> 0.33333333; 2/3 -> 0.66666667 */
    assert_int_equal(td_dec_div(P("1"), P("3"), &r), TD_OK);
    assert_int_equal(r, P("0.33333333"));
    assert_int_equal(td_dec_div(P("2"), P("3"), &r), TD_OK);
    assert_int_equal(r, P("0.66666667"));
    assert_int_equal(td_dec_div(P("-2"), P("3"), &r), TD_OK);
    assert_int_equal(r, P("-0.66666667"));
    assert_int_equal(td_dec_div(P("2"), P("-3"), &r), TD_OK);
    assert_int_equal(r, P("-0.66666667"));
    /* Exact halves: 0.00000001 / 2 = 0.000000005 -> away from zero. */
    assert_int_equal(td_dec_div(1, P("2"), &r), TD_OK);
    assert_int_equal(r, 1);
    assert_int_equal(td_dec_div(-1, P("2"), &r), TD_OK);
    assert_int_equal(r, -1);
    assert_int_equal(td_dec_div(1, P("-2"), &r), TD_OK);
    assert_int_equal(r, -1);
    assert_int_equal(td_dec_div(P("0.00000003"), P("2"), &r), TD_OK);
    assert_int_equal(r, 2);

    assert_int_equal(td_dec_div(INT64_MIN, P("1"), &r), TD_OK);
    assert_int_equal(r, INT64_MIN);

    r = 7;
    assert_int_equal(td_dec_div(P("1"), 0, &r), TD_EINVAL);
    assert_int_equal(td_dec_div(0, 0, &r), TD_EINVAL);
    assert_int_equal(td_dec_div(INT64_MAX, 1, &r), TD_EINVAL); /* /0.00000001 */
    assert_int_equal(td_dec_div(INT64_MIN, P("-1"), &r), TD_EINVAL);
    assert_int_equal(r, 7);
}

static td_dec num(const char *s)
{
    td_dec v = 777;
    assert_int_equal(td_dec_parse_number(s, strlen(s), &v), TD_OK);
    return v;
}

static void num_bad(const char *s)
{
    td_dec v = 777;
    assert_int_equal(td_dec_parse_number(s, strlen(s), &v), TD_EINVAL);
    assert_int_equal(v, 777);
}

/* Exchanges' numbers: JSON's grammar, exponents, more than 8 decimals
 * rounded half away from zero, nothing through a double. */
static void test_parse_number(void **state)
{
    (void)state;
    assert_int_equal(num("97000.1"), 9700010000000LL);
    assert_int_equal(num("0.00000001"), 1);
    assert_int_equal(num("1e-8"), 1);
    assert_int_equal(num("1E-8"), 1);
    assert_int_equal(num("2.5e3"), 250000000000LL);
    assert_int_equal(num("2.5e+3"), 250000000000LL);
    assert_int_equal(num("40.0"), 4000000000LL);
    assert_int_equal(num("0"), 0);
    assert_int_equal(num("-0"), 0);
    assert_int_equal(num("0.000"), 0);
    assert_int_equal(num("-1.5"), -150000000LL);
    /* Rounding past the 8th decimal. */
    assert_int_equal(num("0.123456784"), 12345678);
    assert_int_equal(num("0.123456785"), 12345679);
    assert_int_equal(num("-0.123456785"), -12345679);
    assert_int_equal(num("0.000000004"), 0);
    assert_int_equal(num("0.000000005"), 1);
    assert_int_equal(num("5e-9"), 1);
    assert_int_equal(num("4.9e-9"), 0);
    assert_int_equal(num("1e-400"), 0);
    assert_int_equal(num("30927.68066226123456789"), 3092768066226LL);
    /* The range: the largest td_dec, and one unit past it. */
    assert_int_equal(num("92233720368.54775807"), INT64_MAX);
    assert_int_equal(num("-92233720368.54775808"), INT64_MIN);
    num_bad("92233720368.54775808");
    num_bad("92233720368.547758075"); /* rounds past the top */
    num_bad("1e11");
    num_bad("1e400");
    num_bad("100000000000000000000000000000000000000000000000000");
    /* Not JSON numbers. */
    num_bad("");
    num_bad("-");
    num_bad("+1");
    num_bad("01");
    num_bad(".5");
    num_bad("1.");
    num_bad("1e");
    num_bad("1e+");
    num_bad(" 1");
    num_bad("1 ");
    num_bad("0x10");
    num_bad("NaN");
    num_bad("Infinity");
    num_bad("1.5.2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_uses_len_not_nul),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_add_sub),
        cmocka_unit_test(test_mul),
        cmocka_unit_test(test_div),
        cmocka_unit_test(test_parse_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
