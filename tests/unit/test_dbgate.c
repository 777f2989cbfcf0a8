/*
 * test_dbgate.c - unit tests for the workers' share for PostgreSQL
 * (store/dbgate.c) in memory shared with forked children, as the API's
 * master shares it with its workers: the limit's arithmetic, a full gate
 * that waits while its holders make progress and refuses once they are
 * stuck, forced entries inside a transaction, and slots of a dead worker
 * given back by pid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "store/dbgate.h"

static void limit_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(td_dbgate_limit(1, 50), 1); /* one worker: it must be allowed */
    assert_int_equal(td_dbgate_limit(2, 50), 1);
    assert_int_equal(td_dbgate_limit(8, 50), 4);
    assert_int_equal(td_dbgate_limit(8, 1), 1);   /* never zero */
    assert_int_equal(td_dbgate_limit(8, 100), 7); /* one worker always left free */
    assert_int_equal(td_dbgate_limit(256, 50), 128);
}

/* Before the master maps it (the CLI, other unit tests): no gate. */
static void unmapped_admits_everything(void **state)
{
    (void)state;
    int slot;
    char why[128];
    for (int i = 0; i < 10; i++)
        assert_int_equal(td_dbgate_enter(1, 0, &slot, why, sizeof why), TD_OK);
    assert_int_equal(slot, -1);
    td_dbgate_leave(slot);
    assert_int_equal(td_dbgate_held(), 0);
}

static int map(void **state)
{
    (void)state;
    return td_dbgate_shared_init() == TD_OK ? 0 : -1;
}

/* A child takes a slot, says so on the pipe, holds it `hold_ms`, gives it
 * back (or dies holding it when hold_ms < 0: the parent kills it). */
static pid_t holder(int limit, int hold_ms)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        int slot;
        char why[128];
        if (td_dbgate_enter(limit, 0, &slot, why, sizeof why) != TD_OK)
            _exit(2);
        if (write(p[1], "x", 1) != 1)
            _exit(3);
        if (hold_ms < 0)
            pause();
        usleep((useconds_t)hold_ms * 1000);
        td_dbgate_leave(slot);
        _exit(0);
    }
    char c;
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return kid;
}

static void wait_ok(pid_t kid)
{
    int st;
    assert_int_equal(waitpid(kid, &st, 0), kid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Full but moving: the caller waits for the slot a sibling gives back. */
static void busy_gate_waits(void **state)
{
    (void)state;
    pid_t a = holder(2, 30), b = holder(2, 30);
    assert_int_equal(td_dbgate_held(), 2);
    int slot;
    char why[128];
    int64_t t0 = td_mono_ns();
    assert_int_equal(td_dbgate_enter(2, 0, &slot, why, sizeof why), TD_OK);
    assert_true(slot >= 0 && slot < 2);
    assert_true(td_mono_ns() - t0 < (int64_t)TD_DBGATE_PATIENCE_MS * 1000000);
    td_dbgate_leave(slot);
    wait_ok(a);
    wait_ok(b);
    assert_int_equal(td_dbgate_held(), 0);
}

/* Full and stuck: refused once the holders have been quiet for the
 * patience, and at once after that; a forced entry still gets in; a
 * holder that dies is given back by td_dbgate_forget. */
static void stuck_gate_refuses(void **state)
{
    (void)state;
    pid_t a = holder(1, -1);
    int slot;
    char why[128] = "";
    int64_t t0 = td_mono_ns();
    assert_int_equal(td_dbgate_enter(1, 0, &slot, why, sizeof why), TD_EUNAVAIL);
    int64_t waited = td_mono_ns() - t0;
    assert_true(waited < 5LL * TD_DBGATE_PATIENCE_MS * 1000000);
    assert_non_null(strstr(why, "PostgreSQL is not answering"));
    assert_int_equal(slot, -1);
    t0 = td_mono_ns();
    assert_int_equal(td_dbgate_enter(1, 0, &slot, why, sizeof why), TD_EUNAVAIL);
    assert_true(td_mono_ns() - t0 < 20 * 1000000); /* stuck already: no second wait */

    assert_int_equal(td_dbgate_enter(1, 1, &slot, why, sizeof why), TD_OK); /* forced */
    assert_true(slot >= 1);
    assert_int_equal(td_dbgate_held(), 2);
    td_dbgate_leave(slot);

    kill(a, SIGKILL);
    assert_int_equal(waitpid(a, NULL, 0), a);
    assert_int_equal(td_dbgate_held(), 1); /* the dead child's slot stays taken ... */
    td_dbgate_forget(a);                   /* ... until the master forgets it */
    assert_int_equal(td_dbgate_held(), 0);
    assert_int_equal(td_dbgate_enter(1, 0, &slot, why, sizeof why), TD_OK);
    td_dbgate_leave(slot);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_arithmetic),
        cmocka_unit_test(unmapped_admits_everything),
        cmocka_unit_test_setup(busy_gate_waits, map),
        cmocka_unit_test(stuck_gate_refuses),
    };
    return cmocka_run_group_tests_name("dbgate", tests, NULL, NULL);
}
