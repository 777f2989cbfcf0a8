/*
 * token.h - HS256 JSON Web Tokens for API sessions (mint and verify).
 *
 * Only HS256 is ever produced or accepted.  The config is borrowed, not
 * copied: its strings must outlive every call that uses it.
 */
#ifndef TD_TOKEN_H
#define TD_TOKEN_H

#include <time.h>

#include "domain/td.h"

/* Tokens longer than this are refused before any decoding. */
#define TD_TOKEN_MAX_LEN 4096
#define TD_TOKEN_SECRET_MIN 32
#define TD_TOKEN_SECRET_MAX 4096
#define TD_TOKEN_LEEWAY_MAX 300

typedef struct td_token_config {
    const char *secret; /* HS256 secret, TD_TOKEN_SECRET_MIN..MAX bytes */
    size_t secret_len;
    const char *issuer;   /* NULL = not set on mint, not checked on verify */
    const char *audience; /* NULL = not set on mint, not checked on verify */
    long leeway_s;        /* clock skew allowed for exp/nbf/iat, 0..LEEWAY_MAX */
} td_token_config;

typedef struct td_claims {
    int64_t user_id;  /* from "sub", the decimal user id as a string */
    char sid[64];     /* session id: 1..63 chars of [A-Za-z0-9_-] */
    char role[16];    /* "user" or "admin" */
    int64_t exp, iat; /* iat is 0 when the token carries none */
} td_claims;

/*
 * TD_OK if c is usable; otherwise TD_EINVAL and, when why is not NULL,
 * *why points to a static sentence saying what is wrong.  Refuses secrets
 * shorter than 32 bytes and secrets that are PEM text (a public key used as
 * an HMAC secret is the algorithm-confusion mistake).
 */
td_status td_token_config_check(const td_token_config *c, const char **why);

/*
 * Writes a signed token with sub, sid, role, iat=now, exp=now+ttl_s and,
 * when configured, iss and aud into out (NUL-terminated).
 * TD_EINVAL: bad config or arguments (user_id <= 0, unknown role, bad sid,
 * ttl_s <= 0).  TD_ENOMEM: out too small or allocation failure.
 */
td_status td_token_mint(const td_token_config *c, int64_t user_id, const char *role,
                        const char *sid, time_t now, long ttl_s, char *out, size_t cap);

/*
 * Verifies token at time now and fills *out.  TD_OK, or TD_EDENIED for any
 * token that is malformed, badly signed, not HS256, expired, not yet valid,
 * for another issuer/audience, or missing a required claim (*out is then
 * zeroed).  TD_EINVAL only for a bad config or a NULL out.
 * "aud" must be a single string when an audience is configured.
 */
td_status td_token_verify(const td_token_config *c, const char *token, time_t now, td_claims *out);

/* The same, and *expired (when not NULL) set to 1 when the token was
 * refused only because exp has passed (beyond the leeway): the stream
 * answers token_expired rather than invalid_token. */
td_status td_token_verify_ex(const td_token_config *c, const char *token, time_t now,
                             td_claims *out, int *expired);

/* The verifier's settings as every program that checks access tokens
 * uses them (the api, the stream): TRADEDESK_JWT_SECRET, _ISSUER,
 * _AUDIENCE and TD_TOKEN_LEEWAY_S.  The strings are borrowed from cfg. */
#define TD_TOKEN_LEEWAY_S 30
struct td_config;
void td_token_config_of(const struct td_config *cfg, td_token_config *out);

#endif
