/*
 * utf8.h - a valid UTF-8 rendering of bytes that may not be UTF-8.
 *
 * Request headers are bytes: a client may send Latin-1 or garbage, and
 * PostgreSQL (a UTF8 database) refuses such text.  What is stored or
 * shown is this rendering.  Pure: no I/O, no allocation.
 */
#ifndef TD_CORE_UTF8_H
#define TD_CORE_UTF8_H

#include <stddef.h>

/* The longest rendering of a User-Agent kept (bytes, without the NUL). */
#define TD_USER_AGENT_MAX 256

/*
 * Writes in[0, len) into out as valid UTF-8 and NUL-terminates it: each
 * maximal ill-formed subsequence (Unicode's "substitution of maximal
 * subparts": a stray continuation byte, a truncated sequence, an overlong
 * form, a surrogate, a code point past U+10FFFF) and each NUL byte becomes
 * U+FFFD.  At most cap - 1 bytes are written, never part of a character.
 * Returns the bytes written (without the NUL); cap 0 writes nothing.
 */
size_t td_utf8_sanitize(const char *in, size_t len, char *out, size_t cap);

/* The length (2 to 4) of the well-formed multi-byte sequence that starts
 * in[0, len), or 0 when there is none (in[0] is ASCII, a stray or invalid
 * byte, or the sequence is cut short or ill-formed). */
size_t td_utf8_seq(const char *in, size_t len);

#endif
