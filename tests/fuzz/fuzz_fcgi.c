/*
 * fuzz_fcgi.c - libFuzzer target for the FastCGI record codec (core/fcgi.c).
 *
 * The input is a client's byte stream.  It is fed three ways (all at once,
 * one byte at a time, and in chunks whose sizes the input's first byte
 * picks) and the three must agree event for event, request for request:
 * where a chunk boundary falls never changes what the codec decides.
 * Besides that it checks what the codec promises: events come at record
 * boundaries, a dead connection stays dead, params and bodies respect the
 * limits and are NUL-terminated with no NUL inside, replies are whole
 * records padded to 8, and every response read back as records carries the
 * body it was given.
 */
#include "core/fcgi.h"

#include <stdlib.h>
#include <string.h>

static const td_fcgi_limits LIM = {.max_params_bytes = 2048,
                                   .max_params = 24,
                                   .max_body_bytes = 300,
                                   .max_conns = 4,
                                   .max_reqs = 4};

#define TRACE_MAX 4096

typedef struct trace {
    uint64_t h[TRACE_MAX];
    size_t n;
} trace;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void push(trace *t, uint64_t v)
{
    if (t->n < TRACE_MAX)
        t->h[t->n++] = v;
}

/* Read the response back: STDOUT records of at most 65535 bytes, each
 * record a multiple of 8, then the empty STDOUT and END_REQUEST. */
static void check_response(const struct iovec *iov, size_t cnt, uint16_t id, const char *body,
                           size_t len)
{
    size_t total = 0;
    for (size_t i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    unsigned char *b = malloc(total ? total : 1);
    if (!b)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        memcpy(b + k, iov[i].iov_base, iov[i].iov_len);
        k += iov[i].iov_len;
    }
    size_t off = 0, got = 0;
    int stdout_ended = 0, ended = 0;
    while (off < total) {
        if (total - off < 8 || ended)
            abort();
        const unsigned char *h = b + off;
        size_t clen = (size_t)h[4] << 8 | h[5], pad = h[6];
        if (h[0] != 1 || (unsigned)(h[2] << 8 | h[3]) != id || (8 + clen + pad) % 8 ||
            off + 8 + clen + pad > total)
            abort();
        if (h[1] == TD_FCGI_STDOUT && clen) {
            if (stdout_ended || got + clen > len || memcmp(b + off + 8, body + got, clen))
                abort();
            got += clen;
        } else if (h[1] == TD_FCGI_STDOUT) {
            stdout_ended = 1;
        } else if (h[1] == TD_FCGI_END_REQUEST && clen == 8 && stdout_ended) {
            ended = 1;
        } else {
            abort();
        }
        off += 8 + clen + pad;
    }
    if (!ended || got != len)
        abort();
    free(b);
}

static void check_request(const td_fcgi_request *r, trace *t)
{
    size_t bytes = 0;
    if (r->nparams > LIM.max_params)
        abort();
    uint64_t h = mix(1469598103934665603ull, &r->id, sizeof r->id);
    h = mix(h, &r->keep_conn, sizeof r->keep_conn);
    for (size_t i = 0; i < r->nparams; i++) {
        const td_fcgi_param *p = &r->params[i];
        if (p->name_len == 0 || p->name[p->name_len] || p->value[p->value_len] ||
            strlen(p->name) != p->name_len || strlen(p->value) != p->value_len)
            abort();
        if (td_fcgi_param_get(r, p->name) == NULL)
            abort();
        bytes += p->name_len + p->value_len;
        h = mix(h, p->name, p->name_len + 1);
        h = mix(h, p->value, p->value_len + 1);
    }
    if (bytes > LIM.max_params_bytes)
        abort();
    if (r->body_overflow) {
        if (r->body || r->body_len || r->body_total <= LIM.max_body_bytes)
            abort();
    } else {
        if (r->body_len != r->body_total || r->body_len > LIM.max_body_bytes)
            abort();
        if (r->body_len && r->body[r->body_len])
            abort();
        if (r->body_len)
            h = mix(h, r->body, r->body_len);
    }
    h = mix(h, &r->body_total, sizeof r->body_total);
    push(t, h);
}

/* Feed data[0..size) in chunks (step 0: sizes from pick, cycling). */
static void drive(const uint8_t *data, size_t size, size_t step, const uint8_t *pick, size_t npick,
                  trace *t)
{
    td_arena a;
    td_arena_init(&a, 512);
    td_fcgi_conn c;
    td_fcgi_conn_init(&c, &LIM, &a);
    /* Bytes the codec has not taken yet, as a caller keeps them. */
    size_t off = 0, have = 0, k = 0;
    int dead = 0;
    while (off < size) {
        size_t chunk = step ? step : (size_t)(pick[k++ % npick] % 17) + 1;
        have = off + chunk < size ? off + chunk : size;
        size_t used = 0;
        td_fcgi_event ev = td_fcgi_feed(&c, data + off, have - off, &used);
        if (used > have - off)
            abort();
        off += used;
        if (dead && ev != TD_FCGI_ERROR)
            abort();
        if (c.reply_len > TD_FCGI_REPLY_MAX || c.reply_len % 8)
            abort();
        if (ev == TD_FCGI_MORE) {
            if (off != have)
                abort();
            continue;
        }
        /* Where an error is seen inside a record depends on the chunks;
         * every other event comes at the same record boundary. */
        push(t, (uint64_t)ev << 56 | (uint64_t)(ev == TD_FCGI_ERROR ? 0 : off) << 8 | c.reply_len);
        if (c.reply_len)
            push(t, mix(0, c.reply, c.reply_len));
        if (ev == TD_FCGI_ERROR) {
            if (!c.error)
                abort();
            dead = 1;
            break; /* the caller closes the connection */
        }
        if (ev == TD_FCGI_BUSY)
            abort(); /* never: each request is answered below at once */
        if (ev == TD_FCGI_REQUEST) {
            check_request(&c.req, t);
            /* Answer with the body or, when there is none, the params'
             * first value, so records of every size occur. */
            const char *body = c.req.body ? c.req.body : c.req.nparams ? c.req.params[0].value : "";
            size_t len = c.req.body ? c.req.body_len : strlen(body);
            struct iovec *iov;
            size_t cnt = td_fcgi_respond(&c, body, len, 0, &iov);
            if (cnt != 2 * ((len + TD_FCGI_CHUNK - 1) / TD_FCGI_CHUNK) + 1)
                abort();
            check_response(iov, cnt, c.req.id, body, len);
            if (!c.req.keep_conn)
                break; /* the caller closes after a response without KEEP_CONN */
            td_arena_reset(&a);
        } else if (ev == TD_FCGI_ABORTED) {
            if (!c.req.keep_conn)
                break;
            td_arena_reset(&a);
        }
    }
    td_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static trace whole, bytes, picked;
    whole.n = bytes.n = picked.n = 0;
    drive(data, size, size ? size : 1, NULL, 0, &whole);
    drive(data, size, 1, NULL, 0, &bytes);
    static const uint8_t one = 3;
    drive(data, size, 0, size ? data : &one, size ? (size < 16 ? size : 16) : 1, &picked);
    if (whole.n != bytes.n || whole.n != picked.n ||
        memcmp(whole.h, bytes.h, whole.n * sizeof *whole.h) ||
        memcmp(whole.h, picked.h, whole.n * sizeof *whole.h))
        abort();
    return 0;
}
