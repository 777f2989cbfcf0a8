/*
 * jsonw.c - the JSON writer; see jsonw.h.  Output is what json-c would
 * produce with JSON_C_TO_STRING_PLAIN | NOSLASHESCAPE.
 */
#include "core/jsonw.h"
#include "core/clock.h"

#include <stdio.h>
#include <string.h>

static void put(td_jw *w, const char *s, size_t n)
{
    td_buf_add(w->arena, w->out, s, n);
}

static void sep(td_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    uint64_t bit = 1ULL << w->depth;
    if (w->first & bit)
        w->first &= ~bit;
    else if (w->depth > 0)
        put(w, ",", 1);
}

void td_jw_init(td_jw *w, td_arena *a, td_buf *out)
{
    memset(w, 0, sizeof *w);
    w->arena = a;
    w->out = out;
    w->first = 1;
}

static void open_(td_jw *w, char c)
{
    sep(w);
    put(w, &c, 1);
    w->depth++;
    w->first |= 1ULL << w->depth;
}

void td_jw_obj(td_jw *w)
{
    open_(w, '{');
}

void td_jw_arr(td_jw *w)
{
    open_(w, '[');
}

void td_jw_end(td_jw *w, char closer)
{
    w->first &= ~(1ULL << w->depth);
    w->depth--;
    put(w, &closer, 1);
}

size_t td_json_escape_byte(unsigned char c, char esc[TD_JSON_ESC_MAX + 1])
{
    char short_form;
    switch (c) {
    case '"':
        short_form = '"';
        break;
    case '\\':
        short_form = '\\';
        break;
    case '\n':
        short_form = 'n';
        break;
    case '\r':
        short_form = 'r';
        break;
    case '\t':
        short_form = 't';
        break;
    default:
        if (c >= 0x20)
            return 0;
        return (size_t)snprintf(esc, TD_JSON_ESC_MAX + 1, "\\u%04x", c);
    }
    esc[0] = '\\';
    esc[1] = short_form;
    esc[2] = '\0';
    return 2;
}

void td_jw_key(td_jw *w, const char *key)
{
    sep(w);
    put(w, "\"", 1);
    put(w, key, strlen(key));
    put(w, "\":", 2);
    w->after_key = 1;
}

void td_jw_str(td_jw *w, const char *s)
{
    if (!s) {
        td_jw_null(w);
        return;
    }
    sep(w);
    put(w, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[TD_JSON_ESC_MAX + 1];
        size_t el = td_json_escape_byte(*p, esc);
        if (!el)
            continue;
        put(w, run, (size_t)((const char *)p - run));
        put(w, esc, el);
        run = (const char *)p + 1;
    }
    put(w, run, strlen(run));
    put(w, "\"", 1);
}

void td_jw_dec(td_jw *w, td_dec v)
{
    char buf[TD_DEC_STR_MAX];
    size_t n = td_dec_format(v, buf, sizeof buf);
    sep(w);
    put(w, "\"", 1);
    put(w, buf, n);
    put(w, "\"", 1);
}

void td_jw_int(td_jw *w, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    sep(w);
    put(w, buf, (size_t)n);
}

void td_jw_bool(td_jw *w, int v)
{
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void td_jw_fixed(td_jw *w, double v, int digits)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.*f", digits, v);
    sep(w);
    if (n <= 0 || (size_t)n >= sizeof buf || v - v != 0) /* NaN, infinite, or absurd */
        put(w, "null", 4);
    else
        put(w, buf, (size_t)n);
}

void td_jw_raw(td_jw *w, const char *json, size_t n)
{
    sep(w);
    put(w, json, n);
}

void td_jw_null(td_jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void td_jw_time_ms(td_jw *w, long long epoch_ms)
{
    char buf[TD_RFC3339_MS_LEN + 8]; /* years past 9999 take more digits */
    size_t n = td_rfc3339_ms(epoch_ms, buf, sizeof buf);
    sep(w);
    put(w, "\"", 1);
    put(w, buf, n);
    put(w, "\"", 1);
}

void td_jw_freshness(td_jw *w, long long updated_ms, long long age_ms, int stale)
{
    td_jw_key(w, "updated_at");
    td_jw_time_ms(w, updated_ms);
    td_jw_key(w, "age_ms");
    td_jw_int(w, age_ms < 0 ? 0 : age_ms);
    td_jw_key(w, "stale");
    td_jw_bool(w, stale);
}
