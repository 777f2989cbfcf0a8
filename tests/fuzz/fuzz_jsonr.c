/*
 * fuzz_jsonr.c - libFuzzer target for the strict JSON reader (core/jsonr).
 *
 * A parse either fails with a reason at a byte inside the input, or gives
 * tokens whose subtrees nest properly (each value's end past its own index,
 * containers' ends never past their parent's), whose texts lie inside the
 * input (or the decoded buffer) and whose strings are valid UTF-8; every
 * member found by iteration is found again by name (the first of
 * duplicates); the same bytes parse the same way twice.
 */
#include "core/jsonr.h"
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

static td_jr R;

static void check_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = td_utf8_seq(s + i, n - i);
        if (!k)
            abort();
        i += k;
    }
}

static void walk(const uint8_t *data, size_t size, uint32_t i, uint32_t limit)
{
    const td_jr_tok *t = &R.tok[i];
    if (t->end <= i || t->end > limit || t->type < TD_JR_OBJECT || t->type > TD_JR_NULL)
        abort();
    if (t->decoded) {
        if (t->type != TD_JR_STRING || (size_t)t->start + t->len > R.text_len)
            abort();
    } else if ((size_t)t->start + t->len > size) {
        abort();
    }
    if (t->type == TD_JR_STRING) {
        size_t n;
        const char *s = td_jr_text(&R, (int)i, &n);
        check_utf8(s, n);
    }
    if (t->type == TD_JR_NUMBER && memchr("-0123456789", data[t->start], 11) == NULL)
        abort();
    if (t->type != TD_JR_OBJECT && t->type != TD_JR_ARRAY) {
        if (t->end != i + 1)
            abort();
        return;
    }
    int c = (int)i;
    for (int k = td_jr_first(&R, c); k >= 0; k = td_jr_next(&R, c, k)) {
        if (t->type == TD_JR_OBJECT) {
            if (R.tok[k].type != TD_JR_STRING)
                abort();
            walk(data, size, (uint32_t)k, t->end);
            walk(data, size, (uint32_t)k + 1, t->end);
            /* Found by name: this member or an earlier one of that name. */
            size_t kn;
            const char *key = td_jr_text(&R, k, &kn);
            if (memchr(key, 0, kn) == NULL) {
                char name[64];
                if (kn < sizeof name) {
                    memcpy(name, key, kn);
                    name[kn] = 0;
                    int m = td_jr_member(&R, c, name);
                    if (m < 0 || m > k + 1)
                        abort();
                }
            }
        } else {
            walk(data, size, (uint32_t)k, t->end);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!R.max_depth)
        td_jr_init(&R, 16, 4096);
    td_status st = td_jr_parse(&R, (const char *)data, size);
    if (st != TD_OK) {
        if (st != TD_EINVAL || !R.error || R.error_at > size)
            abort();
    } else {
        if (R.n == 0 || R.tok[0].end != R.n)
            abort();
        walk(data, size, 0, R.n);
    }
    uint32_t n = R.n;
    if (td_jr_parse(&R, (const char *)data, size) != st || (st == TD_OK && R.n != n))
        abort();
    return 0;
}
