/*
 * request.c - query and body parsing, and the one place responses are
 * written; see request.h.  No FastCGI here, so unit tests drive it directly.
 */
#include "api/request.h"
#include "core/utf8.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/random.h"
#include "core/trace.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 16

void td_req_init(td_req *r, td_arena *a, struct td_app *app)
{
    memset(r, 0, sizeof *r);
    r->arena = a;
    r->app = app;
    r->method = "GET";
    r->path = "/";
    r->query = "";
    r->remote_addr = "";
    r->user_agent = "";
    r->body = "";
    r->route = "-";
    r->started_ns = td_mono_ns();
}

void td_req_trace(td_req *r)
{
    const char *v = r->header ? r->header(r, "HTTP_TRACEPARENT") : NULL;
    td_traceparent tp;
    if (v && td_traceparent_parse(v, strlen(v), &tp) == TD_OK)
        memcpy(r->trace_id, tp.trace_id, sizeof r->trace_id);
    else if (td_trace_id_valid(r->request_id))
        memcpy(r->trace_id, r->request_id, sizeof r->trace_id);
    else
        td_random_hex(r->trace_id, TD_TRACE_ID_LEN / 2);
    td_log_set_trace(r->trace_id);
}

void td_req_end(td_req *r)
{
    td_log_set_trace(NULL);
    for (size_t i = 0; i < r->nowned; i++)
        json_object_put(r->owned[i]);
    r->nowned = 0;
}

