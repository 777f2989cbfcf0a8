/*
 * test_fcgi.c - unit tests for the FastCGI record codec (core/fcgi.c): a
 * whole request fed at once, byte by byte and split at every point; the
 * response records read back; GET_VALUES, UNKNOWN_TYPE, ABORT_REQUEST; every
 * refusal; and the codec against the reference, libfcgi's cgi-fcgi client
 * talking to a small responder built on the codec over a unix socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fcgi.h"

static const td_fcgi_limits LIM = {.max_params_bytes = 4096,
                                   .max_params = 16,
                                   .max_body_bytes = 64,
                                   .max_conns = 7,
                                   .max_reqs = 9};

/* ---- a client's side of the wire, for building input ---- */

typedef struct wire {
    unsigned char b[300000];
    size_t n;
} wire;

static wire W; /* the input being built; static: too big for the stack */

static void rec(wire *w, unsigned type, unsigned id, const void *content, size_t len, unsigned pad)
{
    td_fcgi_header(w->b + w->n, type, (uint16_t)id, len, pad);
    w->n += 8;
    if (len)
        memcpy(w->b + w->n, content, len);
    w->n += len;
    memset(w->b + w->n, 0xee, pad); /* padding is skipped whatever it holds */
    w->n += pad;
}

static size_t put_len(unsigned char *o, size_t n, int force_long)
{
    if (n < 128 && !force_long) {
        o[0] = (unsigned char)n;
        return 1;
    }
    o[0] = (unsigned char)(0x80 | (n >> 24));
    o[1] = (unsigned char)(n >> 16);
    o[2] = (unsigned char)(n >> 8);
    o[3] = (unsigned char)n;
    return 4;
}

static size_t pair(unsigned char *o, const char *name, const char *value, int force_long)
{
    size_t nl = strlen(name), vl = strlen(value), k = 0;
    k += put_len(o + k, nl, force_long);
    k += put_len(o + k, vl, force_long);
    memcpy(o + k, name, nl);
    memcpy(o + k + nl, value, vl);
    return k + nl + vl;
}

static void begin(wire *w, unsigned id, unsigned role, int keep)
{
    unsigned char b[8] = {(unsigned char)(role >> 8), (unsigned char)role,
                          (unsigned char)(keep ? TD_FCGI_KEEP_CONN : 0)};
    rec(w, TD_FCGI_BEGIN_REQUEST, id, b, 8, 0);
}

static char long_value[201];

/* A full request as nginx sends one: params split over three records (one
 * pair cut across two of them, one with 4-byte lengths), a body in two
 * STDIN records, padding here and there. */
static void sample_request(wire *w, unsigned id, int keep)
{
    unsigned char p[1024];
    size_t k = 0;
    memset(long_value, 'v', 200);
    k += pair(p + k, "REQUEST_METHOD", "POST", 0);
    k += pair(p + k, "REQUEST_URI", "/api/v1/orders?x=1", 0);
    k += pair(p + k, "HTTP_X_LONG", long_value, 0); /* value length > 127: 4 bytes */
    k += pair(p + k, "CONTENT_LENGTH", "11", 1);    /* forced 4-byte lengths */
    k += pair(p + k, "EMPTY", "", 0);
    begin(w, id, TD_FCGI_RESPONDER, keep);
    rec(w, TD_FCGI_PARAMS, id, p, 20, 4);          /* cut inside the second pair */
    rec(w, TD_FCGI_PARAMS, id, p + 20, 3, 0);      /* ... and again */
    rec(w, TD_FCGI_PARAMS, id, p + 23, k - 23, 1); /* the rest */
    rec(w, TD_FCGI_PARAMS, id, NULL, 0, 0);
    rec(w, TD_FCGI_STDIN, id, "hello", 5, 3);
    rec(w, TD_FCGI_STDIN, id, " world", 6, 0);
    rec(w, TD_FCGI_STDIN, id, NULL, 0, 0);
}

