/*
 * test_token.c - unit tests for HS256 token mint/verify (core/token.c).
 *
 * Every hostile token below is built so that it would get past a naive use
 * of libjwt; where that matters, a "sanity" assertion shows libjwt itself
 * accepting the token, so the refusal is provably ours.  No I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/token.h"

#define NOW ((time_t)1700000000)

static const char SECRET[] = "test-secret-0123456789abcdefghijklmnopqrstuv";
static const char OTHER_SECRET[] = "another-secret-0123456789abcdefghijklmnopqr";

/* Generated once with `openssl genpkey -algorithm RSA` + `openssl pkey -pubout`. */
static const char RSA_PUB_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwzYESgkoPlUfGvW1M2Vc\n"
    "bdIREp2PYO2n2yvAj5t2PWw8hWzOsexWyNrlWLOziakdx4ESkheZBn3s8pnQp+Y1\n"
    "TQkmPKHTOaS2KNmzUeVM+2zkR/8TGx6CvB4soGWaYVerhDEMOBTt14+w1pmqt0xL\n"
    "m01tG5ZVCGZ0I1hjVVL5C+tvJ+Y8FCJyYRdTtesKq6xcfylYd/KgsswJzVo7nHxH\n"
    "G1uHN7sE0n81LPJ9DdOO002G0befnluoz5QHobvalozueMzt/BP0JkZa3bH4Edit\n"
    "4XmGdZ4+z6fq0PaVQsI6nVs4ZRlRaSQnqlB4a/Mdpog9Ro7k4IuZdjesFn7CobH/\n"
    "LwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

/* RS256 token signed with that key pair's private key (not kept):
 * {"sub":"42","sid":"sess1","role":"admin","iat":1700000000,"exp":4102444800} */
static const char RS256_TOKEN[] =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMCwicm9sZ"
    "SI6ImFkbWluIiwic2lkIjoic2VzczEiLCJzdWIiOiI0MiJ9.t7BknifGebCUy5BUdLT3emXQk1JIl6XtgCH59HAleV"
    "UWSeiuUTawXFaPqzmjwWYkUJ8PH53U5HkMPIeqA5xYLAHIPgGbkZwUCIuMeie7GstE8g4DLjtpbApn6QCOsJzsI6-V"
    "-u5aZHrPD0kXbNgKfKit8DfRUZD5HFxM47PAemPJYMQiH0eyWq6yAdSmSefK5ZOJ3-P7t40stdh7KvxfAG6QaeB_82"
    "VvbUj4tBd8YsG2wLvnZBZBt_VbN4c63GjekeD_uSYBWLvuT8anHU8ZY0sqKXvQGxSm-8AO2zFcbxqiH3DMt0xhICUr"
    "RYq__4xkLeP3_8o5hIagcU1y7hzAag";

#define VALID_CLAIMS                                                                               \
    "{\"sub\":\"42\",\"sid\":\"sess1\",\"role\":\"user\",\"iat\":1700000000,\"exp\":1700000900}"

static td_token_config cfg(void)
{
    td_token_config c = {SECRET, sizeof(SECRET) - 1, NULL, NULL, 30};
    return c;
}

static td_token_config cfg_iss_aud(void)
{
    td_token_config c = {SECRET, sizeof(SECRET) - 1, "tradedesk", "tradedesk-api", 30};
    return c;
}

/* A token signed by libjwt with any algorithm and key; caller frees. */
static char *sign_json(jwt_alg_t alg, const char *key, size_t key_len, const char *json)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)key_len), 0);
    assert_int_equal(jwt_add_grants_json(jwt, json), 0);
    char *tok = jwt_encode_str(jwt);
    assert_non_null(tok);
    jwt_free(jwt);
    return tok;
}

static char *sign_hs256(const char *json)
{
    return sign_json(JWT_ALG_HS256, SECRET, sizeof(SECRET) - 1, json);
}

