/*
 * jsonr.h - a strict JSON reader into a flat token array: one pass over
 * the bytes, no tree of objects, no allocation per message (the arrays are
 * the reader's, grown to the largest message seen), no locale.
 *
 * Made for the engine's hot path, the venues' market messages (ws/feed*.c:
 * json-c's tokener and object tree were about half of the engine's CPU at
 * 100k messages/s, docs/performance.md).  Strict RFC 8259: one value with
 * optional whitespace around it, no comments, no trailing commas, strings
 * of valid UTF-8 without raw control characters, escapes checked (a lone
 * surrogate is refused), numbers in JSON's grammar, a depth limit.
 *
 * Layout: each value is a token; an object's token is followed by its
 * members, each a string token (the key) then the value's tokens; an
 * array's by its elements.  tok[i].end is the index just past value i's
 * tokens, so a lookup skips whole subtrees.  A number's text is kept as
 * written (prices go to fixed point from it, never through a double).
 * A string's text is its decoded value: the source bytes when it holds no
 * escape, else a copy decoded into the reader's own buffer.
 *
 * Duplicate keys: the first one is the member (json-c keeps the last; no
 * venue sends duplicates).
 */
#ifndef TD_CORE_JSONR_H
#define TD_CORE_JSONR_H

#include <stddef.h>
#include <stdint.h>

#include "domain/td.h"

typedef enum td_jr_type {
    TD_JR_OBJECT = 1,
    TD_JR_ARRAY,
    TD_JR_STRING,
    TD_JR_NUMBER,
    TD_JR_TRUE,
    TD_JR_FALSE,
    TD_JR_NULL,
} td_jr_type;

typedef struct td_jr_tok {
    uint32_t start; /* offset of the text: in the source, or in the decoded buffer */
    uint32_t len;   /* text length (a string's decoded length, without quotes) */
    uint32_t end;   /* index of the token after this value's subtree */
    uint8_t type;   /* td_jr_type */
    uint8_t decoded; /* the text is in the decoded buffer (a string with escapes) */
} td_jr_tok;

typedef struct td_jr {
    const char *src;
    td_jr_tok *tok;
    uint32_t n, cap, max_tokens;
    char *text; /* escaped strings, decoded */
    size_t text_len, text_cap;
    unsigned max_depth;
    const char *error; /* why the last parse failed (a static string) */
    size_t error_at;   /* at which byte */
} td_jr;

/* A reader for values nested at most max_depth deep and of at most
 * max_tokens tokens.  Nothing is allocated until the first parse. */
void td_jr_init(td_jr *r, unsigned max_depth, uint32_t max_tokens);
void td_jr_free(td_jr *r);

/* Parse s[0, len) (len < 4 GiB).  TD_OK, or TD_EINVAL with r->error and
 * r->error_at set (TD_ENOMEM when the arrays could not grow).  The tokens
 * point into s: keep it alive while reading them. */
td_status td_jr_parse(td_jr *r, const char *s, size_t len);

/* The root value is token 0.  Index -1 means "no such value": every
 * function below accepts it and answers as for a missing value. */
static inline int td_jr_type_of(const td_jr *r, int i)
{
    return i < 0 ? 0 : r->tok[i].type;
}

/* The text of a string or number token (decoded for a string), its length
 * in *len (may be NULL); NULL for other types or i < 0.  Not NUL-terminated. */
const char *td_jr_text(const td_jr *r, int i, size_t *len);

/* The value of member key of object obj, or -1 (obj not an object, or no
 * such member). */
int td_jr_member(const td_jr *r, int obj, const char *key);

/* Iteration over container c: td_jr_first gives its first element (for an
 * object, its first key; the value is the token after it), or -1 when it
 * is empty or not a container; td_jr_next the element (key) after i, or
 * -1.  td_jr_count: how many elements (members), 0 for a non-container. */
size_t td_jr_count(const td_jr *r, int c);
int td_jr_first(const td_jr *r, int c);
int td_jr_next(const td_jr *r, int c, int i);

#endif