static void check_sample(const td_fcgi_request *r, unsigned id, int keep)
{
    assert_int_equal(r->id, id);
    assert_int_equal(r->keep_conn, keep);
    assert_int_equal(r->nparams, 5);
    assert_string_equal(td_fcgi_param_get(r, "REQUEST_METHOD"), "POST");
    assert_string_equal(td_fcgi_param_get(r, "REQUEST_URI"), "/api/v1/orders?x=1");
    assert_string_equal(td_fcgi_param_get(r, "HTTP_X_LONG"), long_value);
    assert_int_equal(r->params[2].value_len, 200);
    assert_string_equal(td_fcgi_param_get(r, "CONTENT_LENGTH"), "11");
    assert_string_equal(td_fcgi_param_get(r, "EMPTY"), "");
    assert_null(td_fcgi_param_get(r, "REQUEST"));
    assert_int_equal(r->body_len, 11);
    assert_string_equal(r->body, "hello world");
    assert_int_equal(r->body_total, 11);
    assert_false(r->body_overflow);
}

/* A codec on a fresh arena of `block`-byte blocks, with the test limits. */
static void conn_open(td_arena *a, td_fcgi_conn *c, size_t block)
{
    td_arena_init(a, block);
    td_fcgi_conn_init(c, &LIM, a);
}

/* Feed in[0..n) in chunks of `step` bytes (0: all at once) until the
 * request is complete; returns the bytes consumed. */
static size_t feed_until_request(td_fcgi_conn *c, const unsigned char *in, size_t n, size_t step)
{
    size_t off = 0;
    while (off < n) {
        size_t len = step && step < n - off ? step : n - off, used = 0;
        td_fcgi_event ev = td_fcgi_feed(c, in + off, len, &used);
        off += used;
        if (ev == TD_FCGI_REQUEST)
            return off;
        if (ev != TD_FCGI_MORE)
            fail_msg("event %d at byte %zu (%s)", ev, off, c->error ? c->error : "");
        assert_int_equal(used, len);
    }
    fail_msg("no request after %zu bytes", n);
    return 0;
}

static void test_whole_request(void **state)
{
    (void)state;
    td_arena a;
    td_fcgi_conn c;
    conn_open(&a, &c, 4096);
    W.n = 0;
    sample_request(&W, 1, 1);
    size_t used = feed_until_request(&c, W.b, W.n, 0);
    assert_int_equal(used, W.n);
    check_sample(&c.req, 1, 1);
    /* While the request is handled nothing more is taken. */
    unsigned char more[8];
    td_fcgi_header(more, TD_FCGI_BEGIN_REQUEST, 2, 8, 0);
    assert_int_equal(td_fcgi_feed(&c, more, sizeof more, &used), TD_FCGI_BUSY);
    assert_int_equal(used, 0);
    td_arena_free(&a);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    td_arena a;
    td_fcgi_conn c;
    conn_open(&a, &c, 512); /* small blocks: the pairs span several */
    W.n = 0;
    sample_request(&W, 3, 1);
    size_t first = W.n;
    sample_request(&W, 4, 0); /* the next request on the same connection */
    size_t used = feed_until_request(&c, W.b, first, 1);
    assert_int_equal(used, first);
    check_sample(&c.req, 3, 1);
    struct iovec *iov;
    assert_true(td_fcgi_respond(&c, "x", 1, 0, &iov) > 0);
    td_arena_reset(&a);
    used = feed_until_request(&c, W.b + first, W.n - first, 1);
    assert_int_equal(used, W.n - first);
    check_sample(&c.req, 4, 0);
    td_arena_free(&a);
}

/* Every split of the input into two chunks gives the same request. */
static void test_every_split(void **state)
{
    (void)state;
    W.n = 0;
    sample_request(&W, 9, 1);
    for (size_t cut = 0; cut <= W.n; cut++) {
        td_arena a;
        td_fcgi_conn c;
        conn_open(&a, &c, 1024);
        size_t used = 0;
        td_fcgi_event ev = td_fcgi_feed(&c, W.b, cut, &used);
        if (cut < W.n) {
            assert_int_equal(ev, TD_FCGI_MORE);
            assert_int_equal(used, cut);
            ev = td_fcgi_feed(&c, W.b + cut, W.n - cut, &used);
            assert_int_equal(used, W.n - cut);
        }
        assert_int_equal(ev, TD_FCGI_REQUEST);
        check_sample(&c.req, 9, 1);
        td_arena_free(&a);
    }
}

