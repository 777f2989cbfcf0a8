/*
 * recon.c - `tradedesk recon import USER FILE [--venue binance]`: an
 * exchange statement (its CSV export, domain/statement.h) stored as the
 * venue's view of USER's trades, which the engine's reconciliation then
 * compares with USER's fills (sql/013_venue_statements.sql).
 *
 * All or nothing: the whole file is parsed before anything is written (a
 * bad line is reported with its number and nothing is stored), and the
 * statement and its trades go in one transaction.  The same file imported
 * again for the same user and venue is the statement already there.
 */
#include "cli/cli.h"
#include "core/arena.h"
#include "core/digest.h"
#include "domain/statement.h"
#include "store/pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECON_USAGE "tradedesk recon import USER FILE [--venue binance]"
#define BATCH 1000 /* trades per INSERT */

const td_db_stmt cli_recon_stmts[] = {
    {"recon_user_id", "SELECT id FROM users WHERE username = $1", 1, 1},
    {"recon_existing",
     "SELECT id, trades FROM venue_statements WHERE user_id = $1::bigint AND venue = $2"
     " AND digest = $3",
     3, 1},
    {"recon_statement",
     "INSERT INTO venue_statements (user_id, venue, file_name, digest, trades, first_at, last_at)"
     " VALUES ($1::bigint, $2, $3, $4, $5::int, to_timestamp($6::bigint / 1000.0),"
     " to_timestamp($7::bigint / 1000.0)) RETURNING id",
     7, 1},
    {"recon_trades",
     "INSERT INTO venue_trades (statement_id, line, traded_at, symbol, side, price, quantity,"
     " amount, fee, fee_asset)"
     " SELECT $1::bigint, v.line, to_timestamp(v.at / 1000.0), v.symbol, v.side, v.price,"
     " v.quantity, v.amount, v.fee, v.fee_asset"
     " FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::numeric[],"
     " $7::numeric[], $8::numeric[], $9::numeric[], $10::text[])"
     " AS v(line, at, symbol, side, price, quantity, amount, fee, fee_asset)",
     10, 1},
};
const size_t cli_recon_nstmts = TD_ARRAY_LEN(cli_recon_stmts);

typedef struct trade {
    td_venue_trade t;
    size_t line; /* in the file */
} trade;

typedef struct trades {
    trade *t;
    size_t n, cap;
    const size_t *at_line; /* the parser's current line */
} trades;

static int keep(void *arg, const td_venue_trade *t)
{
    trades *ts = arg;
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 1024;
        trade *nt = realloc(ts->t, cap * sizeof *nt);
        if (!nt)
            return 1;
        ts->t = nt;
        ts->cap = cap;
    }
    ts->t[ts->n++] = (trade){*t, *ts->at_line};
    return 0;
}

/* The base name of a path, at most 255 bytes of it. */
static void base_name(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    snprintf(out, cap, "%s", slash && slash[1] ? slash + 1 : path);
}

static int insert_trades(td_db *db, const char *statement, const trades *ts)
{
    for (size_t from = 0; from < ts->n; from += BATCH) {
        td_arena a;
        td_arena_init(&a, 256 * 1024);
        td_pg_cols c;
        td_pg_cols_init(&c, &a, 9);
        for (size_t i = from; i < ts->n && i < from + BATCH; i++) {
            const td_venue_trade *t = &ts->t[i].t;
            td_pg_col_int(&c, 0, (long long)ts->t[i].line);
            td_pg_col_int(&c, 1, (long long)t->at_ms);
            td_pg_col_add(&c, 2, t->symbol);
            td_pg_col_add(&c, 3, t->buy ? "buy" : "sell");
            td_pg_col_dec(&c, 4, t->price);
            td_pg_col_dec(&c, 5, t->quantity);
            td_pg_col_dec(&c, 6, t->amount);
            td_pg_col_dec(&c, 7, t->fee);
            td_pg_col_add(&c, 8, t->fee_asset[0] ? t->fee_asset : "NULL");
        }
        const char *p[10] = {statement};
        td_pg_cols_params(&c, p + 1);
        td_status st;
        PGresult *r = td_db_exec(db, "recon_trades", 10, p, &st);
        td_arena_free(&a);
        if (!r) {
            cli_db_fail(db, "store the statement's trades");
            return -1;
        }
        PQclear(r);
    }
    return 0;
}

