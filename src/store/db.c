/*
 * db.c - the PostgreSQL connection of every tradedesk program; see db.h.
 *
 * Both faces share the statement table, the connection parameters, the
 * error classification (classify) and the retry rule (an idempotent
 * statement is sent again once after the connection died under it).
 *
 * Reconnects lazily: a dead connection is noticed by the query that fails,
 * and the next call connects again (at most once a second while the server
 * stays down, so an outage costs each query one fast failure, not a hang).
 *
 * The blocking face is the non-blocking one plus a wait: it connects with
 * PQconnectStartParams/PQconnectPoll, sends with PQsendPrepare and
 * PQsendQueryPrepared, and reads with the same nb_read, poll()ing the socket
 * until a deadline.  A server that is alive enforces statement_timeout
 * itself; one that is stopped (SIGSTOP, a frozen VM, a black-holed network)
 * never answers, and libpq's own blocking calls would wait until TCP gives
 * up, or forever on a unix socket.  On expiry the statement is cancelled
 * without waiting for the server (cancel_detached), the connection dropped
 * and TD_EUNAVAIL returned; nothing is sent again, so a write whose fate is
 * unknown is never repeated.  Every blocking call of a td_db opened with
 * gate_slots also holds a slot of store/dbgate.h while it runs.
 */
#include "store/db.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/dbgate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The client's deadline for a statement: the server's statement_timeout
 * plus a margin, so a live server always reports its own timeout first. */
#define DEADLINE_MARGIN_MS 1000
/* td_db_ping's whole budget (connect included): a health check must
 * answer "down" well within a load balancer's probe timeout. */
#define PING_MS 800
/* How long the detached cancel request may wait for the server. */
#define CANCEL_S 2

/* A query of the non-blocking face, waiting or in flight. */
typedef struct query {
    struct query *next;
    const td_db_stmt *stmt;
    int nparams;
    char **params;
    int attempts;
    td_db_done_fn fn;
    void *arg;
} query;

enum nb_state { NB_DOWN, NB_CONNECTING, NB_READY };

struct td_db {
    PGconn *conn;
    char *conninfo;
    char application_name[64];
    int statement_timeout_ms;
    int connect_timeout_s;
    int nonblocking;
    int quiet;
    int gate_slots;       /* dbgate.h: 0 none */
    int gate_slot;        /* the slot this call holds, -1 none */
    int timed_out;        /* the last blocking call's deadline passed */
    const char *cause;    /* td_db_last_cause */
    td_db_stmt *stmts;    /* every part's statements, in one array we own */
    unsigned char *ready; /* ready[i]: stmts[i] is prepared on this connection */
    size_t nstmts;
    double next_attempt; /* monotonic seconds before which we do not connect */
    char sqlstate[6];
    char error[512];

    /* The non-blocking face. */
    enum nb_state state;
    PostgresPollingStatusType polling; /* while connecting */
    double connect_deadline;
    int in_flight;  /* the head of the queue (or its PREPARE) has been sent */
    int preparing;  /* what is in flight is the head's PREPARE */
    int want_write; /* output is waiting in libpq's buffer */
    PGresult *result;
    query *head, *tail;
    size_t pending;
    unsigned generation;      /* connections made (td_db_generation) */
    td_db_notify_fn notify_fn; /* td_db_on_notify */
    void *notify_arg;
};

td_db *td_db_open(const td_db_opts *o, const td_db_stmts *parts, size_t nparts)
{
    td_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < nparts; i++)
        n += parts[i].n;
    db->conninfo = strdup(o->conninfo ? o->conninfo : "");
    db->stmts = calloc(n ? n : 1, sizeof *db->stmts);
    db->ready = calloc(n ? n : 1, 1);
    if (!db->conninfo || !db->stmts || !db->ready) {
        free(db->conninfo);
        free(db->stmts);
        free(db->ready);
        free(db);
        return NULL;
    }
    for (size_t i = 0; i < nparts; i++) {
        memcpy(db->stmts + db->nstmts, parts[i].s, parts[i].n * sizeof *db->stmts);
        db->nstmts += parts[i].n;
    }
    snprintf(db->application_name, sizeof db->application_name, "%s",
             o->application_name ? o->application_name : "tradedesk");
    db->statement_timeout_ms = o->statement_timeout_ms;
    db->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 2;
    db->nonblocking = o->nonblocking;
    db->quiet = o->quiet;
    db->gate_slots = o->gate_slots;
    db->gate_slot = -1;
    return db;
}

