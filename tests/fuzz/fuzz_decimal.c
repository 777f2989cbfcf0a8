/*
 * fuzz_decimal.c - libFuzzer target for money parsing and formatting
 * (domain/decimal.c), strict (td_dec_parse) and as exchanges send it
 * (td_dec_parse_number).
 *
 * Whatever parses must format and parse back to the same value; and any
 * int64 taken from the input must survive format -> parse.  The arithmetic
 * is exercised on the same values and checked against __int128 results.
 */
#include "domain/decimal.h"

#include <stdlib.h>
#include <string.h>

static void round_trip(td_dec v)
{
    char buf[TD_DEC_STR_MAX];
    size_t n = td_dec_format(v, buf, sizeof buf);
    if (n == 0 || n != strlen(buf))
        abort();
    td_dec back = 0;
    if (td_dec_parse(buf, n, &back) != TD_OK || back != v)
        abort();
    /* A buffer one byte short is refused, not overrun. */
    char small[TD_DEC_STR_MAX];
    if (td_dec_format(v, small, n) != 0 || small[0] != '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size bytes: parse must never read past len. */
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    memcpy(s, data, size);

    td_dec v = 12345;
    td_status st = td_dec_parse(s, size, &v);
    if (st == TD_OK) {
        round_trip(v);
        /* Parsed text is never longer than the longest valid form. */
        if (size > 1 + 11 + 1 + 8)
            abort();
    } else if (st != TD_EINVAL || v != 12345) {
        abort(); /* failure leaves the out-parameter alone */
    }

    /* The exchanges' reader accepts everything the strict one does, with
     * the same value; and whatever it accepts formats and parses back. */
    td_dec w = 54321;
    td_status sw = td_dec_parse_number(s, size, &w);
    if (st == TD_OK && (sw != TD_OK || w != v))
        abort();
    if (sw == TD_OK)
        round_trip(w);
    else if (sw != TD_EINVAL || w != 54321)
        abort();

    if (size >= 16) {
        td_dec a, b, r;
        memcpy(&a, data, 8);
        memcpy(&b, data + 8, 8);
        round_trip(a);
        round_trip(b);

        __int128 exact = (__int128)a + b;
        st = td_dec_add(a, b, &r);
        if ((st == TD_OK) != (exact >= INT64_MIN && exact <= INT64_MAX) ||
            (st == TD_OK && r != exact))
            abort();
        exact = (__int128)a - b;
        st = td_dec_sub(a, b, &r);
        if ((st == TD_OK) != (exact >= INT64_MIN && exact <= INT64_MAX) ||
            (st == TD_OK && r != exact))
            abort();

        /* mul: within half a unit of the exact product. */
        if (td_dec_mul(a, b, &r) == TD_OK) {
            __int128 p = (__int128)a * b, diff = (__int128)r * TD_DEC_SCALE - p;
            if (diff < 0)
                diff = -diff;
            if (diff * 2 > TD_DEC_SCALE)
                abort();
        }
        /* div: r*b within half of b of a*SCALE; refused for b == 0. */
        st = td_dec_div(a, b, &r);
        if (b == 0 && st == TD_OK)
            abort();
        if (st == TD_OK) {
            __int128 q = (__int128)a * TD_DEC_SCALE, diff = (__int128)r * b - q;
            __int128 ab = b < 0 ? -(__int128)b : b;
            if (diff < 0)
                diff = -diff;
            if (diff * 2 > ab)
                abort();
        }
    }

    free(s);
    return 0;
}
