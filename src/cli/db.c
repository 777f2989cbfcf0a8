/*
 * db.c - the CLI's small toolbox: one-line errors, its PostgreSQL connection
 * (store/db, with the commands' statement tables), and finding and reading
 * files in sql/.
 *
 * Values always travel as prepared-statement parameters; the CLI must never
 * build SQL text from user input.  Only whole files from sql/ (trusted,
 * shipped with the binary) are sent as text.
 */
#include "cli/cli.h"
#include "store/session.h"

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

td_db *cli_db_connect(const td_config *cfg)
{
    const td_db_stmts parts[] = {
        {cli_migrate_stmts, cli_migrate_nstmts}, {cli_user_stmts, cli_user_nstmts},
        {cli_seed_stmts, cli_seed_nstmts},       {cli_cache_stmts, cli_cache_nstmts},
        {cli_recon_stmts, cli_recon_nstmts},
        {td_session_stmts, td_session_nstmts},
    };
    td_db_opts o = {.conninfo = cfg->database_url,
                    .application_name = "tradedesk-cli",
                    .connect_timeout_s = 10,
                    .quiet = 1};
    td_db *db = td_db_open(&o, parts, TD_ARRAY_LEN(parts));
    if (!db) {
        cli_fail("cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (td_db_connect(db) != TD_OK) {
        cli_fail("cannot connect to PostgreSQL (TRADEDESK_DATABASE_URL): %s", td_db_last_error(db));
        td_db_close(db);
        return NULL;
    }
    return db;
}

void cli_db_fail(const td_db *db, const char *what)
{
    cli_fail("%s: %s", what, td_db_last_error(db));
}

int cli_db_command(td_db *db, const char *sql, const char *what)
{
    if (td_db_command(db, sql) == TD_OK)
        return 0;
    cli_db_fail(db, what);
    return -1;
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