/* Does libjwt on its own accept the token with this key? */
static int libjwt_accepts(const char *tok, const char *key, size_t key_len)
{
    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, tok, (const unsigned char *)key, (int)key_len);
    jwt_free(jwt);
    return rc == 0;
}

static td_status verify_with(const td_token_config *c, const char *tok)
{
    td_claims cl;
    return td_token_verify(c, tok, NOW, &cl);
}

static void b64url(const char *in, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tbl[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tbl[v & 63];
    }
    out[o] = '\0';
}

static void test_mint_then_verify(void **state)
{
    (void)state;
    td_token_config c = cfg_iss_aud();
    char tok[1024];
    td_claims cl;

    assert_int_equal(td_token_mint(&c, 42, "admin", "abc_DEF-1", NOW, 900, tok, sizeof(tok)),
                     TD_OK);
    assert_int_equal(td_token_verify(&c, tok, NOW + 10, &cl), TD_OK);
    assert_int_equal(cl.user_id, 42);
    assert_string_equal(cl.sid, "abc_DEF-1");
    assert_string_equal(cl.role, "admin");
    assert_int_equal(cl.iat, NOW);
    assert_int_equal(cl.exp, NOW + 900);

    /* The same token fails a verifier expecting another audience. */
    td_token_config other = c;
    other.audience = "tradedesk-stream";
    assert_int_equal(td_token_verify(&other, tok, NOW + 10, &cl), TD_EDENIED);
    assert_int_equal(cl.user_id, 0); /* zeroed on refusal */
}

static void test_mint_rejects_bad_args(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char tok[1024];
    char sid64[65];
    memset(sid64, 'a', 64);
    sid64[64] = '\0';

    assert_int_equal(td_token_mint(&c, 0, "user", "s", NOW, 60, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_mint(&c, 1, "root", "s", NOW, 60, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_mint(&c, 1, "user", "", NOW, 60, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_mint(&c, 1, "user", "a b", NOW, 60, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_mint(&c, 1, "user", sid64, NOW, 60, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_mint(&c, 1, "user", "s", NOW, 0, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_mint(&c, 1, "user", "s", NOW, 60, tok, 20), TD_ENOMEM);
    assert_string_equal(tok, "");
}

/* The helper's own tokens are valid, so the refusals below are for the
 * reason each test names and not a bug in the helper. */
static void test_helper_token_is_valid(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char *tok = sign_hs256(VALID_CLAIMS);
    td_claims cl;
    assert_int_equal(td_token_verify(&c, tok, NOW, &cl), TD_OK);
    assert_int_equal(cl.user_id, 42);
    free(tok);
}

static void test_alg_none_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char head[128], body[256], tok[512];

    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", head);
    b64url(VALID_CLAIMS, body);
    snprintf(tok, sizeof(tok), "%s.%s.", head, body);
    assert_true(libjwt_accepts(tok, NULL, 0)); /* what a NULL key would do */
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);

    /* Same with a junk signature so the empty-segment check is not the
     * only line of defence: libjwt refuses alg:none when given a key. */
    snprintf(tok, sizeof(tok), "%s.%s.AAAA", head, body);
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
}

static void test_other_key_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char *tok = sign_json(JWT_ALG_HS256, OTHER_SECRET, sizeof(OTHER_SECRET) - 1, VALID_CLAIMS);
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    free(tok);
}

static void test_hs512_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char *tok = sign_json(JWT_ALG_HS512, SECRET, sizeof(SECRET) - 1, VALID_CLAIMS);
    /* libjwt verifies it with our secret: only the alg pin refuses it. */
    assert_true(libjwt_accepts(tok, SECRET, sizeof(SECRET) - 1));
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    free(tok);
}

static void test_hs256_signed_with_rsa_pem_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char *tok = sign_json(JWT_ALG_HS256, RSA_PUB_PEM, strlen(RSA_PUB_PEM), VALID_CLAIMS);
    /* The confusion attack works on a verifier handed the PEM as its key... */
    assert_true(libjwt_accepts(tok, RSA_PUB_PEM, strlen(RSA_PUB_PEM)));
    /* ...not on ours, which holds its own HS256 secret... */
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    /* ...and which refuses to be configured with PEM text at all. */
    td_token_config bad = {RSA_PUB_PEM, strlen(RSA_PUB_PEM), NULL, NULL, 30};
    const char *why = NULL;
    assert_int_equal(td_token_config_check(&bad, &why), TD_EINVAL);
    assert_non_null(why);
    assert_int_equal(verify_with(&bad, tok), TD_EINVAL);
    free(tok);
}

static void test_rs256_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    /* A genuine RS256 token: libjwt verifies it with the public key. */
    assert_true(libjwt_accepts(RS256_TOKEN, RSA_PUB_PEM, strlen(RSA_PUB_PEM)));
    assert_int_equal(verify_with(&c, RS256_TOKEN), TD_EDENIED);
}

