/*
 * test_throttle.c - at most one write per key per period, the newest value
 * last (core/throttle.h): the first change of a key is written at once,
 * changes within the period wait and go out once when it has passed, keys
 * are independent, a reset writes every key again at its next change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/throttle.h"

static void first_change_is_written_at_once(void **state)
{
    (void)state;
    td_throttle t;
    assert_int_equal(td_throttle_init(&t, 4, 100), TD_OK);
    assert_true(td_throttle_change(&t, 0, 1000));
    assert_true(td_throttle_change(&t, 1, 1000)); /* keys are independent */
    assert_true(td_throttle_change(&t, 0, 1100)); /* a period later: again */
    td_throttle_free(&t);
}

static void changes_within_the_period_go_out_once_after_it(void **state)
{
    (void)state;
    td_throttle t;
    int due[4];
    assert_int_equal(td_throttle_init(&t, 4, 100), TD_OK);
    assert_true(td_throttle_change(&t, 2, 1000));
    assert_false(td_throttle_change(&t, 2, 1010));
    assert_false(td_throttle_change(&t, 2, 1050)); /* still one pending */
    assert_int_equal(td_throttle_next_due(&t), 1100);
    assert_int_equal(td_throttle_due(&t, 1099, due, 4), 0);
    assert_int_equal(td_throttle_due(&t, 1100, due, 4), 1);
    assert_int_equal(td_throttle_next_due(&t), INT64_MAX); /* none pending */
    assert_int_equal(due[0], 2);
    assert_int_equal(td_throttle_due(&t, 1300, due, 4), 0); /* handed out once */
    /* The write it was handed out for starts the next period. */
    assert_false(td_throttle_change(&t, 2, 1150));
    assert_int_equal(td_throttle_due(&t, 1199, due, 4), 0);
    assert_int_equal(td_throttle_due(&t, 1200, due, 4), 1);
    td_throttle_free(&t);
}

static void a_change_after_a_quiet_period_is_written_at_once(void **state)
{
    (void)state;
    td_throttle t;
    int due[4];
    assert_int_equal(td_throttle_init(&t, 4, 100), TD_OK);
    assert_true(td_throttle_change(&t, 1, 1000));
    assert_false(td_throttle_change(&t, 1, 1020));
    assert_int_equal(td_throttle_due(&t, 1120, due, 4), 1);
    assert_true(td_throttle_change(&t, 1, 1500)); /* nothing pending, period over */
    td_throttle_free(&t);
}

static void due_respects_its_cap_and_keeps_the_rest(void **state)
{
    (void)state;
    td_throttle t;
    int due[4];
    assert_int_equal(td_throttle_init(&t, 4, 100), TD_OK);
    for (int k = 0; k < 4; k++) {
        assert_true(td_throttle_change(&t, k, 1000));
        assert_false(td_throttle_change(&t, k, 1001));
    }
    assert_int_equal(td_throttle_due(&t, 1200, due, 3), 3);
    assert_int_equal(td_throttle_due(&t, 1200, due, 3), 1);
    assert_int_equal(due[0], 3);
    assert_false(td_throttle_change(&t, 9, 5000)); /* out of range: nothing */
    assert_false(td_throttle_change(&t, -1, 5000));
    td_throttle_free(&t);
}

static void reset_writes_again_at_the_next_change(void **state)
{
    (void)state;
    td_throttle t;
    assert_int_equal(td_throttle_init(&t, 2, 100), TD_OK);
    assert_true(td_throttle_change(&t, 0, 1000));
    td_throttle_reset(&t);
    assert_true(td_throttle_change(&t, 0, 1001));
    td_throttle_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_change_is_written_at_once),
        cmocka_unit_test(changes_within_the_period_go_out_once_after_it),
        cmocka_unit_test(a_change_after_a_quiet_period_is_written_at_once),
        cmocka_unit_test(due_respects_its_cap_and_keeps_the_rest),
        cmocka_unit_test(reset_writes_again_at_the_next_change),
    };
    return cmocka_run_group_tests_name("throttle", tests, NULL, NULL);
}
