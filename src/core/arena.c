/*
 * arena.c - bump allocation in chained blocks; see arena.h.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct td_arena_block {
    td_arena_block *next;
    size_t cap, used;
    max_align_t data[];
};

static td_arena_block *block_new(size_t cap)
{
    td_arena_block *b = malloc(sizeof *b + cap);
    if (!b)
        abort(); /* a request cannot proceed without memory; the master respawns us */
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

void td_arena_init(td_arena *a, size_t block_size)
{
    a->block_size = block_size;
    a->head = block_new(block_size);
}

void *td_arena_alloc(td_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        abort(); /* no request asks for this much; rounding below would wrap */
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    td_arena_block *b = a->head;
    if (b->cap - b->used < n) {
        size_t cap = n > a->block_size ? n : a->block_size;
        td_arena_block *nb = block_new(cap);
        nb->next = b;
        a->head = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

char *td_arena_strndup(td_arena *a, const char *s, size_t n)
{
    char *p = td_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *td_arena_strdup(td_arena *a, const char *s)
{
    return td_arena_strndup(a, s, strlen(s));
}

char *td_arena_printf(td_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = td_arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void td_arena_reset(td_arena *a)
{
    td_arena_block *b = a->head;
    while (b->next) { /* the oldest block is last; keep it */
        td_arena_block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
}

void td_arena_free(td_arena *a)
{
    td_arena_reset(a);
    free(a->head);
    a->head = NULL;
}
