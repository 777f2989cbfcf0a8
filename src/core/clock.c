/*
 * clock.c - the product's one timestamp format; see clock.h.
 */
#include "core/clock.h"

#include <stdio.h>
#include <string.h>

size_t td_rfc3339_ms(int64_t epoch_ms, char *buf, size_t cap)
{
    /* The engine stamps every price and trade it publishes: the formatted
     * second is kept (per thread) and only the milliseconds written. */
    static __thread time_t cached_sec;
    static __thread int cached_ok;
    static __thread char cached[40]; /* "YYYY-MM-DDTHH:MM:SS." */
    static __thread size_t cached_len;
    int64_t ms = epoch_ms % 1000;
    time_t sec = (time_t)(epoch_ms / 1000);
    if (ms < 0) { /* before 1970: floor, so the milliseconds stay positive */
        ms += 1000;
        sec -= 1;
    }
    if (cap == 0)
        return 0;
    if (!cached_ok || sec != cached_sec) {
        struct tm tm;
        int n = gmtime_r(&sec, &tm)
                    ? snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.",
                               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                               tm.tm_sec)
                    : -1;
        if (n < 20 || n >= (int)sizeof cached) { /* no such time */
            cached_ok = 0;
            buf[0] = '\0';
            return 0;
        }
        cached_sec = sec;
        cached_ok = 1;
        cached_len = (size_t)n;
    }
    char out[48];
    size_t k = cached_len;
    memcpy(out, cached, k);
    out[k++] = (char)('0' + ms / 100);
    out[k++] = (char)('0' + ms / 10 % 10);
    out[k++] = (char)('0' + ms % 10);
    out[k++] = 'Z';
    size_t n = cap > k ? k : cap - 1;
    memcpy(buf, out, n);
    buf[n] = '\0';
    return n;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil, valid for every year here). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
    if (at + n > len)
        return 0;
    int v = 0;
    for (size_t i = at; i < at + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

td_status td_rfc3339_parse_ms(const char *s, size_t len, int64_t *epoch_ms)
{
    int y, mo, d, h, mi, sec;
    if (!s || !digits(s, len, 0, 4, &y) || len < 20 || s[4] != '-' || !digits(s, len, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, len, 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, len, 11, 2, &h) ||
        s[13] != ':' || !digits(s, len, 14, 2, &mi) || s[16] != ':' || !digits(s, len, 17, 2, &sec))
        return TD_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || sec > 60) /* 60: a leap second, read as :59.999 below */
        return TD_EINVAL;
    size_t i = 19;
    int ms = 0;
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - f < 3)
                ms = ms * 10 + (s[i] - '0');
            i++;
        }
        if (i == f)
            return TD_EINVAL;
        for (size_t k = i - f; k < 3; k++)
            ms *= 10;
    }
    int offset_min = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, len, i + 1, 2, &oh) || i + 3 >= len || s[i + 3] != ':' ||
            !digits(s, len, i + 4, 2, &om) || oh > 23 || om > 59)
            return TD_EINVAL;
        offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
        i += 6;
    } else {
        return TD_EINVAL;
    }
    if (i != len)
        return TD_EINVAL;
    if (sec == 60) {
        sec = 59;
        ms = 999;
    }
    int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
                (int64_t)offset_min * 60;
    *epoch_ms = t * 1000 + ms;
    return TD_OK;
}