/* ---- the response, read back as a client would ---- */

static unsigned char flat[300000];

static size_t flatten(const struct iovec *iov, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(flat + k, iov[i].iov_base, iov[i].iov_len);
        k += iov[i].iov_len;
    }
    return k;
}

/* Check b[0..n) is STDOUT records carrying exactly data[0..len), an empty
 * STDOUT and END_REQUEST with app_status, all for id. */
static void check_response(const unsigned char *b, size_t n, unsigned id, const char *data,
                           size_t len, uint32_t app_status)
{
    size_t off = 0, got = 0;
    int ended = 0;
    while (off < n) {
        assert_true(n - off >= 8);
        const unsigned char *h = b + off;
        size_t clen = (size_t)h[4] << 8 | h[5], pad = h[6];
        assert_int_equal(h[0], 1);
        assert_int_equal((unsigned)(h[2] << 8 | h[3]), id);
        assert_int_equal((8 + clen + pad) % 8, 0);
        assert_true(pad < 8);
        assert_true(off + 8 + clen + pad <= n);
        if (h[1] == TD_FCGI_STDOUT && clen) {
            assert_false(ended);
            assert_true(clen <= 65535);
            assert_memory_equal(b + off + 8, data + got, clen);
            got += clen;
        } else if (h[1] == TD_FCGI_STDOUT) {
            assert_false(ended);
            ended = 1;
        } else {
            assert_int_equal(h[1], TD_FCGI_END_REQUEST);
            assert_true(ended);
            assert_int_equal(clen, 8);
            const unsigned char *e = b + off + 8;
            assert_int_equal((uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 |
                                 e[3],
                             app_status);
            assert_int_equal(e[4], TD_FCGI_REQUEST_COMPLETE);
            assert_int_equal(off + 8 + clen + pad, n); /* the last record */
            assert_int_equal(got, len);
            return;
        }
        off += 8 + clen + pad;
    }
    fail_msg("no END_REQUEST");
}

static char big[200000];

static void test_respond_sizes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    static const size_t sizes[] = {0,     1,     7,     8,     9,      333,    65527,
                                   65528, 65529, 65535, 65536, 131056, 131057, sizeof big};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        td_arena a;
        td_fcgi_conn c;
        conn_open(&a, &c, 4096);
        W.n = 0;
        sample_request(&W, 300, 1);
        feed_until_request(&c, W.b, W.n, 0);
        struct iovec *iov;
        size_t n = td_fcgi_respond(&c, big, sizes[s], 42, &iov);
        size_t records = (sizes[s] + TD_FCGI_CHUNK - 1) / TD_FCGI_CHUNK;
        assert_int_equal(n, 2 * records + 1);
        size_t k = flatten(iov, n);
        check_response(flat, k, 300, big, sizes[s], 42);
        /* Answered: a second response is refused, a new request accepted. */
        assert_int_equal(td_fcgi_respond(&c, "x", 1, 0, &iov), 0);
        td_arena_reset(&a);
        W.n = 0;
        sample_request(&W, 301, 1);
        feed_until_request(&c, W.b, W.n, 0);
        td_arena_free(&a);
    }
}

