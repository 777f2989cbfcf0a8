/*
 * fcgi.c - the FastCGI record codec; see fcgi.h for what it accepts.
 *
 * One byte-driven state machine: a record's 8-byte header is gathered, then
 * its content goes where the record type says (BEGIN_REQUEST and GET_VALUES
 * into a small fixed buffer, PARAMS through the name-value pair reader
 * straight into the request arena, STDIN into the body), then its padding
 * is skipped.  Events are only returned at record boundaries, so the bytes
 * the caller keeps for later always start a record.  No I/O here.
 */
#include "core/fcgi.h"

#include <string.h>

enum { ST_IDLE, ST_PARAMS, ST_STDIN, ST_HANDLING, ST_DEAD };
enum { PAIR_NAME_LEN, PAIR_VALUE_LEN, PAIR_DATA };

#define PARAMS_CAP0 32

static const unsigned char zeros[8];

void td_fcgi_header(unsigned char out[TD_FCGI_HEADER_LEN], unsigned type, uint16_t id,
                    size_t content_len, unsigned padding_len)
{
    out[0] = TD_FCGI_VERSION;
    out[1] = (unsigned char)type;
    out[2] = (unsigned char)(id >> 8);
    out[3] = (unsigned char)id;
    out[4] = (unsigned char)(content_len >> 8);
    out[5] = (unsigned char)content_len;
    out[6] = (unsigned char)padding_len;
    out[7] = 0;
}

static unsigned pad8(size_t n)
{
    return (unsigned)((8 - n % 8) % 8);
}

void td_fcgi_conn_init(td_fcgi_conn *c, const td_fcgi_limits *lim, td_arena *arena)
{
    memset(c, 0, sizeof *c);
    c->lim = *lim;
    c->arena = arena;
    c->state = ST_IDLE;
}

/* Append one record (content padded to 8) to the reply buffer. */
static void reply_record(td_fcgi_conn *c, unsigned type, uint16_t id, const void *content,
                         size_t len)
{
    unsigned pad = pad8(len);
    unsigned char *o = c->reply + c->reply_len;
    td_fcgi_header(o, type, id, len, pad);
    memcpy(o + TD_FCGI_HEADER_LEN, content, len);
    memset(o + TD_FCGI_HEADER_LEN + len, 0, pad);
    c->reply_len += TD_FCGI_HEADER_LEN + len + pad;
}

static void end_request_body(unsigned char b[8], uint32_t app_status, unsigned protocol_status)
{
    b[0] = (unsigned char)(app_status >> 24);
    b[1] = (unsigned char)(app_status >> 16);
    b[2] = (unsigned char)(app_status >> 8);
    b[3] = (unsigned char)app_status;
    b[4] = (unsigned char)protocol_status;
    b[5] = b[6] = b[7] = 0;
}

static void reply_end_request(td_fcgi_conn *c, uint16_t id, unsigned protocol_status)
{
    unsigned char b[8];
    end_request_body(b, 0, protocol_status);
    reply_record(c, TD_FCGI_END_REQUEST, id, b, sizeof b);
}

static td_fcgi_event fail(td_fcgi_conn *c, const char *why)
{
    c->state = ST_DEAD;
    c->error = why;
    return TD_FCGI_ERROR;
}

/* ---- name-value pairs ---- */

/* A length of a pair: one byte below 128, else four with the top bit set.
 * Returns 1 when *out is known, 0 when more bytes are needed. */
static int read_len(td_fcgi_conn *c, unsigned char b, size_t *out)
{
    c->len_buf[c->len_got++] = b;
    if (c->len_got == 1 && !(b & 0x80)) {
        *out = b;
        c->len_got = 0;
        return 1;
    }
    if (c->len_got < 4)
        return 0;
    *out = ((size_t)(c->len_buf[0] & 0x7f) << 24) | ((size_t)c->len_buf[1] << 16) |
           ((size_t)c->len_buf[2] << 8) | c->len_buf[3];
    c->len_got = 0;
    return 1;
}

