/*
 * errors.h - every HTTP status tradedesk answers and every error kind a
 * client can see, each defined once.
 *
 * Two X-macro tables (lwan's lwan-http-status.h is the model):
 *
 *   TD_HTTP_STATUSES  (status, reason phrase): the status lines the API
 *                     writes and the label values of the metrics' status
 *                     counters come from this one list.
 *   TD_ERRORS         (kind, status, code, default message): the `code` of
 *                     the error envelope {"error":{"code","message",
 *                     "request_id"}}.  The API's envelope writer takes a
 *                     kind, nginx's own error pages (nginx/errors.conf) are
 *                     printed from the same rows, and openapi.yaml's list of
 *                     codes is checked against them in `make test`.
 *
 * A code is a stable word clients branch on: never rename one, add a row.
 * Every code is unique, so a code alone says its status.  Default messages
 * are plain text that needs no escaping in JSON or in an nginx string (no
 * quote, backslash, dollar or control character); tests check that.
 * Nothing here does I/O or allocates; every returned string is static.
 */
#ifndef TD_CORE_ERRORS_H
#define TD_CORE_ERRORS_H

#include <stddef.h>

#include "domain/td.h"

/* Ascending; a status missing here is answered "Unknown" and counted as
 * the metrics' "other". */
#define TD_HTTP_STATUSES(X)                                                                        \
    X(200, "OK")                                                                                   \
    X(201, "Created")                                                                              \
    X(204, "No Content")                                                                           \
    X(304, "Not Modified")                                                                         \
    X(400, "Bad Request")                                                                          \
    X(401, "Unauthorized")                                                                         \
    X(403, "Forbidden")                                                                            \
    X(404, "Not Found")                                                                            \
    X(405, "Method Not Allowed")                                                                   \
    X(408, "Request Timeout")                                                                      \
    X(409, "Conflict")                                                                             \
    X(413, "Payload Too Large")                                                                    \
    X(414, "URI Too Long")                                                                         \
    X(422, "Unprocessable Content")                                                                \
    X(429, "Too Many Requests")                                                                    \
    X(431, "Request Header Fields Too Large")                                                      \
    X(500, "Internal Server Error")                                                                \
    X(502, "Bad Gateway")                                                                          \
    X(503, "Service Unavailable")                                                                  \
    X(504, "Gateway Timeout")

/*
 * Kinds.  401 has two: UNAUTHENTICATED (no valid token or session; its
 * code stays "unauthorized", the word clients already see) and
 * INVALID_CREDENTIALS (a login refused).  403 FORBIDDEN is authorization:
 * the caller is known but may not do this.  400 means the request cannot be
 * read (bad JSON, a missing or mistyped field, a bad parameter); 422 means
 * it was read and refused by a rule (a check constraint, a trigger that
 * would fire at once).  Kinds only nginx answers are marked (nginx): the API
 * never sees those requests.
 */
#define TD_ERRORS(X)                                                                               \
    X(TD_ERR_BAD_REQUEST, 400, "bad_request", "malformed HTTP request") /* nginx */                \
    X(TD_ERR_INVALID_JSON, 400, "invalid_json", "request body is not valid JSON")                  \
    X(TD_ERR_INVALID_REQUEST, 400, "invalid_request",                                              \
      "a required field is missing or has the wrong type")                                         \
    X(TD_ERR_INVALID_PARAMETER, 400, "invalid_parameter", "a path or query parameter is invalid")  \
    X(TD_ERR_INVALID_QUERY, 400, "invalid_query", "malformed query string")                        \
    X(TD_ERR_UNAUTHENTICATED, 401, "unauthorized", "authentication required")                      \
    X(TD_ERR_INVALID_CREDENTIALS, 401, "invalid_credentials", "invalid username or password")      \
    X(TD_ERR_FORBIDDEN, 403, "forbidden", "access denied")                                         \
    X(TD_ERR_NOT_FOUND, 404, "not_found", "not found")                                             \
    X(TD_ERR_METHOD_NOT_ALLOWED, 405, "method_not_allowed", "method not allowed")                  \
    X(TD_ERR_REQUEST_TIMEOUT, 408, "request_timeout", "request timed out") /* nginx */             \
    X(TD_ERR_CONFLICT, 409, "conflict", "the request conflicts with current state")                \
    X(TD_ERR_DUPLICATE_CLIENT_ORDER_ID, 409, "duplicate_client_order_id",                          \
      "an order with this client_order_id exists already")                                         \
    X(TD_ERR_ORDER_NOT_ACTIVE, 409, "order_not_active", "only an active order can be cancelled")   \
    X(TD_ERR_POSITION_NOT_OPEN, 409, "position_not_open", "the position is closed")                \
    X(TD_ERR_GUARD_TRIPPED, 409, "guard_tripped",                                                  \
      "the drawdown guard is tripped: new orders are refused")                                     \
    X(TD_ERR_PAYLOAD_TOO_LARGE, 413, "payload_too_large", "request body too large")                \
    X(TD_ERR_URI_TOO_LONG, 414, "uri_too_long", "request URI too long") /* nginx */                \
    X(TD_ERR_UNPROCESSABLE, 422, "unprocessable", "the request was refused as invalid")            \
    X(TD_ERR_UNKNOWN_SYMBOL, 422, "unknown_symbol", "the symbol is not an active instrument")      \
    X(TD_ERR_PRICE_UNAVAILABLE, 422, "price_unavailable",                                          \
      "no fresh price to judge the order against; retry when market data resumes")                 \
    X(TD_ERR_WOULD_TRIGGER, 422, "would_trigger_immediately",                                      \
      "the order would trigger immediately at the current price")                                  \
    X(TD_ERR_POSITION_NOT_FOUND, 422, "position_not_found", "no such position of the caller")      \
    X(TD_ERR_POSITION_MISMATCH, 422, "position_mismatch",                                          \
      "the order does not close the position (symbol or side)")                                    \
    X(TD_ERR_QUANTITY_EXCEEDS_POSITION, 422, "quantity_exceeds_position",                          \
      "the quantity is above what the position holds")                                             \
    X(TD_ERR_IDEMPOTENCY_KEY_REUSED, 422, "idempotency_key_reused",                                \
      "this Idempotency-Key was used with a different request")                                    \
    X(TD_ERR_RATE_LIMITED, 429, "rate_limited", "too many requests")                               \
    X(TD_ERR_HEADERS_TOO_LARGE, 431, "headers_too_large", "request headers too large") /* nginx */ \
    X(TD_ERR_INTERNAL, 500, "internal", "internal error")                                          \
    X(TD_ERR_BAD_GATEWAY, 502, "bad_gateway", "the upstream service is not reachable") /* nginx */ \
    X(TD_ERR_UNAVAILABLE, 503, "unavailable", "a backing service is unavailable; retry shortly")   \
    X(TD_ERR_GATEWAY_TIMEOUT, 504, "gateway_timeout",                                              \
      "the upstream service did not answer in time") /* nginx */

