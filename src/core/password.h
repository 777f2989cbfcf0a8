/*
 * password.h - Argon2id password hashing for login.
 *
 * Hashes are self-describing "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
 * strings, so the cost parameters can be raised later without breaking
 * stored hashes.  Every call costs one Argon2id evaluation (tens of ms and
 * about 19 MiB): call these from request workers, never from an event loop.
 */
#ifndef TD_PASSWORD_H
#define TD_PASSWORD_H

#include "domain/td.h"

/* Passwords longer than this are refused (TD_EINVAL) before any hashing. */
#define TD_PASSWORD_MAX_LEN 1024
/* Buffer size that always holds an encoded hash from td_password_hash. */
#define TD_PASSWORD_HASH_MAX 128

/*
 * Hashes the NUL-terminated pw with a fresh random salt into out.
 * TD_EINVAL: pw NULL or too long.  TD_ENOMEM: cap too small (use
 * TD_PASSWORD_HASH_MAX) or Argon2 could not allocate.  TD_ERROR: no
 * randomness or an unexpected Argon2 failure.
 */
td_status td_password_hash(const char *pw, char *out, size_t cap);

/*
 * Checks pw against an encoded Argon2id hash, in constant time.
 * TD_OK on match, TD_EDENIED on mismatch.  TD_EINVAL: pw too long, or the
 * encoded string is not an Argon2id v19 hash.  TD_ENOMEM / TD_ERROR as above.
 */
td_status td_password_verify(const char *encoded, const char *pw);

/*
 * Runs one verification against a fixed dummy hash with the current cost
 * parameters and discards the result, so that a login for an unknown user
 * takes as long as one with a wrong password.
 */
void td_password_burn(const char *pw);

#endif