static void test_iov_advance(void **state)
{
    (void)state;
    char x[10], y[20], z[5];
    struct iovec v[3] = {{x, 10}, {y, 20}, {z, 5}};
    struct iovec *p = v;
    size_t cnt = 3;
    assert_int_equal(td_fcgi_iov_advance(&p, &cnt, 4), 31);
    assert_int_equal(cnt, 3);
    assert_ptr_equal(p[0].iov_base, x + 4);
    assert_int_equal(td_fcgi_iov_advance(&p, &cnt, 6), 25);
    assert_int_equal(cnt, 2);
    assert_ptr_equal(p[0].iov_base, y);
    assert_int_equal(td_fcgi_iov_advance(&p, &cnt, 22), 3);
    assert_int_equal(cnt, 1);
    assert_ptr_equal(p[0].iov_base, z + 2);
    assert_int_equal(td_fcgi_iov_advance(&p, &cnt, 3), 0);
    assert_int_equal(cnt, 0);
}

/* ---- management records, abort, body limits ---- */

static void test_get_values(void **state)
{
    (void)state;
    td_arena a;
    td_fcgi_conn c;
    conn_open(&a, &c, 1024);
    unsigned char p[256];
    size_t k = 0;
    k += pair(p + k, "FCGI_MAX_CONNS", "", 0);
    k += pair(p + k, "FCGI_UNKNOWN_NAME", "", 0);
    k += pair(p + k, "FCGI_MAX_REQS", "", 1);
    k += pair(p + k, "FCGI_MPXS_CONNS", "", 0);
    k += pair(p + k, "FCGI_MAX_CONNS", "", 0); /* asked twice, answered once */
    W.n = 0;
    rec(&W, TD_FCGI_GET_VALUES, 0, p, k, 5);
    size_t first = W.n;
    sample_request(&W, 1, 1); /* what follows is left for the next call */
    size_t used;
    assert_int_equal(td_fcgi_feed(&c, W.b, W.n, &used), TD_FCGI_REPLY);
    assert_int_equal(used, first);
    const unsigned char *r = c.reply;
    assert_int_equal(r[1], TD_FCGI_GET_VALUES_RESULT);
    assert_int_equal(r[2] << 8 | r[3], 0);
    size_t clen = (size_t)r[4] << 8 | r[5];
    assert_int_equal(c.reply_len, 8 + clen + r[6]);
    assert_int_equal(c.reply_len % 8, 0);
    unsigned char want[128];
    size_t wk = 0;
    wk += pair(want + wk, "FCGI_MAX_CONNS", "7", 0);
    wk += pair(want + wk, "FCGI_MAX_REQS", "9", 0);
    wk += pair(want + wk, "FCGI_MPXS_CONNS", "0", 0);
    assert_int_equal(clen, wk);
    assert_memory_equal(r + 8, want, wk);
    assert_int_equal(feed_until_request(&c, W.b + used, W.n - used, 0), W.n - used);
    check_sample(&c.req, 1, 1);
    td_arena_free(&a);
}

static void test_unknown_type(void **state)
{
    (void)state;
    td_arena a;
    td_fcgi_conn c;
    conn_open(&a, &c, 1024);
    W.n = 0;
    rec(&W, 77, 0, "whatever this is", 16, 0);
    size_t used;
    /* Byte by byte too: the reply comes with the record's last byte. */
    for (size_t i = 0; i + 1 < W.n; i++)
        assert_int_equal(td_fcgi_feed(&c, W.b + i, 1, &used), TD_FCGI_MORE);
    assert_int_equal(td_fcgi_feed(&c, W.b + W.n - 1, 1, &used), TD_FCGI_REPLY);
    assert_int_equal(c.reply_len, 16);
    static const unsigned char want[16] = {1, TD_FCGI_UNKNOWN_TYPE, 0, 0, 0, 8, 0, 0, 77};
    assert_memory_equal(c.reply, want, 16);
    /* The reply is emptied at the next call. */
    assert_int_equal(td_fcgi_feed(&c, NULL, 0, &used), TD_FCGI_MORE);
    assert_int_equal(c.reply_len, 0);
    td_arena_free(&a);
}