static td_fcgi_event param_add(td_fcgi_conn *c)
{
    td_fcgi_request *r = &c->req;
    if (r->nparams == c->params_cap) {
        size_t cap = c->params_cap ? c->params_cap * 2 : PARAMS_CAP0;
        td_fcgi_param *p = td_arena_alloc(c->arena, cap * sizeof *p);
        if (r->nparams)
            memcpy(p, r->params, r->nparams * sizeof *p);
        r->params = p;
        c->params_cap = cap;
    }
    td_fcgi_param *p = &r->params[r->nparams++];
    c->pair[c->name_len] = '\0';
    c->pair[c->name_len + 1 + c->value_len] = '\0';
    p->name = c->pair;
    p->name_len = c->name_len;
    p->value = c->pair + c->name_len + 1;
    p->value_len = c->value_len;
    c->pair = NULL;
    c->pair_state = PAIR_NAME_LEN;
    return TD_FCGI_MORE;
}

/* Both lengths known: check them against the limits and take the pair's
 * room (name, NUL, value, NUL) from the arena. */
static td_fcgi_event pair_begin(td_fcgi_conn *c)
{
    if (c->name_len == 0)
        return fail(c, "a param with an empty name");
    if (c->req.nparams >= c->lim.max_params)
        return fail(c, "more params than the limit");
    /* The pair's bytes are still to come (the stream's total is checked as
     * they do); refuse a pair that could never fit before allocating it. */
    if (c->name_len + c->value_len > c->lim.max_params_bytes)
        return fail(c, "params larger than the limit");
    c->pair = td_arena_alloc(c->arena, c->name_len + c->value_len + 2);
    c->pair_got = 0;
    c->pair_state = PAIR_DATA;
    return TD_FCGI_MORE;
}

static td_fcgi_event params_content(td_fcgi_conn *c, const unsigned char *p, size_t n)
{
    if (n > c->lim.max_params_bytes - c->params_bytes)
        return fail(c, "params larger than the limit");
    c->params_bytes += n;
    const unsigned char *end = p + n;
    while (p < end) {
        if (c->pair_state == PAIR_NAME_LEN) {
            if (read_len(c, *p++, &c->name_len))
                c->pair_state = PAIR_VALUE_LEN;
        } else if (c->pair_state == PAIR_VALUE_LEN) {
            if (read_len(c, *p++, &c->value_len)) {
                td_fcgi_event ev = pair_begin(c);
                if (ev != TD_FCGI_MORE)
                    return ev;
            }
        } else {
            size_t total = c->name_len + c->value_len;
            size_t take = total - c->pair_got;
            if (take > (size_t)(end - p))
                take = (size_t)(end - p);
            if (memchr(p, 0, take))
                return fail(c, "a NUL byte in a param");
            /* Name bytes go to pair[0..name_len), value bytes after its NUL. */
            size_t name_part = c->pair_got < c->name_len ? c->name_len - c->pair_got : 0;
            if (name_part > take)
                name_part = take;
            memcpy(c->pair + c->pair_got, p, name_part);
            if (take > name_part)
                memcpy(c->pair + c->pair_got + name_part + 1, p + name_part, take - name_part);
            c->pair_got += take;
            p += take;
            if (c->pair_got == total)
                param_add(c);
        }
    }
    return TD_FCGI_MORE;
}

const char *td_fcgi_param_get(const td_fcgi_request *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nparams; i++)
        if (r->params[i].name_len == n && memcmp(r->params[i].name, name, n) == 0)
            return r->params[i].value;
    return NULL;
}

/* ---- STDIN ---- */

/* Params done: take room for the body CONTENT_LENGTH announces, when it is
 * a plain number within the limit (the body grows as needed otherwise). */
static void body_prepare(td_fcgi_conn *c)
{
    const char *cl = td_fcgi_param_get(&c->req, "CONTENT_LENGTH");
    if (!cl || !*cl)
        return;
    size_t n = 0;
    for (const char *s = cl; *s; s++) {
        if (*s < '0' || *s > '9' || n > c->lim.max_body_bytes)
            return;
        n = n * 10 + (size_t)(*s - '0');
    }
    if (n == 0 || n > c->lim.max_body_bytes)
        return;
    td_buf_reserve(c->arena, &c->body, n);
}

static void stdin_content(td_fcgi_conn *c, const unsigned char *p, size_t n)
{
    td_fcgi_request *r = &c->req;
    r->body_total += n;
    if (r->body_overflow)
        return;
    if (r->body_total > c->lim.max_body_bytes) {
        r->body_overflow = 1; /* the caller answers 413; the rest is drained */
        return;
    }
    td_buf_add(c->arena, &c->body, (const char *)p, n); /* kept NUL-terminated */
}

/* ---- GET_VALUES ---- */

