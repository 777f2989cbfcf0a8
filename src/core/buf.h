/*
 * buf.h - a growable byte buffer whose memory comes from an arena.
 *
 * Responses, header lines and JSON are written into one of these.  The data
 * is kept NUL-terminated and lives as long as the arena it was grown in (a
 * request's arena is reset when the request ends); nothing here is freed
 * on its own.
 */
#ifndef TD_CORE_BUF_H
#define TD_CORE_BUF_H

#include <stddef.h>

#include "core/arena.h"

typedef struct td_buf {
    char *data;
    size_t len, cap;
} td_buf;

/* Append n bytes (kept NUL-terminated); reserve room for n more. */
void td_buf_add(td_arena *a, td_buf *b, const char *s, size_t n);
void td_buf_reserve(td_arena *a, td_buf *b, size_t n);

#endif
