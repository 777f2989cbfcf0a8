/*
 * test_trace.c - the traceparent header: the specification's example, its
 * rules for versions, ids and case, and trace ids as rows carry them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/trace.h"

static td_status parse(const char *s, td_traceparent *t)
{
    return td_traceparent_parse(s, strlen(s), t);
}

static void valid(void **state)
{
    (void)state;
    td_traceparent t;
    assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t), TD_OK);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.parent_id, "00f067aa0ba902b7");
    assert_int_equal(t.flags, 1);
    assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t), TD_OK);
    assert_int_equal(t.flags, 0);
    /* A later version: 00's fields, then more after a '-'. */
    assert_int_equal(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", &t), TD_OK);
    assert_int_equal(
        parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", &t),
        TD_OK);
    assert_int_equal(t.flags, 1);
}

static void invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        td_traceparent t = {.flags = 7};
        if (parse(bad[i], &t) != TD_EINVAL || t.flags != 7)
            fail_msg("accepted: %s", bad[i]);
    }
    assert_int_equal(td_traceparent_parse(NULL, 0, NULL), TD_EINVAL);
}

static void trace_ids(void **state)
{
    (void)state;
    assert_true(td_trace_id_valid("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_false(td_trace_id_valid("00000000000000000000000000000000"));
    assert_false(td_trace_id_valid("4bf92f3577b34da6a3ce929d0e0e473"));
    assert_false(td_trace_id_valid("4bf92f3577b34da6a3ce929d0e0e4736a"));
    assert_false(td_trace_id_valid("4bf92f3577b34da6a3ce929d0e0e473G"));
    assert_false(td_trace_id_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid),
        cmocka_unit_test(invalid),
        cmocka_unit_test(trace_ids),
    };
    return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
