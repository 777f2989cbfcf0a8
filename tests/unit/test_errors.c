/*
 * test_errors.c - the error table of core/errors.h: every kind's status has
 * a reason phrase, codes are unique stable words, default messages need no
 * escaping anywhere they are printed, internal statuses map to the kinds
 * clients expect, the status list the metrics label by is consistent, and
 * the committed nginx/errors.conf is what the table prints.  Run from the
 * repository root (make unit does), where nginx/errors.conf is found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/error_pages.h"
#include "core/errors.h"

static void test_every_kind_status_has_reason(void **state)
{
    (void)state;
    for (int k = 0; k < TD_ERR_COUNT; k++) {
        int st = td_err_status((td_err)k);
        assert_true(st >= 400 && st <= 599);
        assert_true(td_http_status_index(st) < TD_HTTP_NSTATUS);
        assert_string_not_equal(td_http_reason(st), "Unknown");
    }
}

static void test_codes_unique_words(void **state)
{
    (void)state;
    for (int k = 0; k < TD_ERR_COUNT; k++) {
        const char *c = td_err_code((td_err)k);
        /* openapi.yaml's pattern for a code: ^[a-z][a-z0-9_]*$ */
        assert_true(c[0] >= 'a' && c[0] <= 'z');
        for (const char *p = c; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
        for (int j = 0; j < k; j++)
            if (strcmp(c, td_err_code((td_err)j)) == 0)
                fail_msg("code %s is used by two kinds", c);
    }
}

/* The unified spellings: one code per kind, one status per code. */
static void test_unified_spellings(void **state)
{
    (void)state;
    for (int k = 0; k < TD_ERR_COUNT; k++)
        assert_string_not_equal(td_err_code((td_err)k), "internal_error");
    assert_string_equal(td_err_code(TD_ERR_INTERNAL), "internal");
    assert_int_equal(td_err_status(TD_ERR_INVALID_REQUEST), 400);
    assert_string_equal(td_err_code(TD_ERR_UNPROCESSABLE), "unprocessable");
    assert_int_equal(td_err_status(TD_ERR_UNPROCESSABLE), 422);
    /* Authentication and authorization are two kinds. */
    assert_int_equal(td_err_status(TD_ERR_UNAUTHENTICATED), 401);
    assert_string_equal(td_err_code(TD_ERR_UNAUTHENTICATED), "unauthorized");
    assert_int_equal(td_err_status(TD_ERR_FORBIDDEN), 403);
    assert_string_equal(td_err_code(TD_ERR_FORBIDDEN), "forbidden");
}

/* Messages are printed inside JSON strings and inside nginx's single-quoted
 * `return` strings, where " \ ' and $ would need escaping. */
static void test_messages_need_no_escaping(void **state)
{
    (void)state;
    for (int k = 0; k < TD_ERR_COUNT; k++) {
        const char *m = td_err_message((td_err)k);
        assert_true(strlen(m) > 0);
        for (const char *p = m; *p; p++) {
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
            assert_null(strchr("\"\\'$", *p));
        }
    }
}

static void test_kind_out_of_range_is_internal(void **state)
{
    (void)state;
    assert_int_equal(td_err_status(TD_ERR_COUNT), 500);
    assert_string_equal(td_err_code((td_err)-1), "internal");
    assert_string_equal(td_err_message((td_err)1000), td_err_message(TD_ERR_INTERNAL));
}

static void test_status_mapping(void **state)
{
    (void)state;
    assert_int_equal(td_err_from_status(TD_EUNAVAIL), TD_ERR_UNAVAILABLE);
    assert_int_equal(td_err_from_status(TD_ENOTFOUND), TD_ERR_NOT_FOUND);
    assert_int_equal(td_err_from_status(TD_ECONFLICT), TD_ERR_CONFLICT);
    assert_int_equal(td_err_from_status(TD_EINVAL), TD_ERR_UNPROCESSABLE);
    assert_int_equal(td_err_from_status(TD_EDENIED), TD_ERR_UNAUTHENTICATED);
    assert_int_equal(td_err_from_status(TD_ELIMIT), TD_ERR_RATE_LIMITED);
    assert_int_equal(td_err_from_status(TD_ERROR), TD_ERR_INTERNAL);
    assert_int_equal(td_err_from_status(TD_ENOMEM), TD_ERR_INTERNAL);
    assert_int_equal(td_err_from_status(TD_OK), TD_ERR_INTERNAL);
    assert_int_equal(td_err_from_status((td_status)-99), TD_ERR_INTERNAL);
    assert_int_equal(td_err_status(td_err_from_status(TD_EUNAVAIL)), 503);
    assert_int_equal(td_err_status(td_err_from_status(TD_EINVAL)), 422);
}

