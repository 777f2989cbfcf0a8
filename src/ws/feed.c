/*
 * feed.c - the parser object, the one JSON entry point for every venue and
 * the field readers they share; see feed.h and feed_json.h.
 *
 * The JSON is parsed strictly with a reused tokener and a depth limit: a
 * venue's message is data from the network like any client's request.
 */
#include "ws/feed_json.h"
#include "core/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_JSON_DEPTH 10
#define FEED_MSG_MAX (1u << 20) /* a market message is a few hundred bytes; 1 MiB is absurd */

struct td_feed_parser {
    json_tokener *tok;
};

td_feed_parser *td_feed_parser_new(void)
{
    td_feed_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->tok = json_tokener_new_ex(FEED_JSON_DEPTH);
    if (!p->tok) {
        free(p);
        return NULL;
    }
    json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT);
    return p;
}

void td_feed_parser_free(td_feed_parser *p)
{
    if (!p)
        return;
    json_tokener_free(p->tok);
    free(p);
}

const char *td_venue_name(td_venue v)
{
    switch (v) {
    case TD_VENUE_BINANCE:
        return "binance";
    case TD_VENUE_COINBASE:
        return "coinbase";
    case TD_VENUE_KRAKEN:
        return "kraken";
    }
    return "unknown";
}

td_venue td_venue_from_name(const char *name)
{
    for (td_venue v = TD_VENUE_BINANCE; v <= TD_VENUE_KRAKEN; v++)
        if (strcmp(name, td_venue_name(v)) == 0)
            return v;
    return 0;
}

td_status td_feed_parse(td_feed_parser *p, td_venue v, const char *msg, size_t len,
                        td_feed_result *out)
{
    out->msg = 0;
    out->n = 0;
    out->dropped = 0;
    out->req_id = 0;
    out->error[0] = '\0';
    if (!msg || len == 0)
        return fj_fail(out, "empty message");
    if (len > FEED_MSG_MAX)
        return fj_fail(out, "message of %zu bytes", len);
    json_tokener_reset(p->tok);
    json_object *root = json_tokener_parse_ex(p->tok, msg, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(p->tok);
    if (!root || jerr != json_tokener_success || json_tokener_get_parse_end(p->tok) != len) {
        json_object_put(root);
        return fj_fail(out, "not one JSON value: %s",
                       jerr == json_tokener_success ? "trailing bytes"
                                                    : json_tokener_error_desc(jerr));
    }
    td_status st;
    switch (v) {
    case TD_VENUE_BINANCE:
        st = td_binance_parse(root, out);
        break;
    case TD_VENUE_COINBASE:
        st = td_coinbase_parse(root, out);
        break;
    case TD_VENUE_KRAKEN:
        st = td_kraken_parse(root, out);
        break;
    default:
        st = fj_fail(out, "unknown venue");
    }
    json_object_put(root);
    if (st != TD_OK)
        out->n = 0; /* never a partial message */
    return st;
}

json_object *fj_get(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

const char *fj_str(json_object *o, const char *key, size_t *len)
{
    json_object *v = fj_get(o, key);
    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    if (len)
        *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

int fj_dec(json_object *o, const char *key, td_dec *out)
{
    json_object *v = fj_get(o, key);
    if (!v)
        return 0;
    /* json-c keeps a number's original text: that is what we read. */
    if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_double) &&
        !json_object_is_type(v, json_type_int))
        return 0;
    const char *s = json_object_get_string(v);
    return s && td_dec_parse_number(s, strlen(s), out) == TD_OK;
}

int fj_i64(json_object *o, const char *key, int64_t *out)
{
    json_object *v = fj_get(o, key);
    if (!v)
        return 0;
    const char *s = json_object_get_string(v);
    if (!s || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)))
        return 0;
    /* From the text, so a number past int64 is refused, not clamped. */
    size_t i = s[0] == '-', n = strlen(s);
    if (i == n || n - i > 19)
        return 0;
    int64_t x = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        int d = s[i] - '0';
        if (x > (INT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *out = s[0] == '-' ? -x : x;
    return 1;
}

int fj_is(json_object *o, const char *key, const char *want)
{
    size_t n;
    const char *s = fj_str(o, key, &n);
    return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

int fj_id(json_object *o, const char *key, char *buf, size_t cap)
{
    json_object *v = fj_get(o, key);
    if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)))
        return 0;
    const char *s = json_object_get_string(v);
    size_t n = strlen(s);
    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++) /* ids go to logs and JSON: keep them plain */
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
            return 0;
    memcpy(buf, s, n + 1);
    return 1;
}

int fj_time(json_object *o, const char *key, int64_t *out)
{
    size_t n;
    const char *s = fj_str(o, key, &n);
    return s && td_rfc3339_parse_ms(s, n, out) == TD_OK;
}

int fj_symbol(json_object *o, const char *key, td_spelling sp, char *buf, size_t cap)
{
    size_t n;
    const char *s = fj_str(o, key, &n);
    return s && td_symbol_from_venue(sp, s, n, buf, cap) == TD_OK;
}

void fj_push(td_feed_result *out, const td_market_event *e)
{
    out->msg = TD_FEED_EVENTS;
    if (out->n == TD_FEED_MAX_EVENTS) {
        out->dropped++;
        return;
    }
    out->ev[out->n++] = *e;
}

td_status fj_fail(td_feed_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
    out->n = 0;
    return TD_EINVAL;
}

td_status fj_control(td_feed_result *out, td_feed_msg msg)
{
    out->msg = msg;
    out->n = 0;
    return TD_OK;
}
