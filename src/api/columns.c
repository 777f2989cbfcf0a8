/*
 * columns.c - PGresult columns as JSON values; see columns.h.
 */
#include "api/columns.h"
#include "api/params.h"

#include <stdlib.h>
#include <string.h>

int td_col_dec(const PGresult *res, int row, int col, td_dec *out)
{
    if (PQgetisnull(res, row, col))
        return 0;
    const char *v = PQgetvalue(res, row, col);
    return td_dec_parse(v, strlen(v), out) == TD_OK;
}

void td_jw_dec_or_null(td_jw *w, bool known, td_dec v)
{
    if (known)
        td_jw_dec(w, v);
    else
        td_jw_null(w);
}

int td_jw_col_dec(td_jw *w, const PGresult *res, int row, int col)
{
    td_dec v = 0;
    if (PQgetisnull(res, row, col)) {
        td_jw_null(w);
        return 1;
    }
    if (!td_col_dec(res, row, col, &v))
        return 0;
    td_jw_dec(w, v);
    return 1;
}

void td_jw_col_str(td_jw *w, const PGresult *res, int row, int col)
{
    td_jw_str(w, PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col));
}

void td_jw_col_time(td_jw *w, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        td_jw_null(w);
    else
        td_jw_time_ms(w, strtoll(PQgetvalue(res, row, col), NULL, 10));
}

int td_jw_page(td_req *r, td_jw *w, const PGresult *res, int limit, td_row_write_fn row,
               const char *what)
{
    int n = PQntuples(res);
    int shown = n > limit ? limit : n;
    td_jw_obj(w);
    td_jw_key(w, "items");
    td_jw_arr(w);
    for (int i = 0; i < shown; i++)
        if (!row(w, res, i)) {
            td_resp_error(r, TD_ERR_INTERNAL, "a stored %s does not fit fixed point", what);
            return 0;
        }
    td_jw_end(w, ']');
    td_jw_key(w, "next_cursor");
    if (n > limit) {
        char cur[24];
        td_cursor_encode(strtoll(PQgetvalue(res, shown - 1, 0), NULL, 10), cur, sizeof cur);
        td_jw_str(w, cur);
    } else {
        td_jw_null(w);
    }
    td_jw_end(w, '}');
    return 1;
}
