/*
 * test_db.c - store/db against the real PostgreSQL of the test stack: the
 * non-blocking face the engine and the stream will drive from their event
 * loops, and the blocking face's script and error reporting the CLI uses.
 *
 * The event loop here is a plain poll() on td_db_fd, as an lws loop would
 * watch the same socket.  PostgreSQL is stopped and started through the
 * stack script, and a backend is terminated under an in-flight query, to
 * check the one retry rule: a read is sent again once, a write never.
 * PostgreSQL is also stalled (SIGSTOP of every server process) to check
 * the blocking face's client-side deadline: a silent server costs a call
 * the statement timeout plus a second, never a hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"
#include "store/db.h"

static const td_db_stmt stmts[] = {
    {"t_add_one", "SELECT $1::int + 1", 1, 1},
    {"t_int", "SELECT $1::int", 1, 1},
    {"t_pid", "SELECT pg_backend_pid()", 0, 1},
    {"t_sleep_read", "SELECT pg_sleep(0.6), 7", 0, 1},
    {"t_sleep_write", "SELECT pg_sleep(0.6), 8", 0, 0},
    {"t_session_insert",
     "INSERT INTO sessions (id, user_id, expires_at) SELECT $1, id, now() + interval '1 minute' "
     "FROM users WHERE username = 'alice'",
     1, 0},
    {"t_missing_table", "SELECT x FROM no_such_table_here", 0, 1},
    {"t_terminate", "SELECT pg_terminate_backend($1::int)", 1, 0},
};

static td_db *open_db_timeout(int nonblocking, int statement_timeout_ms)
{
    const char *url = getenv("TRADEDESK_DATABASE_URL");
    assert_non_null(url);
    td_db_opts o = {.conninfo = url,
                    .application_name = "tradedesk-test",
                    .statement_timeout_ms = statement_timeout_ms,
                    .nonblocking = nonblocking,
                    .quiet = 1};
    td_db_stmts parts[] = {{stmts, TD_ARRAY_LEN(stmts)}};
    td_db *db = td_db_open(&o, parts, 1);
    assert_non_null(db);
    return db;
}

static td_db *open_db(int nonblocking)
{
    return open_db_timeout(nonblocking, 0);
}

/* The event loop: wait on the socket as td_db_events asks, then service. */
static void drive(td_db *db, int timeout_ms)
{
    long long end = itest_now_ms() + timeout_ms;
    td_db_service(db);
    while (td_db_pending(db) > 0 && itest_now_ms() < end) {
        int fd = td_db_fd(db), ev = td_db_events(db);
        if (fd >= 0 && ev) {
            struct pollfd p = {.fd = fd,
                               .events = (short)((ev & TD_DB_WANT_READ ? POLLIN : 0) |
                                                 (ev & TD_DB_WANT_WRITE ? POLLOUT : 0))};
            poll(&p, 1, 50);
        } else {
            usleep(50 * 1000);
        }
        td_db_service(db);
    }
}

typedef struct answers {
    int n;
    td_status st[512];
    long long value[512];
    void *tag[512];
} answers;

static void on_done(void *arg, td_status st, const PGresult *r)
{
    answers *a = arg;
    if (a->n >= 512)
        return;
    a->st[a->n] = st;
    a->value[a->n] = r && PQntuples(r) > 0 ? atoll(PQgetvalue(r, 0, PQnfields(r) - 1)) : -1;
    a->n++;
}

static void send_int(td_db *db, const char *stmt, int v, answers *a)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%d", v);
    const char *p[] = {buf};
    assert_int_equal(td_db_send(db, stmt, 1, p, on_done, a), TD_OK);
}

/* 300 queries queued at once are answered once each, in the order sent,
 * with the parameters they were sent with (copied at send time). */
static void nb_answers_in_order(void **state)
{
    (void)state;
    td_db *db = open_db(1);
    answers *a = calloc(1, sizeof *a);
    for (int i = 0; i < 300; i++)
        send_int(db, "t_add_one", i, a);
    assert_int_equal(td_db_pending(db), 300);
    drive(db, 10000);
    assert_int_equal(a->n, 300);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(a->st[i], TD_OK);
        assert_int_equal(a->value[i], i + 1);
    }
    assert_int_equal(td_db_pending(db), 0);
    assert_true(td_db_ready(db));
    td_db_close(db);
    free(a);
}

/* Errors classify as on the blocking face, and the connection stays
 * usable after each. */
