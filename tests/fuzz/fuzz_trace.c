/*
 * fuzz_trace.c - libFuzzer target for the traceparent header
 * (core/trace.c), which arrives from any client through nginx.
 *
 * What parses has a valid trace id and a parent id of 16 lowercase hex
 * digits, not all zero; written back as version 00 it parses to the same;
 * a refusal leaves the output as it was; nothing reads past len.
 */
#include "core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    td_traceparent t, u;
    memset(&t, 0x5a, sizeof t);
    td_traceparent before = t;
    if (td_traceparent_parse(s, size, &t) == TD_OK) {
        if (!td_trace_id_valid(t.trace_id) || strlen(t.parent_id) != TD_SPAN_ID_LEN ||
            strspn(t.parent_id, "0123456789abcdef") != TD_SPAN_ID_LEN ||
            strspn(t.parent_id, "0") == TD_SPAN_ID_LEN)
            abort();
        char again[64];
        int n = snprintf(again, sizeof again, "00-%s-%s-%02x", t.trace_id, t.parent_id, t.flags);
        if (n != 55 || td_traceparent_parse(again, (size_t)n, &u) != TD_OK ||
            memcmp(&t, &u, sizeof t) != 0)
            abort();
    } else if (memcmp(&t, &before, sizeof t) != 0) {
        abort();
    }
    free(s);
    return 0;
}
