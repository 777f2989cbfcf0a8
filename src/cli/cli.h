/*
 * cli.h - what the files of the tradedesk admin CLI share: the commands,
 * one-line error reporting, the PostgreSQL connection and the sql/ directory.
 *
 * Exit codes: 0 done, 1 failed (one line on stderr said why), 2 bad usage.
 */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stddef.h>

#include "core/config.h"
#include "store/db.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Commands: argv holds the words after the command's name. */
int cli_migrate(const td_config *cfg, int argc, char **argv);
int cli_user(const td_config *cfg, int argc, char **argv);
int cli_token(const td_config *cfg, int argc, char **argv);
int cli_seed(const td_config *cfg, int argc, char **argv);
int cli_cache(const td_config *cfg, int argc, char **argv);
int cli_feed(const td_config *cfg, int argc, char **argv);
int cli_recon(const td_config *cfg, int argc, char **argv);
/* Needs no settings: cfg is NULL. */
int cli_settings(const td_config *cfg, int argc, char **argv);

/* Prints "tradedesk: <message>" on stderr as exactly one line: newlines
 * and tabs inside the message (libpq writes them) become spaces. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage error the same way and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens a connection to cfg->database_url through store/db (the one
 * statement path every program shares) with the CLI's statements, and
 * connects at once; NULL after cli_fail() on failure.  td_db_close() it. */
td_db *cli_db_connect(const td_config *cfg);

/* Reports "<what>: <why the last statement on db failed>" with cli_fail(). */
void cli_db_fail(const td_db *db, const char *what);

/* Runs a statement without parameters or rows (BEGIN, COMMIT...);
 * 0 on success, -1 after cli_db_fail(). */
int cli_db_command(td_db *db, const char *sql, const char *what);

/* Each command file's statements (named, prepared on first use). */
extern const td_db_stmt cli_migrate_stmts[], cli_user_stmts[], cli_seed_stmts[], cli_cache_stmts[],
    cli_recon_stmts[];
extern const size_t cli_migrate_nstmts, cli_user_nstmts, cli_seed_nstmts, cli_cache_nstmts,
    cli_recon_nstmts;

/* The sql/ directory: cfg->sql_dir (TRADEDESK_SQL_DIR), else <dir of this
 * binary>/../sql.  0 on success, -1 after cli_fail(). */
int cli_sql_dir(const td_config *cfg, char *out, size_t cap);

/* Reads a whole text file into a NUL-terminated malloc'd buffer (caller
 * frees); NULL after cli_fail() when it cannot be read, is too large or
 * holds a NUL byte. */
char *cli_read_file(const char *path);

#endif