static void test_abort(void **state)
{
    (void)state;
    td_arena a;
    td_fcgi_conn c;
    conn_open(&a, &c, 1024);
    unsigned char p[64];
    size_t k = pair(p, "REQUEST_METHOD", "GET", 0);
    W.n = 0;
    begin(&W, 5, TD_FCGI_RESPONDER, 1);
    rec(&W, TD_FCGI_PARAMS, 5, p, k, 0);
    rec(&W, TD_FCGI_ABORT_REQUEST, 6, NULL, 0, 0); /* not the active id: ignored */
    rec(&W, TD_FCGI_ABORT_REQUEST, 5, NULL, 0, 0);
    size_t first = W.n;
    rec(&W, TD_FCGI_ABORT_REQUEST, 5, NULL, 0, 0); /* again, now idle: ignored */
    sample_request(&W, 8, 1);
    size_t used;
    assert_int_equal(td_fcgi_feed(&c, W.b, W.n, &used), TD_FCGI_ABORTED);
    assert_int_equal(used, first);
    static const unsigned char want[16] = {1, TD_FCGI_END_REQUEST,     0, 5, 0, 8, 0, 0, 0, 0, 0,
                                           0, TD_FCGI_REQUEST_COMPLETE};
    assert_int_equal(c.reply_len, 16);
    assert_memory_equal(c.reply, want, 16);
    td_arena_reset(&a);
    assert_int_equal(feed_until_request(&c, W.b + used, W.n - used, 0), W.n - used);
    check_sample(&c.req, 8, 1);
    td_arena_free(&a);
}

static void body_request(wire *w, const char *content_length, size_t body_len, size_t per_record)
{
    unsigned char p[64];
    size_t k = content_length ? pair(p, "CONTENT_LENGTH", content_length, 0) : 0;
    begin(w, 1, TD_FCGI_RESPONDER, 1);
    if (k)
        rec(w, TD_FCGI_PARAMS, 1, p, k, 0);
    rec(w, TD_FCGI_PARAMS, 1, NULL, 0, 0);
    for (size_t off = 0; off < body_len; off += per_record) {
        size_t n = body_len - off < per_record ? body_len - off : per_record;
        rec(w, TD_FCGI_STDIN, 1, big + off, n, 0);
    }
    rec(w, TD_FCGI_STDIN, 1, NULL, 0, 0);
}

static void test_body_limits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('A' + i % 26);
    struct {
        const char *cl;
        size_t len, per;
        int overflow;
    } cases[] = {
        {NULL, 64, 5, 0},                    /* no CONTENT_LENGTH: grows up to the limit */
        {"64", 64, 64, 0},                   /* exactly the limit */
        {"65", 65, 7, 1},                    /* one past: counted, dropped, flagged */
        {"10", 1000, 9, 1},                  /* CONTENT_LENGTH lies low: the bytes decide */
        {"9999999999999999999999", 3, 1, 0}, /* absurd length: ignored */
        {"abc", 3, 1, 0},
        {"", 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        td_arena a;
        td_fcgi_conn c;
        conn_open(&a, &c, 256);
        W.n = 0;
        body_request(&W, cases[i].cl, cases[i].len, cases[i].per);
        feed_until_request(&c, W.b, W.n, 3);
        assert_int_equal(c.req.body_total, cases[i].len);
        assert_int_equal(c.req.body_overflow, cases[i].overflow);
        if (cases[i].overflow) {
            assert_null(c.req.body);
            assert_int_equal(c.req.body_len, 0);
        } else if (cases[i].len) {
            assert_int_equal(c.req.body_len, cases[i].len);
            assert_memory_equal(c.req.body, big, cases[i].len);
            assert_int_equal(c.req.body[cases[i].len], '\0');
        } else {
            assert_null(c.req.body);
        }
        td_arena_free(&a);
    }
}

/* ---- refusals: each closes the connection, and stays closed ---- */

/* Refusals that are a fixed list of records (type 0 ends a list). */
typedef struct rspec {
    unsigned type, id;
    const char *content;
    size_t len;
} rspec;
#define R(t, i, s)                                                                                 \
    {                                                                                              \
        t, i, s, sizeof s - 1                                                                      \
    }
#define BEGIN(i) R(TD_FCGI_BEGIN_REQUEST, i, "\0\1\1\0\0\0\0\0")

