/*
 * jsonr.c - see jsonr.h.  A recursive descent over the bytes (its depth
 * bounded by max_depth), tokens appended in document order.
 */
#include "core/jsonr.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

typedef struct jp {
    td_jr *r;
    const char *s;
    size_t len, pos;
} jp;

void td_jr_init(td_jr *r, unsigned max_depth, uint32_t max_tokens)
{
    memset(r, 0, sizeof *r);
    r->max_depth = max_depth;
    r->max_tokens = max_tokens;
}

void td_jr_free(td_jr *r)
{
    free(r->tok);
    free(r->text);
    r->tok = NULL;
    r->text = NULL;
    r->n = r->cap = 0;
    r->text_len = r->text_cap = 0;
}

static td_status fail(jp *p, const char *why)
{
    p->r->error = why;
    p->r->error_at = p->pos;
    return TD_EINVAL;
}

static void ws(jp *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

/* A new token of type t starting at the current byte; its index, or -1. */
static int add(jp *p, td_jr_type t, td_status *st)
{
    td_jr *r = p->r;
    if (r->n == r->max_tokens) {
        *st = fail(p, "too many values");
        return -1;
    }
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 64;
        if (cap > r->max_tokens)
            cap = r->max_tokens;
        td_jr_tok *tok = realloc(r->tok, cap * sizeof *tok);
        if (!tok) {
            *st = TD_ENOMEM;
            return -1;
        }
        r->tok = tok;
        r->cap = cap;
    }
    int i = (int)r->n++;
    r->tok[i] = (td_jr_tok){.start = (uint32_t)p->pos, .type = (uint8_t)t};
    return i;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape at s[0] == '\\' (of at most n bytes): its code point in *cp
 * (a surrogate pair combined), its length in source bytes; 0 when invalid. */
static size_t escape(const char *s, size_t n, unsigned *cp)
{
    if (n < 2)
        return 0;
    switch (s[1]) {
    case '"':
    case '\\':
    case '/':
        *cp = (unsigned char)s[1];
        return 2;
    case 'b':
        *cp = '\b';
        return 2;
    case 'f':
        *cp = '\f';
        return 2;
    case 'n':
        *cp = '\n';
        return 2;
    case 'r':
        *cp = '\r';
        return 2;
    case 't':
        *cp = '\t';
        return 2;
    case 'u':
        break;
    default:
        return 0;
    }
    unsigned hi, lo;
    if (n < 6 || !hex4(s + 2, &hi))
        return 0;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return 0; /* a low surrogate first */
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return 6;
    }
    if (n < 12 || s[6] != '\\' || s[7] != 'u' || !hex4(s + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return 0; /* a high surrogate without its low half */
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return 12;
}

/* Decodes the escaped string s[0, n) (known valid) after r->text. */
static td_status decode(td_jr *r, const char *s, size_t n, td_jr_tok *t)
{
    if (r->text_len + n > r->text_cap) {
        size_t cap = r->text_cap ? r->text_cap : 256;
        while (cap < r->text_len + n)
            cap *= 2;
        char *text = realloc(r->text, cap);
        if (!text)
            return TD_ENOMEM;
        r->text = text;
        r->text_cap = cap;
    }
    char *o = r->text + r->text_len;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            o[w++] = s[i++];
            continue;
        }
        unsigned cp = 0;
        i += escape(s + i, n - i, &cp);
        w += put_utf8(o + w, cp);
    }
    t->start = (uint32_t)r->text_len;
    t->len = (uint32_t)w;
    t->decoded = 1;
    r->text_len += w;
    return TD_OK;
}

static td_status string(jp *p)
{
    td_status st = TD_OK;
    int i = add(p, TD_JR_STRING, &st);
    if (i < 0)
        return st;
    size_t start = ++p->pos;
    int escaped = 0;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            size_t n = p->pos - start;
            p->pos++;
            td_jr_tok *t = &p->r->tok[i];
            t->start = (uint32_t)start;
            t->len = (uint32_t)n;
            t->end = (uint32_t)i + 1;
            return escaped ? decode(p->r, p->s + start, n, t) : TD_OK;
        }
        if (c == '\\') {
            unsigned cp;
            size_t k = escape(p->s + p->pos, p->len - p->pos, &cp);
            if (!k)
                return fail(p, "invalid escape in a string");
            escaped = 1;
            p->pos += k;
        } else if (c < 0x20) {
            return fail(p, "control character in a string");
        } else if (c < 0x80) {
            p->pos++;
        } else {
            size_t k = td_utf8_seq(p->s + p->pos, p->len - p->pos);
            if (!k)
                return fail(p, "invalid UTF-8 in a string");
            p->pos += k;
        }
    }
    return fail(p, "unterminated string");
}

static int digits(jp *p)
{
    size_t from = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++;
    return p->pos > from;
}

