/*
 * test_jsonw.c - the hot-path JSON writer: commas at every depth, string
 * escaping, decimals, timestamps; every output must parse with json-c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "core/jsonw.h"
#include "core/log.h"

#include <string.h>

static td_arena arena;
static td_buf out;
static td_jw w;

static int setup(void **state)
{
    (void)state;
    td_arena_init(&arena, 4096);
    memset(&out, 0, sizeof out);
    td_jw_init(&w, &arena, &out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    td_arena_free(&arena);
    return 0;
}

static void nested_containers_get_commas_right(void **state)
{
    (void)state;
    td_jw_obj(&w);
    td_jw_key(&w, "items");
    td_jw_arr(&w);
    for (int i = 0; i < 3; i++) {
        td_jw_obj(&w);
        td_jw_key(&w, "n");
        td_jw_int(&w, i);
        td_jw_key(&w, "ok");
        td_jw_bool(&w, i % 2);
        td_jw_key(&w, "tags");
        td_jw_arr(&w);
        td_jw_end(&w, ']');
        td_jw_end(&w, '}');
    }
    td_jw_end(&w, ']');
    td_jw_key(&w, "next");
    td_jw_null(&w);
    td_jw_end(&w, '}');
    assert_string_equal(out.data, "{\"items\":[{\"n\":0,\"ok\":false,\"tags\":[]},"
                                  "{\"n\":1,\"ok\":true,\"tags\":[]},"
                                  "{\"n\":2,\"ok\":false,\"tags\":[]}],\"next\":null}");
    json_object *o = json_tokener_parse(out.data);
    assert_non_null(o);
    json_object_put(o);
}

/* A value that is JSON already goes in as is, with the commas around it. */
static void raw_values(void **state)
{
    (void)state;
    td_jw_arr(&w);
    td_jw_int(&w, 1);
    td_jw_raw(&w, "{\"a\":[1,2]}", 11);
    td_jw_raw(&w, "\"x\"", 3);
    td_jw_end(&w, ']');
    assert_string_equal(out.data, "[1,{\"a\":[1,2]},\"x\"]");
}

static void strings_are_escaped(void **state)
{
    (void)state;
    td_jw_arr(&w);
    td_jw_str(&w, "plain");
    td_jw_str(&w, "q\"b\\n\nt\tc\x01/");
    td_jw_str(&w, NULL);
    td_jw_str(&w, "caf\xc3\xa9");
    td_jw_end(&w, ']');
    assert_string_equal(out.data,
                        "[\"plain\",\"q\\\"b\\\\n\\nt\\tc\\u0001/\",null,\"caf\xc3\xa9\"]");
    json_object *o = json_tokener_parse(out.data);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 1)),
                        "q\"b\\n\nt\tc\x01/");
    json_object_put(o);
}

static void decimals_and_times(void **state)
{
    (void)state;
    td_jw_arr(&w);
    td_jw_dec(&w, 10656208000000LL); /* 106562.08 */
    td_jw_dec(&w, -50000000);        /* -0.5 */
    td_jw_time_ms(&w, 1749556800000LL);
    td_jw_time_ms(&w, 1749556800123LL);
    td_jw_time_ms(&w, -1); /* one millisecond before the epoch */
    td_jw_end(&w, ']');
    assert_string_equal(out.data, "[\"106562.08\",\"-0.50\",\"2025-06-10T12:00:00.000Z\","
                                  "\"2025-06-10T12:00:00.123Z\",\"1969-12-31T23:59:59.999Z\"]");
}

/* Measurements (latencies) keep their digits; what JSON cannot say
 * (NaN, infinities) is null rather than invalid output. */
static void measurements(void **state)
{
    (void)state;
    td_jw_arr(&w);
    td_jw_fixed(&w, 7.4567, 3);
    td_jw_fixed(&w, 0.0, 3);
    td_jw_fixed(&w, 0.0 / 0.0, 3);
    td_jw_fixed(&w, 1.0 / 0.0, 3);
    td_jw_fixed(&w, -1e300, 3);
    td_jw_end(&w, ']');
    assert_string_equal(out.data, "[7.457,0.000,null,null,null]");
    json_object *o = json_tokener_parse(out.data);
    assert_non_null(o);
    json_object_put(o);
}

/* The writer and the log line (td_json_escape) escape every byte alike. */
static void writer_and_log_escape_alike(void **state)
{
    (void)state;
    char all[256], logged[2048];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    size_t n = 0;
    td_json_escape(logged, sizeof logged, &n, all);
    td_jw_str(&w, all);
    assert_int_equal(out.len, n + 2);
    assert_memory_equal(out.data + 1, logged, n);

    char esc[TD_JSON_ESC_MAX + 1];
    assert_int_equal(td_json_escape_byte('a', esc), 0);
    assert_int_equal(td_json_escape_byte(0xc3, esc), 0);
    assert_int_equal(td_json_escape_byte('\n', esc), 2);
    assert_string_equal(esc, "\\n");
    assert_int_equal(td_json_escape_byte(0x1f, esc), 6);
    assert_string_equal(esc, "\\u001f");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nested_containers_get_commas_right, setup, teardown),
        cmocka_unit_test_setup_teardown(raw_values, setup, teardown),
        cmocka_unit_test_setup_teardown(strings_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(decimals_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(measurements, setup, teardown),
        cmocka_unit_test_setup_teardown(writer_and_log_escape_alike, setup, teardown),
    };
    return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
