/*
 * candle.h - OHLCV bars built from prices and trades, gap-free.
 *
 * A series is one symbol at one interval.  Prices (the oracle's) move
 * open/high/low/close; trades also add volume and a count.  When time
 * passes the current bar's end, td_candle_roll hands out the finished bar
 * and then one bar per empty interval, each repeating the last close with
 * zero volume, until the bar holding the new time: a chart never has a
 * hole.  Bars align to the epoch (a 1h bar opens on the hour UTC).  Pure:
 * no I/O, no clock, no allocation.
 */
#ifndef TD_DOMAIN_CANDLE_H
#define TD_DOMAIN_CANDLE_H

#include <stdint.h>

#include "domain/decimal.h"

typedef struct td_candle {
    int64_t open_ms; /* the bar is [open_ms, open_ms + interval) */
    td_dec open, high, low, close, volume;
    int64_t trades;
} td_candle;

typedef struct td_candle_series {
    int64_t interval_ms;
    int has; /* a bar is open */
    td_candle cur;
    int64_t late; /* events older than the open bar, ignored */
} td_candle_series;

/* The intervals the engine builds, and their names ("1m"). */
#define TD_CANDLE_INTERVALS 5
extern const int64_t td_candle_interval_ms[TD_CANDLE_INTERVALS];
extern const char *const td_candle_interval_name[TD_CANDLE_INTERVALS];
/* Index of a name ("15m"), or -1. */
int td_candle_interval_index(const char *name);

void td_candle_series_init(td_candle_series *s, int64_t interval_ms);

/* Where the bar holding t opens. */
int64_t td_candle_open_of(int64_t interval_ms, int64_t t_ms);

/*
 * Before applying an event at t: while the open bar ends at or before t,
 * copy the bar that finishes into *done and return 1 (call again: the
 * next one may be a gap bar).  0 when the open bar holds t (or none is
 * open).  Gap bars are bounded by the caller's loop; a series that has
 * been idle for long can be restarted with td_candle_series_init.
 */
int td_candle_roll(td_candle_series *s, int64_t t_ms, td_candle *done);

/* Apply a price, or a trade (qty > 0 adds volume and counts a trade), at
 * t; call td_candle_roll until it returns 0 first.  An event older than
 * the open bar is counted in s->late and ignored.  TD_EINVAL when the
 * volume would overflow (the bar is left as it was). */
td_status td_candle_apply(td_candle_series *s, int64_t t_ms, td_dec price, td_dec qty,
                          int is_trade);

#endif
