/*
 * test_session_verdict.c - what Redis' answer alone may decide about a
 * session (store/session.h td_session_redis_verdict): a tombstone always
 * refuses, a positive entry counts only while Redis' revocation mark is
 * at least the newest epoch the worker knows of, and anything it cannot
 * read sends the check to PostgreSQL.  Pure: no server is touched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/session.h"

static void tombstone_always_refuses(void **state)
{
    (void)state;
    assert_int_equal(td_session_redis_verdict("-", "5", 5, 42), TD_SESSION_DENIED);
    assert_int_equal(td_session_redis_verdict("-", "0", 9, 42), TD_SESSION_DENIED);
    assert_int_equal(td_session_redis_verdict("-", NULL, 9, 42), TD_SESSION_DENIED);
}

static void positive_needs_a_current_mark(void **state)
{
    (void)state;
    assert_int_equal(td_session_redis_verdict("42", "7", 7, 42), TD_SESSION_VALID);
    assert_int_equal(td_session_redis_verdict("42", "8", 7, 42), TD_SESSION_VALID);
    /* A tombstone write failed, a trigger revoked, or an old snapshot. */
    assert_int_equal(td_session_redis_verdict("42", "6", 7, 42), TD_SESSION_ASK_DB);
    /* Flushed: the mark reads "0". */
    assert_int_equal(td_session_redis_verdict("42", "0", 1, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_redis_verdict("42", "0", 0, 42), TD_SESSION_VALID);
    /* The mark could not be read. */
    assert_int_equal(td_session_redis_verdict("42", NULL, 0, 42), TD_SESSION_ASK_DB);
}

static void other_users_session_refused(void **state)
{
    (void)state;
    assert_int_equal(td_session_redis_verdict("41", "7", 7, 42), TD_SESSION_DENIED);
    assert_int_equal(td_session_redis_verdict("41", "6", 7, 42), TD_SESSION_ASK_DB);
}

static void garbage_goes_to_the_database(void **state)
{
    (void)state;
    assert_int_equal(td_session_redis_verdict(NULL, "7", 7, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_redis_verdict("42x", "7", 7, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_redis_verdict("", "7", 7, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_redis_verdict("42", "7z", 7, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_redis_verdict("42", "", 0, 42), TD_SESSION_ASK_DB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tombstone_always_refuses),
        cmocka_unit_test(positive_needs_a_current_mark),
        cmocka_unit_test(other_users_session_refused),
        cmocka_unit_test(garbage_goes_to_the_database),
    };
    return cmocka_run_group_tests_name("session_verdict", tests, NULL, NULL);
}