static void test_status_list(void **state)
{
    (void)state;
    /* Ascending, so each status appears once; index and position agree. */
    for (size_t i = 0; i < TD_HTTP_NSTATUS; i++) {
        int st = td_http_status_at(i);
        assert_true(st >= 100 && st <= 599);
        if (i > 0)
            assert_true(st > td_http_status_at(i - 1));
        assert_int_equal(td_http_status_index(st), i);
        assert_string_not_equal(td_http_reason(st), "Unknown");
    }
    assert_int_equal(td_http_status_at(TD_HTTP_NSTATUS), 0);
    const int missing[] = {0, -1, 299, 418, 451, 599, 1000};
    for (size_t i = 0; i < TD_ARRAY_LEN(missing); i++) {
        assert_int_equal(td_http_status_index(missing[i]), TD_HTTP_NSTATUS);
        assert_string_equal(td_http_reason(missing[i]), "Unknown");
    }
    assert_string_equal(td_http_reason(200), "OK");
    assert_string_equal(td_http_reason(413), "Payload Too Large");
    assert_string_equal(td_http_reason(422), "Unprocessable Content");
    assert_string_equal(td_http_reason(504), "Gateway Timeout");
}

/* Every page nginx answers is a kind of its own status: one page per status. */
static void test_nginx_pages(void **state)
{
    (void)state;
    static const struct {
        td_err kind;
        int also;
    } pages[] = {
#define PAGE(kind, also) {kind, also},
        TD_NGINX_ERROR_PAGES(PAGE)
#undef PAGE
    };
    for (size_t i = 0; i < TD_ARRAY_LEN(pages); i++) {
        int st = td_err_status(pages[i].kind);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(td_err_status(pages[j].kind), st);
            assert_int_not_equal(pages[j].kind, pages[i].kind);
        }
        assert_true(pages[i].also == 0 || td_http_status_index(pages[i].also) == TD_HTTP_NSTATUS);
    }
    /* What nginx answers when the API is down or slow. */
    assert_int_equal(td_err_status(TD_ERR_BAD_GATEWAY), 502);
    assert_int_equal(td_err_status(TD_ERR_GATEWAY_TIMEOUT), 504);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t cap = 0;
    FILE *m = open_memstream(&data, &cap);
    assert_non_null(m);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(fwrite(chunk, 1, n, m), n);
    fclose(f);
    fclose(m);
    *len = cap;
    return data;
}

/* nginx/errors.conf is committed so nginx configs can include it without a
 * build; this is the check that it still is the table's. */
static void test_nginx_errors_conf_matches_table(void **state)
{
    (void)state;
    char *want = NULL;
    size_t want_len = 0;
    FILE *m = open_memstream(&want, &want_len);
    assert_non_null(m);
    assert_int_equal(td_error_pages_print_nginx(m), 0);
    fclose(m);

    size_t have_len = 0;
    char *have = slurp("nginx/errors.conf", &have_len);
    if (!have)
        fail_msg("cannot read nginx/errors.conf (run from the repository root)");
    if (have_len != want_len || memcmp(have, want, want_len) != 0)
        fail_msg("nginx/errors.conf differs from src/core/errors.h: run `make nginx-errors` "
                 "and commit the file");
        /* Every kind nginx answers appears with its code; no retired spelling. */
#define PAGE_CODE(kind, also) assert_non_null(strstr(have, td_err_code(kind)));
    TD_NGINX_ERROR_PAGES(PAGE_CODE)
#undef PAGE_CODE
    assert_null(strstr(have, "internal_error"));
    free(have);
    free(want);
}

static void test_codes_printed(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&out, &len);
    assert_non_null(m);
    assert_int_equal(td_error_pages_print_codes(m), 0);
    fclose(m);
    char line[128];
    snprintf(line, sizeof line, "%d %s\n", td_err_status(TD_ERR_INVALID_JSON),
             td_err_code(TD_ERR_INVALID_JSON));
    assert_non_null(strstr(out, line));
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += out[i] == '\n';
    assert_int_equal(lines, TD_ERR_COUNT);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_status_has_reason),
        cmocka_unit_test(test_codes_unique_words),
        cmocka_unit_test(test_unified_spellings),
        cmocka_unit_test(test_messages_need_no_escaping),
        cmocka_unit_test(test_kind_out_of_range_is_internal),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_status_list),
        cmocka_unit_test(test_nginx_pages),
        cmocka_unit_test(test_nginx_errors_conf_matches_table),
        cmocka_unit_test(test_codes_printed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
