/*
 * arena.h - a per-request bump allocator freed in one go.
 *
 * Everything a request allocates comes from its arena, so a handler cannot
 * leak: td_arena_reset() at the end of the request returns it all.  The first
 * block is kept between requests to avoid malloc on the hot path.
 */
#ifndef TD_ARENA_H
#define TD_ARENA_H

#include <stddef.h>

typedef struct td_arena_block td_arena_block;
typedef struct td_arena {
    td_arena_block *head;
    size_t block_size;
} td_arena;

void td_arena_init(td_arena *a, size_t block_size);
void *td_arena_alloc(td_arena *a, size_t n); /* aborts on OOM */
char *td_arena_strdup(td_arena *a, const char *s);
char *td_arena_strndup(td_arena *a, const char *s, size_t n);
char *td_arena_printf(td_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void td_arena_reset(td_arena *a); /* free all but the first block */
void td_arena_free(td_arena *a);

#endif
