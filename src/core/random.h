/*
 * random.h - kernel randomness for salts, session ids and request ids.
 */
#ifndef TD_RANDOM_H
#define TD_RANDOM_H

#include "domain/td.h"

/* Fills buf with n bytes from getrandom(2).  TD_ERROR if the kernel fails. */
td_status td_random_bytes(void *buf, size_t n);

/*
 * Writes 2*nbytes lowercase hex characters and a NUL into out, which must
 * hold 2*nbytes + 1 bytes.  Aborts if the kernel cannot supply randomness:
 * an id that is guessable is worse than a crash.
 */
void td_random_hex(char *out, size_t nbytes);

#endif
