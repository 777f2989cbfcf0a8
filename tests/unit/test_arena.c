/*
 * test_arena.c - unit tests for the per-request bump allocator
 * (core/arena.c).  Overlaps and overruns show up as corrupted patterns
 * here and as reports under the sanitizer build; leaks under LeakSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

#define ALIGN _Alignof(max_align_t)

static int aligned(const void *p)
{
    return (uintptr_t)p % ALIGN == 0;
}

static void test_many_small(void **state)
{
    (void)state;
    enum { N = 20000 };
    td_arena a;
    unsigned char **ptrs = malloc(N * sizeof *ptrs);
    size_t *sizes = malloc(N * sizeof *sizes);
    assert_non_null(ptrs);
    assert_non_null(sizes);

    td_arena_init(&a, 1024);
    for (size_t i = 0; i < N; i++) {
        sizes[i] = 1 + (i * 7) % 97;
        ptrs[i] = td_arena_alloc(&a, sizes[i]);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], (int)(i & 0xff), sizes[i]);
    }
    /* Every allocation still holds its own pattern: none overlapped. */
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xff))
                fail_msg("allocation %zu byte %zu overwritten", i, k);
    td_arena_free(&a);
    assert_null(a.head);
    free(ptrs);
    free(sizes);
}

static void test_larger_than_block(void **state)
{
    (void)state;
    td_arena a;
    td_arena_init(&a, 256);

    char *small = td_arena_alloc(&a, 100);
    memset(small, 's', 100);
    char *big = td_arena_alloc(&a, 10000);
    assert_non_null(big);
    assert_true(aligned(big));
    memset(big, 'B', 10000);
    char *after = td_arena_alloc(&a, 200);
    memset(after, 'a', 200);
    char *huge = td_arena_alloc(&a, 1 << 20);
    memset(huge, 'H', 1 << 20);

    for (int i = 0; i < 100; i++)
        assert_int_equal(small[i], 's');
    for (int i = 0; i < 10000; i++)
        assert_int_equal(big[i], 'B');
    for (int i = 0; i < 200; i++)
        assert_int_equal(after[i], 'a');
    assert_int_equal(huge[0], 'H');
    assert_int_equal(huge[(1 << 20) - 1], 'H');
    td_arena_free(&a);
}

static void test_exact_block_fit(void **state)
{
    (void)state;
    td_arena a;
    td_arena_init(&a, 256);
    char *p = td_arena_alloc(&a, 256); /* fills the first block exactly */
    memset(p, 1, 256);
    char *q = td_arena_alloc(&a, 1);
    *q = 2;
    assert_true(q < p || q >= p + 256);
    assert_int_equal(p[255], 1);
    td_arena_free(&a);
}

static void test_alignment(void **state)
{
    (void)state;
    td_arena a;
    td_arena_init(&a, 512);
    static const size_t sizes[] = {1,  2,  3,  5,  7,   8,   9,   15, 16,
                                   17, 31, 33, 63, 100, 511, 513, 0,  1};
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = td_arena_alloc(&a, sizes[i]);
            assert_non_null(p);
            if (!aligned(p))
                fail_msg("size %zu: %p not %zu-aligned", sizes[i], p, (size_t)ALIGN);
            memset(p, 0xab, sizes[i]);
        }
        char *s = td_arena_strdup(&a, "x");
        assert_true(aligned(s));
        /* Typed stores through arena pointers are fine for any type. */
        long double *ld = td_arena_alloc(&a, sizeof *ld);
        *ld = 1.5L;
        assert_true(*ld == 1.5L);
    }
    td_arena_free(&a);
}

static void test_strings(void **state)
{
    (void)state;
    td_arena a;
    td_arena_init(&a, 64);

    const char *src = "hello, arena";
    char *d = td_arena_strdup(&a, src);
    assert_string_equal(d, src);
    assert_ptr_not_equal(d, src);
    assert_string_equal(td_arena_strdup(&a, ""), "");

    char *n = td_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(n, "abc");
    /* strndup copies exactly n bytes, even past a NUL the caller knows about. */
    static const char with_nul[] = {'a', '\0', 'b'};
    char *w = td_arena_strndup(&a, with_nul, 3);
    assert_memory_equal(w, with_nul, 3);
    assert_int_equal(w[3], '\0');

    assert_string_equal(td_arena_printf(&a, "%s-%d-%05.1f", "id", 42, 3.14159), "id-42-003.1");
    assert_string_equal(td_arena_printf(&a, "%s", ""), "");

    /* Longer than the block. */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *p = td_arena_printf(&a, "<%s>", big);
    assert_int_equal(strlen(p), 1001);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[1000], '>');
    char *q = td_arena_strdup(&a, big);
    assert_string_equal(q, big);

    /* Earlier strings are intact after the big ones. */
    assert_string_equal(d, src);
    assert_string_equal(n, "abc");
    td_arena_free(&a);
}

static void test_reset(void **state)
{
    (void)state;
    td_arena a;
    td_arena_init(&a, 128);
    void *first = td_arena_alloc(&a, 16);

    for (int round = 0; round < 100; round++) {
        /* Spill over many blocks, including oversized ones... */
        for (int i = 0; i < 50; i++)
            memset(td_arena_alloc(&a, 100), i, 100);
        memset(td_arena_alloc(&a, 5000), 0, 5000);
        char *s = td_arena_printf(&a, "round %d", round);
        char want[32];
        snprintf(want, sizeof want, "round %d", round);
        assert_string_equal(s, want);

        /* ...then reset: the first block is kept and reused from its start. */
        td_arena_reset(&a);
        assert_non_null(a.head);
        void *again = td_arena_alloc(&a, 16);
        assert_ptr_equal(again, first);
    }
    /* Reset of an arena with only its first block is harmless. */
    td_arena_reset(&a);
    td_arena_reset(&a);
    assert_ptr_equal(td_arena_alloc(&a, 1), first);
    td_arena_free(&a);
    assert_null(a.head);
}

static void test_free_after_growth(void **state)
{
    (void)state;
    /* Under LeakSanitizer this proves free releases every block. */
    td_arena a;
    td_arena_init(&a, 32);
    for (int i = 0; i < 1000; i++)
        td_arena_alloc(&a, (size_t)(i % 50) + 1);
    td_arena_alloc(&a, 100000);
    td_arena_free(&a);
    assert_null(a.head);

    /* Init after free starts a fresh arena. */
    td_arena_init(&a, 32);
    assert_string_equal(td_arena_strdup(&a, "again"), "again");
    td_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_small),        cmocka_unit_test(test_larger_than_block),
        cmocka_unit_test(test_exact_block_fit),   cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_strings),           cmocka_unit_test(test_reset),
        cmocka_unit_test(test_free_after_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
