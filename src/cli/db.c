/*
 * db.c - the CLI's small toolbox: one-line errors, a PostgreSQL connection,
 * parameterized statements, and finding and reading files in sql/.
 *
 * Values always travel as PQexecParams parameters; this file must never
 * build SQL text from user input.  Only whole files from sql/ (trusted,
 * shipped with the binary) are sent as text.
 */
#include "cli/cli.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Migrations and the seed are small; anything bigger is a mistake. */
#define CLI_FILE_MAX (16 * 1024 * 1024)

static void vreport(const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    /* Squash runs of whitespace so every error is one greppable line. */
    char *w = msg;
    int space = 0;
    for (const char *r = msg; *r; r++) {
        if (*r == '\n' || *r == '\t' || *r == '\r' || *r == ' ') {
            space = 1;
            continue;
        }
        if (space && w != msg)
            *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = '\0';
    fprintf(stderr, "tradedesk: %s\n", msg);
}

void cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

PGconn *cli_db_connect(const td_config *cfg)
{
    /* dbname comes last and is expanded, so whatever the URL says about
     * application_name or connect_timeout wins over these defaults. */
    const char *const keys[] = {"application_name", "connect_timeout", "dbname", NULL};
    const char *const vals[] = {"tradedesk-cli", "10", cfg->database_url, NULL};

    PGconn *db = PQconnectdbParams(keys, vals, 1);
    if (!db) {
        cli_fail("cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(db) != CONNECTION_OK) {
        cli_fail("cannot connect to PostgreSQL (TRADEDESK_DATABASE_URL): %s", PQerrorMessage(db));
        PQfinish(db);
        return NULL;
    }
    /* "already exists, skipping" and similar notices are noise here. */
    if (cli_db_command(db, "SET client_min_messages = warning", "configure session") != 0) {
        PQfinish(db);
        return NULL;
    }
    return db;
}

PGresult *cli_db_exec(PGconn *db, const char *sql, int nparams, const char *const *params)
{
    return PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
}

int cli_db_ok(PGconn *db, const PGresult *r, const char *what)
{
    if (!r) {
        cli_fail("%s: %s", what, PQerrorMessage(db));
        return 0;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 1;

    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    if (!primary)
        cli_fail("%s: %s", what, PQresultErrorMessage(r));
    else if (detail)
        cli_fail("%s: %s (%s)", what, primary, detail);
    else
        cli_fail("%s: %s", what, primary);
    return 0;
}

const char *cli_db_sqlstate(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

int cli_db_command(PGconn *db, const char *sql, const char *what)
{
    PGresult *r = PQexec(db, sql);
    int ok = cli_db_ok(db, r, what);
    PQclear(r);
    return ok ? 0 : -1;
}

int cli_sql_dir(const td_config *cfg, char *out, size_t cap)
{
    const char *env = cfg->sql_dir;
    if (*env) {
        if ((size_t)snprintf(out, cap, "%s", env) >= cap) {
            cli_fail("TRADEDESK_SQL_DIR: path too long");
            return -1;
        }
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0) {
            cli_fail("cannot find my own binary (/proc/self/exe: %s); set TRADEDESK_SQL_DIR",
                     strerror(errno));
            return -1;
        }
        exe[n] = '\0';
        if ((size_t)snprintf(out, cap, "%s/../sql", dirname(exe)) >= cap) {
            cli_fail("sql directory path too long; set TRADEDESK_SQL_DIR");
            return -1;
        }
    }

    struct stat st;
    if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_fail("sql directory %s not found; set TRADEDESK_SQL_DIR", out);
        return -1;
    }
    return 0;
}

char *cli_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_fail("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }

    size_t len = 0, cap = 64 * 1024;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (ferror(f) || feof(f) || len > CLI_FILE_MAX)
            break;
        if (len == cap - 1) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int read_error = ferror(f);
    fclose(f);

    if (!buf) {
        cli_fail("cannot read %s: out of memory", path);
        return NULL;
    }
    buf[len] = '\0';
    if (read_error) {
        cli_fail("cannot read %s: %s", path, strerror(EIO));
    } else if (len > CLI_FILE_MAX) {
        cli_fail("%s is larger than %d bytes", path, CLI_FILE_MAX);
    } else if (strlen(buf) != len) {
        /* libpq stops at the first NUL: the rest would be silently ignored. */
        cli_fail("%s contains a NUL byte", path);
    } else {
        return buf;
    }
    free(buf);
    return NULL;
}
