/*
 * migrate.c - `tradedesk migrate`: applies sql/NNN_name.sql files in numeric
 * order, each exactly once.
 *
 * Each file runs in its own transaction together with the schema_migrations
 * row that records it, so a migration is either fully applied and recorded
 * or not at all.  A session-level advisory lock makes two migrates started
 * at once (two deploys, two containers) take turns instead of racing.  It
 * must never apply a file twice, out of order, or without recording it.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any fixed number works as long as nothing else in the database locks it:
 * 0x74646d6967 is "tdmig". */
#define MIGRATE_LOCK_KEY "499784616295"

const td_db_stmt cli_migrate_stmts[] = {
    {"migrate_try_lock", "SELECT pg_try_advisory_lock($1::bigint)", 1, 0},
    {"migrate_lock", "SELECT pg_advisory_lock($1::bigint)", 1, 0},
    {"migrate_done", "SELECT version, name FROM schema_migrations ORDER BY version", 0, 1},
    {"migrate_record", "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, 0},
    /* sql/002_revocation.sql's log only needs the revocations of sessions
     * that could still be presented: a day past expiry is a wide margin. */
    {"migrate_prune_revocations",
     "DELETE FROM session_revocations WHERE expires_at < now() - interval '1 day'", 0, 0},
};
const size_t cli_migrate_nstmts = TD_ARRAY_LEN(cli_migrate_stmts);

typedef struct migration {
    int version;
    char name[NAME_MAX + 1];
} migration;

/* "001_schema.sql" -> 1.  Returns 0 for names that are not migrations
 * (seed_demo.sql, README, editor backups). */
static int migration_version(const char *name)
{
    const char *p = name;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return 0;
        p++;
    }
    if (p == name || *p != '_' || v == 0)
        return 0;
    size_t rest = strlen(++p);
    if (rest <= 4 || strcmp(p + rest - 4, ".sql") != 0)
        return 0;
    for (; *p; p++)
        if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return (int)v;
}

static int by_version(const void *a, const void *b)
{
    const migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists dir's migrations sorted by version into *out (caller frees). */
static int scan_migrations(const char *dir, migration **out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_fail("cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    migration *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int v = migration_version(e->d_name);
        if (v == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            migration *bigger = realloc(list, cap * sizeof *list);
            if (!bigger) {
                cli_fail("out of memory");
                free(list);
                closedir(d);
                return -1;
            }
            list = bigger;
        }
        list[n].version = v;
        snprintf(list[n].name, sizeof list[n].name, "%s", e->d_name);
        n++;
    }
    closedir(d);

    qsort(list, n, sizeof *list, by_version);
    for (size_t i = 1; i < n; i++) {
        if (list[i].version == list[i - 1].version) {
            cli_fail("%s and %s share version %d; rename one", list[i - 1].name, list[i].name,
                     list[i].version);
            free(list);
            return -1;
        }
    }
    *out = list;
    *count = n;
    return 0;
}

/* Blocks until no other migrate runs; the lock lasts until we disconnect. */
static int take_lock(td_db *db)
{
    const char *key[] = {MIGRATE_LOCK_KEY};
    td_status st;
    PGresult *r = td_db_exec(db, "migrate_try_lock", 1, key, &st);
    if (!r) {
        cli_db_fail(db, "take migration lock");
        return -1;
    }
    int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got)
        return 0;

    fprintf(stderr, "tradedesk: waiting for another migrate to finish\n");
    r = td_db_exec(db, "migrate_lock", 1, key, &st);
    if (!r)
        cli_db_fail(db, "take migration lock");
    PQclear(r);
    return r ? 0 : -1;
}

/* Line of sql holding the 1-based character position pos (as the server
 * counts: characters, not bytes). */
static int line_of(const char *sql, long pos)
{
    int line = 1;
    for (const unsigned char *p = (const unsigned char *)sql; *p && pos > 1; p++) {
        if ((*p & 0xC0) != 0x80)
            pos--;
        if (*p == '\n')
            line++;
    }
    return line;
}