static const char *const known_values[] = {"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"};

static size_t put_pair(unsigned char *o, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value); /* both below 128 here */
    o[0] = (unsigned char)nl;
    o[1] = (unsigned char)vl;
    memcpy(o + 2, name, nl);
    memcpy(o + 2 + nl, value, vl);
    return 2 + nl + vl;
}

static int take_len(const unsigned char *b, size_t n, size_t *i, size_t *out)
{
    if (*i >= n)
        return -1;
    if (!(b[*i] & 0x80)) {
        *out = b[(*i)++];
        return 0;
    }
    if (n - *i < 4)
        return -1;
    *out = ((size_t)(b[*i] & 0x7f) << 24) | ((size_t)b[*i + 1] << 16) | ((size_t)b[*i + 2] << 8) |
           b[*i + 3];
    *i += 4;
    return 0;
}

static td_fcgi_event get_values(td_fcgi_conn *c)
{
    unsigned char out[128];
    size_t o = 0, i = 0, n = c->small_got;
    unsigned asked = 0;
    while (i < n) {
        size_t nl, vl;
        if (take_len(c->small, n, &i, &nl) || take_len(c->small, n, &i, &vl) || nl > n - i ||
            vl > n - i - nl)
            return fail(c, "GET_VALUES holds a malformed name-value pair");
        for (unsigned k = 0; k < sizeof known_values / sizeof *known_values; k++) {
            if (strlen(known_values[k]) != nl || memcmp(c->small + i, known_values[k], nl) != 0 ||
                (asked & (1u << k)))
                continue;
            asked |= 1u << k;
            char v[16];
            unsigned num = k == 0 ? c->lim.max_conns : k == 1 ? c->lim.max_reqs : 0;
            size_t vn = 0;
            char rev[16];
            do
                rev[vn++] = (char)('0' + num % 10);
            while ((num /= 10) != 0);
            for (size_t j = 0; j < vn; j++)
                v[j] = rev[vn - 1 - j];
            v[vn] = '\0';
            o += put_pair(out + o, known_values[k], v);
        }
        i += nl + vl;
    }
    reply_record(c, TD_FCGI_GET_VALUES_RESULT, 0, out, o);
    return TD_FCGI_REPLY;
}

/* ---- records ---- */

static int app_only(unsigned type)
{
    return type >= TD_FCGI_BEGIN_REQUEST && type <= TD_FCGI_DATA;
}

static td_fcgi_event on_header(td_fcgi_conn *c)
{
    const unsigned char *h = c->hdr;
    if (h[0] != TD_FCGI_VERSION)
        return fail(c, "a record whose version is not 1");
    c->type = h[1];
    c->rec_id = (uint16_t)(h[2] << 8 | h[3]);
    c->content_left = (size_t)h[4] << 8 | h[5];
    c->padding_left = h[6];
    c->rec_len = c->content_left;
    c->small_got = 0;
    unsigned t = c->type;
    int active = c->state == ST_PARAMS || c->state == ST_STDIN;

    if (t == TD_FCGI_END_REQUEST || t == TD_FCGI_STDOUT || t == TD_FCGI_STDERR ||
        t == TD_FCGI_GET_VALUES_RESULT || t == TD_FCGI_UNKNOWN_TYPE)
        return fail(c, "a record only an application sends");
    if (c->rec_id == 0) {
        if (app_only(t))
            return fail(c, "an application record with request id 0");
        if (t == TD_FCGI_GET_VALUES && c->rec_len > TD_FCGI_MGMT_MAX)
            return fail(c, "GET_VALUES longer than the limit");
        return TD_FCGI_MORE; /* GET_VALUES, or an unknown management type */
    }
    switch (t) {
    case TD_FCGI_BEGIN_REQUEST:
        if (c->state != ST_IDLE)
            return fail(c, "BEGIN_REQUEST while a request is active");
        if (c->rec_len != 8)
            return fail(c, "BEGIN_REQUEST whose body is not 8 bytes");
        return TD_FCGI_MORE;
    case TD_FCGI_ABORT_REQUEST:
        if (c->rec_len != 0)
            return fail(c, "ABORT_REQUEST with a body");
        return TD_FCGI_MORE;
    case TD_FCGI_PARAMS:
        if (c->state != ST_PARAMS || c->rec_id != c->req.id)
            return fail(c, active ? "PARAMS out of order or for another request"
                                  : "PARAMS without BEGIN_REQUEST");
        return TD_FCGI_MORE;
    case TD_FCGI_STDIN:
        if (c->state != ST_STDIN || c->rec_id != c->req.id)
            return fail(c, active ? "STDIN out of order or for another request"
                                  : "STDIN without BEGIN_REQUEST");
        return TD_FCGI_MORE;
    case TD_FCGI_DATA:
        return fail(c, "DATA (the filter role) is not served");
    case TD_FCGI_GET_VALUES:
        return fail(c, "GET_VALUES with a request id");
    default:
        return fail(c, "an unknown record type with a request id");
    }
}

