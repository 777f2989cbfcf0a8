/*
 * cache.c - `tradedesk cache invalidate NAME`: make every cached API
 * response of one user stale at once (after fixing their rows by hand, say).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/cachegen.h"

#define CACHE_USAGE "tradedesk cache invalidate NAME"

const td_db_stmt cli_cache_stmts[] = {
    {"cache_user_id", "SELECT id FROM users WHERE username = $1", 1, 1},
};
const size_t cli_cache_nstmts = TD_ARRAY_LEN(cli_cache_stmts);

int cli_cache(const td_config *cfg, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "invalidate") != 0)
        return cli_usage_error("usage: " CACHE_USAGE);
    td_db *db = cli_db_connect(cfg);
    if (!db)
        return CLI_EXIT_FAIL;
    const char *who[] = {argv[1]};
    td_status st;
    PGresult *r = td_db_exec(db, "cache_user_id", 1, who, &st);
    int rc = CLI_EXIT_FAIL;
    if (!r) {
        cli_db_fail(db, "look up user");
    } else if (PQntuples(r) != 1) {
        cli_fail("no user named '%s'", argv[1]);
    } else {
        long long id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        td_redis *rd = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
        if (rd && td_cache_invalidate_user(rd, id) == TD_OK) {
            printf("invalidated cached responses of '%s'\n", argv[1]);
            rc = CLI_EXIT_OK;
        } else {
            cli_fail("Redis at %s is unreachable; cached responses expire within 5 s anyway",
                     cfg->redis_url);
        }
        td_redis_close(rd);
    }
    PQclear(r);
    td_db_close(db);
    return rc;
}