static void nb_errors_classified(void **state)
{
    (void)state;
    td_db *db = open_db(1);
    answers *a = calloc(1, sizeof *a);
    const char *bad[] = {"not a number"};
    assert_int_equal(td_db_send(db, "t_int", 1, bad, on_done, a), TD_OK);
    char sid[40];
    snprintf(sid, sizeof sid, "%016llx%08x%08x", itest_now_ms(), (unsigned)getpid(),
             (unsigned)rand());
    const char *p[] = {sid};
    assert_int_equal(td_db_send(db, "t_session_insert", 1, p, on_done, a), TD_OK);
    assert_int_equal(td_db_send(db, "t_session_insert", 1, p, on_done, a), TD_OK);
    assert_int_equal(td_db_send(db, "t_missing_table", 0, NULL, on_done, a), TD_OK);
    send_int(db, "t_add_one", 41, a);
    drive(db, 10000);
    assert_int_equal(a->n, 5);
    assert_int_equal(a->st[0], TD_EINVAL);    /* 22P02 invalid text representation */
    assert_int_equal(a->st[1], TD_OK);        /* inserted */
    assert_int_equal(a->st[2], TD_ECONFLICT); /* 23505 the same id again */
    assert_int_equal(a->st[3], TD_ERROR);     /* cannot even be prepared */
    assert_int_equal(a->st[4], TD_OK);
    assert_int_equal(a->value[4], 42);

    /* Not a declared statement, or the wrong parameter count: refused at
     * once, no callback. */
    assert_int_equal(td_db_send(db, "nope", 0, NULL, on_done, a), TD_EINVAL);
    assert_int_equal(td_db_send(db, "t_int", 0, NULL, on_done, a), TD_EINVAL);
    assert_int_equal(a->n, 5);
    td_db_close(db);
    free(a);
}

/* The backend dies under an in-flight read: it is sent again once on a new
 * connection and answers.  Under an in-flight write: TD_EUNAVAIL, never a
 * second execution. */
static void nb_retry_rule(void **state)
{
    (void)state;
    td_db *db = open_db(1), *killer = open_db(0);
    for (int round = 0; round < 2; round++) {
        answers *a = calloc(1, sizeof *a);
        assert_int_equal(td_db_send(db, "t_pid", 0, NULL, on_done, a), TD_OK);
        drive(db, 5000);
        assert_int_equal(a->st[0], TD_OK);
        char pid[16];
        snprintf(pid, sizeof pid, "%lld", a->value[0]);

        const char *stmt = round == 0 ? "t_sleep_read" : "t_sleep_write";
        assert_int_equal(td_db_send(db, stmt, 0, NULL, on_done, a), TD_OK);
        td_db_service(db); /* on its way */
        usleep(150 * 1000);
        td_status st;
        const char *p[] = {pid};
        PGresult *r = td_db_exec(killer, "t_terminate", 1, p, &st);
        assert_int_equal(st, TD_OK);
        PQclear(r);
        drive(db, 10000);
        assert_int_equal(a->n, 2);
        if (round == 0) {
            assert_int_equal(a->st[1], TD_OK);
            assert_int_equal(a->value[1], 7);
        } else {
            assert_int_equal(a->st[1], TD_EUNAVAIL);
        }
        free(a);
    }
    td_db_close(db);
    td_db_close(killer);
}

/* PostgreSQL down: every queued query fails fast with TD_EUNAVAIL (no
 * hang); back up: the same td_db reconnects by itself. */
static void nb_outage_and_recovery(void **state)
{
    (void)state;
    td_db *db = open_db(1);
    answers *a = calloc(1, sizeof *a);
    send_int(db, "t_add_one", 1, a);
    drive(db, 5000);
    assert_int_equal(a->st[0], TD_OK);

    assert_int_equal(itest_stack("stop pg"), 0);
    long long t0 = itest_now_ms();
    send_int(db, "t_add_one", 2, a);
    send_int(db, "t_add_one", 3, a);
    drive(db, 10000);
    assert_int_equal(a->n, 3);
    assert_int_equal(a->st[1], TD_EUNAVAIL);
    assert_int_equal(a->st[2], TD_EUNAVAIL);
    assert_true(itest_now_ms() - t0 < 5000);
    assert_false(td_db_ready(db));

    assert_int_equal(itest_stack("start pg"), 0);
    long long deadline = itest_now_ms() + 15000;
    int ok = 0;
    while (!ok && itest_now_ms() < deadline) {
        int before = a->n;
        send_int(db, "t_add_one", 99, a);
        drive(db, 5000);
        assert_int_equal(a->n, before + 1);
        ok = a->st[before] == TD_OK && a->value[before] == 100;
        if (!ok)
            usleep(200 * 1000);
    }
    assert_true(ok);
    td_db_close(db);
    free(a);
}

/* Closing with queries pending answers each of them TD_EUNAVAIL. */
static void nb_close_answers_pending(void **state)
{
    (void)state;
    td_db *db = open_db(1);
    answers *a = calloc(1, sizeof *a);
    send_int(db, "t_add_one", 1, a);
    send_int(db, "t_add_one", 2, a);
    td_db_close(db);
    assert_int_equal(a->n, 2);
    assert_int_equal(a->st[0], TD_EUNAVAIL);
    assert_int_equal(a->st[1], TD_EUNAVAIL);
    free(a);
}

