/*
 * test_session_verdict.c - what Redis' answer alone may decide about a
 * session (store/session.h td_session_redis_verdict): a tombstone always
 * refuses, a positive entry counts only while Redis' revocation mark is
 * at least the newest epoch the worker knows of, and anything it cannot
 * read sends the check to PostgreSQL; and the revocation sync's steps
 * (td_session_sync_step).  Pure: no server is touched.
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

/* The replies as hiredis hands them (the stream's MGET elements, the
 * blocking check's two GETs): an absent mark is epoch 0, an error reply
 * or none at all cannot be trusted. */
static void replies_as_redis_gives_them(void **state)
{
    (void)state;
    redisReply entry = {.type = REDIS_REPLY_STRING, .str = "42", .len = 2};
    redisReply mark = {.type = REDIS_REPLY_STRING, .str = "7", .len = 1};
    redisReply nil = {.type = REDIS_REPLY_NIL};
    redisReply err = {.type = REDIS_REPLY_ERROR, .str = "WRONGTYPE", .len = 9};
    redisReply tomb = {.type = REDIS_REPLY_STRING, .str = "-", .len = 1};
    assert_int_equal(td_session_replies_verdict(&entry, &mark, 7, 42), TD_SESSION_VALID);
    assert_int_equal(td_session_replies_verdict(&entry, &nil, 0, 42), TD_SESSION_VALID);
    assert_int_equal(td_session_replies_verdict(&entry, &nil, 1, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_replies_verdict(&entry, &err, 0, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_replies_verdict(&entry, NULL, 0, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_replies_verdict(&nil, &mark, 7, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_replies_verdict(NULL, NULL, 0, 42), TD_SESSION_ASK_DB);
    assert_int_equal(td_session_replies_verdict(&tomb, NULL, 9, 42), TD_SESSION_DENIED);
}

/* The sync's steps: the first read remembers, a few epochs are listed,
 * too many drop everything, and the epoch seen never falls. */
static void sync_steps(void **state)
{
    (void)state;
    td_rev_sync s = TD_REV_SYNC_INIT;
    assert_int_equal(td_session_sync_step(&s, 10), TD_REV_NONE);
    assert_int_equal(s.pg, 10);
    assert_int_equal(s.applied, 10);
    assert_int_equal(td_session_sync_step(&s, 10), TD_REV_NONE);
    assert_int_equal(td_session_sync_step(&s, 12), TD_REV_ROWS);
    assert_int_equal(s.pg, 12);
    assert_int_equal(s.applied, 10); /* the caller lists 10..12, then applies */
    s.applied = 12;
    assert_int_equal(td_session_sync_step(&s, 5000), TD_REV_ALL);
    assert_int_equal(s.applied, 5000);
    assert_int_equal(td_session_sync_step(&s, 3), TD_REV_NONE); /* a restore: never falls */
    assert_int_equal(s.pg, 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tombstone_always_refuses),
        cmocka_unit_test(positive_needs_a_current_mark),
        cmocka_unit_test(other_users_session_refused),
        cmocka_unit_test(garbage_goes_to_the_database),
        cmocka_unit_test(replies_as_redis_gives_them),
        cmocka_unit_test(sync_steps),
    };
    return cmocka_run_group_tests_name("session_verdict", tests, NULL, NULL);
}
