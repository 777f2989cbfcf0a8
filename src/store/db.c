/*
 * db.c - the per-process PostgreSQL connection; see db.h.
 *
 * Reconnects lazily: a dead connection is noticed by the query that fails,
 * and the next call connects again (at most once a second while the server
 * stays down, so an outage costs each request one fast failure, not a hang).
 */
#include "store/db.h"
#include "core/log.h"
#include "core/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct td_db {
    PGconn *conn;
    char *conninfo;
    int statement_timeout_ms;
    const td_db_stmt *stmts;
    size_t nstmts;
    double next_attempt; /* monotonic seconds before which we do not retry */
    char sqlstate[6];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

td_db *td_db_open(const char *conninfo, int statement_timeout_ms, const td_db_stmt *stmts,
                  size_t nstmts)
{
    td_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->conninfo = strdup(conninfo);
    if (!db->conninfo) {
        free(db);
        return NULL;
    }
    db->statement_timeout_ms = statement_timeout_ms;
    db->stmts = stmts;
    db->nstmts = nstmts;
    return db;
}

void td_db_close(td_db *db)
{
    if (!db)
        return;
    if (db->conn)
        PQfinish(db->conn);
    free(db->conninfo);
    free(db);
}

static void drop(td_db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
}

static td_status prepare_all(td_db *db)
{
    for (size_t i = 0; i < db->nstmts; i++) {
        const td_db_stmt *s = &db->stmts[i];
        PGresult *r = PQprepare(db->conn, s->name, s->sql, s->nparams, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            td_error("db: prepare %s failed: %s", s->name, PQerrorMessage(db->conn));
        PQclear(r);
        if (!ok)
            return TD_ERROR;
    }
    return TD_OK;
}

static td_status ensure_connected(td_db *db)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return TD_OK;
    drop(db);
    double t = now_s();
    if (t < db->next_attempt)
        return TD_EUNAVAIL;
    db->next_attempt = t + 1.0;

    char opts[64];
    snprintf(opts, sizeof opts, "-c statement_timeout=%d", db->statement_timeout_ms);
    const char *keys[] = {"dbname", "connect_timeout", "options", "application_name", NULL};
    const char *vals[] = {db->conninfo, "2", opts, "tradedesk", NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        td_warn("db: connect failed: %s", db->conn ? PQerrorMessage(db->conn) : "out of memory");
        drop(db);
        return TD_EUNAVAIL;
    }
    if (prepare_all(db) != TD_OK) {
        drop(db);
        return TD_EUNAVAIL;
    }
    db->next_attempt = 0;
    td_info("db: connected");
    return TD_OK;
}

static td_status classify(td_db *db, PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
    if (PQstatus(db->conn) != CONNECTION_OK)
        return TD_EUNAVAIL;
    if (!state)
        return TD_ERROR;
    if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0)
        return TD_ECONFLICT;
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return TD_EINVAL;
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P03") == 0)
        return TD_EUNAVAIL;
    return TD_ERROR;
}

static PGresult *exec_once(td_db *db, const char *stmt, int nparams, const char *const *params,
                           td_status *st);

PGresult *td_db_exec(td_db *db, const char *stmt, int nparams, const char *const *params,
                     td_status *st)
{
    PGresult *r = exec_once(db, stmt, nparams, params, st);
    if (!r)
        td_metrics_count(TD_M_DB_ERROR);
    return r;
}

static PGresult *exec_once(td_db *db, const char *stmt, int nparams, const char *const *params,
                           td_status *st)
{
    int idempotent = 0;
    for (size_t i = 0; i < db->nstmts; i++)
        if (strcmp(db->stmts[i].name, stmt) == 0)
            idempotent = db->stmts[i].idempotent;

    for (int attempt = 0; attempt < 2; attempt++) {
        int was_connected = db->conn != NULL;
        if ((*st = ensure_connected(db)) != TD_OK)
            return NULL;
        PGresult *r = PQexecPrepared(db->conn, stmt, nparams, params, NULL, NULL, 0);
        ExecStatusType es = PQresultStatus(r);
        if (es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK) {
            db->sqlstate[0] = '\0';
            *st = TD_OK;
            return r;
        }
        *st = classify(db, r);
        if (*st != TD_EUNAVAIL)
            td_error("db: %s failed: %s", stmt,
                     r ? PQresultErrorMessage(r) : PQerrorMessage(db->conn));
        PQclear(r);
        if (*st != TD_EUNAVAIL)
            return NULL;
        /* The connection died (e.g. the server restarted).  A read may be
         * sent again at once on a fresh connection; a write may not. */
        drop(db);
        db->next_attempt = 0;
        if (!was_connected || !idempotent)
            return NULL;
    }
    return NULL;
}

td_status td_db_command(td_db *db, const char *sql)
{
    td_status st = ensure_connected(db);
    if (st != TD_OK)
        return st;
    PGresult *r = PQexec(db->conn, sql);
    ExecStatusType es = PQresultStatus(r);
    st = es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK ? TD_OK : classify(db, r);
    if (st != TD_OK) {
        td_metrics_count(TD_M_DB_ERROR);
        td_error("db: '%s' failed: %s", sql, PQerrorMessage(db->conn));
    }
    PQclear(r);
    if (st == TD_EUNAVAIL)
        drop(db);
    return st;
}

td_status td_db_ping(td_db *db, double *latency_ms)
{
    double t0 = now_s();
    td_status st = ensure_connected(db);
    if (st == TD_OK) {
        PGresult *r = PQexec(db->conn, "SELECT 1");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            st = TD_EUNAVAIL;
            drop(db);
            db->next_attempt = 0; /* let the next call try a fresh connection at once */
        }
        PQclear(r);
        if (st != TD_OK && ensure_connected(db) == TD_OK) {
            r = PQexec(db->conn, "SELECT 1");
            st = PQresultStatus(r) == PGRES_TUPLES_OK ? TD_OK : TD_EUNAVAIL;
            PQclear(r);
        }
    }
    *latency_ms = (now_s() - t0) * 1000.0;
    return st;
}

const char *td_db_last_sqlstate(const td_db *db)
{
    return db->sqlstate;
}