static const struct {
    const char *name;
    rspec recs[4];
} fixed_refusals[] = {
    {"begin_id0", {BEGIN(0)}},
    {"params_id0", {BEGIN(1), R(TD_FCGI_PARAMS, 0, "")}},
    {"stdin_id0", {R(TD_FCGI_STDIN, 0, "x")}},
    {"abort_id0", {R(TD_FCGI_ABORT_REQUEST, 0, "")}},
    {"params_no_begin", {R(TD_FCGI_PARAMS, 1, "")}},
    {"stdin_no_begin", {R(TD_FCGI_STDIN, 1, "")}},
    {"stdin_before_params_end", {BEGIN(1), R(TD_FCGI_STDIN, 1, "")}},
    {"params_after_end", {BEGIN(1), R(TD_FCGI_PARAMS, 1, ""), R(TD_FCGI_PARAMS, 1, "")}},
    {"params_other_id", {BEGIN(1), R(TD_FCGI_PARAMS, 2, "")}},
    {"second_begin", {BEGIN(1), BEGIN(2)}},
    {"begin_short", {R(TD_FCGI_BEGIN_REQUEST, 1, "\0\1\1\0\0\0\0")}},
    {"abort_with_body", {BEGIN(1), R(TD_FCGI_ABORT_REQUEST, 1, "x")}},
    /* name length 1, value length 0x7fffffff: past the limit before any byte */
    {"pair_declared_huge", {BEGIN(1), R(TD_FCGI_PARAMS, 1, "\1\xff\xff\xff\xffN")}},
    {"empty_name", {BEGIN(1), R(TD_FCGI_PARAMS, 1, "\0\1v")}},
    {"nul_in_value", {BEGIN(1), R(TD_FCGI_PARAMS, 1, "\1\3Na\0b")}},
    {"nul_in_name", {BEGIN(1), R(TD_FCGI_PARAMS, 1, "\2\1\0Nv")}},
    {"params_end_mid_pair", {BEGIN(1), R(TD_FCGI_PARAMS, 1, "\4\4NAM"), R(TD_FCGI_PARAMS, 1, "")}},
    {"params_end_mid_length", {BEGIN(1), R(TD_FCGI_PARAMS, 1, "\x80\0"), R(TD_FCGI_PARAMS, 1, "")}},
    {"get_values_with_id", {R(TD_FCGI_GET_VALUES, 1, "\4\0FCGI")}},
    {"get_values_malformed", {R(TD_FCGI_GET_VALUES, 0, "\x0e\0FCGI_MAX")}},
    {"stdout_from_client", {R(TD_FCGI_STDOUT, 1, "x")}},
    {"end_request_from_client", {R(TD_FCGI_END_REQUEST, 1, "\0\0\0\0\0\0\0\0")}},
    {"result_from_client", {R(TD_FCGI_GET_VALUES_RESULT, 0, "")}},
    {"data_record", {BEGIN(1), R(TD_FCGI_DATA, 1, "x")}},
    {"unknown_type_with_id", {R(42, 1, "")}},
    {"role_authorizer", {R(TD_FCGI_BEGIN_REQUEST, 3, "\0\2\1\0\0\0\0\0")}},
};
#undef BEGIN
#undef R

