/*
 * decimal.c - parsing, formatting and arithmetic of td_dec fixed-point money.
 *
 * Pure computation: no I/O, no allocation, no floating point, no locale.
 * It must never round or wrap silently; anything not exactly representable
 * is an error, except mul/div which round half away from zero by contract.
 */
#include "domain/decimal.h"

#include <string.h>

/* Largest integer part that can appear in a valid td_dec (92233720368). */
#define INT_PART_MAX ((uint64_t)INT64_MAX / (uint64_t)TD_DEC_SCALE)

td_status td_dec_parse(const char *s, size_t len, td_dec *out)
{
    if (!s || !out || len == 0)
        return TD_EINVAL;

    size_t i = 0;
    int neg = 0;
    if (s[i] == '-') {
        neg = 1;
        i++;
    }

    /* Integer part: at least one digit, no leading zeros (JSON's grammar). */
    size_t int_start = i;
    uint64_t ip = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        ip = ip * 10 + (uint64_t)(s[i] - '0');
        /* Checked per digit so ip can never wrap, whatever the length. */
        if (ip > INT_PART_MAX)
            return TD_EINVAL;
        i++;
    }
    size_t int_digits = i - int_start;
    if (int_digits == 0)
        return TD_EINVAL;
    if (int_digits > 1 && s[int_start] == '0')
        return TD_EINVAL;

    uint64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t frac_start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - frac_start == TD_DEC_DIGITS)
                return TD_EINVAL; /* a 9th digit would need rounding */
            frac = frac * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        size_t frac_digits = i - frac_start;
        if (frac_digits == 0)
            return TD_EINVAL;
        for (size_t k = frac_digits; k < TD_DEC_DIGITS; k++)
            frac *= 10;
    }
    if (i != len)
        return TD_EINVAL;

    /* ip <= INT_PART_MAX so this cannot wrap a uint64_t. */
    uint64_t mag = ip * (uint64_t)TD_DEC_SCALE + frac;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (mag > limit)
        return TD_EINVAL;

    /* Negate in unsigned arithmetic so INT64_MIN needs no special case. */
    *out = neg ? (td_dec)(0 - mag) : (td_dec)mag;
    return TD_OK;
}

td_status td_dec_parse_number(const char *s, size_t len, td_dec *out)
{
    if (!s || !out || len == 0)
        return TD_EINVAL;
    size_t i = 0;
    int neg = s[0] == '-';
    i += (size_t)neg;

    /* The digits without the point, and how many stood before it.  Leading
     * zeros carry no value and are skipped; 40 significant digits are more
     * than any td_dec needs, so beyond that only zeros may follow before
     * the rounding digit is known (anything else would overflow anyway). */
    char digits[48];
    size_t nd = 0, int_digits = 0;
    long point = 0; /* digits of the value before the point */
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    int_digits = i - start;
    if (int_digits == 0 || (int_digits > 1 && s[start] == '0'))
        return TD_EINVAL;
    for (size_t k = start; k < i; k++) {
        if (nd == 0 && s[k] == '0')
            continue;
        if (nd == sizeof digits)
            return TD_EINVAL;
        digits[nd++] = s[k];
        point++;
    }
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd == 0 && s[i] == '0') {
                point--; /* 0.00x: the point moves right of these zeros */
            } else if (nd < sizeof digits) {
                digits[nd++] = s[i];
            }
            i++;
        }
        if (i == f)
            return TD_EINVAL;
    }
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t e0 = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
            i++;
        }
        if (i == e0)
            return TD_EINVAL;
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return TD_EINVAL;

    /* value = 0.d1d2d3... x 10^(point + exp); in units of 1e-8 the first
     * `keep` digits are whole units and the next one decides rounding. */
    long keep = point + exp + TD_DEC_DIGITS;
    uint64_t mag = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (nd > 0 && keep > 19 + 1)
        return TD_EINVAL; /* at least 10^20 units: out of range */
    for (long k = 0; k < keep; k++) {
        unsigned d = k < (long)nd ? (unsigned)(digits[k] - '0') : 0;
        if (mag > (limit - d) / 10)
            return TD_EINVAL;
        mag = mag * 10 + d;
    }
    if (keep >= 0 && keep < (long)nd && digits[keep] >= '5') {
        if (mag == limit)
            return TD_EINVAL;
        mag++;
    }
    *out = neg ? (td_dec)(0 - mag) : (td_dec)mag;
    return TD_OK;
}

size_t td_dec_format(td_dec v, char *buf, size_t cap)
{
    char tmp[TD_DEC_STR_MAX];
    size_t n = 0;

    /* Unsigned magnitude: -INT64_MIN is not an int64_t but is a uint64_t. */
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = mag / (uint64_t)TD_DEC_SCALE;
    uint64_t frac = mag % (uint64_t)TD_DEC_SCALE;

    /* Integer digits, written backwards then reversed. */
    char rev[24];
    size_t r = 0;
    do {
        rev[r++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);

    if (v < 0)
        tmp[n++] = '-';
    while (r)
        tmp[n++] = rev[--r];
    tmp[n++] = '.';

    char fd[TD_DEC_DIGITS];
    for (int k = TD_DEC_DIGITS - 1; k >= 0; k--) {
        fd[k] = (char)('0' + frac % 10);
        frac /= 10;
    }
    size_t keep = TD_DEC_DIGITS;
    while (keep > 2 && fd[keep - 1] == '0')
        keep--;
    memcpy(tmp + n, fd, keep);
    n += keep;

    if (!buf || cap <= n) {
        if (buf && cap)
            buf[0] = '\0';
        return 0;
    }
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}

td_status td_dec_add(td_dec a, td_dec b, td_dec *out)
{
    td_dec r;
    if (!out || __builtin_add_overflow(a, b, &r))
        return TD_EINVAL;
    *out = r;
    return TD_OK;
}

td_status td_dec_sub(td_dec a, td_dec b, td_dec *out)
{
    td_dec r;
    if (!out || __builtin_sub_overflow(a, b, &r))
        return TD_EINVAL;
    *out = r;
    return TD_OK;
}

/*
 * n / d rounded half away from zero, then narrowed to td_dec.  |n| stays
 * below 2^127 for every caller (|a*b| <= 2^126, |a*1e8| < 2^90), and
 * C division truncates toward zero, so only the remainder decides rounding.
 */
static td_status div_round(__int128 n, __int128 d, td_dec *out)
{
    __int128 q = n / d;
    __int128 rem = n % d;
    __int128 arem = rem < 0 ? -rem : rem;
    __int128 ad = d < 0 ? -d : d;
    if (arem * 2 >= ad)
        q += ((n < 0) != (d < 0)) ? -1 : 1;
    if (q > INT64_MAX || q < INT64_MIN)
        return TD_EINVAL;
    *out = (td_dec)q;
    return TD_OK;
}

td_status td_dec_mul(td_dec a, td_dec b, td_dec *out)
{
    if (!out)
        return TD_EINVAL;
    return div_round((__int128)a * b, TD_DEC_SCALE, out);
}

td_status td_dec_div(td_dec a, td_dec b, td_dec *out)
{
    if (!out || b == 0)
        return TD_EINVAL;
    return div_round((__int128)a * TD_DEC_SCALE, b, out);
}
