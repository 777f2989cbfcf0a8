/*
 * test_gate.c - the shared bounded gate (core/gate.h): never more holders
 * than the limit, seats given back by leave and by the master forgetting a
 * dead holder, the peak, a new limit, and a child process sharing it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/gate.h"

#include <sys/wait.h>
#include <unistd.h>

static void never_more_than_the_limit(void **state)
{
    (void)state;
    td_gate *g = td_gate_create(2);
    assert_non_null(g);
    assert_int_equal(td_gate_limit(g), 2);
    int a = td_gate_enter(g), b = td_gate_enter(g);
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(td_gate_enter(g), -1);
    assert_int_equal(td_gate_in_flight(g), 2);
    td_gate_leave(g, a);
    assert_int_equal(td_gate_in_flight(g), 1);
    int c = td_gate_enter(g);
    assert_int_equal(c, a);
    assert_int_equal(td_gate_enter(g), -1);
    td_gate_leave(g, b);
    td_gate_leave(g, c);
    assert_int_equal(td_gate_in_flight(g), 0);
    assert_int_equal(td_gate_peak(g), 2);
    td_gate_destroy(g);
}

static void limit_is_clamped_and_changed(void **state)
{
    (void)state;
    td_gate *g = td_gate_create(0);
    assert_int_equal(td_gate_limit(g), 1);
    td_gate_set_limit(g, 100000);
    assert_int_equal(td_gate_limit(g), TD_GATE_MAX);
    td_gate_set_limit(g, 3);
    for (int i = 0; i < 3; i++)
        assert_true(td_gate_enter(g) >= 0);
    assert_int_equal(td_gate_enter(g), -1);
    td_gate_destroy(g);
}

/* A child takes a seat and dies without leaving: the seat stays taken
 * (shared memory) until the parent, as the master, forgets the pid. */
static void dead_holder_is_forgotten(void **state)
{
    (void)state;
    td_gate *g = td_gate_create(1);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0)
        _exit(td_gate_enter(g) == 0 ? 0 : 1);
    int st;
    assert_int_equal(waitpid(kid, &st, 0), kid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(td_gate_in_flight(g), 1);
    assert_int_equal(td_gate_enter(g), -1);
    td_gate_forget_pid(g, getpid()); /* not the holder: nothing changes */
    assert_int_equal(td_gate_in_flight(g), 1);
    td_gate_forget_pid(g, kid);
    assert_int_equal(td_gate_in_flight(g), 0);
    int s = td_gate_enter(g);
    assert_int_equal(s, 0);
    td_gate_leave(g, s);
    td_gate_destroy(g);
}

static void no_gate_admits_everybody(void **state)
{
    (void)state;
    assert_int_equal(td_gate_enter(NULL), TD_GATE_MAX);
    td_gate_leave(NULL, TD_GATE_MAX);
    td_gate_forget_pid(NULL, 1);
    assert_int_equal(td_gate_in_flight(NULL), 0);
    assert_int_equal(td_gate_peak(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(never_more_than_the_limit),
        cmocka_unit_test(limit_is_clamped_and_changed),
        cmocka_unit_test(dead_holder_is_forgotten),
        cmocka_unit_test(no_gate_admits_everybody),
    };
    return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
