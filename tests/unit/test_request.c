/*
 * test_request.c - unit tests for the request layer (api/request.c): percent
 * decoding, query strings, JSON bodies and every way of writing a response.
 *
 * Responses are checked by parsing r->out the way nginx would read it: a
 * FastCGI header block, a blank line, then exactly Content-Length bytes.
 * No I/O: a td_req here is an arena and a few fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/request.h"

#define REQ_ID "req-test-0001"

typedef struct fixture {
    td_arena arena;
    td_req r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    td_arena_init(&f->arena, 4096);
    td_req_init(&f->r, &f->arena, NULL);
    snprintf(f->r.request_id, sizeof f->r.request_id, "%s", REQ_ID);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    td_req_end(&f->r);
    td_arena_free(&f->arena);
    free(f);
    return 0;
}

/* ---- parsing r->out ------------------------------------------------------ */

typedef struct parsed {
    int status;
    char status_line[128]; /* "Status: 400 Bad Request" */
    char head[4096];       /* header lines after the status line, each ending \r\n */
    const char *body;
    size_t body_len;
} parsed;

static void parse_out(const td_req *r, parsed *p)
{
    memset(p, 0, sizeof *p);
    assert_non_null(r->out.data);
    const char *out = r->out.data;
    assert_int_equal(strlen(out), r->out.len); /* no NUL inside a response */
    assert_memory_equal(out, "Status: ", 8);
    const char *eol = strstr(out, "\r\n");
    assert_non_null(eol);
    assert_true((size_t)(eol - out) < sizeof p->status_line);
    memcpy(p->status_line, out, (size_t)(eol - out));
    p->status = atoi(out + 8);
    const char *end = strstr(out, "\r\n\r\n");
    assert_non_null(end);
    size_t hl = (size_t)(end + 2 - (eol + 2));
    assert_true(hl < sizeof p->head);
    memcpy(p->head, eol + 2, hl);
    p->body = end + 4;
    p->body_len = r->out.len - (size_t)(p->body - out);
    assert_int_equal(p->status, r->status);
}

/* Value of header name (exact case), or NULL; fails if it appears twice. */
static const char *header_value(const parsed *p, const char *name, char *buf, size_t cap)
{
    const char *found = NULL;
    size_t nl = strlen(name);
    for (const char *line = p->head; *line;) {
        const char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        if ((size_t)(eol - line) > nl + 2 && memcmp(line, name, nl) == 0 && line[nl] == ':' &&
            line[nl + 1] == ' ') {
            if (found)
                fail_msg("header %s appears twice", name);
            size_t vl = (size_t)(eol - line) - nl - 2;
            assert_true(vl < cap);
            memcpy(buf, line + nl + 2, vl);
            buf[vl] = '\0';
            found = buf;
        }
        line = eol + 2;
    }
    return found;
}