/* The blocking face's script runner: the server's position of a failure
 * and its message, the transaction state the CLI checks after a script,
 * and a statement whose table is missing failing alone (prepared lazily). */
static void blocking_script_and_errors(void **state)
{
    (void)state;
    td_db *db = open_db(0);
    assert_int_equal(td_db_connect(db), TD_OK);
    long pos = -1;
    assert_int_equal(td_db_script(db, "SELECT 1;\nSELECT nope_column FROM users;", &pos), TD_ERROR);
    assert_true(pos > 10);
    assert_non_null(strstr(td_db_last_error(db), "nope_column"));
    assert_string_equal(td_db_last_sqlstate(db), "42703");

    assert_int_equal(td_db_command(db, "BEGIN"), TD_OK);
    assert_true(td_db_in_transaction(db));
    assert_int_equal(
        td_db_script(db, "CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (1);", &pos), TD_OK);
    assert_string_equal(td_db_last_error(db), "");
    assert_int_equal(td_db_command(db, "ROLLBACK"), TD_OK);
    assert_false(td_db_in_transaction(db));

    td_status st;
    assert_null(td_db_exec(db, "t_missing_table", 0, NULL, &st));
    assert_int_equal(st, TD_ERROR);
    const char *p[] = {"5"};
    PGresult *r = td_db_exec(db, "t_add_one", 1, p, &st);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "6");
    PQclear(r);
    assert_null(td_db_exec(db, "not_declared", 0, NULL, &st));
    assert_int_equal(st, TD_ERROR);
    td_db_close(db);
}

static int pg_continue(void **state)
{
    (void)state;
    itest_pg_signal(SIGCONT); /* always, even when the test failed midway */
    return 0;
}

/* The blocking face's deadline.  A live server enforces statement_timeout
 * itself (57014, the connection stays).  A stopped one never answers: the
 * call gives up at the timeout plus a second with TD_EUNAVAIL, the write is
 * not sent again, the next calls fail fast for a second, a ping gives up
 * within its 800 ms; after SIGCONT the same td_db works again. */
static void blocking_deadline_on_a_stalled_server(void **state)
{
    (void)state;
    td_db *db = open_db_timeout(0, 300);
    td_status st;
    long long t0 = itest_now_ms();
    assert_null(td_db_exec(db, "t_sleep_read", 0, NULL, &st));
    assert_int_equal(st, TD_ERROR);
    assert_string_equal(td_db_last_sqlstate(db), "57014");
    assert_true(itest_now_ms() - t0 < 1000);
    const char *p[] = {"1"};
    PGresult *r = td_db_exec(db, "t_add_one", 1, p, &st);
    assert_non_null(r);
    PQclear(r);

    assert_true(itest_pg_signal(SIGSTOP) > 1);
    t0 = itest_now_ms();
    assert_null(td_db_exec(db, "t_add_one", 1, p, &st));
    long long took = itest_now_ms() - t0;
    fprintf(stderr, "    read on a stalled server: %lld ms\n", took);
    assert_int_equal(st, TD_EUNAVAIL);
    assert_string_equal(td_db_last_cause(db), "timeout");
    assert_true(took >= 1200 && took < 3000); /* 300 + 1000 ms, never the hang */

    char sid[40];
    snprintf(sid, sizeof sid, "stall%011lld%08x", itest_now_ms(), (unsigned)getpid());
    const char *w[] = {sid};
    t0 = itest_now_ms();
    assert_null(td_db_exec(db, "t_session_insert", 1, w, &st));
    assert_int_equal(st, TD_EUNAVAIL); /* within the throttle: at once */
    assert_true(itest_now_ms() - t0 < 500);

    double ms = 0;
    t0 = itest_now_ms();
    assert_int_equal(td_db_ping(db, &ms), TD_EUNAVAIL);
    took = itest_now_ms() - t0;
    fprintf(stderr, "    ping on a stalled server: %lld ms (reported %.0f)\n", took, ms);
    assert_true(took < 1500);
    assert_true(ms >= 0 && ms < 1500);

    assert_true(itest_pg_signal(SIGCONT) > 1);
    long long deadline = itest_now_ms() + 15000;
    while (!(r = td_db_exec(db, "t_add_one", 1, p, &st)) && itest_now_ms() < deadline)
        usleep(200 * 1000);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    assert_int_equal(td_db_ping(db, &ms), TD_OK);
    td_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nb_answers_in_order),
        cmocka_unit_test(nb_errors_classified),
        cmocka_unit_test(nb_retry_rule),
        cmocka_unit_test(nb_close_answers_pending),
        cmocka_unit_test(blocking_script_and_errors),
        cmocka_unit_test(nb_outage_and_recovery),
        cmocka_unit_test_teardown(blocking_deadline_on_a_stalled_server, pg_continue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
