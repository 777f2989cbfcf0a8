/*
 * buf.c - the growable, arena-backed byte buffer; see buf.h.
 */
#include "core/buf.h"

#include <string.h>

void td_buf_add(td_arena *a, td_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = td_arena_alloc(a, cap);
        if (b->len)
            memcpy(d, b->data, b->len);
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void td_buf_reserve(td_arena *a, td_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    char *d = td_arena_alloc(a, b->len + n + 1);
    if (b->len)
        memcpy(d, b->data, b->len);
    b->data = d;
    b->cap = b->len + n + 1;
}