static int import(const td_config *cfg, const char *user, const char *path, const char *venue)
{
    td_statement_format fmt;
    if (td_statement_format_parse(venue, &fmt) != TD_OK)
        return cli_usage_error("unknown venue '%s' (known: binance); usage: " RECON_USAGE, venue);
    char *text = cli_read_file(path);
    if (!text)
        return CLI_EXIT_FAIL;
    size_t len = strlen(text), line = 0;
    char digest[TD_SHA256_HEX_LEN + 1], name[256];
    const char *why = "";
    trades ts = {.at_line = &line};
    td_status ps = td_statement_parse(fmt, text, len, keep, &ts, &line, &why);
    int hashed = td_sha256_hex(text, len, digest) == TD_OK;
    free(text);
    int rc = CLI_EXIT_FAIL;
    td_db *db = NULL;
    PGresult *r = NULL;
    if (ps != TD_OK) {
        if (ps == TD_EINVAL)
            cli_fail("%s line %zu: %s; nothing imported", path, line, why);
        else
            cli_fail("%s: out of memory at line %zu; nothing imported", path, line);
        goto out;
    }
    if (!hashed) {
        cli_fail("%s: could not compute its SHA-256", path);
        goto out;
    }
    base_name(path, name, sizeof name);
    if (!(db = cli_db_connect(cfg)) || cli_db_command(db, "BEGIN", "begin") != 0)
        goto out;

    td_status st;
    const char *who[] = {user};
    if (!(r = td_db_exec(db, "recon_user_id", 1, who, &st))) {
        cli_db_fail(db, "look up user");
        goto out;
    }
    if (PQntuples(r) != 1) {
        cli_fail("no user named '%s'", user);
        goto out;
    }
    char uid[24];
    snprintf(uid, sizeof uid, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);

    const char *ex[] = {uid, venue, digest};
    if (!(r = td_db_exec(db, "recon_existing", 3, ex, &st))) {
        cli_db_fail(db, "look for the statement");
        goto out;
    }
    if (PQntuples(r) == 1) {
        printf("%s was imported already: statement %s, %s trades of '%s' at %s\n", path,
               PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), user, venue);
        rc = CLI_EXIT_OK;
        goto out;
    }
    PQclear(r);

    int64_t first = 0, last = 0;
    for (size_t i = 0; i < ts.n; i++) {
        int64_t at = ts.t[i].t.at_ms;
        if (i == 0 || at < first)
            first = at;
        if (i == 0 || at > last)
            last = at;
    }
    char n[24], f[24], l[24];
    snprintf(n, sizeof n, "%zu", ts.n);
    snprintf(f, sizeof f, "%lld", (long long)first);
    snprintf(l, sizeof l, "%lld", (long long)last);
    const char *sp[] = {uid, venue, name, digest, n, ts.n ? f : NULL, ts.n ? l : NULL};
    if (!(r = td_db_exec(db, "recon_statement", 7, sp, &st))) {
        cli_db_fail(db, "store the statement");
        goto out;
    }
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    if (insert_trades(db, id, &ts) != 0 || cli_db_command(db, "COMMIT", "commit") != 0)
        goto out;
    printf("imported %s as statement %s: %zu trades of '%s' at %s\n", path, id, ts.n, user, venue);
    rc = CLI_EXIT_OK;
out:
    PQclear(r);
    td_db_close(db); /* an open transaction is rolled back */
    free(ts.t);
    return rc;
}

int cli_recon(const td_config *cfg, int argc, char **argv)
{
    const char *venue = "binance", *pos[3];
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--venue") == 0) {
            if (++i == argc)
                return cli_usage_error("--venue needs a name; usage: " RECON_USAGE);
            venue = argv[i];
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            return cli_usage_error("usage: " RECON_USAGE);
        }
    }
    if (npos != 3 || strcmp(pos[0], "import") != 0)
        return cli_usage_error("usage: " RECON_USAGE);
    return import(cfg, pos[1], pos[2], venue);
}
