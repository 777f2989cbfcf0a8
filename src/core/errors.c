/*
 * errors.c - lookups over the tables of errors.h.  Everything is expanded
 * from the X-macros, so a status or kind is added in errors.h alone.
 * No I/O, no allocation.
 */
#include "core/errors.h"

static const struct err_row {
    int status;
    const char *code, *message;
} k_errors[TD_ERR_COUNT] = {
#define ERR_ROW(kind, status, code, msg) [kind] = {status, code, msg},
    TD_ERRORS(ERR_ROW)
#undef ERR_ROW
};

static const int k_statuses[TD_HTTP_NSTATUS] = {
#define STATUS_ROW(status, reason) status,
    TD_HTTP_STATUSES(STATUS_ROW)
#undef STATUS_ROW
};

static const char *const k_reasons[TD_HTTP_NSTATUS] = {
#define REASON_ROW(status, reason) reason,
    TD_HTTP_STATUSES(REASON_ROW)
#undef REASON_ROW
};

/* Case labels are the positions in order: each X() bumps a counter.  The
 * enum gives every status a constant name so the switch needs no search. */
enum {
#define STATUS_POS(status, reason) POS_##status,
    TD_HTTP_STATUSES(STATUS_POS)
#undef STATUS_POS
};

/* A kind whose status is not in TD_HTTP_STATUSES names an undeclared
 * POS_<status> here and stops the build. */
#define KIND_STATUS_LISTED(kind, status, code, msg) _Static_assert(POS_##status >= 0, #kind);
TD_ERRORS(KIND_STATUS_LISTED)
#undef KIND_STATUS_LISTED

size_t td_http_status_index(int status)
{
    switch (status) {
#define STATUS_CASE(status, reason)                                                                \
    case status:                                                                                   \
        return POS_##status;
        TD_HTTP_STATUSES(STATUS_CASE)
#undef STATUS_CASE
    default:
        return TD_HTTP_NSTATUS;
    }
}

int td_http_status_at(size_t i)
{
    return i < TD_HTTP_NSTATUS ? k_statuses[i] : 0;
}

const char *td_http_reason(int status)
{
    size_t i = td_http_status_index(status);
    return i < TD_HTTP_NSTATUS ? k_reasons[i] : "Unknown";
}

static const struct err_row *row(td_err kind)
{
    return &k_errors[(unsigned)kind < TD_ERR_COUNT ? kind : TD_ERR_INTERNAL];
}

int td_err_status(td_err kind)
{
    return row(kind)->status;
}

const char *td_err_code(td_err kind)
{
    return row(kind)->code;
}

const char *td_err_message(td_err kind)
{
    return row(kind)->message;
}

td_err td_err_from_status(td_status st)
{
    switch (st) {
    case TD_EUNAVAIL:
        return TD_ERR_UNAVAILABLE;
    case TD_ENOTFOUND:
        return TD_ERR_NOT_FOUND;
    case TD_ECONFLICT:
        return TD_ERR_CONFLICT;
    case TD_EINVAL:
        return TD_ERR_UNPROCESSABLE;
    case TD_EDENIED:
        return TD_ERR_UNAUTHENTICATED;
    case TD_ELIMIT:
        return TD_ERR_RATE_LIMITED;
    case TD_OK:
    case TD_ERROR:
    case TD_ENOMEM:
        break;
    }
    return TD_ERR_INTERNAL;
}