static void test_expiry_with_leeway(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char tok[1024];
    td_claims cl;

    assert_int_equal(td_token_mint(&c, 7, "user", "s1", NOW, 60, tok, sizeof(tok)), TD_OK);
    assert_int_equal(td_token_verify(&c, tok, NOW + 60 + 30, &cl), TD_OK);
    assert_int_equal(td_token_verify(&c, tok, NOW + 60 + 31, &cl), TD_EDENIED);
    c.leeway_s = 0;
    assert_int_equal(td_token_verify(&c, tok, NOW + 61, &cl), TD_EDENIED);

    /* The stream tells an expired token from a bad one; only a token
     * valid but for its exp counts as expired. */
    int expired = -1;
    assert_int_equal(td_token_verify_ex(&c, tok, NOW + 10, &cl, &expired), TD_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(td_token_verify_ex(&c, tok, NOW + 61, &cl, &expired), TD_EDENIED);
    assert_int_equal(expired, 1);
    assert_int_equal(cl.user_id, 0); /* nothing of a refused token is handed out */
    td_token_config other = c;
    other.issuer = "someone-else";
    assert_int_equal(td_token_verify_ex(&other, tok, NOW + 61, &cl, &expired), TD_EDENIED);
    assert_int_equal(expired, 0);
    tok[strlen(tok) - 2] ^= 1; /* a broken signature is invalid, never "expired" */
    assert_int_equal(td_token_verify_ex(&c, tok, NOW + 61, &cl, &expired), TD_EDENIED);
    assert_int_equal(expired, 0);
}

static void test_exp_missing_or_not_integer(void **state)
{
    (void)state;
    td_token_config c = cfg();
    static const char *const payloads[] = {
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"iat\":1700000000}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"exp\":\"1700000900\"}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900.5}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"exp\":true}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"exp\":null}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"exp\":-1}",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        char *tok = sign_hs256(payloads[i]);
        if (verify_with(&c, tok) != TD_EDENIED)
            fail_msg("accepted: %s", payloads[i]);
        free(tok);
    }
}

static void test_tampered_payload_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char tok[1024];

    assert_int_equal(td_token_mint(&c, 42, "user", "s1", NOW, 900, tok, sizeof(tok)), TD_OK);
    char *p = strchr(tok, '.') + 5;
    *p = (*p == 'A') ? 'B' : 'A';
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
}

/* The constant-time check compares the whole base64url signature: a change
 * to its last character alone is refused, including one that only touches
 * the two padding bits a lenient base64 decoder would ignore. */