static void fail_all(td_db *db, td_status st);

void td_db_close(td_db *db)
{
    if (!db)
        return;
    fail_all(db, TD_EUNAVAIL);
    PQclear(db->result);
    if (db->conn)
        PQfinish(db->conn);
    free(db->conninfo);
    free(db->stmts);
    free(db->ready);
    free(db);
}

const char *td_db_last_sqlstate(const td_db *db)
{
    return db->sqlstate;
}

const char *td_db_last_error(const td_db *db)
{
    return db->error;
}

const char *td_db_last_cause(const td_db *db)
{
    return db->cause;
}

/* ---- shared by both faces ------------------------------------------- */

static const td_db_stmt *find_stmt(const td_db *db, const char *name)
{
    for (size_t i = 0; i < db->nstmts; i++)
        if (strcmp(db->stmts[i].name, name) == 0)
            return &db->stmts[i];
    return NULL;
}

static void drop(td_db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    db->state = NB_DOWN;
    memset(db->ready, 0, db->nstmts);
    db->in_flight = 0;
    db->preparing = 0;
    db->want_write = 0;
    PQclear(db->result);
    db->result = NULL;
}

static void clear_error(td_db *db)
{
    db->sqlstate[0] = '\0';
    db->error[0] = '\0';
}

/* What went wrong, for logs and the CLI: the server's primary message and
 * detail when there is a result, else the connection's message. */
static void note_error(td_db *db, const PGresult *r)
{
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (primary && detail)
        snprintf(db->error, sizeof db->error, "%s (%s)", primary, detail);
    else if (primary)
        snprintf(db->error, sizeof db->error, "%s", primary);
    else
        snprintf(db->error, sizeof db->error, "%s",
                 db->conn ? PQerrorMessage(db->conn) : "no connection");
    db->error[strcspn(db->error, "\n")] = '\0';
}

/* The one error classification.  Call with the failed result (or NULL). */
static td_status classify(td_db *db, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
    note_error(db, r);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
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

static int result_ok(const PGresult *r)
{
    ExecStatusType es = PQresultStatus(r);
    return r && (es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK);
}

/* libpq connection keywords shared by both faces.  dbname comes first and
 * is expanded, so our statement timeout and name win over the URL's. */
#define CONN_KEYS                                                                                  \
    {                                                                                              \
        "dbname", "connect_timeout", "options", "application_name", NULL                           \
    }

static void conn_values(const td_db *db, char *timeout, size_t tcap, char *opts, size_t ocap)
{
    snprintf(timeout, tcap, "%d", db->connect_timeout_s);
    if (db->statement_timeout_ms > 0)
        snprintf(opts, ocap, "-c statement_timeout=%d -c client_min_messages=warning",
                 db->statement_timeout_ms);
    else
        snprintf(opts, ocap, "-c client_min_messages=warning");
}

/* The throttle both faces share: at most one connection attempt a second
 * while the server stays down.  1 when an attempt is due (and counted). */
static int attempt_due(td_db *db)
{
    double t = td_mono_s();
    if (t < db->next_attempt)
        return 0;
    db->next_attempt = t + 1.0;
    return 1;
}

/* Start a connection attempt, for both faces: 0, or -1 with db->conn
 * NULL or CONNECTION_BAD.  The caller drives PQconnectPoll from
 * db->polling until db->connect_deadline. */
static int start_connect(td_db *db)
{
    char timeout[16], opts[96];
    conn_values(db, timeout, sizeof timeout, opts, sizeof opts);
    const char *keys[] = CONN_KEYS;
    const char *vals[] = {db->conninfo, timeout, opts, db->application_name, NULL};
    db->conn = PQconnectStartParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD)
        return -1;
    db->polling = PGRES_POLLING_WRITING; /* as libpq's documentation says to start */
    db->connect_deadline = td_mono_s() + db->connect_timeout_s;
    return 0;
}

static void connect_failed(td_db *db, const char *why);
static void connected(td_db *db);

/* ---- the blocking face ---------------------------------------------- */

/* Wait until the socket is ready for `events` or `deadline` (td_mono_s;
 * 0: none) passes.  1 ready, 0 expired, -1 broken. */
