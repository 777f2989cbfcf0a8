/*
 * trigger.c - the trigger rules; see trigger.h.
 */
#include "domain/trigger.h"

#include <string.h>

static const char *const TYPE_NAMES[] = {NULL, "stop_loss", "take_profit", "trailing_stop"};

td_status td_order_type_parse(const char *s, td_order_type *out)
{
    for (int t = TD_ORDER_STOP_LOSS; t <= TD_ORDER_TRAILING_STOP; t++)
        if (s && strcmp(s, TYPE_NAMES[t]) == 0) {
            *out = (td_order_type)t;
            return TD_OK;
        }
    return TD_EINVAL;
}

const char *td_order_type_name(td_order_type t)
{
    return t >= TD_ORDER_STOP_LOSS && t <= TD_ORDER_TRAILING_STOP ? TYPE_NAMES[t] : "?";
}

td_status td_order_side_parse(const char *s, td_side *out)
{
    if (s && strcmp(s, "buy") == 0)
        *out = TD_SIDE_BUY;
    else if (s && strcmp(s, "sell") == 0)
        *out = TD_SIDE_SELL;
    else
        return TD_EINVAL;
    return TD_OK;
}

const char *td_order_side_name(td_side s)
{
    return s == TD_SIDE_BUY ? "buy" : s == TD_SIDE_SELL ? "sell" : "?";
}

int td_trigger_fires(td_order_type t, td_side side, td_dec trigger, td_dec price)
{
    /* A sell stop-loss and a buy take-profit fire on the way down. */
    int down = (t == TD_ORDER_STOP_LOSS && side == TD_SIDE_SELL) ||
               (t == TD_ORDER_TAKE_PROFIT && side == TD_SIDE_BUY);
    int up = (t == TD_ORDER_STOP_LOSS && side == TD_SIDE_BUY) ||
             (t == TD_ORDER_TAKE_PROFIT && side == TD_SIDE_SELL);
    return (down && price <= trigger) || (up && price >= trigger);
}

int td_trailing_arms(td_side side, td_dec activation, td_dec price)
{
    if (activation <= 0)
        return side == TD_SIDE_SELL || side == TD_SIDE_BUY;
    return (side == TD_SIDE_SELL && price >= activation) ||
           (side == TD_SIDE_BUY && price <= activation);
}

td_dec td_trailing_extreme(td_side side, td_dec extreme, td_dec price)
{
    if (side == TD_SIDE_SELL)
        return price > extreme ? price : extreme;
    return price < extreme ? price : extreme;
}

td_status td_trailing_trigger(td_side side, td_dec extreme, td_dec callback_rate, td_dec *out)
{
    if (callback_rate <= 0 || callback_rate >= 100 * TD_DEC_SCALE || extreme <= 0 ||
        (side != TD_SIDE_SELL && side != TD_SIDE_BUY))
        return TD_EINVAL;
    /* extreme × (100 ∓ rate) / 100 in one step, rounded once (half up:
     * everything is positive here). */
    td_dec factor = side == TD_SIDE_SELL ? 100 * TD_DEC_SCALE - callback_rate
                                         : 100 * TD_DEC_SCALE + callback_rate;
    const __int128 den = (__int128)100 * TD_DEC_SCALE;
    __int128 q = ((__int128)extreme * factor + den / 2) / den;
    if (q <= 0 || q > INT64_MAX)
        return TD_EINVAL;
    *out = (td_dec)q;
    return TD_OK;
}

int td_trailing_fires(td_side side, td_dec extreme, td_dec callback_rate, td_dec price)
{
    td_dec trigger;
    if (td_trailing_trigger(side, extreme, callback_rate, &trigger) != TD_OK)
        return 0;
    return side == TD_SIDE_SELL ? price <= trigger : price >= trigger;
}
