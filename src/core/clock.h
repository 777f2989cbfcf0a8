/*
 * clock.h - the one clock of every tradedesk program, as Redis' monotonic.h
 * is Redis'.
 *
 * Durations, deadlines, back-off and TTLs in memory use the monotonic clock
 * (never steps when NTP or an operator sets the time); only what is shown to
 * people or stored (log lines, JSON timestamps, token exp) uses wall time.
 * Nothing here allocates or fails.
 */
#ifndef TD_CORE_CLOCK_H
#define TD_CORE_CLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "domain/td.h"

/* Monotonic time in seconds (for deadlines and TTLs). */
static inline double td_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Monotonic time in nanoseconds (for latencies and histograms). */
static inline int64_t td_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A background thread's nap: ms in 10 ms slices, over as soon as *stop
 * is set (so that a stop joins it within 10 ms). */
static inline void td_nap_unless(atomic_int *stop, int ms)
{
    for (int left = ms; left > 0 && !atomic_load(stop); left -= 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Wall time in milliseconds since the epoch. */
static inline int64_t td_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC with milliseconds, "2026-12-01T11:14:35.065Z", from
 * milliseconds since the epoch: the one timestamp format of the product
 * (JSON, logs).  Times before 1970 round down to the millisecond below.
 * Years 0000-9999 take TD_RFC3339_MS_LEN characters, so buf needs
 * TD_RFC3339_MS_LEN + 1 bytes; later years take more digits and earlier ones
 * a sign (not RFC 3339, but still unambiguous).  Writes at most cap - 1
 * characters and a NUL; returns the length written (0 and "" when the time
 * is beyond what gmtime can express). */
#define TD_RFC3339_MS_LEN 24
size_t td_rfc3339_ms(int64_t epoch_ms, char *buf, size_t cap);

/* The inverse, for what venues send ("2022-10-19T23:28:22.061769Z",
 * "2023-10-04T16:10:00.000000000Z", "...+02:00"): exactly len bytes,
 * fractions of any length truncated to milliseconds, 'T' or 't' or ' '
 * between date and time, 'Z' or a numeric offset.  Pure; no time zone
 * database, no locale.  TD_EINVAL for anything else (or a day that does
 * not exist). */
td_status td_rfc3339_parse_ms(const char *s, size_t len, int64_t *epoch_ms);

#endif
