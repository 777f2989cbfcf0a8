/*
 * feed.c - the parser object, the one JSON entry point for every venue and
 * the field readers they share; see feed.h and feed_json.h.
 *
 * The JSON is parsed strictly (core/jsonr: one pass into a reused token
 * array) with a depth limit: a venue's message is data from the network
 * like any client's request.
 */
#include "ws/feed_json.h"
#include "core/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEED_JSON_DEPTH 10
#define FEED_MSG_MAX (1u << 20) /* a market message is a few hundred bytes; 1 MiB is absurd */
#define FEED_MAX_TOKENS 65536   /* a Kraken snapshot of 50 trades is about 900 */

struct td_feed_parser {
    td_jr jr;
};

td_feed_parser *td_feed_parser_new(void)
{
    td_feed_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    td_jr_init(&p->jr, FEED_JSON_DEPTH, FEED_MAX_TOKENS);
    return p;
}

void td_feed_parser_free(td_feed_parser *p)
{
    if (!p)
        return;
    td_jr_free(&p->jr);
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
    td_status st = td_jr_parse(&p->jr, msg, len);
    if (st == TD_ENOMEM)
        return fj_fail(out, "out of memory");
    if (st != TD_OK)
        return fj_fail(out, "not one JSON value: %s at byte %zu", p->jr.error, p->jr.error_at);
    fj_val root = {&p->jr, 0};
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
    if (st != TD_OK)
        out->n = 0; /* never a partial message */
    return st;
}

fj_val fj_get(fj_val o, const char *key)
{
    return (fj_val){o.r, td_jr_member(o.r, o.i, key)};
}

const char *fj_str(fj_val o, const char *key, size_t *len)
{
    fj_val v = fj_get(o, key);
    return fj_type(v) == TD_JR_STRING ? td_jr_text(v.r, v.i, len) : NULL;
}

/* A string's or a number's text (NULL for other types). */
static const char *text(fj_val o, const char *key, size_t *len)
{
    fj_val v = fj_get(o, key);
    return td_jr_text(v.r, v.i, len);
}

int fj_dec(fj_val o, const char *key, td_dec *out)
{
    size_t n;
    const char *s = text(o, key, &n);
    return s && td_dec_parse_number(s, n, out) == TD_OK;
}

int fj_i64(fj_val o, const char *key, int64_t *out)
{
    size_t n;
    const char *s = text(o, key, &n);
    if (!s)
        return 0;
    /* From the text, so a number past int64 is refused, not clamped. */
    size_t i = s[0] == '-';
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

int fj_bool(fj_val o, const char *key, int *out)
{
    int t = fj_type(fj_get(o, key));
    if (t != TD_JR_TRUE && t != TD_JR_FALSE)
        return 0;
    *out = t == TD_JR_TRUE;
    return 1;
}

int fj_is(fj_val o, const char *key, const char *want)
{
    size_t n;
    const char *s = fj_str(o, key, &n);
    return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

int fj_id(fj_val o, const char *key, char *buf, size_t cap)
{
    size_t n;
    const char *s = text(o, key, &n);
    if (!s || n == 0 || n >= cap)
        return 0;
    if (fj_type(fj_get(o, key)) == TD_JR_NUMBER && !fj_i64(o, key, &(int64_t){0}))
        return 0; /* an integer's digits, not a fraction's */
    for (size_t i = 0; i < n; i++) /* ids go to logs and JSON: keep them plain */
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
            return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 1;
}

int fj_time(fj_val o, const char *key, int64_t *out)
{
    size_t n;
    const char *s = fj_str(o, key, &n);
    return s && td_rfc3339_parse_ms(s, n, out) == TD_OK;
}

int fj_symbol(fj_val o, const char *key, td_spelling sp, char *buf, size_t cap)
{
    size_t n;
    const char *s = fj_str(o, key, &n);
    return s && td_symbol_from_venue(sp, s, n, buf, cap) == TD_OK;
}

fj_val fj_first(fj_val a)
{
    return (fj_val){a.r, fj_type(a) == TD_JR_ARRAY ? td_jr_first(a.r, a.i) : -1};
}

fj_val fj_next(fj_val a, fj_val x)
{
    return (fj_val){a.r, td_jr_next(a.r, a.i, x.i)};
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
