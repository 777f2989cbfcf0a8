/*
 * request.h - one HTTP request as the API sees it, and the only way to answer.
 *
 * The request layer parses FastCGI params, path, query string and body into a
 * td_req whose memory lives in a per-request arena, and writes every response
 * (status line, headers, body, error envelope) into req->out.  Handlers never
 * touch FastCGI; the worker loop ships req->out and logs the request.
 */
#ifndef TD_API_REQUEST_H
#define TD_API_REQUEST_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/errors.h"
#include "domain/td.h"

#include <json-c/json.h>
#include <stdint.h>

struct td_app;

typedef struct td_param {
    const char *name;
    const char *value;
} td_param;

#define TD_MAX_PATH_PARAMS 4
#define TD_MAX_OWNED_JSON 8

typedef struct td_req {
    td_arena *arena;
    struct td_app *app;

    /* Input, all NUL-terminated and arena-owned. */
    const char *method;
    const char *path;  /* raw path, no query string */
    const char *query; /* raw query string ("" when none) */
    td_param *params;  /* decoded query parameters */
    size_t nparams;
    const char *path_args[TD_MAX_PATH_PARAMS]; /* decoded {placeholders} */
    size_t npath_args;
    const char *remote_addr;
    const char *user_agent;
    const char *body;
    size_t body_len;
    const char *(*header)(struct td_req *r, const char *env_name); /* "HTTP_X_FOO" */
    void *source; /* FCGX_Request *, or a test's fake */

    char request_id[65];
    char trace_id[33]; /* W3C trace id (td_req_trace): every log line of the request carries it */
    const char *route; /* matched pattern, "-" when none */
    size_t route_slot; /* its index in the route table + 1 (0: not matched by dispatch) */
    /* td_mono_ns() when the request began (core/clock.h) */
    int64_t started_ns;

    void *ctx; /* handler-private, arena-owned (e.g. validated input) */

    /* Set by authentication. */
    int64_t user_id;
    char role[16];
    char sid[64];

    /* Where the time went (api/recent.h: the slow-request log). */
    int64_t auth_ns, cache_ns, db_ns;

    /* Output. */
    int status;
    const char *err_code;                  /* the error envelope's code, NULL when none */
    td_buf headers;                        /* extra header lines, each ending in \r\n */
    td_buf out;                            /* the full FastCGI response */
    json_object *owned[TD_MAX_OWNED_JSON]; /* put when the request ends */
    size_t nowned;
} td_req;

/* Parse a raw query string into decoded name/value pairs.  Rejects bad
 * percent escapes, %00, and a name given twice. */
td_status td_query_parse(td_arena *a, const char *qs, td_param **out, size_t *n);

/* Percent-decode s[0..len) into the arena; '+' becomes a space when
 * plus_is_space.  NULL on a bad escape or %00. */
char *td_percent_decode(td_arena *a, const char *s, size_t len, int plus_is_space);

const char *td_req_param(const td_req *r, const char *name);

/* Parse the body as one JSON object (strict, UTF-8, depth-limited).  On error
 * answers 400 and returns NULL.  The object is freed with the request. */
json_object *td_req_json_object(td_req *r);

/* Set up a td_req around an arena; the worker fills the input fields. */
void td_req_init(td_req *r, td_arena *a, struct td_app *app);
/* The request's trace id once its headers are read (after request_id):
 * the traceparent's (nginx continues a client's or starts one, nginx/) or,
 * called without nginx, the request id when it is 32 hex digits, else a
 * new one.  From here to td_req_end every log line carries it. */
void td_req_trace(td_req *r);
/* Free owned json objects; the arena is reset by the owner; log lines
 * carry no trace id any more. */
void td_req_end(td_req *r);

/* Responses.  Each writes the whole response into r->out; the first one wins. */
void td_resp_header(td_req *r, const char *name, const char *value);
void td_resp_raw(td_req *r, int status, const char *content_type, const char *body, size_t len);
void td_resp_empty(td_req *r, int status);
/* status with a JSON body that no cache may keep (Cache-Control: no-store):
 * writes, logins, admin and monitoring answers. */
void td_resp_json_nostore(td_req *r, int status, const char *body, size_t len);
/* The one error envelope: {"error":{"code","message","request_id"}} with
 * the kind's status and code (core/errors.h).  The message is fmt formatted
 * (cut to 511 bytes, invalid UTF-8 replaced by '?'), or the kind's default
 * message when fmt is NULL. */
void td_resp_error(td_req *r, td_err kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answer an internal status with its kind (td_err_from_status: EUNAVAIL →
 * 503 unavailable with Retry-After: 1, ENOTFOUND → 404 ...). */
void td_resp_status_error(td_req *r, td_status st);

int td_req_answered(const td_req *r);

#endif
