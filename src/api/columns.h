/*
 * columns.h - from a PGresult's columns to the API's JSON: decimals,
 * timestamps, nullable values, and the one list shape
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

#include <libpq-fe.h>
#include <stdbool.h>

/* A NUMERIC column as fixed point; 0 when it is NULL or does not fit. */
int td_col_dec(const PGresult *res, int row, int col, td_dec *out);
/* A known decimal, or null. */
void td_jw_dec_or_null(td_jw *w, bool known, td_dec v);
/* The column as a decimal string, null when NULL; 0 when it does not fit. */
int td_jw_col_dec(td_jw *w, const PGresult *res, int row, int col);
/* The column as a string, null when NULL. */
void td_jw_col_str(td_jw *w, const PGresult *res, int row, int col);
/* A TD_SQL_EPOCH_MS column as RFC 3339, null when NULL. */
void td_jw_col_time(td_jw *w, const PGresult *res, int row, int col);

/* Writes one row; 0 when a stored value cannot be shown. */
typedef int (*td_row_write_fn)(td_jw *w, const PGresult *res, int row);

/* {"items":[rows 0..limit-1],"next_cursor":...} from a page queried with
 * LIMIT limit + 1 (the extra row says there is a next page); the cursor
 * resumes after column 0 (the id) of the last row shown.  On a row that
 * cannot be shown answers 500 naming `what` and returns 0. */
int td_jw_page(td_req *r, td_jw *w, const PGresult *res, int limit, td_row_write_fn row,
               const char *what);

#endif