static int wait_socket(td_db *db, short events, double deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline > 0) {
            double left = deadline - td_mono_s();
            if (left <= 0)
                return 0;
            ms = (int)(left * 1000.0) + 1;
        }
        struct pollfd p = {.fd = PQsocket(db->conn), .events = events};
        if (p.fd < 0)
            return -1;
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* The deadline of a blocking call that starts now: the statement timeout
 * plus the margin (0: none, as without a statement timeout), or `cap_ms`
 * from now when that is sooner. */
static double deadline_in(const td_db *db, int cap_ms)
{
    double t = td_mono_s();
    double d = db->statement_timeout_ms > 0
                   ? t + (db->statement_timeout_ms + DEADLINE_MARGIN_MS) / 1000.0
                   : 0;
    if (cap_ms > 0 && (d == 0 || t + cap_ms / 1000.0 < d))
        d = t + cap_ms / 1000.0;
    return d;
}

/* Connect unless connected, within both connect_timeout and `deadline`. */
static td_status connect_until(td_db *db, double deadline)
{
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
        return TD_OK;
    drop(db);
    if (!attempt_due(db)) {
        snprintf(db->error, sizeof db->error, "not connected (next attempt in under a second)");
        return TD_EUNAVAIL;
    }
    if (start_connect(db) != 0) {
        connect_failed(db, db->conn ? NULL : "out of memory");
        return TD_EUNAVAIL;
    }
    double d = deadline > 0 && deadline < db->connect_deadline ? deadline : db->connect_deadline;
    while (db->polling != PGRES_POLLING_OK) {
        if (db->polling == PGRES_POLLING_FAILED) {
            connect_failed(db, NULL);
            return TD_EUNAVAIL;
        }
        short ev = db->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (wait_socket(db, ev, d) <= 0) {
            connect_failed(db, "connect timed out");
            return TD_EUNAVAIL;
        }
        db->polling = PQconnectPoll(db->conn);
    }
    connected(db);
    return db->conn ? TD_OK : TD_EUNAVAIL;
}

td_status td_db_connect(td_db *db)
{
    return connect_until(db, 0);
}

/* Ask the server to cancel what this connection runs, without waiting for
 * it: libpq 15's PQcancel waits for the server's reply with no timeout
 * (retrying on EINTR), and a stopped server never replies.  A grandchild
 * sends the request and dies of SIGALRM after CANCEL_S at the latest; we
 * wait only for the child that forks it, which exits at once (so no zombie
 * is left to this process). */
static void cancel_detached(td_db *db)
{
    PGcancel *c = PQgetCancel(db->conn);
    if (!c)
        return;
    pid_t kid = fork();
    if (kid == 0) {
        if (fork() == 0) {
            close_range(3, ~0U, 0); /* hold none of the worker's sockets open */
            signal(SIGALRM, SIG_DFL);
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGALRM);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            alarm(CANCEL_S);
            char err[256];
            PQcancel(c, err, sizeof err);
        }
        _exit(0);
    }
    if (kid > 0)
        while (waitpid(kid, NULL, 0) < 0 && errno == EINTR)
            ;
    PQfreeCancel(c);
}

/* The deadline passed with the server silent: cancel, drop, and keep the
 * once-a-second throttle so the next calls fail fast instead of each
 * waiting on a new connection to the same silent server. */
static void expired(td_db *db, double started)
{
    snprintf(db->error, sizeof db->error, "no answer from PostgreSQL within %.0f ms",
             (td_mono_s() - started) * 1000.0);
    if (!db->quiet)
        td_warn("db: %s; cancelling and dropping the connection", db->error);
    td_metrics_count(TD_M_DB_TIMEOUT);
    cancel_detached(db);
    drop(db);
    db->timed_out = 1;
    db->cause = "timeout";
    db->next_attempt = td_mono_s() + 1.0;
}

static int collect(td_db *db);

/* Send what PQsend* queued and wait for the command's last result (the
 * caller PQclear()s it).  NULL when the connection broke (left to classify)
 * or the deadline passed (db->timed_out, connection dropped). */
