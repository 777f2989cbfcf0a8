/*
 * params.h - declarative validation of query parameters and path ids.
 *
 * Each td_param_* function either fills its output and returns 1, or answers
 * 400 invalid_parameter naming the parameter and returns 0, so a handler
 * reads as a list of checks.
 */
#ifndef TD_API_PARAMS_H
#define TD_API_PARAMS_H

#include "api/request.h"
#include "domain/decimal.h"
#include "domain/symbol.h" /* td_symbol_valid, for handlers that check a path */

/* Refuse parameters not in allowed (NULL-terminated): typos fail loudly. */
int td_param_only(td_req *r, const char *const *allowed);
/* No query parameter at all; 0 after answering 400. */
int td_param_none(td_req *r);
/* Integer in [lo, hi]; absent → def. */
int td_param_int(td_req *r, const char *name, int def, int lo, int hi, int *out);
/* One of choices (NULL-terminated); absent → NULL. */
int td_param_enum(td_req *r, const char *name, const char *const *choices, const char **out);
/* Canonical BASE-QUOTE symbol; absent → NULL. */
int td_param_symbol(td_req *r, const char *name, const char **out);
/* RFC 3339 time (td_rfc3339_parse_ms); absent → *present = 0. */
int td_param_time(td_req *r, const char *name, int64_t *epoch_ms, int *present);
/* Opaque keyset cursor; absent → 0. */
int td_param_cursor(td_req *r, const char *name, int64_t *after_id);
/* A date YYYY-MM-DD (UTC) as its midnight in epoch milliseconds; absent:
 * *present 0.  0 after answering 400. */
int td_param_date(td_req *r, const char *name, int64_t *day_ms, int *present);
/* A non-negative integer id (e.g. GET /fills?since=); absent → 0. */
int td_param_id(td_req *r, const char *name, int64_t *out);
/* Path symbol (parameter "symbol"): canonical BASE-QUOTE. */
int td_path_symbol(td_req *r, size_t idx);
/* Path id: a positive decimal integer. */
int td_path_id(td_req *r, size_t idx, const char *what, int64_t *out);

/* A positive decimal id of at most 19 digits, as ids travel in JSON
 * ("17"); 0 for anything else. */
int td_id_parse(const char *s, int64_t *out);

/* The cursor that resumes after id; written into buf (>= 24 bytes). */
void td_cursor_encode(int64_t id, char *buf, size_t cap);
td_status td_cursor_decode(const char *s, int64_t *id);

#endif