/* Checks the common framing and returns the parsed body (caller puts). */
static json_object *json_response(const td_req *r, parsed *p, int status)
{
    char v[256];
    parse_out(r, p);
    assert_int_equal(p->status, status);
    char want[128];
    snprintf(want, sizeof want, "Status: %d %s", status, td_http_reason(status));
    assert_string_equal(p->status_line, want);
    assert_non_null(header_value(p, "X-Request-ID", v, sizeof v));
    assert_string_equal(v, r->request_id);
    assert_non_null(header_value(p, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    assert_non_null(header_value(p, "Content-Length", v, sizeof v));
    assert_int_equal(strtoul(v, NULL, 10), p->body_len);

    /* The body must be strict, valid UTF-8 JSON that ends where it says. */
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, p->body, (int)p->body_len);
    if (!o || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != p->body_len)
        fail_msg("body is not one JSON value: %.*s", (int)p->body_len, p->body);
    json_tokener_free(tok);
    return o;
}

static const char *str_member(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        fail_msg("no string member \"%s\"", key);
    return json_object_get_string(v);
}

/*
 * Asserts r->out is the error envelope with this status and code, exactly
 * {"error":{"code","message","request_id"}}; writes the message to msg.
 */
static void assert_envelope(const td_req *r, int status, const char *code, char *msg, size_t cap)
{
    parsed p;
    json_object *o = json_response(r, &p, status);
    assert_true(json_object_is_type(o, json_type_object));
    assert_int_equal(json_object_object_length(o), 1);
    json_object *e;
    assert_true(json_object_object_get_ex(o, "error", &e));
    assert_true(json_object_is_type(e, json_type_object));
    assert_int_equal(json_object_object_length(e), 3);
    assert_string_equal(str_member(e, "code"), code);
    assert_string_equal(str_member(e, "request_id"), r->request_id);
    const char *m = str_member(e, "message");
    assert_true(strlen(m) > 0);
    if (msg)
        snprintf(msg, cap, "%s", m);
    json_object_put(o);
}

static void set_body(td_req *r, const char *body, size_t len)
{
    char *b = td_arena_alloc(r->arena, len + 1);
    memcpy(b, body, len);
    b[len] = '\0';
    r->body = b;
    r->body_len = len;
}

/* ---- td_percent_decode ---------------------------------------------------- */

static const char *dec(td_arena *a, const char *s, int plus)
{
    return td_percent_decode(a, s, strlen(s), plus);
}

static void test_percent_decode_valid(void **state)
{
    fixture *f = *state;
    td_arena *a = &f->arena;

    assert_string_equal(dec(a, "", 0), "");
    assert_string_equal(dec(a, "plain-text_1.~", 0), "plain-text_1.~");
    assert_string_equal(dec(a, "%41%62%63", 0), "Abc");
    assert_string_equal(dec(a, "a%2fb%2Fc", 0), "a/b/c"); /* either hex case */
    assert_string_equal(dec(a, "%20x%20", 0), " x ");
    assert_string_equal(dec(a, "%C3%A9t%c3%a9", 0), "\xc3\xa9t\xc3\xa9");
    assert_string_equal(dec(a, "100%25", 0), "100%");
    assert_string_equal(dec(a, "%ff", 0), "\xff"); /* bytes, not characters */
    /* Only len bytes are read: the escape after them is not seen. */
    assert_string_equal(td_percent_decode(a, "ab%zz", 2, 0), "ab");
    assert_string_equal(td_percent_decode(a, "%41%", 3, 0), "A");
}

static void test_percent_decode_plus(void **state)
{
    fixture *f = *state;
    td_arena *a = &f->arena;

    assert_string_equal(dec(a, "a+b++c", 1), "a b  c");
    assert_string_equal(dec(a, "a+b++c", 0), "a+b++c");
    /* An encoded plus is always a plus. */
    assert_string_equal(dec(a, "1%2B1", 1), "1+1");
    assert_string_equal(dec(a, "1%2b1", 0), "1+1");
    assert_string_equal(dec(a, "%2B+", 1), "+ ");
}

static void test_percent_decode_bad_escapes(void **state)
{
    fixture *f = *state;
    td_arena *a = &f->arena;
    static const char *const bad[] = {
        "%",   "%4",  "%zz", "%00",  "a%",   "a%4",   "%g1",   "%1g",
        "%-1", "%+1", "% 1", "ok%0", "%%41", "x%00y", "%41%4",
    };
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++) {
        if (dec(a, bad[i], 0) != NULL || dec(a, bad[i], 1) != NULL)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* A truncated escape is refused even when the bytes after len are hex. */
    assert_null(td_percent_decode(a, "%41", 2, 0));
    assert_null(td_percent_decode(a, "%41", 1, 0));
}

/* ---- td_query_parse and td_req_param --------------------------------------- */

static void test_query_empty(void **state)
{
    fixture *f = *state;
    td_param *ps = (td_param *)1;
    size_t n = 99;

    assert_int_equal(td_query_parse(&f->arena, "", &ps, &n), TD_OK);
    assert_int_equal(n, 0);
    assert_null(ps);
    ps = (td_param *)1;
    n = 99;
    assert_int_equal(td_query_parse(&f->arena, NULL, &ps, &n), TD_OK);
    assert_int_equal(n, 0);
    assert_null(ps);
}

static void test_query_several(void **state)
{
    fixture *f = *state;
    td_param *ps;
    size_t n;

    assert_int_equal(td_query_parse(&f->arena, "symbol=BTC-USD&limit=50&q=a+b%2Bc&side=", &ps, &n),
                     TD_OK);
    assert_int_equal(n, 4);
    assert_string_equal(ps[0].name, "symbol");
    assert_string_equal(ps[0].value, "BTC-USD");
    assert_string_equal(ps[1].name, "limit");
    assert_string_equal(ps[1].value, "50");
    assert_string_equal(ps[2].name, "q");
    assert_string_equal(ps[2].value, "a b+c");
    assert_string_equal(ps[3].name, "side");
    assert_string_equal(ps[3].value, ""); /* empty value */
}

static void test_query_valueless_and_separators(void **state)
{
    fixture *f = *state;
    td_param *ps;
    size_t n;

    /* A bare name has the empty value. */
    assert_int_equal(td_query_parse(&f->arena, "verbose", &ps, &n), TD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ps[0].name, "verbose");
    assert_string_equal(ps[0].value, "");

    /* Empty pieces between, before and after '&' are skipped. */
    assert_int_equal(td_query_parse(&f->arena, "&&a=1&&&b&c=x=y&", &ps, &n), TD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ps[0].name, "a");
    assert_string_equal(ps[0].value, "1");
    assert_string_equal(ps[1].name, "b");
    assert_string_equal(ps[1].value, "");
    assert_string_equal(ps[2].name, "c");
    assert_string_equal(ps[2].value, "x=y"); /* only the first '=' splits */

    assert_int_equal(td_query_parse(&f->arena, "&&&", &ps, &n), TD_OK);
    assert_int_equal(n, 0);
}

static void test_query_encoded_names(void **state)
{
    fixture *f = *state;
    td_param *ps;
    size_t n;

    assert_int_equal(td_query_parse(&f->arena, "na%6De=v&a+b=1&%3D=eq", &ps, &n), TD_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ps[0].name, "name");
    assert_string_equal(ps[1].name, "a b");
    assert_string_equal(ps[2].name, "=");
    assert_string_equal(ps[2].value, "eq");
}

static void test_query_rejected(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "a=1&a=2",         /* repeated */
        "a=1&b=2&a",       /* repeated, second valueless */
        "name=1&na%6De=2", /* repeated once decoded */
        "a+b=1&a%20b=2",
        "a=%",
        "a=%4",
        "a=%zz",
        "a=%00",
        "%zz=1",
        "%00=1",
        "a=1&b=%4",
        "=v", /* empty name */
        "%=v",
    };
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++) {
        td_param *ps = (td_param *)1;
        size_t n = 99;
        if (td_query_parse(&f->arena, bad[i], &ps, &n) != TD_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_null(ps);
        assert_int_equal(n, 0);
    }
}

