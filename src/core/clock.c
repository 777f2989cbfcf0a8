/*
 * clock.c - the product's one timestamp format; see clock.h.
 */
#include "core/clock.h"

#include <stdio.h>

size_t td_rfc3339_ms(int64_t epoch_ms, char *buf, size_t cap)
{
    int64_t ms = epoch_ms % 1000;
    time_t sec = (time_t)(epoch_ms / 1000);
    if (ms < 0) { /* before 1970: floor, so the milliseconds stay positive */
        ms += 1000;
        sec -= 1;
    }
    struct tm tm;
    if (cap == 0)
        return 0;
    if (!gmtime_r(&sec, &tm)) {
        buf[0] = '\0';
        return 0;
    }
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
