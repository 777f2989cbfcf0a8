/*
 * db.h - one PostgreSQL connection per process, with named prepared
 * statements and reconnection after a database restart.
 *
 * Statements are declared once in a table; td_db prepares them on every
 * (re)connect.  A statement marked idempotent is retried once on a fresh
 * connection when the old one turns out to be dead; any other statement is
 * never retried, because it may have committed before the connection died.
 */
#ifndef TD_DB_H
#define TD_DB_H

#include "domain/td.h"
#include <libpq-fe.h>

typedef struct td_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    int idempotent; /* safe to send twice (reads) */
} td_db_stmt;

typedef struct td_db td_db;

/* Never connects here: the first query (or td_db_ping) does.  NULL on OOM. */
td_db *td_db_open(const char *conninfo, int statement_timeout_ms, const td_db_stmt *stmts,
                  size_t nstmts);
void td_db_close(td_db *db);

/* Run a prepared statement.  On success returns a result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) the caller PQclear()s, and *st = TD_OK.  On failure returns
 * NULL and *st is TD_EUNAVAIL (no connection), TD_ECONFLICT (unique or
 * exclusion violation), TD_EINVAL (check/foreign-key violation or bad input)
 * or TD_ERROR. */
PGresult *td_db_exec(td_db *db, const char *stmt, int nparams, const char *const *params,
                     td_status *st);

/* Run a plain SQL command without parameters (BEGIN, COMMIT, ROLLBACK). */
td_status td_db_command(td_db *db, const char *sql);

/* Round trip to the server; latency in milliseconds. */
td_status td_db_ping(td_db *db, double *latency_ms);

/* SQLSTATE of the last failure ("" when none). */
const char *td_db_last_sqlstate(const td_db *db);

#endif
