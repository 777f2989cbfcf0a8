/*
 * token.c - minting and verifying HS256 session tokens with libjwt 1.10.2.
 *
 * libjwt 1.10.2 checks signatures (with strcmp) and nothing else: it accepts
 * alg:none with a NULL key, lets the token pick its algorithm, and ignores
 * exp/nbf/iss/aud.  Every one of those checks is therefore done here,
 * following the recipe in NOTES.md, and the signature is checked here first
 * in constant time.  No I/O; this file must never decode a token without the secret,
 * accept any algorithm but HS256, or let a claim through unchecked.
 */
#include "core/token.h"
#include "core/config.h"

#include <errno.h>
#include <inttypes.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 255   /* issuer and audience */
#define SIG_B64_LEN 43 /* a 32-byte HMAC-SHA256 in unpadded base64url */

static int is_b64url(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* 1..TEXT_MAX printable ASCII bytes, no spaces: keeps jansson's UTF-8 check
 * from ever failing on mint and makes comparisons byte-exact. */
static int text_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n == TEXT_MAX || (unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
            return 0;
    }
    return n > 0;
}

static int sid_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (n == sizeof(((td_claims *)0)->sid) - 1 || !is_b64url(s[n]))
            return 0;
    }
    return n > 0;
}

static int role_ok(const char *s)
{
    return strcmp(s, "user") == 0 || strcmp(s, "admin") == 0;
}

/* "sub" is a positive decimal integer without sign or leading zeros. */
static int parse_sub(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (s[0] < '1' || s[0] > '9')
        return 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
            return 0;
    }
    *out = v;
    return 1;
}

/*
 * Cheap structural checks before libjwt sees the token: a bounded length
 * (libjwt decodes onto the stack with alloca), exactly three non-empty
 * base64url segments.  An empty signature is how alg:none tokens look.
 */
static int token_shape_ok(const char *t)
{
    size_t len = strnlen(t, TD_TOKEN_MAX_LEN + 1);
    size_t dots = 0, seg = 0;

    if (len > TD_TOKEN_MAX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (seg == 0)
                return 0;
            dots++;
            seg = 0;
        } else if (is_b64url(t[i])) {
            seg++;
        } else {
            return 0;
        }
    }
    return dots == 2 && seg > 0;
}

/*
 * libjwt 1.10.2 compares HMAC signatures with strcmp, which leaks through
 * timing how much of a forged signature is right.  So the HS256 signature
 * is checked here first, in constant time: HMAC-SHA256 over "header.payload"
 * encoded as unpadded base64url and compared with CRYPTO_memcmp.  The token
 * has passed token_shape_ok, so it holds exactly two dots.
 */
static int signature_ok(const td_token_config *c, const char *t)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char want[SIG_B64_LEN + 1];
    const char *sig = strrchr(t, '.') + 1;
    size_t signed_len = (size_t)(sig - 1 - t);
    size_t o = 0;
    int ok;

    if (strlen(sig) != SIG_B64_LEN)
        return 0;
    if (!HMAC(EVP_sha256(), c->secret, (int)c->secret_len, (const unsigned char *)t, signed_len,
              mac, &maclen) ||
        maclen != 32)
        return 0;
    for (size_t i = 0; i < maclen; i += 3) {
        uint32_t v = (uint32_t)mac[i] << 16;
        if (i + 1 < maclen)
            v |= (uint32_t)mac[i + 1] << 8;
        if (i + 2 < maclen)
            v |= mac[i + 2];
        want[o++] = tbl[(v >> 18) & 63];
        want[o++] = tbl[(v >> 12) & 63];
        if (i + 1 < maclen)
            want[o++] = tbl[(v >> 6) & 63];
        if (i + 2 < maclen)
            want[o++] = tbl[v & 63];
    }
    want[o] = '\0';
    ok = o == SIG_B64_LEN && CRYPTO_memcmp(want, sig, SIG_B64_LEN) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
}

enum grant_result { GRANT_OK, GRANT_MISSING, GRANT_BAD };

/*
 * A NumericDate grant.  libjwt gives -1 with errno ENOENT when it is missing
 * and 0 with errno 0 when it is a string, float, bool or null (NOTES); no
 * real timestamp is 0 or negative, so those values are refused as non-integers.
 */
static enum grant_result grant_time(jwt_t *jwt, const char *name, int64_t *out)
{
    errno = 0;
    long v = jwt_get_grant_int(jwt, name);
    if (errno == ENOENT)
        return GRANT_MISSING;
    if (errno != 0 || v <= 0)
        return GRANT_BAD;
    *out = v;
    return GRANT_OK;
}

td_status td_token_config_check(const td_token_config *c, const char **why)
{
    const char *msg = NULL;

    if (!c)
        msg = "no token config";
    else if (!c->secret || c->secret_len < TD_TOKEN_SECRET_MIN)
        msg = "token secret shorter than 32 bytes";
    else if (c->secret_len > TD_TOKEN_SECRET_MAX)
        msg = "token secret longer than 4096 bytes";
    else if (memmem(c->secret, c->secret_len, "-----BEGIN", 10))
        msg = "token secret is PEM text: HS256 needs a random secret, not a key file";
    else if (c->issuer && !text_ok(c->issuer))
        msg = "token issuer empty, too long or not printable ASCII";
    else if (c->audience && !text_ok(c->audience))
        msg = "token audience empty, too long or not printable ASCII";
    else if (c->leeway_s < 0 || c->leeway_s > TD_TOKEN_LEEWAY_MAX)
        msg = "token leeway outside 0..300 seconds";

    if (why)
        *why = msg;
    return msg ? TD_EINVAL : TD_OK;
}

