/*
 * columns.c - PGresult columns as JSON values; see columns.h.
 */
#include "api/columns.h"
#include "api/app.h"
#include "api/params.h"
#include "domain/price.h"

#include <inttypes.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

void td_jw_dec_or_null(td_jw *w, bool known, td_dec v)
{
    if (known)
        td_jw_dec(w, v);
    else
        td_jw_null(w);
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

int td_list_build(td_req *r, td_jw *w)
{
    const td_list_query *q = r->ctx;
    char uid[24], aft[24], lim[16];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(aft, sizeof aft, "%" PRId64, q->after);
    snprintf(lim, sizeof lim, "%d", q->limit + 1); /* one extra row: is there a next page? */
    const char *p[5] = {uid};
    int n = 1;
    for (int i = 0; i < q->nfilters; i++)
        p[n++] = q->filters[i];
    p[n++] = aft;
    p[n++] = lim;
    PGresult *res = td_req_query(r, q->stmt, n, p);
    if (!res)
        return 0;
    int ok = td_jw_page(r, w, res, q->limit, q->row, q->what);
    PQclear(res);
    return ok;
}

int td_param_page(td_req *r, td_list_query *q)
{
    return td_param_int(r, "limit", 50, 1, 200, &q->limit) &&
           td_param_cursor(r, "cursor", &q->after);
}

PGresult *td_req_one(td_req *r, const char *stmt, int64_t id, const char *what)
{
    char uid[24], oid[24];
    snprintf(uid, sizeof uid, "%" PRId64, r->user_id);
    snprintf(oid, sizeof oid, "%" PRId64, id);
    const char *p[] = {uid, oid};
    PGresult *res = td_req_query(r, stmt, 2, p);
    if (res && PQntuples(res) != 1) {
        PQclear(res);
        td_resp_error(r, TD_ERR_NOT_FOUND, "%s %s not found", what, oid);
        return NULL;
    }
    return res;
}

int td_one_build(td_req *r, td_jw *w)
{
    const td_one_query *q = r->ctx;
    PGresult *res = td_req_one(r, q->stmt, q->id, q->what);
    if (!res)
        return 0;
    int ok = q->row(w, res, 0);
    if (!ok)
        td_resp_error(r, TD_ERR_INTERNAL, "a stored %s does not fit fixed point", q->what);
    PQclear(res);
    return ok;
}

int td_param_one(td_req *r, td_one_query *q)
{
    return td_param_none(r) && td_path_id(r, 0, "id", &q->id);
}