static void test_req_param(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;

    assert_null(td_req_param(r, "a")); /* no params at all */
    assert_int_equal(
        td_query_parse(&f->arena, "a=1&Bee=two+words&empty=&flag", &r->params, &r->nparams), TD_OK);
    assert_string_equal(td_req_param(r, "a"), "1");
    assert_string_equal(td_req_param(r, "Bee"), "two words");
    assert_string_equal(td_req_param(r, "empty"), "");
    assert_string_equal(td_req_param(r, "flag"), "");
    assert_null(td_req_param(r, "bee")); /* names are case-sensitive */
    assert_null(td_req_param(r, "missing"));
    assert_null(td_req_param(r, ""));
}

/* ---- td_req_json_object --------------------------------------------------- */

static void test_json_valid_object(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    static const char body[] = " {\"user\":\"alice\",\"n\":[1,2,{\"x\":null}],\"s\":\"\\u00e9\"} ";

    set_body(r, body, sizeof body - 1);
    json_object *o = td_req_json_object(r);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_object));
    assert_string_equal(str_member(o, "user"), "alice");
    assert_string_equal(str_member(o, "s"), "\xc3\xa9");
    assert_false(td_req_answered(r));
    assert_int_equal(r->status, 0);
    assert_int_equal(r->out.len, 0);
    assert_int_equal(r->nowned, 1); /* freed by td_req_end in teardown */
    assert_ptr_equal(r->owned[0], o);

    /* The body length rules, not a NUL: the same object with junk after it. */
    td_req_end(r);
    static const char longer[] = "{}junk";
    r->body = longer;
    r->body_len = 2;
    assert_non_null(td_req_json_object(r));
}

