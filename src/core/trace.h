/*
 * trace.h - W3C Trace Context's traceparent header
 * (https://www.w3.org/TR/trace-context/): the trace id one order's path
 * is followed by, from nginx (which continues a client's trace or starts
 * one) through the API's log lines and the order's row to its fill and
 * the stream's push.
 *
 *   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
 *                version-trace id (32 hex)-parent id (16 hex)-flags
 *
 * Lowercase hex only; an all-zero trace or parent id, version ff, or a
 * version 00 header of any other length is invalid.  A later version is
 * read by version 00's rules when what follows its flags starts with '-'.
 */
#ifndef TD_CORE_TRACE_H
#define TD_CORE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/td.h"

#define TD_TRACE_ID_LEN 32
#define TD_SPAN_ID_LEN 16

typedef struct td_traceparent {
    char trace_id[TD_TRACE_ID_LEN + 1];
    char parent_id[TD_SPAN_ID_LEN + 1];
    uint8_t flags; /* bit 0: sampled */
} td_traceparent;

/* Exactly len bytes of s; TD_EINVAL (and *out untouched) unless valid. */
td_status td_traceparent_parse(const char *s, size_t len, td_traceparent *out);

/* True when s (NUL-terminated) is 32 lowercase hex digits, not all zero:
 * a trace id as a row or a log line carries it. */
int td_trace_id_valid(const char *s);

#endif
