/*
 * trace.c - the traceparent header (trace.h).
 */
#include "core/trace.h"

#include <string.h>

static int hex_run(const char *s, size_t n, int *nonzero)
{
    *nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        *nonzero |= c != '0';
    }
    return 1;
}

static unsigned hex_val(char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

td_status td_traceparent_parse(const char *s, size_t len, td_traceparent *out)
{
    /* 2 + 1 + 32 + 1 + 16 + 1 + 2 */
    enum { V00_LEN = 55 };
    int nz;
    if (!s || len < V00_LEN || !hex_run(s, 2, &nz) || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return TD_EINVAL;
    if (memcmp(s, "ff", 2) == 0)
        return TD_EINVAL;
    if (memcmp(s, "00", 2) == 0 ? len != V00_LEN : len > V00_LEN && s[V00_LEN] != '-')
        return TD_EINVAL;
    if (!hex_run(s + 3, TD_TRACE_ID_LEN, &nz) || !nz)
        return TD_EINVAL;
    if (!hex_run(s + 36, TD_SPAN_ID_LEN, &nz) || !nz)
        return TD_EINVAL;
    if (!hex_run(s + 53, 2, &nz))
        return TD_EINVAL;
    memcpy(out->trace_id, s + 3, TD_TRACE_ID_LEN);
    out->trace_id[TD_TRACE_ID_LEN] = '\0';
    memcpy(out->parent_id, s + 36, TD_SPAN_ID_LEN);
    out->parent_id[TD_SPAN_ID_LEN] = '\0';
    out->flags = (uint8_t)(hex_val(s[53]) << 4 | hex_val(s[54]));
    return TD_OK;
}

int td_trace_id_valid(const char *s)
{
    int nz;
    return s && strlen(s) == TD_TRACE_ID_LEN && hex_run(s, TD_TRACE_ID_LEN, &nz) && nz;
}