/* Those built in code: sizes past the limits, a bad header byte. */
static void bad_version(wire *w)
{
    begin(w, 1, TD_FCGI_RESPONDER, 1);
    w->b[0] = 2;
}
static void too_many_params(wire *w)
{
    begin(w, 1, TD_FCGI_RESPONDER, 1);
    unsigned char p[512];
    size_t k = 0;
    for (size_t i = 0; i <= LIM.max_params; i++)
        k += pair(p + k, "N", "v", 0);
    rec(w, TD_FCGI_PARAMS, 1, p, k, 0);
}
static void params_too_large(wire *w)
{
    /* Many records whose total passes the limit, each pair small. */
    begin(w, 1, TD_FCGI_RESPONDER, 1);
    unsigned char p[1200];
    memset(big, 'z', 1000);
    big[1000] = '\0';
    size_t k = pair(p, "HTTP_A", big, 0);
    for (size_t i = 0; i < 5; i++)
        rec(w, TD_FCGI_PARAMS, 1, p, k, 0);
}
static void get_values_too_long(wire *w)
{
    memset(big, 0, TD_FCGI_MGMT_MAX + 1);
    rec(w, TD_FCGI_GET_VALUES, 0, big, TD_FCGI_MGMT_MAX + 1, 0);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        void (*build)(wire *w);
    } built[] = {
        {"bad_version", bad_version},
        {"too_many_params", too_many_params},
        {"params_too_large", params_too_large},
        {"get_values_too_long", get_values_too_long},
    };
    size_t nfixed = sizeof fixed_refusals / sizeof *fixed_refusals;
    size_t ncases = nfixed + sizeof built / sizeof *built;
    for (size_t i = 0; i < ncases; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            td_arena a;
            td_fcgi_conn c;
            conn_open(&a, &c, 1024);
            W.n = 0;
            const char *name;
            if (i < nfixed) {
                name = fixed_refusals[i].name;
                for (const rspec *r = fixed_refusals[i].recs; r->type; r++)
                    rec(&W, r->type, r->id, r->content, r->len, (unsigned)(8 - r->len % 8) % 8);
            } else {
                name = built[i - nfixed].name;
                built[i - nfixed].build(&W);
            }
            size_t off = 0, used = 0;
            td_fcgi_event ev = TD_FCGI_MORE;
            while (off < W.n && ev == TD_FCGI_MORE) {
                ev = td_fcgi_feed(&c, W.b + off, bytewise ? 1 : W.n - off, &used);
                off += used;
            }
            if (ev != TD_FCGI_ERROR)
                fail_msg("%s: event %d, not an error", name, ev);
            assert_non_null(c.error);
            if (strcmp(name, "role_authorizer") == 0) {
                static const unsigned char want[16] = {
                    1, TD_FCGI_END_REQUEST, 0, 3, 0, 8, 0, 0, 0, 0, 0, 0, TD_FCGI_UNKNOWN_ROLE};
                assert_int_equal(c.reply_len, 16);
                assert_memory_equal(c.reply, want, 16);
            } else {
                assert_int_equal(c.reply_len, 0);
            }
            /* Dead for good: a valid request is refused now too. */
            W.n = 0;
            sample_request(&W, 1, 1);
            assert_int_equal(td_fcgi_feed(&c, W.b, W.n, &used), TD_FCGI_ERROR);
            td_arena_free(&a);
        }
    }
}

/* ---- against the reference: libfcgi's cgi-fcgi client ---- */

/* A responder on the codec: one connection at a time, answers each request
 * with its method, a param and its body, or with `big` when the URI asks. */
static void responder(int lfd)
{
    static const td_fcgi_limits lim = {.max_params_bytes = 65536,
                                       .max_params = 512,
                                       .max_body_bytes = 1 << 20,
                                       .max_conns = 1,
                                       .max_reqs = 1};
    static unsigned char in[4096];
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(1);
        td_arena a;
        td_arena_init(&a, 8192);
        td_fcgi_conn c;
        td_fcgi_conn_init(&c, &lim, &a);
        size_t have = 0, off = 0;
        int open = 1;
        while (open) {
            if (off == have) {
                ssize_t n = read(fd, in, sizeof in);
                if (n <= 0)
                    break;
                have = (size_t)n;
                off = 0;
            }
            size_t used;
            td_fcgi_event ev = td_fcgi_feed(&c, in + off, have - off, &used);
            off += used;
            if (ev == TD_FCGI_REPLY || ev == TD_FCGI_ABORTED || ev == TD_FCGI_ERROR) {
                if (c.reply_len && write(fd, c.reply, c.reply_len) < 0)
                    break;
                if (ev == TD_FCGI_ERROR)
                    break;
            } else if (ev == TD_FCGI_REQUEST) {
                const char *uri = td_fcgi_param_get(&c.req, "REQUEST_URI");
                const char *method = td_fcgi_param_get(&c.req, "REQUEST_METHOD");
                const char *resp;
                size_t rlen;
                if (uri && strcmp(uri, "/big") == 0) {
                    resp = big;
                    rlen = sizeof big;
                } else {
                    resp = td_arena_printf(&a,
                                           "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                                           "method=%s keep=%d body=%s\n",
                                           method ? method : "-", c.req.keep_conn,
                                           c.req.body ? c.req.body : "");
                    rlen = strlen(resp);
                }
                struct iovec *iov;
                size_t cnt = td_fcgi_respond(&c, resp, rlen, 0, &iov);
                size_t left = 1;
                while (left) {
                    ssize_t w = writev(fd, iov, (int)cnt);
                    if (w < 0)
                        _exit(1);
                    left = td_fcgi_iov_advance(&iov, &cnt, (size_t)w);
                }
                open = c.req.keep_conn;
                td_arena_reset(&a);
            }
        }
        td_arena_free(&a);
        close(fd);
    }
}

