/*
 * fuzz_query.c - libFuzzer target for query strings and percent-decoding
 * (api/request.c).
 *
 * The input is used twice: as a NUL-terminated query string, as FastCGI
 * delivers it, and as raw bytes for td_percent_decode in both '+' modes.
 * Besides crashes, it checks what the parser promises: decoded names are
 * non-empty and distinct, and a decoded string re-encoded decodes back.
 */
#include "api/request.h"

#include <stdlib.h>
#include <string.h>

/* Re-encode every byte as %XX (NUL cannot occur: %00 is refused). */
static char *encode_all(td_arena *a, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = td_arena_alloc(a, 3 * n + 1);
    for (size_t i = 0; i < n; i++) {
        out[3 * i] = '%';
        out[3 * i + 1] = hex[(unsigned char)s[i] >> 4];
        out[3 * i + 2] = hex[(unsigned char)s[i] & 15];
    }
    out[3 * n] = '\0';
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    td_arena a;
    td_arena_init(&a, 1024);

    /* Exactly size bytes, so reads past the input are caught. */
    char *raw = malloc(size ? size : 1);
    if (!raw)
        abort();
    memcpy(raw, data, size);

    for (int plus = 0; plus <= 1; plus++) {
        char *d = td_percent_decode(&a, raw, size, plus);
        if (!d)
            continue;
        size_t dl = strlen(d);
        if (dl > size)
            abort();
        /* Decoded text holds no NUL unless the input had a raw one. */
        if (!memchr(raw, '\0', size) && memchr(d, '\0', dl + 1) != d + dl)
            abort();
        char *e = encode_all(&a, d, dl);
        char *back = td_percent_decode(&a, e, 3 * dl, plus);
        if (!back || strcmp(back, d) != 0)
            abort();
    }

    char *qs = td_arena_strndup(&a, raw, size); /* stops at a NUL, like a C string */
    td_param *ps;
    size_t n;
    if (td_query_parse(&a, qs, &ps, &n) == TD_OK) {
        for (size_t i = 0; i < n; i++) {
            if (!ps[i].name[0] || !ps[i].value)
                abort();
            for (size_t k = 0; k < i; k++)
                if (strcmp(ps[i].name, ps[k].name) == 0)
                    abort();
        }
        td_req r;
        td_req_init(&r, &a, NULL);
        r.params = ps;
        r.nparams = n;
        for (size_t i = 0; i < n; i++)
            if (td_req_param(&r, ps[i].name) != ps[i].value)
                abort();
    } else if (ps != NULL || n != 0) {
        abort();
    }

    free(raw);
    td_arena_free(&a);
    return 0;
}
