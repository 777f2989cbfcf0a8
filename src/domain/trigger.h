/*
 * trigger.h - when a conditional order fires: the trigger rules of
 * PRODUCT.md, one function each, for the engine's monitor (which fires
 * orders on ticks), the API (which refuses an order that would fire at
 * once) and the tests.
 *
 *   stop-loss    sell fires at price <= trigger, buy at price >= trigger
 *   take-profit  sell fires at price >= trigger, buy at price <= trigger
 *   trailing     sell arms at activation_price (price >= it; at once when
 *                there is none), then tracks the highest price since and
 *                fires at price <= highest × (1 − callback_rate/100); buy
 *                mirrors it: arms at price <= activation, tracks the
 *                lowest, fires at price >= lowest × (1 + callback_rate/100)
 *
 * Prices and the callback rate (percent: 1.5 is 1.5 %) are fixed point;
 * the trailing trigger is rounded half away from zero to 8 decimals.
 */
#ifndef TD_DOMAIN_TRIGGER_H
#define TD_DOMAIN_TRIGGER_H

#include "domain/decimal.h"
#include "domain/market.h" /* td_side: TD_SIDE_BUY, TD_SIDE_SELL */

typedef enum td_order_type {
    TD_ORDER_STOP_LOSS = 1,
    TD_ORDER_TAKE_PROFIT,
    TD_ORDER_TRAILING_STOP,
} td_order_type;

/* The callback rates a trailing stop may have, in percent (Binance's). */
#define TD_CALLBACK_RATE_MIN (TD_DEC_SCALE / 10) /* 0.1 % */
#define TD_CALLBACK_RATE_MAX (10 * TD_DEC_SCALE) /* 10 % */

/* "stop_loss" → TD_ORDER_STOP_LOSS ...; TD_EINVAL for anything else. */
td_status td_order_type_parse(const char *s, td_order_type *out);
const char *td_order_type_name(td_order_type t);
/* "buy" / "sell" (an order's side; a position's is long / short). */
td_status td_order_side_parse(const char *s, td_side *out);
const char *td_order_side_name(td_side s);

/* A stop-loss or take-profit order of this side and trigger fires at price.
 * 0 for a trailing stop (see below) or a bad side. */
int td_trigger_fires(td_order_type t, td_side side, td_dec trigger, td_dec price);

/* An unarmed trailing stop arms at price: activation 0 means at once. */
int td_trailing_arms(td_side side, td_dec activation, td_dec price);

/* The extreme after price: the higher for a sell, the lower for a buy. */
td_dec td_trailing_extreme(td_side side, td_dec extreme, td_dec price);

/* The price an armed trailing stop fires at, from its extreme: TD_EINVAL
 * for a callback rate outside (0, 100) or an overflow. */
td_status td_trailing_trigger(td_side side, td_dec extreme, td_dec callback_rate, td_dec *out);

/* An armed trailing stop with this extreme fires at price. */
int td_trailing_fires(td_side side, td_dec extreme, td_dec callback_rate, td_dec price);

#endif
