/*
 * digest.h - SHA-256 as lowercase hex: the request hash an Idempotency-Key
 * is remembered with, the digest that makes an imported statement's second
 * import a no-op.  Not for secrets (tokens: core/token.h's HMAC).
 */
#ifndef TD_CORE_DIGEST_H
#define TD_CORE_DIGEST_H

#include <stddef.h>

#include "domain/td.h"

#define TD_SHA256_HEX_LEN 64

/* Writes the 64 hex digits and a NUL into out; TD_ERROR if OpenSSL fails. */
td_status td_sha256_hex(const void *data, size_t len, char out[TD_SHA256_HEX_LEN + 1]);

#endif