static td_fcgi_event on_content(td_fcgi_conn *c, const unsigned char *p, size_t n)
{
    switch (c->type) {
    case TD_FCGI_BEGIN_REQUEST:
    case TD_FCGI_GET_VALUES:
        memcpy(c->small + c->small_got, p, n); /* sizes checked in on_header */
        c->small_got += n;
        return TD_FCGI_MORE;
    case TD_FCGI_PARAMS:
        return params_content(c, p, n);
    case TD_FCGI_STDIN:
        stdin_content(c, p, n);
        return TD_FCGI_MORE;
    default:
        return TD_FCGI_MORE; /* an unknown management type's body: skipped */
    }
}

static void request_reset(td_fcgi_conn *c, uint16_t id, int keep_conn)
{
    memset(&c->req, 0, sizeof c->req);
    c->req.id = id;
    c->req.keep_conn = keep_conn;
    c->params_bytes = c->params_cap = 0;
    c->body = (td_buf){0};
    c->pair_state = PAIR_NAME_LEN;
    c->len_got = 0;
    c->pair = NULL;
}

static td_fcgi_event on_record_end(td_fcgi_conn *c)
{
    unsigned t = c->type;
    if (c->rec_id == 0) {
        if (t == TD_FCGI_GET_VALUES)
            return get_values(c);
        unsigned char b[8] = {(unsigned char)t};
        reply_record(c, TD_FCGI_UNKNOWN_TYPE, 0, b, sizeof b);
        return TD_FCGI_REPLY;
    }
    switch (t) {
    case TD_FCGI_BEGIN_REQUEST: {
        unsigned role = (unsigned)c->small[0] << 8 | c->small[1];
        if (role != TD_FCGI_RESPONDER) {
            reply_end_request(c, c->rec_id, TD_FCGI_UNKNOWN_ROLE);
            return fail(c, "BEGIN_REQUEST for a role other than RESPONDER");
        }
        request_reset(c, c->rec_id, (c->small[2] & TD_FCGI_KEEP_CONN) != 0);
        c->state = ST_PARAMS;
        return TD_FCGI_MORE;
    }
    case TD_FCGI_ABORT_REQUEST:
        if ((c->state != ST_PARAMS && c->state != ST_STDIN) || c->rec_id != c->req.id)
            return TD_FCGI_MORE; /* crossed our END_REQUEST on the wire */
        reply_end_request(c, c->rec_id, TD_FCGI_REQUEST_COMPLETE);
        c->state = ST_IDLE;
        return TD_FCGI_ABORTED;
    case TD_FCGI_PARAMS:
        if (c->rec_len != 0)
            return TD_FCGI_MORE;
        if (c->pair_state != PAIR_NAME_LEN || c->len_got != 0)
            return fail(c, "PARAMS ended inside a name-value pair");
        body_prepare(c);
        c->state = ST_STDIN;
        return TD_FCGI_MORE;
    case TD_FCGI_STDIN:
        if (c->rec_len != 0)
            return TD_FCGI_MORE;
        if (!c->req.body_overflow && c->body.len) {
            c->req.body = c->body.data;
            c->req.body_len = c->body.len;
        }
        c->state = ST_HANDLING;
        return TD_FCGI_REQUEST;
    default:
        return TD_FCGI_MORE; /* not reached: on_header refused the rest */
    }
}

