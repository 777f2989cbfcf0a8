/*
 * columns.h - from a PGresult's columns to the API's JSON: the column
 * helpers of store/pgjson.h, and the one list shape
 * {"items":[...],"next_cursor":...} of keyset-paginated endpoints.
 *
 * Every handler that shows stored rows uses these, so a NULL column, a
 * price that does not fit fixed point or a page's cursor looks the same in
 * every response.  Nothing here queries; results stay the caller's.
 */
#ifndef TD_API_COLUMNS_H
#define TD_API_COLUMNS_H

#include "api/request.h"
#include "core/jsonw.h"
#include "domain/decimal.h"
#include "store/pgjson.h"

#include <libpq-fe.h>
#include <stdbool.h>

/* A known decimal, or null. */
void td_jw_dec_or_null(td_jw *w, bool known, td_dec v);

/* Writes one row; 0 when a stored value cannot be shown. */
typedef int (*td_row_write_fn)(td_jw *w, const PGresult *res, int row);

/* {"items":[rows 0..limit-1],"next_cursor":...} from a page queried with
 * LIMIT limit + 1 (the extra row says there is a next page); the cursor
 * resumes after column 0 (the id) of the last row shown.  On a row that
 * cannot be shown answers 500 naming `what` and returns 0. */
int td_jw_page(td_req *r, td_jw *w, const PGresult *res, int limit, td_row_write_fn row,
               const char *what);

/* A keyset-paginated list of the caller's rows, as a td_cache_respond
 * builder: r->ctx points at one of these (arena-owned).  The statement's
 * parameters are the user id, the filters (each NULL when not given), the
 * id to resume after and the limit + 1. */
typedef struct td_list_query {
    const char *stmt;
    const char *filters[2];
    int nfilters;
    int limit;
    int64_t after;
    td_row_write_fn row;
    const char *what; /* "position": named in a 500 */
} td_list_query;

int td_list_build(td_req *r, td_jw *w);

/* The page parameters every list takes: limit (1-200, default 50) and
 * cursor (a next_cursor of ours); 0 after answering 400. */
int td_param_page(td_req *r, td_list_query *q);

/* One of the caller's rows by id: stmt takes (user id, id).  NULL after
 * answering (404 "<what> <id> not found" when it is not the caller's:
 * absent and another user's look the same, or 503 ...). */
PGresult *td_req_one(td_req *r, const char *stmt, int64_t id, const char *what);

/* GET .../{id} of one of the caller's rows, as a td_cache_respond builder:
 * r->ctx points at one of these. */
typedef struct td_one_query {
    const char *stmt;
    int64_t id;
    td_row_write_fn row;
    const char *what;
} td_one_query;

int td_one_build(td_req *r, td_jw *w);

/* No query parameters and a positive id as the first path argument, into
 * q->id; 0 after answering 400. */
int td_param_one(td_req *r, td_one_query *q);

#endif