static void expect_invalid_json(td_req *r, const char *body, size_t len)
{
    set_body(r, body, len);
    assert_null(td_req_json_object(r));
    assert_int_equal(r->status, 400);
    assert_envelope(r, 400, "invalid_json", NULL, 0);
    assert_int_equal(r->nowned, 0);
}

/* Each case runs on its own fresh request: the first response wins. */
static void run_invalid(const char *body, size_t len)
{
    void *st;
    assert_int_equal(setup(&st), 0);
    expect_invalid_json(&((fixture *)st)->r, body, len);
    assert_int_equal(teardown(&st), 0);
}

#define INVALID(s) run_invalid(s, sizeof(s) - 1)

static void test_json_empty_body(void **state)
{
    fixture *f = *state;
    char msg[512];
    f->r.body = "";
    f->r.body_len = 0;
    assert_null(td_req_json_object(&f->r));
    assert_envelope(&f->r, 400, "invalid_json", msg, sizeof msg);
    assert_non_null(strstr(msg, "empty"));
}

static void test_json_invalid(void **state)
{
    (void)state;
    INVALID("{");
    INVALID("{\"a\":}");
    INVALID("{\"a\" 1}");
    INVALID("{\"a\":'x'}");
    INVALID("{\"a\":1,}");
    INVALID("{a:1}");
    INVALID("{\"a\":01}");
    INVALID("nul");
    INVALID(" ");
}

static void test_json_trailing_garbage(void **state)
{
    fixture *f = *state;
    char msg[512];
    expect_invalid_json(&f->r, "{}x", 3);
    assert_envelope(&f->r, 400, "invalid_json", msg, sizeof msg);
    assert_non_null(strstr(msg, "not valid JSON"));
    INVALID("{}{}");
    INVALID("{} 1");
    INVALID("{\"a\":1}\n,");
    /* A NUL inside the declared length is garbage too. */
    run_invalid("{}\0", 3);
    run_invalid("{\"a\":\"b\0c\"}", 11);
}

static void test_json_not_an_object(void **state)
{
    fixture *f = *state;
    char msg[512];
    expect_invalid_json(&f->r, "[1,2]", 5);
    assert_envelope(&f->r, 400, "invalid_json", msg, sizeof msg);
    assert_non_null(strstr(msg, "object"));
    INVALID("[]");
    INVALID("\"str\"");
    INVALID("42");
    INVALID("null");
    INVALID("true");
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 6 + 2);
    assert_non_null(s);
    size_t o = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(s + o, "{\"a\":", 5);
        o += 5;
    }
    s[o++] = '1';
    for (int i = 0; i < depth; i++)
        s[o++] = '}';
    s[o] = '\0';
    return s;
}

static void test_json_depth_limit(void **state)
{
    fixture *f = *state;
    /* 15 nested objects are within the tokener's depth of 16... */
    char *ok = nested(15);
    set_body(&f->r, ok, strlen(ok));
    assert_non_null(td_req_json_object(&f->r));
    free(ok);
    /* ...16 and far more are refused, not parsed recursively. */
    static const int deep[] = {16, 17, 1000};
    for (size_t i = 0; i < TD_ARRAY_LEN(deep); i++) {
        char *s = nested(deep[i]);
        run_invalid(s, strlen(s));
        free(s);
    }
    char arrays[2001];
    memset(arrays, '[', 1000);
    memset(arrays + 1000, ']', 1000);
    arrays[2000] = '\0';
    char body[2100];
    snprintf(body, sizeof body, "{\"a\":%s}", arrays);
    run_invalid(body, strlen(body));
}

