/*
 * db.h - the one way tradedesk speaks to PostgreSQL: a connection with named
 * prepared statements, one error classification and one retry rule, with a
 * blocking face (API workers, the CLI) and a non-blocking face (the engine
 * and the stream, whose event loop watches the connection's socket).  The
 * idea is Kore's pgsql.c: one query API for both kinds of caller.
 *
 * Statements are declared once in tables; td_db prepares each on its first
 * use on every (re)connection.  A statement marked idempotent is sent again once on a fresh
 * connection when the old one turns out to be dead; any other statement is
 * never retried, because it may have committed before the connection died.
 * Results classify the same way on both faces (see td_db_exec).
 *
 * A td_db is used from one thread, and through one face.
 */
#ifndef TD_STORE_DB_H
#define TD_STORE_DB_H

#include "domain/td.h"
#include <libpq-fe.h>

/* A timestamptz column as milliseconds since the epoch, the one way
 * timestamps leave SQL: C formats them (core/clock.h td_rfc3339_ms). */
#define TD_SQL_EPOCH_MS(col) "(EXTRACT(EPOCH FROM " col ") * 1000)::bigint"

typedef struct td_db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    int idempotent; /* safe to send twice (reads) */
} td_db_stmt;

typedef struct td_db_opts {
    const char *conninfo;         /* libpq conninfo or URI (TRADEDESK_DATABASE_URL) */
    const char *application_name; /* shown in pg_stat_activity */
    int statement_timeout_ms;     /* 0: the server's default */
    int connect_timeout_s;        /* 0: 2 s */
    int nonblocking;              /* 1: the event-loop face below */
    int quiet;                    /* 1: the caller reports failures (the CLI); no log lines */
    int gate_slots;               /* > 0: each blocking call holds one of this many slots of
                                     store/dbgate.h (the API's workers); 0: no gate */
} td_db_opts;

/* One program's statement table is the union of its modules' tables. */
typedef struct td_db_stmts {
    const td_db_stmt *s;
    size_t n;
} td_db_stmts;

typedef struct td_db td_db;

/* Never connects here: the first query, td_db_connect or td_db_service
 * does.  The parts' rows are copied; their strings must outlive the td_db
 * (they are static tables).  Statements are prepared on first use on each
 * connection.  NULL on OOM. */
td_db *td_db_open(const td_db_opts *o, const td_db_stmts *parts, size_t nparts);
/* Closes the connection; pending non-blocking queries are answered
 * TD_EUNAVAIL first. */
void td_db_close(td_db *db);

/* SQLSTATE ("23505") and message ("primary (detail)") of the last failure,
 * "" when the last call succeeded.  Valid until the next call on db. */
const char *td_db_last_sqlstate(const td_db *db);
const char *td_db_last_error(const td_db *db);
/* Why the last blocking call gave up without the server's word, in words
 * fit for anyone (no addresses or server text): "timeout" (silent past the
 * deadline) or "shed" (the gate refused it); NULL otherwise.  Static. */
const char *td_db_last_cause(const td_db *db);

/* ---- the blocking face ---------------------------------------------- */

/* Connect now unless connected (at most one attempt a second while the
 * server stays down).  TD_OK or TD_EUNAVAIL (td_db_last_error says why). */
td_status td_db_connect(td_db *db);

/* Run a prepared statement.  On success returns a result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) the caller PQclear()s, and *st = TD_OK.  On failure returns
 * NULL and *st is TD_EUNAVAIL (no connection, no answer by the deadline, or
 * the gate refused), TD_ECONFLICT (unique or exclusion violation), TD_EINVAL
 * (check/foreign-key violation or bad input) or TD_ERROR.
 *
 * Every blocking call (exec, command, script, ping) has a client-side
 * deadline when statement_timeout_ms is set: that timeout plus a second
 * (td_db_ping: 800 ms in all, connecting included).  A server silent past
 * it (stopped, unreachable) gets a cancel request that nobody waits for,
 * the connection is dropped and the call returns TD_EUNAVAIL; the
 * statement is not sent again.  With gate_slots set, each call first takes
 * a slot of store/dbgate.h and is refused TD_EUNAVAIL at once when the
 * slots are all held by calls PostgreSQL is not answering. */
PGresult *td_db_exec(td_db *db, const char *stmt, int nparams, const char *const *params,
                     td_status *st);

/* Run a plain SQL command without parameters (BEGIN, COMMIT, ROLLBACK). */
td_status td_db_command(td_db *db, const char *sql);

/* Run a trusted script of several statements (a migration, the demo seed:
 * files shipped in sql/, never text built from input).  On failure
 * *error_pos is the 1-based character position the server blames, or 0. */
td_status td_db_script(td_db *db, const char *sql, long *error_pos);

/* 1 inside a transaction block (after BEGIN, before COMMIT/ROLLBACK). */
int td_db_in_transaction(const td_db *db);

/* Round trip to the server within 800 ms; latency in milliseconds. */
td_status td_db_ping(td_db *db, double *latency_ms);

/* ---- the non-blocking face ------------------------------------------ */

/* Called once per query sent with td_db_send: st as td_db_exec's, res the
 * result on TD_OK (NULL otherwise).  res is cleared after the callback
 * returns; copy what you keep. */
typedef void (*td_db_done_fn)(void *arg, td_status st, const PGresult *res);

/* Queue a prepared statement; params are copied.  Queries run one at a
 * time in the order sent (so a caller's sequence keeps its order).
 * TD_ENOMEM when the queue is full (TD_DB_QUEUE_MAX): the callback is not
 * called then.  Never blocks. */
#define TD_DB_QUEUE_MAX 4096
td_status td_db_send(td_db *db, const char *stmt, int nparams, const char *const *params,
                     td_db_done_fn fn, void *arg);

/* Advance everything that can advance without blocking: connecting,
 * preparing, sending, reading results and calling their callbacks.  Call
 * it when td_db_fd is readable or writable as td_db_events asks, and on a
 * timer (every 100 ms to 1 s) so a reconnect starts when it is due.  While
 * the server is unreachable every queued query is answered TD_EUNAVAIL. */
void td_db_service(td_db *db);

/* The socket to watch (-1 when there is none yet) and what to wait for. */
enum { TD_DB_WANT_READ = 1, TD_DB_WANT_WRITE = 2 };
int td_db_fd(const td_db *db);
int td_db_events(const td_db *db);

/* NOTIFY on the non-blocking face: fn gets each notification's channel and
 * payload as soon as it is read (payload "" when the NOTIFY had none).
 * The caller sends its own LISTEN statements (a td_db_stmt such as
 * "LISTEN td_orders"), again whenever td_db_generation changes: a new
 * connection listens to nothing, and notifications sent while there was
 * none are lost, so a listener reloads what they would have told it. */
typedef void (*td_db_notify_fn)(void *arg, const char *channel, const char *payload);
void td_db_on_notify(td_db *db, td_db_notify_fn fn, void *arg);
/* How many times this td_db has connected (0 before the first). */
unsigned td_db_generation(const td_db *db);

/* Queries sent and not yet answered. */
size_t td_db_pending(const td_db *db);

/* 1 when connected with every statement prepared. */
int td_db_ready(const td_db *db);

#endif