td_fcgi_event td_fcgi_feed(td_fcgi_conn *c, const void *data, size_t len, size_t *used)
{
    const unsigned char *p = data, *end = len ? p + len : p; /* data may be NULL when len is 0 */
    td_fcgi_event ev = TD_FCGI_MORE;
    c->reply_len = 0;
    for (;;) {
        if (c->state == ST_DEAD) {
            ev = TD_FCGI_ERROR;
            break;
        }
        if (c->hdr_got < TD_FCGI_HEADER_LEN) {
            if (c->hdr_got == 0 && c->state == ST_HANDLING) {
                ev = TD_FCGI_BUSY;
                break;
            }
            if (p == end)
                break;
            size_t take = TD_FCGI_HEADER_LEN - c->hdr_got;
            if (take > (size_t)(end - p))
                take = (size_t)(end - p);
            memcpy(c->hdr + c->hdr_got, p, take);
            c->hdr_got += take;
            p += take;
            if (c->hdr_got < TD_FCGI_HEADER_LEN)
                break;
            if ((ev = on_header(c)) != TD_FCGI_MORE)
                break;
        }
        if (c->content_left) {
            if (p == end)
                break;
            size_t take = c->content_left < (size_t)(end - p) ? c->content_left : (size_t)(end - p);
            ev = on_content(c, p, take);
            p += take;
            c->content_left -= take;
            if (ev != TD_FCGI_MORE)
                break;
        }
        if (c->content_left == 0 && c->padding_left) {
            if (p == end)
                break;
            size_t take = c->padding_left < (size_t)(end - p) ? c->padding_left : (size_t)(end - p);
            p += take;
            c->padding_left -= take;
        }
        if (c->content_left == 0 && c->padding_left == 0) {
            c->hdr_got = 0;
            if ((ev = on_record_end(c)) != TD_FCGI_MORE)
                break;
        }
    }
    *used = len ? (size_t)(p - (const unsigned char *)data) : 0;
    return ev;
}

size_t td_fcgi_respond(td_fcgi_conn *c, const void *data, size_t len, uint32_t app_status,
                       struct iovec **iov)
{
    if (c->state != ST_HANDLING) {
        *iov = NULL;
        return 0;
    }
    size_t chunks = (len + TD_FCGI_CHUNK - 1) / TD_FCGI_CHUNK;
    unsigned pad = pad8(len % TD_FCGI_CHUNK);
    /* Each chunk's header, then one tail: the last chunk's padding, the
     * empty STDOUT and END_REQUEST, contiguous so they go as one iovec. */
    size_t tail_len = pad + TD_FCGI_HEADER_LEN + TD_FCGI_HEADER_LEN + 8;
    unsigned char *h = td_arena_alloc(c->arena, chunks * TD_FCGI_HEADER_LEN + tail_len);
    struct iovec *v = td_arena_alloc(c->arena, (2 * chunks + 1) * sizeof *v);
    const char *d = data;
    size_t n = 0;
    for (size_t i = 0; i < chunks; i++) {
        size_t part =
            len - i * TD_FCGI_CHUNK < TD_FCGI_CHUNK ? len - i * TD_FCGI_CHUNK : TD_FCGI_CHUNK;
        unsigned char *hi = h + i * TD_FCGI_HEADER_LEN;
        td_fcgi_header(hi, TD_FCGI_STDOUT, c->req.id, part, i + 1 == chunks ? pad : 0);
        v[n++] = (struct iovec){hi, TD_FCGI_HEADER_LEN};
        v[n++] = (struct iovec){(void *)(d + i * TD_FCGI_CHUNK), part};
    }
    unsigned char *t = h + chunks * TD_FCGI_HEADER_LEN;
    memcpy(t, zeros, pad);
    td_fcgi_header(t + pad, TD_FCGI_STDOUT, c->req.id, 0, 0);
    td_fcgi_header(t + pad + TD_FCGI_HEADER_LEN, TD_FCGI_END_REQUEST, c->req.id, 8, 0);
    end_request_body(t + pad + 2 * TD_FCGI_HEADER_LEN, app_status, TD_FCGI_REQUEST_COMPLETE);
    v[n++] = (struct iovec){t, tail_len};
    c->state = ST_IDLE;
    *iov = v;
    return n;
}

size_t td_fcgi_iov_advance(struct iovec **iov, size_t *cnt, size_t n)
{
    struct iovec *v = *iov;
    size_t k = *cnt;
    while (k && n >= v->iov_len) {
        n -= v->iov_len;
        v++;
        k--;
    }
    if (k && n) {
        v->iov_base = (char *)v->iov_base + n;
        v->iov_len -= n;
    }
    size_t left = 0;
    for (size_t i = 0; i < k; i++)
        left += v[i].iov_len;
    *iov = v;
    *cnt = k;
    return left;
}