static void test_json_invalid_utf8(void **state)
{
    (void)state;
    INVALID("{\"a\":\"\xff\"}");
    INVALID("{\"a\":\"\xc3\"}");                 /* truncated sequence */
    INVALID("{\"a\":\"\xc0\xaf\"}");             /* overlong '/' */
    INVALID("{\"\xe9t\xe9\":1}");                /* Latin-1 in a key */
    INVALID("{\"a\":\"\xf8\x88\x80\x80\x80\"}"); /* 5-byte form */
    INVALID("\xef\xbb\xbf{}");                   /* a BOM is not JSON */
    /* json-c's VALIDATE_UTF8 lets these two through; request.c must not. */
    INVALID("{\"a\":\"\xe0\x80\xaf\"}");     /* overlong 3-byte form */
    INVALID("{\"a\":\"\xed\xa0\x80\"}");     /* UTF-16 surrogate */
    INVALID("{\"a\":\"\xf4\x90\x80\x80\"}"); /* above U+10FFFF */
}

/* Text json-c's STRICT mode accepts although RFC 8259 does not (NOTES.md). */
static void test_json_lenient_forms_refused(void **state)
{
    (void)state;
    INVALID("{'a':1}");
    INVALID("{\"a\":NaN}");
    INVALID("{\"a\":Infinity}");
    INVALID("{\"a\":-Infinity}");
    INVALID("{\"a\":1.}");
    INVALID("{\"a\":[1.]}");
    INVALID("{\"a\":\"x\ty\"}");      /* raw tab */
    INVALID("{\"a\":\"x\ny\"}");      /* raw newline */
    INVALID("{\"a\":\"x\\u0000y\"}"); /* would cut "x\0y" to "x" */
    INVALID("{\"admin\\u0000\":1}");
}

/* ...while the look-alikes that are valid JSON still parse. */
static void test_json_strict_lookalikes_accepted(void **state)
{
    fixture *f = *state;
    static const char body[] =
        "{\"q\":\"it's NaN, Infinity. 1.\",\"e\":\"\\t\\n\\u00e9\\u0041\",\"bs\":\"\\\\u0000\","
        "\"n\":[1.5,-0.25,1e3,0],\"u\":\"\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\",\"k\\\"'\":true}";
    set_body(&f->r, body, sizeof body - 1);
    json_object *o = td_req_json_object(&f->r);
    if (!o)
        fail_msg("refused: %s", f->r.out.data);
    assert_string_equal(str_member(o, "q"), "it's NaN, Infinity. 1.");
    assert_string_equal(str_member(o, "e"), "\t\n\xc3\xa9"
                                            "A");
    assert_string_equal(str_member(o, "bs"), "\\u0000"); /* an escaped backslash, then text */
    assert_string_equal(str_member(o, "u"), "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_true(json_object_object_get_ex(o, "k\"'", NULL));
}

/* ---- responses ------------------------------------------------------------ */

static void test_resp_error_envelope(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    char msg[512];

    td_resp_error(r, TD_ERR_NOT_FOUND, "no such thing: %s (%d)", "\"quoted\"\n\xc3\xa9", 7);
    assert_true(td_req_answered(r));
    assert_int_equal(r->status, 404);
    assert_envelope(r, 404, "not_found", msg, sizeof msg);
    assert_string_equal(msg, "no such thing: \"quoted\"\n\xc3\xa9 (7)");
}

static void test_resp_error_request_id(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    snprintf(r->request_id, sizeof r->request_id, "%s", "0123456789abcdef0123456789abcdef");
    td_resp_error(r, TD_ERR_UNPROCESSABLE, "bad");
    assert_envelope(r, 422, "unprocessable", NULL, 0);
    assert_non_null(strstr(r->out.data, "X-Request-ID: 0123456789abcdef0123456789abcdef\r\n"));
}