static void test_signature_last_char_refused(void **state)
{
    (void)state;
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    td_token_config c = cfg();
    char tok[1024];

    assert_int_equal(td_token_mint(&c, 42, "user", "s1", NOW, 900, tok, sizeof(tok)), TD_OK);
    assert_int_equal(verify_with(&c, tok), TD_OK);
    char *last = tok + strlen(tok) - 1;
    assert_int_equal(strlen(strrchr(tok, '.') + 1), 43);
    const char orig = *last;
    int v = (int)(strchr(tbl, orig) - tbl);

    *last = tbl[v ^ 1]; /* same decoded bytes, non-canonical text */
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    *last = tbl[v ^ 32]; /* a different signature byte */
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    *last = '\0'; /* one character short */
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    *last = orig;
    assert_int_equal(verify_with(&c, tok), TD_OK);
}

static void test_shape_refused(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char tok[1024], bad[1100];

    assert_int_equal(td_token_mint(&c, 42, "user", "s1", NOW, 900, tok, sizeof(tok)), TD_OK);
    assert_int_equal(verify_with(&c, tok), TD_OK);

    snprintf(bad, sizeof(bad), "%s.AAAA", tok); /* three dots */
    assert_int_equal(verify_with(&c, bad), TD_EDENIED);
    snprintf(bad, sizeof(bad), "%s", tok);
    *strrchr(bad, '.') = '\0'; /* one dot */
    assert_int_equal(verify_with(&c, bad), TD_EDENIED);
    snprintf(bad, sizeof(bad), "%s ", tok); /* stray byte */
    assert_int_equal(verify_with(&c, bad), TD_EDENIED);
    assert_int_equal(verify_with(&c, ""), TD_EDENIED);
    assert_int_equal(verify_with(&c, NULL), TD_EDENIED);

    /* A correctly signed token of about 5000 bytes is refused for its size. */
    char pad[3800], json[4096];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    snprintf(json, sizeof(json),
             "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,\"pad\":\"%s\"}",
             pad);
    char *big = sign_hs256(json);
    assert_true(strlen(big) > 5000);
    assert_true(libjwt_accepts(big, SECRET, sizeof(SECRET) - 1));
    assert_int_equal(verify_with(&c, big), TD_EDENIED);
    free(big);
}

static void test_iss_aud_checked_when_configured(void **state)
{
    (void)state;
    td_token_config c = cfg_iss_aud();
    static const char *const bad[] = {
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,"
        "\"iss\":\"evil\",\"aud\":\"tradedesk-api\"}",
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,"
        "\"iss\":\"tradedesk\",\"aud\":\"other\"}",
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,"
        "\"aud\":\"tradedesk-api\"}",
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,"
        "\"iss\":\"tradedesk\"}",
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,"
        "\"iss\":\"tradedesk\",\"aud\":[\"tradedesk-api\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tok = sign_hs256(bad[i]);
        if (verify_with(&c, tok) != TD_EDENIED)
            fail_msg("accepted: %s", bad[i]);
        free(tok);
    }
    char *ok = sign_hs256("{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,"
                          "\"iss\":\"tradedesk\",\"aud\":\"tradedesk-api\"}");
    assert_int_equal(verify_with(&c, ok), TD_OK);
    /* Without iss/aud configured, neither is required. */
    td_token_config plain = cfg();
    assert_int_equal(verify_with(&plain, ok), TD_OK);
    free(ok);
}

static void test_nbf_and_iat(void **state)
{
    (void)state;
    td_token_config c = cfg();
    char *tok;

    /* nbf beyond the 30 s leeway */
    tok = sign_hs256(
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,\"nbf\":1700000031}");
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    free(tok);
    /* nbf within the leeway */
    tok = sign_hs256(
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,\"nbf\":1700000030}");
    assert_int_equal(verify_with(&c, tok), TD_OK);
    free(tok);
    /* nbf that is not an integer */
    tok = sign_hs256("{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,\"nbf\":"
                     "\"9999999999\"}");
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    free(tok);
    /* iat from the future */
    tok = sign_hs256(
        "{\"sub\":\"1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900,\"iat\":1700000500}");
    assert_int_equal(verify_with(&c, tok), TD_EDENIED);
    free(tok);
}