static int apply(td_db *db, const char *dir, const migration *m)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, m->name) >= sizeof path) {
        cli_fail("%s/%s: path too long", dir, m->name);
        return -1;
    }
    char *sql = cli_read_file(path);
    if (!sql)
        return -1;

    if (cli_db_command(db, "BEGIN", m->name) != 0) {
        free(sql);
        return -1;
    }

    long pos = 0;
    if (td_db_script(db, sql, &pos) != TD_OK) {
        char what[NAME_MAX + 32];
        if (pos)
            snprintf(what, sizeof what, "%s:%d", m->name, line_of(sql, pos));
        else
            snprintf(what, sizeof what, "%s", m->name);
        cli_db_fail(db, what);
        free(sql);
        td_db_command(db, "ROLLBACK");
        return -1;
    }
    free(sql);

    /* A COMMIT inside the file would have applied part of it unrecorded. */
    if (!td_db_in_transaction(db)) {
        cli_fail("%s ended the transaction itself; migrations must not contain "
                 "BEGIN/COMMIT/ROLLBACK (check the database by hand)",
                 m->name);
        return -1;
    }

    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name};
    td_status st;
    PGresult *r = td_db_exec(db, "migrate_record", 2, params, &st);
    if (!r) {
        cli_db_fail(db, "record migration");
        td_db_command(db, "ROLLBACK");
        return -1;
    }
    PQclear(r);
    if (cli_db_command(db, "COMMIT", m->name) != 0)
        return -1;
    printf("applied %s\n", m->name);
    fflush(stdout);
    return 0;
}

int cli_migrate(const td_config *cfg, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return cli_usage_error("migrate takes no arguments (usage: tradedesk migrate)");

    char dir[PATH_MAX];
    migration *files = NULL;
    size_t nfiles = 0;
    if (cli_sql_dir(cfg, dir, sizeof dir) != 0 || scan_migrations(dir, &files, &nfiles) != 0)
        return CLI_EXIT_FAIL;

    td_db *db = cli_db_connect(cfg);
    if (!db) {
        free(files);
        return CLI_EXIT_FAIL;
    }

    int rc = CLI_EXIT_FAIL;
    PGresult *done = NULL;
    if (take_lock(db) != 0)
        goto out;
    /* Created here, under the lock, rather than by a migration: it is what
     * says which migrations ran. */
    if (cli_db_command(db,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version integer PRIMARY KEY CHECK (version > 0),"
                       " name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       "create schema_migrations") != 0)
        goto out;

    /* Read after taking the lock: another migrate may just have finished. */
    td_status st;
    done = td_db_exec(db, "migrate_done", 0, NULL, &st);
    if (!done) {
        cli_db_fail(db, "read schema_migrations");
        goto out;
    }
    int ndone = PQntuples(done);

    size_t applied = 0;
    int latest = 0;
    for (size_t i = 0; i < nfiles; i++) {
        int already = 0;
        for (int j = 0; j < ndone && !already; j++) {
            if (atoi(PQgetvalue(done, j, 0)) != files[i].version)
                continue;
            already = 1;
            if (strcmp(PQgetvalue(done, j, 1), files[i].name) != 0)
                fprintf(stderr, "tradedesk: note: version %d was applied as %s, now named %s\n",
                        files[i].version, PQgetvalue(done, j, 1), files[i].name);
        }
        if (!already) {
            if (apply(db, dir, &files[i]) != 0)
                goto out;
            applied++;
        }
        latest = files[i].version;
    }

    /* A database migrated by a newer build: say so, but it is not an error. */
    for (int j = 0; j < ndone; j++) {
        int v = atoi(PQgetvalue(done, j, 0));
        int known = 0;
        for (size_t i = 0; i < nfiles && !known; i++)
            known = files[i].version == v;
        if (!known)
            fprintf(stderr, "tradedesk: note: database has migration %d (%s), not in %s\n", v,
                    PQgetvalue(done, j, 1), dir);
        if (v > latest)
            latest = v;
    }

    if (latest >= 2) {
        PGresult *pr = td_db_exec(db, "migrate_prune_revocations", 0, NULL, &st);
        if (!pr) {
            cli_db_fail(db, "prune session_revocations");
            goto out;
        }
        PQclear(pr);
    }

    if (applied == 0)
        printf("database is up to date (version %d)\n", latest);
    else
        printf("applied %zu migration%s; database is at version %d\n", applied,
               applied == 1 ? "" : "s", latest);
    rc = CLI_EXIT_OK;
out:
    PQclear(done);
    /* Disconnecting releases the advisory lock too; unlocking first keeps
     * the waiting migrate from depending on how fast we close. */
    td_db_command(db, "SELECT pg_advisory_unlock_all()");
    td_db_close(db);
    free(files);
    return rc;
}