static void test_resp_error_long_message(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    char big[2000], msg[1024];
    /* Two-byte characters, so the 511-byte cut lands inside one. */
    for (size_t i = 0; i + 1 < sizeof big; i += 2) {
        big[i] = '\xc3';
        big[i + 1] = '\xa9';
    }
    big[sizeof big - 1] = '\0';
    td_resp_error(r, TD_ERR_NOT_FOUND, "%s", big); /* 511 bytes: 255.5 characters */
    /* Truncated, and still valid UTF-8 JSON with a right Content-Length. */
    assert_envelope(r, 404, "not_found", msg, sizeof msg);
    assert_true(strlen(msg) < 512);
    assert_true(strlen(msg) > 400);
}

static void test_resp_error_invalid_utf8_message(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    char msg[512];
    /* A raw path echoed into a message may hold any bytes. */
    td_resp_error(r, TD_ERR_NOT_FOUND, "no such endpoint: %s",
                  "/a\xff\xfe/\xc0\xaf/\xed\xa0\x80/ok");
    assert_envelope(r, 404, "not_found", msg, sizeof msg);
    assert_non_null(strstr(msg, "no such endpoint: /a"));
    assert_non_null(strstr(msg, "/ok"));
}

/* Every kind answers its own status and code, with its default message
 * when no format is given. */
static void test_resp_error_every_kind(void **state)
{
    (void)state;
    for (int k = 0; k < TD_ERR_COUNT; k++) {
        void *s;
        assert_int_equal(setup(&s), 0);
        td_req *r = &((fixture *)s)->r;
        char msg[512];
        td_resp_error(r, (td_err)k, NULL);
        assert_envelope(r, td_err_status((td_err)k), td_err_code((td_err)k), msg, sizeof msg);
        assert_string_equal(msg, td_err_message((td_err)k));
        assert_string_not_equal(td_http_reason(r->status), "Unknown");
        assert_int_equal(teardown(&s), 0);
    }
}

static void test_first_response_wins(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;

    td_resp_error(r, TD_ERR_CONFLICT, "first");
    size_t len = r->out.len;
    char *copy = strdup(r->out.data);
    assert_non_null(copy);

    td_resp_error(r, TD_ERR_INTERNAL, "second");
    td_resp_raw(r, 200, "text/plain", "x", 1);
    td_resp_empty(r, 204);
    td_resp_status_error(r, TD_EUNAVAIL);

    assert_int_equal(r->status, 409);
    assert_int_equal(r->out.len, len);
    assert_string_equal(r->out.data, copy);
    char msg[64];
    assert_envelope(r, 409, "conflict", msg, sizeof msg);
    assert_string_equal(msg, "first");
    free(copy);
}

static void test_resp_headers(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    parsed p;
    char v[64];

    td_resp_header(r, "Cache-Control", "no-store");
    td_resp_header(r, "X-RateLimit-Remaining", "4");
    td_resp_raw(r, 200, "text/plain; charset=utf-8", "hello", 5);
    parse_out(r, &p);
    assert_int_equal(p.status, 200);
    assert_string_equal(p.status_line, "Status: 200 OK");
    assert_string_equal(header_value(&p, "Cache-Control", v, sizeof v), "no-store");
    assert_string_equal(header_value(&p, "X-RateLimit-Remaining", v, sizeof v), "4");
    assert_string_equal(header_value(&p, "Content-Type", v, sizeof v), "text/plain; charset=utf-8");
    assert_string_equal(header_value(&p, "Content-Length", v, sizeof v), "5");
    assert_int_equal(p.body_len, 5);
    assert_memory_equal(p.body, "hello", 5);

    /* A header added after the answer does not change it. */
    size_t len = r->out.len;
    td_resp_header(r, "X-Late", "1");
    assert_int_equal(r->out.len, len);
    assert_null(strstr(r->out.data, "X-Late"));
}

