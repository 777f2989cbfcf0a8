/*
 * utf8.c - see utf8.h.  No I/O here.
 *
 * The well-formed sequences are those of the Unicode standard's table 3-7;
 * the second byte's range depends on the first (that excludes overlongs,
 * surrogates and code points past U+10FFFF), later bytes are 80..BF.
 */
#include "core/utf8.h"

#include <string.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the sequence lead byte b starts and the range of the byte
 * after it; 0 when b cannot start one. */
static int lead(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b == 0xE0)
        *lo = 0xA0;
    else if (b == 0xED)
        *hi = 0x9F;
    if (b >= 0xE0 && b <= 0xEF)
        return 3;
    if (b == 0xF0)
        *lo = 0x90;
    else if (b == 0xF4)
        *hi = 0x8F;
    if (b >= 0xF0 && b <= 0xF4)
        return 4;
    return 0;
}

size_t td_utf8_sanitize(const char *in, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, n = 0;
    while (i < len) {
        const char *piece;
        size_t take; /* input bytes consumed */
        size_t plen; /* output bytes */
        unsigned char lo, hi;
        int need = s[i] < 0x80 ? 1 : lead(s[i], &lo, &hi);
        if (s[i] == 0) {
            piece = REPLACEMENT, plen = 3, take = 1;
        } else if (need == 1) {
            piece = in + i, plen = 1, take = 1;
        } else if (need == 0) {
            piece = REPLACEMENT, plen = 3, take = 1;
        } else {
            /* Take continuation bytes while they fit; a sequence cut short
             * is one maximal subpart, replaced once. */
            take = 1;
            while ((int)take < need && i + take < len && s[i + take] >= lo && s[i + take] <= hi) {
                take++;
                lo = 0x80, hi = 0xBF;
            }
            if ((int)take == need)
                piece = in + i, plen = take;
            else
                piece = REPLACEMENT, plen = 3;
        }
        if (n + plen > cap - 1)
            break;
        memcpy(out + n, piece, plen);
        n += plen;
        i += take;
    }
    out[n] = '\0';
    return n;
}

size_t td_utf8_seq(const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char lo, hi;
    int need = len ? lead(s[0], &lo, &hi) : 0;
    if (need == 0 || (size_t)need > len)
        return 0;
    for (int k = 1; k < need; k++) {
        if (s[k] < lo || s[k] > hi)
            return 0;
        lo = 0x80, hi = 0xBF;
    }
    return (size_t)need;
}
