/*
 * candle.c - gap-free OHLCV bars; see candle.h.  Pure computation.
 */
#include "domain/candle.h"

#include <string.h>

const int64_t td_candle_interval_ms[TD_CANDLE_INTERVALS] = {
    60 * 1000, 5 * 60 * 1000, 15 * 60 * 1000, 3600 * 1000, 86400 * 1000,
};
const char *const td_candle_interval_name[TD_CANDLE_INTERVALS] = {"1m", "5m", "15m", "1h", "1d"};

int td_candle_interval_index(const char *name)
{
    for (int i = 0; name && i < TD_CANDLE_INTERVALS; i++)
        if (strcmp(name, td_candle_interval_name[i]) == 0)
            return i;
    return -1;
}

void td_candle_series_init(td_candle_series *s, int64_t interval_ms)
{
    memset(s, 0, sizeof *s);
    s->interval_ms = interval_ms > 0 ? interval_ms : 60000;
}

int64_t td_candle_open_of(int64_t interval_ms, int64_t t_ms)
{
    int64_t r = t_ms % interval_ms;
    return t_ms - (r < 0 ? r + interval_ms : r); /* floor, before 1970 too */
}

int td_candle_roll(td_candle_series *s, int64_t t_ms, td_candle *done)
{
    if (!s->has || t_ms < s->cur.open_ms + s->interval_ms)
        return 0;
    *done = s->cur;
    /* The next bar: empty, at the last close, until something lands in it. */
    td_dec c = s->cur.close;
    s->cur.open_ms += s->interval_ms;
    s->cur.open = s->cur.high = s->cur.low = s->cur.close = c;
    s->cur.volume = 0;
    s->cur.trades = 0;
    return 1;
}

td_status td_candle_apply(td_candle_series *s, int64_t t_ms, td_dec price, td_dec qty, int is_trade)
{
    if (!s->has) {
        s->has = 1;
        s->cur.open_ms = td_candle_open_of(s->interval_ms, t_ms);
        s->cur.open = s->cur.high = s->cur.low = s->cur.close = price;
        s->cur.volume = 0;
        s->cur.trades = 0;
    } else if (t_ms < s->cur.open_ms) {
        s->late++;
        return TD_OK;
    }
    /* A bar that rolled in empty opened at the last close (as a chart
     * draws it); its first price moves it from there. */
    td_dec vol = s->cur.volume;
    if (is_trade && qty > 0 && td_dec_add(vol, qty, &vol) != TD_OK)
        return TD_EINVAL;
    if (price > s->cur.high)
        s->cur.high = price;
    if (price < s->cur.low)
        s->cur.low = price;
    s->cur.close = price;
    s->cur.volume = vol;
    if (is_trade)
        s->cur.trades++;
    return TD_OK;
}
