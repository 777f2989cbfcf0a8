/*
 * fuzz_token.c - libFuzzer target for token verification (core/token.c).
 *
 * Arbitrary bytes as a bearer token, against a fixed config: td_token_verify
 * must never crash and never accept, since nothing here knows the secret.
 *
 * Inputs starting with '{' (which can never be a token) take a second path:
 * they are signed with the secret as a claims object, so the claim checks
 * behind the signature get exercised too; whatever is accepted then must
 * satisfy every promise of td_claims.
 */
#include "core/token.h"

#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((time_t)1700000000)

static const char SECRET[] = "fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz";

static const td_token_config CFG = {SECRET, sizeof SECRET - 1, NULL, NULL, 30};
static const td_token_config CFG_ISS = {SECRET, sizeof SECRET - 1, "tradedesk", "tradedesk-api",
                                        30};

static void check_claims(const td_token_config *c, const td_claims *cl)
{
    size_t sl = strnlen(cl->sid, sizeof cl->sid);
    if (cl->user_id <= 0 || sl == 0 || sl >= sizeof cl->sid)
        abort();
    if (strcmp(cl->role, "user") != 0 && strcmp(cl->role, "admin") != 0)
        abort();
    if (cl->exp + c->leeway_s < NOW || cl->iat > NOW + c->leeway_s || cl->iat < 0)
        abort();
}

static void verify_signed(const char *json)
{
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        abort();
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)SECRET, (int)sizeof SECRET - 1) ||
        jwt_add_grants_json(jwt, json) != 0) {
        jwt_free(jwt);
        return;
    }
    char *tok = jwt_encode_str(jwt);
    jwt_free(jwt);
    if (!tok)
        return;
    const td_token_config *cfgs[] = {&CFG, &CFG_ISS};
    for (size_t i = 0; i < 2; i++) {
        td_claims cl;
        td_status st = td_token_verify(cfgs[i], tok, NOW, &cl);
        if (st == TD_OK)
            check_claims(cfgs[i], &cl);
        else if (st != TD_EDENIED || cl.user_id != 0 || cl.sid[0] || cl.role[0])
            abort();
    }
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';

    if (size > 0 && s[0] == '{') {
        verify_signed(s);
    } else {
        td_claims cl;
        if (td_token_verify(&CFG, s, NOW, &cl) != TD_EDENIED)
            abort();
        if (td_token_verify(&CFG_ISS, s, NOW, &cl) != TD_EDENIED)
            abort();
    }
    free(s);
    return 0;
}
