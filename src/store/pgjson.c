/*
 * pgjson.c - PGresult columns as JSON values; see pgjson.h.
 */
#include "store/pgjson.h"

#include <stdlib.h>
#include <string.h>

int td_col_dec(const PGresult *res, int row, int col, td_dec *out)
{
    if (PQgetisnull(res, row, col))
        return 0;
    const char *v = PQgetvalue(res, row, col);
    return td_dec_parse(v, strlen(v), out) == TD_OK;
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

void td_jw_col_strs(td_jw *w, const PGresult *res, int row, int first, const char *const *keys,
                    int n)
{
    for (int i = 0; i < n; i++) {
        td_jw_key(w, keys[i]);
        td_jw_col_str(w, res, row, first + i);
    }
}

int td_jw_col_decs(td_jw *w, const PGresult *res, int row, int first, const char *const *keys,
                   int n)
{
    for (int i = 0; i < n; i++) {
        td_jw_key(w, keys[i]);
        if (!td_jw_col_dec(w, res, row, first + i))
            return 0;
    }
    return 1;
}

void td_jw_col_times(td_jw *w, const PGresult *res, int row, int first, const char *const *keys,
                     int n)
{
    for (int i = 0; i < n; i++) {
        td_jw_key(w, keys[i]);
        td_jw_col_time(w, res, row, first + i);
    }
}

int td_jw_order(td_jw *w, const PGresult *res, int row, int first)
{
    static const char *const text[] = {"id", "client_order_id", "type", "side", "symbol"};
    static const char *const money[] = {"quantity", "trigger_price", "callback_rate",
                                        "activation_price"};
    static const char *const state[] = {"position_id", "status", "oco_group_id", "cancel_reason"};
    static const char *const trail[] = {"extreme_price", "triggered_price"};
    static const char *const times[] = {"created_at", "updated_at",   "triggered_at",
                                        "filled_at",  "cancelled_at", "expires_at"};
    static const char *const trace[] = {"trace_id"};
    td_jw_obj(w);
    td_jw_col_strs(w, res, row, first, text, 5);
    if (!td_jw_col_decs(w, res, row, first + 5, money, 4))
        return 0;
    td_jw_col_strs(w, res, row, first + 9, state, 4);
    td_jw_key(w, "armed");
    td_jw_bool(w, PQgetvalue(res, row, first + 13)[0] == 't');
    if (!td_jw_col_decs(w, res, row, first + 14, trail, 2))
        return 0;
    td_jw_col_times(w, res, row, first + 16, times, 6);
    td_jw_col_strs(w, res, row, first + 22, trace, 1);
    td_jw_end(w, '}');
    return 1;
}

int td_jw_fill(td_jw *w, const PGresult *res, int row, int first)
{
    static const char *const text[] = {"id", "order_id", "symbol", "side"};
    static const char *const money[] = {"quantity", "price", "realized_pnl"};
    static const char *const pos[] = {"position_id"};
    static const char *const times[] = {"created_at"};
    static const char *const trace[] = {"trace_id"};
    td_jw_obj(w);
    td_jw_col_strs(w, res, row, first, text, 4);
    if (!td_jw_col_decs(w, res, row, first + 4, money, 3))
        return 0;
    td_jw_col_strs(w, res, row, first + 7, pos, 1);
    td_jw_col_times(w, res, row, first + 8, times, 1);
    td_jw_col_strs(w, res, row, first + 9, trace, 1);
    td_jw_end(w, '}');
    return 1;
}