/*
 * The errors nginx answers itself (no upstream, a timeout, a body over
 * client_max_body_size, a request it cannot parse), one page each, in the
 * API's envelope.  X(kind, also): the page answers the kind's status and
 * also catches nginx's internal status `also` (0: none); 494 is nginx's
 * "request header too large", which it reports as 400 unless a page says
 * otherwise.
 */
#define TD_NGINX_ERROR_PAGES(X)                                                                    \
    X(TD_ERR_BAD_REQUEST, 0)                                                                       \
    X(TD_ERR_FORBIDDEN, 0)                                                                         \
    X(TD_ERR_NOT_FOUND, 0)                                                                         \
    X(TD_ERR_METHOD_NOT_ALLOWED, 0)                                                                \
    X(TD_ERR_REQUEST_TIMEOUT, 0)                                                                   \
    X(TD_ERR_PAYLOAD_TOO_LARGE, 0)                                                                 \
    X(TD_ERR_URI_TOO_LONG, 0)                                                                      \
    X(TD_ERR_HEADERS_TOO_LARGE, 494)                                                               \
    X(TD_ERR_INTERNAL, 0)                                                                          \
    X(TD_ERR_BAD_GATEWAY, 0)                                                                       \
    X(TD_ERR_UNAVAILABLE, 0)                                                                       \
    X(TD_ERR_GATEWAY_TIMEOUT, 0)

typedef enum td_err {
#define TD_ERR_ENUM(kind, status, code, msg) kind,
    TD_ERRORS(TD_ERR_ENUM)
#undef TD_ERR_ENUM
        TD_ERR_COUNT
} td_err;

enum {
#define TD_HTTP_COUNT_ONE(status, reason) +1
    TD_HTTP_NSTATUS = 0 TD_HTTP_STATUSES(TD_HTTP_COUNT_ONE)
#undef TD_HTTP_COUNT_ONE
};

/* Reason phrase of a status ("Not Found"), "Unknown" when it is not listed. */
const char *td_http_reason(int status);

/* Position of status in TD_HTTP_STATUSES, TD_HTTP_NSTATUS when it is not
 * listed.  A switch the compiler turns into a jump table: cheap enough for
 * every request's metrics. */
size_t td_http_status_index(int status);

/* The status at a position of TD_HTTP_STATUSES; 0 when i is out of range. */
int td_http_status_at(size_t i);

/* A kind's row.  A kind out of range reads as TD_ERR_INTERNAL. */
int td_err_status(td_err kind);
const char *td_err_code(td_err kind);
const char *td_err_message(td_err kind);

/* The kind a client sees for an internal status: TD_EUNAVAIL unavailable,
 * TD_ENOTFOUND not_found, TD_ECONFLICT conflict, TD_EINVAL unprocessable,
 * TD_EDENIED unauthorized, TD_ELIMIT rate_limited, anything else internal.
 * TD_OK is not an error and also maps to internal: a caller answering an
 * error for success has a bug. */
td_err td_err_from_status(td_status st);

#endif
