/*
 * mint.c - mint many access tokens at once for the benchmark.
 *
 *   mint [TTL_SECONDS] < "user_id sid" lines > tokens, one per line
 *
 * Signs with src/core/token.c exactly as the API verifies, using
 * TRADEDESK_JWT_SECRET (and TRADEDESK_JWT_ISSUER / _AUDIENCE when set).
 * The sessions must already exist in PostgreSQL (run.sh inserts them with
 * SQL); this only avoids one `tradedesk token` process per user.
 */
#include "core/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long ttl = argc > 1 ? strtol(argv[1], NULL, 10) : 3600;
    const char *secret = getenv("TRADEDESK_JWT_SECRET");
    const char *iss = getenv("TRADEDESK_JWT_ISSUER");
    const char *aud = getenv("TRADEDESK_JWT_AUDIENCE");
    if (!secret || ttl <= 0) {
        fprintf(stderr, "mint: TRADEDESK_JWT_SECRET must be set and TTL positive\n");
        return 2;
    }
    td_token_config c = {
        .secret = secret,
        .secret_len = strlen(secret),
        .issuer = iss && *iss ? iss : NULL,
        .audience = aud && *aud ? aud : NULL,
        .leeway_s = 0,
    };
    const char *why = NULL;
    if (td_token_config_check(&c, &why) != TD_OK) {
        fprintf(stderr, "mint: %s\n", why);
        return 2;
    }
    char line[256], token[TD_TOKEN_MAX_LEN];
    long long uid;
    char sid[64];
    int n = 0;
    time_t now = time(NULL);
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "%lld %63s", &uid, sid) != 2) {
            fprintf(stderr, "mint: bad line: %s", line);
            return 1;
        }
        if (td_token_mint(&c, uid, "user", sid, now, ttl, token, sizeof token) != TD_OK) {
            fprintf(stderr, "mint: cannot mint for user %lld\n", uid);
            return 1;
        }
        puts(token);
        n++;
    }
    fprintf(stderr, "mint: %d tokens\n", n);
    return n > 0 ? 0 : 1;
}
