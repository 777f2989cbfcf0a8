/*
 * feed_json.h - what the venue parsers share: reading fields of a parsed
 * message (core/jsonr: a flat token array, no object tree) the strict way
 * (a price is a string or a number's own text, never a double), and
 * filling a td_feed_result.  Private to the parsers.
 */
#ifndef TD_WS_FEED_JSON_H
#define TD_WS_FEED_JSON_H

#include "core/jsonr.h"
#include "ws/feed.h"

/* A value of the message being parsed: its reader and token (-1: none). */
typedef struct fj_val {
    const td_jr *r;
    int i;
} fj_val;

/* Whether the value exists, and its JSON type (td_jr_type; 0 when absent). */
static inline int fj_ok(fj_val v)
{
    return v.i >= 0;
}
static inline int fj_type(fj_val v)
{
    return td_jr_type_of(v.r, v.i);
}

/* The member, or none when o is not an object or has no such member. */
fj_val fj_get(fj_val o, const char *key);

/* A string member's bytes (NULL when absent or not a string); not
 * NUL-terminated. */
const char *fj_str(fj_val o, const char *key, size_t *len);

/* 1 when the member is a string or number holding a decimal (1e-8 units,
 * rounded past 8 digits), 0 otherwise (*out untouched). */
int fj_dec(fj_val o, const char *key, td_dec *out);

/* 1 when the member is an integer (or a string of digits). */
int fj_i64(fj_val o, const char *key, int64_t *out);

/* 1 when the member is true or false (into *out). */
int fj_bool(fj_val o, const char *key, int *out);

/* 1 when the member is a string equal to want. */
int fj_is(fj_val o, const char *key, const char *want);

/* The member's text as a trade id: a string, or an integer's digits. */
int fj_id(fj_val o, const char *key, char *buf, size_t cap);

/* An RFC 3339 string member as epoch milliseconds. */
int fj_time(fj_val o, const char *key, int64_t *out);

/* The venue's symbol in member key, made canonical into buf. */
int fj_symbol(fj_val o, const char *key, td_spelling sp, char *buf, size_t cap);

/* Elements of array a: for (fj_val x = fj_first(a); fj_ok(x); x = fj_next(a, x)). */
fj_val fj_first(fj_val a);
fj_val fj_next(fj_val a, fj_val x);

/* Add a finished event to out (counted in out->dropped when full);
 * out->msg becomes TD_FEED_EVENTS. */
void fj_push(td_feed_result *out, const td_market_event *e);

/* Give up on the message: out->error = the text, TD_EINVAL. */
td_status fj_fail(td_feed_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set a control answer; TD_OK. */
td_status fj_control(td_feed_result *out, td_feed_msg msg);

/* The venues' parsers; root is the whole message, parsed. */
td_status td_binance_parse(fj_val root, td_feed_result *out);
td_status td_coinbase_parse(fj_val root, td_feed_result *out);
td_status td_kraken_parse(fj_val root, td_feed_result *out);

#endif