td_status td_token_mint(const td_token_config *c, int64_t user_id, const char *role,
                        const char *sid, time_t now, long ttl_s, char *out, size_t cap)
{
    int64_t exp;
    char sub[24];
    jwt_t *jwt = NULL;
    char *enc = NULL;
    td_status st = TD_ENOMEM;

    if (td_token_config_check(c, NULL) != TD_OK || user_id <= 0 || !role || !role_ok(role) ||
        !sid || !sid_ok(sid) || now <= 0 || ttl_s <= 0 || !out || cap == 0 ||
        __builtin_add_overflow((int64_t)now, (int64_t)ttl_s, &exp))
        return TD_EINVAL;
    out[0] = '\0';
    snprintf(sub, sizeof(sub), "%" PRId64, user_id);

    /* Inputs are validated above, so any libjwt failure here is allocation. */
    if (jwt_new(&jwt) != 0)
        return TD_ENOMEM;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)c->secret, (int)c->secret_len) ||
        jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "sid", sid) ||
        jwt_add_grant(jwt, "role", role) || jwt_add_grant_int(jwt, "iat", (long)now) ||
        jwt_add_grant_int(jwt, "exp", (long)exp) ||
        (c->issuer && jwt_add_grant(jwt, "iss", c->issuer)) ||
        (c->audience && jwt_add_grant(jwt, "aud", c->audience)))
        goto done;

    enc = jwt_encode_str(jwt);
    if (!enc)
        goto done;
    size_t n = strlen(enc);
    if (n >= cap)
        goto done;
    memcpy(out, enc, n + 1);
    st = TD_OK;

done:
    free(enc);
    jwt_free(jwt); /* also wipes libjwt's copy of the secret */
    return st;
}

void td_token_config_of(const struct td_config *cfg, td_token_config *out)
{
    *out = (td_token_config){.secret = cfg->jwt_secret,
                             .secret_len = strlen(cfg->jwt_secret),
                             .issuer = cfg->jwt_issuer[0] ? cfg->jwt_issuer : NULL,
                             .audience = cfg->jwt_audience[0] ? cfg->jwt_audience : NULL,
                             .leeway_s = TD_TOKEN_LEEWAY_S};
}

td_status td_token_verify(const td_token_config *c, const char *token, time_t now, td_claims *out)
{
    return td_token_verify_ex(c, token, now, out, NULL);
}

td_status td_token_verify_ex(const td_token_config *c, const char *token, time_t now,
                             td_claims *out, int *expired)
{
    int late = 0;
    if (expired)
        *expired = 0;
    jwt_t *jwt = NULL;
    td_claims cl = {0};
    const char *s;
    int64_t nbf = 0;
    td_status st = TD_EDENIED;

    if (!out)
        return TD_EINVAL;
    memset(out, 0, sizeof(*out));
    /* now > 0 keeps every time difference below free of overflow. */
    if (td_token_config_check(c, NULL) != TD_OK || now <= 0)
        return TD_EINVAL;
    if (!token || !token_shape_ok(token))
        return TD_EDENIED;
    if (!signature_ok(c, token))
        return TD_EDENIED;

    /* The key is never NULL or empty here (config checked): with a key,
     * libjwt refuses alg:none and verifies the signature. */
    if (jwt_decode(&jwt, token, (const unsigned char *)c->secret, (int)c->secret_len) != 0)
        return TD_EDENIED;

    /* The token chose its algorithm; only the configured one is acceptable.
     * This is what refuses HS384/HS512 signed with our secret. */
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto done;

    if (grant_time(jwt, "exp", &cl.exp) != GRANT_OK)
        goto done;
    if (cl.exp < now && now - cl.exp > c->leeway_s) {
        late = 1; /* everything else is checked still: a forged token is not "expired" */
        cl.exp = now;
    }

    switch (grant_time(jwt, "nbf", &nbf)) {
    case GRANT_MISSING:
        break;
    case GRANT_OK:
        if (nbf > now && nbf - now > c->leeway_s)
            goto done;
        break;
    default:
        goto done;
    }

    /* iat is optional, but one from the future means a forged or broken clock. */
    switch (grant_time(jwt, "iat", &cl.iat)) {
    case GRANT_MISSING:
        cl.iat = 0;
        break;
    case GRANT_OK:
        if (cl.iat > now && cl.iat - now > c->leeway_s)
            goto done;
        break;
    default:
        goto done;
    }

    /* jwt_get_grant returns NULL for a missing or non-string grant. */
    if (c->issuer && (!(s = jwt_get_grant(jwt, "iss")) || strcmp(s, c->issuer) != 0))
        goto done;
    if (c->audience && (!(s = jwt_get_grant(jwt, "aud")) || strcmp(s, c->audience) != 0))
        goto done;

    if (!(s = jwt_get_grant(jwt, "sub")) || !parse_sub(s, &cl.user_id))
        goto done;
    if (!(s = jwt_get_grant(jwt, "sid")) || !sid_ok(s))
        goto done;
    memcpy(cl.sid, s, strlen(s) + 1);
    if (!(s = jwt_get_grant(jwt, "role")) || !role_ok(s))
        goto done;
    memcpy(cl.role, s, strlen(s) + 1);

    if (late) {
        if (expired)
            *expired = 1;
        goto done;
    }
    *out = cl;
    st = TD_OK;

done:
    jwt_free(jwt);
    return st;
}