static PGresult *await_result(td_db *db, double deadline)
{
    double started = td_mono_s();
    for (;;) {
        int f = PQflush(db->conn); /* 0 sent, 1 more to send, -1 broken */
        if (f < 0)
            return NULL;
        if (f == 0 && collect(db)) {
            PGresult *r = db->result;
            db->result = NULL;
            return r;
        }
        /* Wait before reading, as libpq's own blocking calls do: no
         * read that would only say "nothing yet". */
        int w = wait_socket(db, f ? POLLIN | POLLOUT : POLLIN, deadline);
        if (w == 0) {
            expired(db, started);
            return NULL;
        }
        if (w < 0 || !PQconsumeInput(db->conn))
            return NULL;
    }
}

/* Statements are prepared on first use on each connection, so a program
 * whose tables do not exist yet (tradedesk migrate) can still connect, and
 * a connection costs no round trips for statements it never runs.  0 when
 * prepared, else the failure's status (its result cleared). */
static td_status prepare(td_db *db, const td_db_stmt *s, double deadline)
{
    size_t i = (size_t)(s - db->stmts);
    if (db->ready[i])
        return TD_OK;
    PGresult *r = NULL;
    if (PQsendPrepare(db->conn, s->name, s->sql, s->nparams, NULL))
        r = await_result(db, deadline);
    if (db->timed_out)
        return TD_EUNAVAIL;
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        db->ready[i] = 1;
        return TD_OK;
    }
    td_status st = classify(db, r);
    PQclear(r);
    if (st != TD_EUNAVAIL && !db->quiet)
        td_error("db: prepare %s failed: %s", s->name, db->error);
    return st == TD_EUNAVAIL ? st : TD_ERROR;
}

/* Take a gate slot for one blocking call; TD_EUNAVAIL (the reason in
 * db->error) when the share of workers waiting on PostgreSQL is full and
 * stuck.  Inside a transaction the slot is forced. */
static td_status gate_enter(td_db *db)
{
    db->timed_out = 0;
    db->cause = NULL;
    if (!db->gate_slots)
        return TD_OK;
    td_status st = td_dbgate_enter(db->gate_slots, td_db_in_transaction(db), &db->gate_slot,
                                   db->error, sizeof db->error);
    if (st != TD_OK) {
        db->sqlstate[0] = '\0';
        db->cause = "shed";
        td_metrics_count(TD_M_DB_SHED);
    }
    return st;
}

static void gate_leave(td_db *db)
{
    td_dbgate_leave(db->gate_slot);
    db->gate_slot = -1;
}

static PGresult *exec_once(td_db *db, const char *stmt, int nparams, const char *const *params,
                           td_status *st)
{
    const td_db_stmt *s = find_stmt(db, stmt);
    if (!s) {
        snprintf(db->error, sizeof db->error, "%s is not a declared statement", stmt);
        td_error("db: %s", db->error);
        *st = TD_ERROR;
        return NULL;
    }

    double deadline = deadline_in(db, 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        int was_connected = db->conn != NULL;
        if ((*st = connect_until(db, deadline)) != TD_OK)
            return NULL;
        int sent = 0; /* the statement itself reached the server */
        PGresult *r = NULL;
        if ((*st = prepare(db, s, deadline)) == TD_OK) {
            sent = 1;
            if (PQsendQueryPrepared(db->conn, stmt, nparams, params, NULL, NULL, 0))
                r = await_result(db, deadline);
            if (db->timed_out) {
                *st = TD_EUNAVAIL; /* the server is silent: nothing goes again */
                return NULL;
            }
            if (result_ok(r)) {
                clear_error(db);
                *st = TD_OK;
                return r;
            }
            *st = classify(db, r);
            if (*st != TD_EUNAVAIL && !db->quiet)
                td_error("db: %s failed: %s", stmt, db->error);
            PQclear(r);
        }
        if (*st != TD_EUNAVAIL || db->timed_out)
            return NULL;
        /* The connection died (e.g. the server restarted).  A read, or a
         * statement that never reached the server, may be sent again at
         * once on a fresh connection; a write may not. */
        drop(db);
        db->next_attempt = 0;
        if (!was_connected || (sent && !s->idempotent))
            return NULL;
    }
    return NULL;
}

PGresult *td_db_exec(td_db *db, const char *stmt, int nparams, const char *const *params,
                     td_status *st)
{
    PGresult *r = NULL;
    if ((*st = gate_enter(db)) == TD_OK) {
        r = exec_once(db, stmt, nparams, params, st);
        gate_leave(db);
    }
    if (!r)
        td_metrics_count(TD_M_DB_ERROR);
    return r;
}

