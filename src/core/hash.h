/*
 * hash.h - the one non-cryptographic hash of tradedesk: 64-bit FNV-1a.
 *
 * Used where speed matters and secrecy does not: slot stores, ETags, rate
 * limit shards.  Never for anything an attacker must not forge (tokens use
 * HMAC-SHA256, core/token.h).
 */
#ifndef TD_CORE_HASH_H
#define TD_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* One digit short of the published FNV offset basis (14695981039346656037),
 * as the first ETag code had it.  Clients hold ETags made with this seed
 * (tests/unit/test_hash.c pins them), so it must stay as it is. */
#define TD_HASH_SEED 1469598103934665603ULL

/* Continue a hash over n more bytes (start from TD_HASH_SEED). */
static inline uint64_t td_hash_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static inline uint64_t td_hash(const void *p, size_t n)
{
    return td_hash_more(TD_HASH_SEED, p, n);
}

/* A NUL-terminated string, with the high bits folded down so the low bits
 * (which pick a slot set) depend on every byte. */
static inline uint64_t td_hash_str(const char *s)
{
    uint64_t h = TD_HASH_SEED;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

#endif
