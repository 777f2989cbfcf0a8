/*
 * cli.h - what the files of the tradedesk admin CLI share: the commands,
 * one-line error reporting, PostgreSQL helpers and the sql/ directory.
 *
 * Exit codes: 0 done, 1 failed (one line on stderr said why), 2 bad usage.
 */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stddef.h>

#include <libpq-fe.h>

#include "core/config.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Commands: argv holds the words after the command's name. */
int cli_migrate(const td_config *cfg, int argc, char **argv);
int cli_user(const td_config *cfg, int argc, char **argv);
int cli_token(const td_config *cfg, int argc, char **argv);
int cli_seed(const td_config *cfg, int argc, char **argv);
int cli_cache(const td_config *cfg, int argc, char **argv);
/* Needs no settings: cfg is NULL. */
int cli_settings(const td_config *cfg, int argc, char **argv);

/* Prints "tradedesk: <message>" on stderr as exactly one line: newlines
 * and tabs inside the message (libpq writes them) become spaces. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage error the same way and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Connects to cfg->database_url; NULL after cli_fail() on failure. */
PGconn *cli_db_connect(const td_config *cfg);

/* PQexecParams with text parameters; the result may be an error (or NULL
 * when libpq is out of memory): check it with cli_db_ok(). */
PGresult *cli_db_exec(PGconn *db, const char *sql, int nparams, const char *const *params);

/* 1 when r holds a successful result.  Otherwise reports
 * "<what>: <server message>" with cli_fail() and returns 0; the caller
 * still owns r and PQclear()s it either way. */
int cli_db_ok(PGconn *db, const PGresult *r, const char *what);

/* SQLSTATE of a failed result ("23505"), or "" when there is none. */
const char *cli_db_sqlstate(const PGresult *r);

/* Runs a statement without parameters or rows (BEGIN, COMMIT...);
 * 0 on success, -1 after cli_fail(). */
int cli_db_command(PGconn *db, const char *sql, const char *what);

/* The sql/ directory: cfg->sql_dir (TRADEDESK_SQL_DIR), else <dir of this
 * binary>/../sql.  0 on success, -1 after cli_fail(). */
int cli_sql_dir(const td_config *cfg, char *out, size_t cap);

/* Reads a whole text file into a NUL-terminated malloc'd buffer (caller
 * frees); NULL after cli_fail() when it cannot be read, is too large or
 * holds a NUL byte. */
char *cli_read_file(const char *path);

#endif