/* Trusted text (several statements allowed); shared by td_db_command and
 * td_db_script.  The caller holds the gate. */
static td_status exec_text_once(td_db *db, const char *sql, long *error_pos, int log_failure)
{
    double deadline = deadline_in(db, 0);
    td_status st = connect_until(db, deadline);
    if (st != TD_OK)
        return st;
    PGresult *r = NULL;
    if (PQsendQuery(db->conn, sql))
        r = await_result(db, deadline);
    if (db->timed_out) {
        PQclear(r);
        return TD_EUNAVAIL;
    }
    ExecStatusType es = PQresultStatus(r);
    if (r && (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK || es == PGRES_EMPTY_QUERY)) {
        clear_error(db);
        PQclear(r);
        return TD_OK;
    }
    st = classify(db, r);
    if (error_pos) {
        const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
        *error_pos = pos ? atol(pos) : 0;
    }
    td_metrics_count(TD_M_DB_ERROR);
    if (log_failure && !db->quiet)
        td_error("db: '%s' failed: %s", sql, db->error);
    PQclear(r);
    if (st == TD_EUNAVAIL)
        drop(db);
    return st;
}

static td_status exec_text(td_db *db, const char *sql, long *error_pos, int log_failure)
{
    td_status st = gate_enter(db);
    if (st != TD_OK) {
        td_metrics_count(TD_M_DB_ERROR);
        return st;
    }
    st = exec_text_once(db, sql, error_pos, log_failure);
    gate_leave(db);
    return st;
}

td_status td_db_command(td_db *db, const char *sql)
{
    return exec_text(db, sql, NULL, 1);
}

td_status td_db_script(td_db *db, const char *sql, long *error_pos)
{
    *error_pos = 0;
    return exec_text(db, sql, error_pos, 0);
}

int td_db_in_transaction(const td_db *db)
{
    return db->conn && PQtransactionStatus(db->conn) == PQTRANS_INTRANS;
}

/* One SELECT 1 by `deadline`; TD_OK or TD_EUNAVAIL. */
static td_status ping_once(td_db *db, double deadline)
{
    if (connect_until(db, deadline) != TD_OK)
        return TD_EUNAVAIL;
    PGresult *r = NULL;
    if (PQsendQuery(db->conn, "SELECT 1"))
        r = await_result(db, deadline);
    td_status st = PQresultStatus(r) == PGRES_TUPLES_OK ? TD_OK : TD_EUNAVAIL;
    if (st != TD_OK && !db->timed_out)
        note_error(db, r);
    PQclear(r);
    if (st == TD_OK)
        clear_error(db);
    return st;
}

td_status td_db_ping(td_db *db, double *latency_ms)
{
    double t0 = td_mono_s();
    td_status st = gate_enter(db);
    if (st == TD_OK) {
        /* One budget for everything, connecting included. */
        double deadline = deadline_in(db, PING_MS);
        st = ping_once(db, deadline);
        if (st != TD_OK && !db->timed_out) {
            /* A stale connection (the server restarted): one fresh try. */
            drop(db);
            db->next_attempt = 0;
            st = ping_once(db, deadline);
        }
        gate_leave(db);
    }
    *latency_ms = (td_mono_s() - t0) * 1000.0;
    return st;
}

/* ---- the non-blocking face ------------------------------------------ */

static void query_free(query *q)
{
    for (int i = 0; i < q->nparams; i++)
        free(q->params[i]);
    free(q->params);
    free(q);
}

static query *pop(td_db *db)
{
    query *q = db->head;
    if (!q)
        return NULL;
    db->head = q->next;
    if (!db->head)
        db->tail = NULL;
    db->pending--;
    return q;
}

/* Answer the head of the queue.  It leaves the queue before its callback
 * runs, so the callback may send more queries. */
static void finish_head(td_db *db, td_status st, const PGresult *r)
{
    query *q = pop(db);
    db->in_flight = 0;
    if (!q)
        return;
    if (st != TD_OK)
        td_metrics_count(TD_M_DB_ERROR);
    q->fn(q->arg, st, st == TD_OK ? r : NULL);
    query_free(q);
}