static void buf_str(td_arena *a, td_buf *b, const char *s)
{
    td_buf_add(a, b, s, strlen(s));
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *td_percent_decode(td_arena *a, const char *s, size_t len, int plus_is_space)
{
    char *out = td_arena_alloc(a, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return NULL;
            int hi = hexval((unsigned char)s[i + 1]);
            int lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

td_status td_query_parse(td_arena *a, const char *qs, td_param **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!qs || !*qs)
        return TD_OK;
    size_t cap = 1;
    for (const char *p = qs; *p; p++)
        cap += *p == '&';
    td_param *ps = td_arena_alloc(a, cap * sizeof *ps);
    size_t k = 0;
    const char *p = qs;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nl = eq ? (size_t)(eq - p) : len;
            char *name = td_percent_decode(a, p, nl, 1);
            char *value =
                eq ? td_percent_decode(a, eq + 1, len - nl - 1, 1) : td_arena_strdup(a, "");
            if (!name || !value || !*name)
                return TD_EINVAL;
            for (size_t i = 0; i < k; i++)
                if (strcmp(ps[i].name, name) == 0)
                    return TD_EINVAL;
            ps[k].name = name;
            ps[k].value = value;
            k++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    *out = ps;
    *n = k;
    return TD_OK;
}

const char *td_req_param(const td_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) at s[0..n), or 0 when there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    return s[0] < 0x80 ? 1 : td_utf8_seq((const char *)s, n);
}

/*
 * json-c's STRICT mode still takes text RFC 8259 refuses (NOTES.md):
 * single-quoted names, NaN and Infinity, "1.", raw control characters and
 * \u0000 in strings, and overlong or surrogate UTF-8 even with
 * VALIDATE_UTF8.  A \u0000 would also cut a string short wherever a handler
 * uses it as a C string.  One pass refuses all of these before json-c runs;
 * NULL when the text has none of them.
 */
static const char *json_text_problem(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    int in_str = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_seq_len(s + i, n - i);
            if (!l)
                return "invalid UTF-8";
            i += l;
            continue;
        }
        if (in_str) {
            if (c < 0x20)
                return "control character inside a string";
            if (c == '"') {
                in_str = 0;
            } else if (c == '\\' && i + 1 < n) {
                if (s[i + 1] == 'u' && n - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
                    return "\\u0000 inside a string";
                i++; /* the escaped byte cannot end the string */
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '\'') {
            return "single-quoted string";
        } else if (c == 'N' || c == 'I') {
            return "NaN and Infinity are not JSON numbers";
        } else if (c == '.' && (i + 1 >= n || s[i + 1] < '0' || s[i + 1] > '9')) {
            return "a number needs digits after '.'";
        }
        i++;
    }
    return NULL;
}

static void own(td_req *r, json_object *o)
{
    if (r->nowned < TD_MAX_OWNED_JSON)
        r->owned[r->nowned++] = o;
    else
        json_object_put(o); /* never reached by the handlers we have */
}

json_object *td_req_json_object(td_req *r)
{
    if (r->body_len == 0) {
        td_resp_error(r, TD_ERR_INVALID_JSON, "request body is empty; a JSON object is required");
        return NULL;
    }
    const char *why = json_text_problem(r->body, r->body_len);
    if (why) {
        td_resp_error(r, TD_ERR_INVALID_JSON, "request body is not valid JSON: %s", why);
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok) {
        td_resp_error(r, TD_ERR_UNAVAILABLE, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!o || err != json_tokener_success || end != r->body_len ||
        memchr(r->body, '\0', r->body_len)) {
        if (o)
            json_object_put(o);
        td_resp_error(r, TD_ERR_INVALID_JSON, "request body is not valid JSON: %s",
                      err != json_tokener_success ? json_tokener_error_desc(err)
                                                  : "trailing data after the value");
        return NULL;
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        td_resp_error(r, TD_ERR_INVALID_JSON, "request body must be a JSON object");
        return NULL;
    }
    own(r, o);
    return o;
}

int td_req_answered(const td_req *r)
{
    return r->status != 0;
}

void td_resp_header(td_req *r, const char *name, const char *value)
{
    buf_str(r->arena, &r->headers, name);
    buf_str(r->arena, &r->headers, ": ");
    buf_str(r->arena, &r->headers, value);
    buf_str(r->arena, &r->headers, "\r\n");
}

void td_resp_raw(td_req *r, int status, const char *content_type, const char *body, size_t len)
{
    if (r->status)
        return;
    r->status = status;
    td_buf_reserve(r->arena, &r->out, 256 + r->headers.len + len); /* one allocation */
    char line[160];
    snprintf(line, sizeof line, "Status: %d %s\r\nX-Request-ID: %s\r\n", status,
             td_http_reason(status), r->request_id);
    buf_str(r->arena, &r->out, line);
    if (content_type) {
        snprintf(line, sizeof line, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type,
                 len);
        buf_str(r->arena, &r->out, line);
    }
    if (r->headers.len)
        td_buf_add(r->arena, &r->out, r->headers.data, r->headers.len);
    buf_str(r->arena, &r->out, "\r\n");
    if (len)
        td_buf_add(r->arena, &r->out, body, len);
}

void td_resp_empty(td_req *r, int status)
{
    td_resp_raw(r, status, NULL, NULL, 0);
}

void td_resp_json_nostore(td_req *r, int status, const char *body, size_t len)
{
    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_raw(r, status, "application/json", body, len);
}

void td_resp_error(td_req *r, td_err kind, const char *fmt, ...)
{
    char msg[512];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    } else {
        snprintf(msg, sizeof msg, "%s", td_err_message(kind));
    }
    /* The writer copies bytes as they are: a message echoing raw input (a
     * path) or cut inside a character would make the body invalid UTF-8. */
    size_t mlen = strlen(msg);
    for (size_t i = 0; i < mlen;) {
        size_t l = utf8_seq_len((const unsigned char *)msg + i, mlen - i);
        if (!l)
            msg[i] = '?';
        i += l ? l : 1;
    }
    td_buf b = {0};
    td_jw w;
    td_jw_init(&w, r->arena, &b);
    td_jw_obj(&w);
    td_jw_key(&w, "error");
    td_jw_obj(&w);
    td_jw_key(&w, "code");
    td_jw_str(&w, td_err_code(kind));
    td_jw_key(&w, "message");
    td_jw_str(&w, msg);
    td_jw_key(&w, "request_id");
    td_jw_str(&w, r->request_id);
    td_jw_end(&w, '}');
    td_jw_end(&w, '}');
    td_resp_raw(r, td_err_status(kind), "application/json", b.data, b.len);
    r->err_code = td_err_code(kind);
}

void td_resp_status_error(td_req *r, td_status st)
{
    td_err kind = td_err_from_status(st);
    /* Unavailability is the one failure a client should simply retry. */
    if (kind == TD_ERR_UNAVAILABLE)
        td_resp_header(r, "Retry-After", "1");
    td_resp_error(r, kind, NULL);
}