static void test_bad_role_sub_sid(void **state)
{
    (void)state;
    td_token_config c = cfg();
    static const char *const bad[] = {
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"root\",\"exp\":1700000900}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"\",\"exp\":1700000900}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"role\":\"Admin\",\"exp\":1700000900}",
        "{\"sub\":\"42\",\"sid\":\"s\",\"exp\":1700000900}",
        "{\"sub\":\"alice\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"42x\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"-1\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"0\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"042\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"9223372036854775808\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":42,\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"42\",\"sid\":\"\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"42\",\"sid\":\"a b\",\"role\":\"user\",\"exp\":1700000900}",
        "{\"sub\":\"42\",\"role\":\"user\",\"exp\":1700000900}",
        /* sid of 64 characters */
        ("{\"sub\":\"42\",\"sid\":"
         "\"0123456789012345678901234567890123456789012345678901234567890123\","
         "\"role\":\"user\",\"exp\":1700000900}"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *tok = sign_hs256(bad[i]);
        if (verify_with(&c, tok) != TD_EDENIED)
            fail_msg("accepted: %s", bad[i]);
        free(tok);
    }
    /* Largest user id still parses. */
    char *tok = sign_hs256(
        "{\"sub\":\"9223372036854775807\",\"sid\":\"s\",\"role\":\"user\",\"exp\":1700000900}");
    td_claims cl;
    assert_int_equal(td_token_verify(&c, tok, NOW, &cl), TD_OK);
    assert_int_equal(cl.user_id, INT64_MAX);
    free(tok);
}

static void test_config_check(void **state)
{
    (void)state;
    const char *why = NULL;
    char tok[1024];
    td_claims cl;

    td_token_config c = {"0123456789012345678901234567890", 31, NULL, NULL, 30};
    assert_int_equal(td_token_config_check(&c, &why), TD_EINVAL);
    assert_non_null(why);
    assert_int_equal(td_token_mint(&c, 1, "user", "s", NOW, 60, tok, sizeof(tok)), TD_EINVAL);
    assert_int_equal(td_token_verify(&c, "a.b.c", NOW, &cl), TD_EINVAL);

    c.secret = "01234567890123456789012345678901";
    c.secret_len = 32;
    assert_int_equal(td_token_config_check(&c, &why), TD_OK);
    assert_null(why);

    c.leeway_s = -1;
    assert_int_equal(td_token_config_check(&c, NULL), TD_EINVAL);
    c.leeway_s = TD_TOKEN_LEEWAY_MAX + 1;
    assert_int_equal(td_token_config_check(&c, NULL), TD_EINVAL);
    c.leeway_s = 30;
    c.issuer = "";
    assert_int_equal(td_token_config_check(&c, NULL), TD_EINVAL);
    c.issuer = NULL;
    c.secret = NULL;
    assert_int_equal(td_token_config_check(&c, NULL), TD_EINVAL);
    assert_int_equal(td_token_config_check(NULL, &why), TD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mint_then_verify),
        cmocka_unit_test(test_mint_rejects_bad_args),
        cmocka_unit_test(test_helper_token_is_valid),
        cmocka_unit_test(test_alg_none_refused),
        cmocka_unit_test(test_other_key_refused),
        cmocka_unit_test(test_hs512_refused),
        cmocka_unit_test(test_hs256_signed_with_rsa_pem_refused),
        cmocka_unit_test(test_rs256_refused),
        cmocka_unit_test(test_expiry_with_leeway),
        cmocka_unit_test(test_exp_missing_or_not_integer),
        cmocka_unit_test(test_tampered_payload_refused),
        cmocka_unit_test(test_signature_last_char_refused),
        cmocka_unit_test(test_shape_refused),
        cmocka_unit_test(test_iss_aud_checked_when_configured),
        cmocka_unit_test(test_nbf_and_iat),
        cmocka_unit_test(test_bad_role_sub_sid),
        cmocka_unit_test(test_config_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