static void fail_all(td_db *db, td_status st)
{
    while (db->head)
        finish_head(db, st, NULL);
}

td_status td_db_send(td_db *db, const char *stmt, int nparams, const char *const *params,
                     td_db_done_fn fn, void *arg)
{
    const td_db_stmt *s = find_stmt(db, stmt);
    if (!s || nparams != s->nparams || !fn) {
        td_error("db: send %s: not a declared statement with %d parameters", stmt, nparams);
        return TD_EINVAL;
    }
    if (db->pending >= TD_DB_QUEUE_MAX)
        return TD_ENOMEM;
    query *q = calloc(1, sizeof *q);
    if (!q)
        return TD_ENOMEM;
    q->params = nparams ? calloc((size_t)nparams, sizeof *q->params) : NULL;
    if (nparams && !q->params) {
        free(q);
        return TD_ENOMEM;
    }
    q->nparams = nparams;
    for (int i = 0; i < nparams; i++) {
        if (params[i] && !(q->params[i] = strdup(params[i]))) {
            query_free(q);
            return TD_ENOMEM;
        }
    }
    q->stmt = s;
    q->fn = fn;
    q->arg = arg;
    if (db->tail)
        db->tail->next = q;
    else
        db->head = q;
    db->tail = q;
    db->pending++;
    return TD_OK;
}

/* The connection broke under us: an idempotent query in flight gets one
 * more try on the next connection; anything else in flight fails. */
static void nb_broken(td_db *db)
{
    note_error(db, NULL);
    if (!db->quiet)
        td_warn("db: connection lost: %s", db->error);
    int retry = db->in_flight && db->head && db->head->stmt->idempotent && db->head->attempts == 0;
    if (db->in_flight && !retry)
        finish_head(db, TD_EUNAVAIL, NULL);
    else if (retry)
        db->head->attempts++;
    drop(db);
    db->next_attempt = 0; /* it was up a moment ago: try again at once */
}

static int socket_ready(const td_db *db, short events)
{
    struct pollfd p = {.fd = PQsocket(db->conn), .events = events};
    return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Shared by both faces (the blocking face has no queue to fail). */
static void connect_failed(td_db *db, const char *why)
{
    if (why)
        snprintf(db->error, sizeof db->error, "%s", why);
    else
        note_error(db, NULL);
    if (!db->quiet)
        td_warn("db: connect failed: %s", db->error);
    drop(db);
    fail_all(db, TD_EUNAVAIL);
}

static void nb_start_connect(td_db *db)
{
    if (!attempt_due(db)) {
        fail_all(db, TD_EUNAVAIL); /* an outage costs each query one fast failure */
        return;
    }
    if (start_connect(db) != 0) {
        connect_failed(db, db->conn ? NULL : "out of memory");
        return;
    }
    db->state = NB_CONNECTING;
}

/* Both faces keep the connection non-blocking: the blocking face waits
 * in poll() with a deadline, never inside libpq. */
static void connected(td_db *db)
{
    if (PQsetnonblocking(db->conn, 1) != 0) {
        connect_failed(db, NULL);
        return;
    }
    db->state = NB_READY;
    db->next_attempt = 0;
    db->generation++;
    clear_error(db);
    if (!db->quiet)
        td_info("db: connected");
}

static void nb_poll_connect(td_db *db)
{
    if (td_mono_s() > db->connect_deadline) {
        connect_failed(db, "connect timed out");
        return;
    }
    short ev = db->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!socket_ready(db, ev))
        return;
    db->polling = PQconnectPoll(db->conn);
    if (db->polling == PGRES_POLLING_FAILED)
        connect_failed(db, NULL);
    else if (db->polling == PGRES_POLLING_OK)
        connected(db);
}

/* Take the results read so far; 1 when a whole command's results are in
 * (the last one in db->result), 0 when more must arrive.  Both faces. */
static int collect(td_db *db)
{
    while (!PQisBusy(db->conn)) {
        PGresult *r = PQgetResult(db->conn);
        if (!r)
            return 1;
        PQclear(db->result);
        db->result = r;
    }
    return 0;
}

/* Hand every notification read so far to the listener. */
static void drain_notifies(td_db *db)
{
    PGnotify *n;
    while ((n = PQnotifies(db->conn))) {
        if (db->notify_fn)
            db->notify_fn(db->notify_arg, n->relname, n->extra);
        PQfreemem(n);
    }
}

