/*
 * feed_json.h - what the venue parsers share: reading fields of a json-c
 * object the strict way (a price is a string or a number's own text,
 * never a double), and filling a td_feed_result.  Private to feeds/.
 */
#ifndef TD_WS_FEED_JSON_H
#define TD_WS_FEED_JSON_H

#include <json-c/json.h>

#include "ws/feed.h"

/* The member, or NULL when o is not an object or has no such member. */
json_object *fj_get(json_object *o, const char *key);

/* A string member's bytes (NULL when absent or not a string). */
const char *fj_str(json_object *o, const char *key, size_t *len);

/* 1 when the member is a string or number holding a decimal (1e-8 units,
 * rounded past 8 digits), 0 otherwise (*out untouched). */
int fj_dec(json_object *o, const char *key, td_dec *out);

/* 1 when the member is an integer (or a string of digits). */
int fj_i64(json_object *o, const char *key, int64_t *out);

/* 1 when the member is a string equal to want. */
int fj_is(json_object *o, const char *key, const char *want);

/* The member's text as a trade id: a string, or an integer's digits. */
int fj_id(json_object *o, const char *key, char *buf, size_t cap);

/* An RFC 3339 string member as epoch milliseconds. */
int fj_time(json_object *o, const char *key, int64_t *out);

/* The venue's symbol in member key, made canonical into buf. */
int fj_symbol(json_object *o, const char *key, td_spelling sp, char *buf, size_t cap);

/* Add a finished event to out (counted in out->dropped when full);
 * out->msg becomes TD_FEED_EVENTS. */
void fj_push(td_feed_result *out, const td_market_event *e);

/* Give up on the message: out->error = the text, TD_EINVAL. */
td_status fj_fail(td_feed_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set a control answer; TD_OK. */
td_status fj_control(td_feed_result *out, td_feed_msg msg);

/* The venues' parsers; root is the whole message, parsed. */
td_status td_binance_parse(json_object *root, td_feed_result *out);
td_status td_coinbase_parse(json_object *root, td_feed_result *out);
td_status td_kraken_parse(json_object *root, td_feed_result *out);

#endif