static void test_resp_header_with_error(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    parsed p;
    char v[64];

    td_resp_header(r, "WWW-Authenticate", "Bearer");
    td_resp_error(r, TD_ERR_UNAUTHENTICATED, "no");
    assert_envelope(r, 401, "unauthorized", NULL, 0);
    json_object_put(json_response(r, &p, 401));
    assert_string_equal(header_value(&p, "WWW-Authenticate", v, sizeof v), "Bearer");
}

static void test_resp_empty_and_json(void **state)
{
    fixture *f = *state;
    td_req *r = &f->r;
    parsed p;
    char v[64];

    td_resp_empty(r, 204);
    parse_out(r, &p);
    assert_string_equal(p.status_line, "Status: 204 No Content");
    assert_null(header_value(&p, "Content-Length", v, sizeof v));
    assert_null(header_value(&p, "Content-Type", v, sizeof v));
    assert_int_equal(p.body_len, 0);

    void *st;
    assert_int_equal(setup(&st), 0);
    td_req *r2 = &((fixture *)st)->r;
    /* An error message echoing a path: no "\/" escaping, valid JSON. */
    td_resp_error(r2, TD_ERR_NOT_FOUND, "no route for %s", "/a/b");
    json_object *back = json_response(r2, &p, 404);
    assert_null(memchr(p.body, '\\', p.body_len));
    json_object_put(back);
    assert_int_equal(teardown(&st), 0);
}

static void expect_status_error(td_status st, int status, const char *code, int retry_after)
{
    void *s;
    assert_int_equal(setup(&s), 0);
    td_req *r = &((fixture *)s)->r;
    parsed p;
    char v[64];

    td_resp_status_error(r, st);
    assert_envelope(r, status, code, NULL, 0);
    json_object_put(json_response(r, &p, status));
    if (retry_after)
        assert_string_equal(header_value(&p, "Retry-After", v, sizeof v), "1");
    else
        assert_null(header_value(&p, "Retry-After", v, sizeof v));
    assert_int_equal(teardown(&s), 0);
}

static void test_resp_status_error_mapping(void **state)
{
    (void)state;
    expect_status_error(TD_EUNAVAIL, 503, "unavailable", 1);
    expect_status_error(TD_ENOTFOUND, 404, "not_found", 0);
    expect_status_error(TD_ECONFLICT, 409, "conflict", 0);
    expect_status_error(TD_EINVAL, 422, "unprocessable", 0);
    expect_status_error(TD_ELIMIT, 429, "rate_limited", 0);
    expect_status_error(TD_EDENIED, 401, "unauthorized", 0);
    expect_status_error(TD_ERROR, 500, "internal", 0);
    expect_status_error(TD_ENOMEM, 500, "internal", 0);
}

static void test_http_reason(void **state)
{
    (void)state;
    assert_string_equal(td_http_reason(200), "OK");
    assert_string_equal(td_http_reason(400), "Bad Request");
    assert_string_equal(td_http_reason(405), "Method Not Allowed");
    assert_string_equal(td_http_reason(429), "Too Many Requests");
    assert_string_equal(td_http_reason(503), "Service Unavailable");
    assert_string_equal(td_http_reason(299), "Unknown");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_percent_decode_valid),
        T(test_percent_decode_plus),
        T(test_percent_decode_bad_escapes),
        T(test_query_empty),
        T(test_query_several),
        T(test_query_valueless_and_separators),
        T(test_query_encoded_names),
        T(test_query_rejected),
        T(test_req_param),
        T(test_json_valid_object),
        T(test_json_empty_body),
        T(test_json_invalid),
        T(test_json_trailing_garbage),
        T(test_json_not_an_object),
        T(test_json_depth_limit),
        T(test_json_invalid_utf8),
        T(test_json_lenient_forms_refused),
        T(test_json_strict_lookalikes_accepted),
        T(test_resp_error_envelope),
        T(test_resp_error_request_id),
        T(test_resp_error_long_message),
        T(test_resp_error_invalid_utf8_message),
        T(test_resp_error_every_kind),
        T(test_first_response_wins),
        T(test_resp_headers),
        T(test_resp_header_with_error),
        T(test_resp_empty_and_json),
        T(test_resp_status_error_mapping),
        T(test_http_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