/* Read what has arrived: collect's answer, or -1 when broken. */
static int nb_read(td_db *db)
{
    if (!PQconsumeInput(db->conn))
        return -1;
    drain_notifies(db);
    return collect(db);
}

/* Send the head of the queue: its PREPARE first when this connection has
 * not prepared it yet (answered before the query goes). */
static void nb_send_head(td_db *db)
{
    query *q = db->head;
    size_t i = (size_t)(q->stmt - db->stmts);
    int ok;
    if (!db->ready[i]) {
        ok = PQsendPrepare(db->conn, q->stmt->name, q->stmt->sql, q->stmt->nparams, NULL);
        db->preparing = 1;
    } else {
        ok = PQsendQueryPrepared(db->conn, q->stmt->name, q->nparams,
                                 (const char *const *)q->params, NULL, NULL, 0);
        db->preparing = 0;
    }
    if (!ok) {
        /* Nothing reached the server: the query may go again. */
        db->in_flight = 0;
        nb_broken(db);
        return;
    }
    db->in_flight = 1;
    db->want_write = PQflush(db->conn) == 1;
}

/* A whole answer to what was in flight has arrived in r. */
static void nb_answer(td_db *db, PGresult *r)
{
    query *q = db->head;
    if (result_ok(r)) {
        if (db->preparing) {
            db->ready[q->stmt - db->stmts] = 1;
            db->preparing = 0;
            db->in_flight = 0; /* the query itself goes next */
        } else {
            clear_error(db);
            finish_head(db, TD_OK, r);
        }
        return;
    }
    td_status st = classify(db, r);
    if (st == TD_EUNAVAIL) {
        /* A PREPARE that died never ran the query: it may go again. */
        if (db->preparing)
            db->in_flight = 0;
        nb_broken(db);
        return;
    }
    if (!db->quiet)
        td_error("db: %s %s failed: %s", db->preparing ? "prepare" : "statement", q->stmt->name,
                 db->error);
    finish_head(db, db->preparing ? TD_ERROR : st, NULL);
    db->preparing = 0;
}

void td_db_service(td_db *db)
{
    for (;;) {
        switch (db->state) {
        case NB_DOWN:
            if (!db->head)
                return;
            nb_start_connect(db);
            if (db->state == NB_DOWN)
                return;
            break;
        case NB_CONNECTING:
            nb_poll_connect(db);
            if (db->state != NB_READY)
                return;
            break;
        case NB_READY: {
            if (PQstatus(db->conn) != CONNECTION_OK ||
                (db->want_write && (db->want_write = PQflush(db->conn)) < 0)) {
                nb_broken(db);
                break;
            }
            if (!db->in_flight) {
                if (!db->head) {
                    /* Idle: still read, so a server that went away (or a
                     * notice) is noticed before the next query. */
                    if (!PQconsumeInput(db->conn))
                        nb_broken(db);
                    else
                        drain_notifies(db);
                    return;
                }
                nb_send_head(db);
                break;
            }
            int done = nb_read(db);
            if (done < 0) {
                nb_broken(db);
                break;
            }
            if (done == 0)
                return;
            PGresult *r = db->result;
            db->result = NULL;
            nb_answer(db, r);
            PQclear(r);
            break;
        }
        }
    }
}

void td_db_on_notify(td_db *db, td_db_notify_fn fn, void *arg)
{
    db->notify_fn = fn;
    db->notify_arg = arg;
}

unsigned td_db_generation(const td_db *db)
{
    return db->generation;
}

int td_db_fd(const td_db *db)
{
    return db->conn ? PQsocket(db->conn) : -1;
}

int td_db_events(const td_db *db)
{
    if (!db->conn)
        return 0;
    if (db->state == NB_CONNECTING)
        return db->polling == PGRES_POLLING_READING ? TD_DB_WANT_READ : TD_DB_WANT_WRITE;
    return TD_DB_WANT_READ | (db->want_write ? TD_DB_WANT_WRITE : 0);
}

size_t td_db_pending(const td_db *db)
{
    return db->pending;
}

int td_db_ready(const td_db *db)
{
    return db->conn && PQstatus(db->conn) == CONNECTION_OK &&
           (!db->nonblocking || db->state == NB_READY);
}