static td_status number(jp *p)
{
    td_status st = TD_OK;
    int i = add(p, TD_JR_NUMBER, &st);
    if (i < 0)
        return st;
    size_t start = p->pos;
    if (p->s[p->pos] == '-')
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '0')
        p->pos++;
    else if (!digits(p))
        return fail(p, "invalid number");
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (!digits(p))
            return fail(p, "invalid number");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (!digits(p))
            return fail(p, "invalid number");
    }
    td_jr_tok *t = &p->r->tok[i];
    t->len = (uint32_t)(p->pos - start);
    t->end = (uint32_t)i + 1;
    return TD_OK;
}

static td_status literal(jp *p, const char *word, size_t n, td_jr_type type)
{
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "invalid literal");
    td_status st = TD_OK;
    int i = add(p, type, &st);
    if (i < 0)
        return st;
    p->r->tok[i].len = (uint32_t)n;
    p->r->tok[i].end = (uint32_t)i + 1;
    p->pos += n;
    return TD_OK;
}

static td_status value(jp *p, unsigned depth);

/* An object or an array at p->pos ('{' or '['). */
static td_status container(jp *p, unsigned depth, int object)
{
    if (depth >= p->r->max_depth)
        return fail(p, "nested too deep");
    td_status st = TD_OK;
    int i = add(p, object ? TD_JR_OBJECT : TD_JR_ARRAY, &st);
    if (i < 0)
        return st;
    size_t start = p->pos++;
    char close = object ? '}' : ']';
    ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            if (object) {
                ws(p);
                if (p->pos == p->len || p->s[p->pos] != '"')
                    return fail(p, "expected a member name");
                if ((st = string(p)) != TD_OK)
                    return st;
                ws(p);
                if (p->pos == p->len || p->s[p->pos] != ':')
                    return fail(p, "expected ':'");
                p->pos++;
            }
            if ((st = value(p, depth + 1)) != TD_OK)
                return st;
            ws(p);
            if (p->pos == p->len)
                return fail(p, object ? "unterminated object" : "unterminated array");
            if (p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->s[p->pos] != close)
                return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
            p->pos++;
            break;
        }
    }
    td_jr_tok *t = &p->r->tok[i];
    t->len = (uint32_t)(p->pos - start);
    t->end = p->r->n;
    return TD_OK;
}

static td_status value(jp *p, unsigned depth)
{
    ws(p);
    if (p->pos == p->len)
        return fail(p, "unexpected end");
    switch (p->s[p->pos]) {
    case '{':
        return container(p, depth, 1);
    case '[':
        return container(p, depth, 0);
    case '"':
        return string(p);
    case 't':
        return literal(p, "true", 4, TD_JR_TRUE);
    case 'f':
        return literal(p, "false", 5, TD_JR_FALSE);
    case 'n':
        return literal(p, "null", 4, TD_JR_NULL);
    default:
        if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            return number(p);
        return fail(p, "unexpected character");
    }
}

td_status td_jr_parse(td_jr *r, const char *s, size_t len)
{
    r->src = s;
    r->n = 0;
    r->text_len = 0;
    r->error = NULL;
    r->error_at = 0;
    jp p = {.r = r, .s = s, .len = len};
    if (len >= UINT32_MAX)
        return fail(&p, "document too large");
    td_status st = value(&p, 0);
    if (st != TD_OK)
        return st;
    ws(&p);
    if (p.pos != len)
        return fail(&p, "trailing bytes");
    return TD_OK;
}

const char *td_jr_text(const td_jr *r, int i, size_t *len)
{
    if (i < 0 || (r->tok[i].type != TD_JR_STRING && r->tok[i].type != TD_JR_NUMBER))
        return NULL;
    const td_jr_tok *t = &r->tok[i];
    if (len)
        *len = t->len;
    return (t->decoded ? r->text : r->src) + t->start;
}

int td_jr_member(const td_jr *r, int obj, const char *key)
{
    if (td_jr_type_of(r, obj) != TD_JR_OBJECT)
        return -1;
    size_t kn = strlen(key);
    uint32_t end = r->tok[obj].end;
    for (uint32_t i = (uint32_t)obj + 1; i < end; i = r->tok[i + 1].end) {
        const td_jr_tok *k = &r->tok[i];
        if (k->len == kn && memcmp((k->decoded ? r->text : r->src) + k->start, key, kn) == 0)
            return (int)i + 1;
    }
    return -1;
}

int td_jr_first(const td_jr *r, int c)
{
    int t = td_jr_type_of(r, c);
    if (t != TD_JR_ARRAY && t != TD_JR_OBJECT)
        return -1;
    return (uint32_t)c + 1 < r->tok[c].end ? c + 1 : -1;
}

int td_jr_next(const td_jr *r, int c, int i)
{
    if (c < 0 || i < 0)
        return -1;
    uint32_t next = r->tok[i].end;
    if (r->tok[c].type == TD_JR_OBJECT) /* i is a key: skip its value too */
        next = r->tok[next].end;
    return next < r->tok[c].end ? (int)next : -1;
}

size_t td_jr_count(const td_jr *r, int c)
{
    size_t n = 0;
    for (int i = td_jr_first(r, c); i >= 0; i = td_jr_next(r, c, i))
        n++;
    return n;
}