/* Run cgi-fcgi with env and stdin; its stdout into out (NUL-terminated). */
static size_t run_cgi_fcgi(const char *sock, char *const env[], const char *input, char *out,
                           size_t cap)
{
    int pin[2], pout[2];
    assert_int_equal(pipe(pin), 0);
    assert_int_equal(pipe(pout), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execve("/usr/bin/cgi-fcgi", (char *[]){"cgi-fcgi", "-bind", "-connect", (char *)sock, NULL},
               env);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    size_t il = strlen(input);
    assert_int_equal(write(pin[1], input, il), (ssize_t)il);
    close(pin[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(pout[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(pout[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("cgi-fcgi exited with status %d", st);
    return n;
}

static char got[300000];

static void test_cgi_fcgi_reference(void **state)
{
    (void)state;
    if (access("/usr/bin/cgi-fcgi", X_OK) != 0)
        fail_msg("cgi-fcgi is missing: install libfcgi-bin (src/run/install-deps.sh test)");
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    char dir[] = "/tmp/tdfcgi.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sock[64];
    snprintf(sock, sizeof sock, "%s/s", dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 8), 0);
    pid_t srv = fork();
    assert_true(srv >= 0);
    if (srv == 0)
        responder(lfd);
    close(lfd);

    char *const post_env[] = {"REQUEST_METHOD=POST", "REQUEST_URI=/echo", "CONTENT_LENGTH=13",
                              "HTTP_X_LONG_HEADER_NAME_TO_PASS_THE_ONE_BYTE_LENGTH_FORM_OF_NAMES_"
                              "IN_FASTCGI_PARAMS_WHICH_IS_127_BYTES_AT_MOST_SO_THIS_GOES_LONG=1",
                              NULL};
    run_cgi_fcgi(sock, post_env, "reference ok!", got, sizeof got);
    assert_string_equal(got, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                             "method=POST keep=0 body=reference ok!\n");

    char *const get_env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/echo", NULL};
    run_cgi_fcgi(sock, get_env, "", got, sizeof got);
    assert_string_equal(got, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                             "method=GET keep=0 body=\n");

    /* A response of several STDOUT records arrives whole. */
    char *const big_env[] = {"REQUEST_METHOD=GET", "REQUEST_URI=/big", NULL};
    size_t n = run_cgi_fcgi(sock, big_env, "", got, sizeof got);
    assert_int_equal(n, sizeof big);
    assert_memory_equal(got, big, sizeof big);

    kill(srv, SIGKILL);
    waitpid(srv, NULL, 0);
    unlink(sock);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_request),      cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_every_split),        cmocka_unit_test(test_respond_sizes),
        cmocka_unit_test(test_iov_advance),        cmocka_unit_test(test_get_values),
        cmocka_unit_test(test_unknown_type),       cmocka_unit_test(test_abort),
        cmocka_unit_test(test_body_limits),        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cgi_fcgi_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
