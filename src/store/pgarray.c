/*
 * pgarray.c - see pgarray.h.
 */
#include "store/pgarray.h"

#include <stdio.h>
#include <string.h>

void td_pg_cols_init(td_pg_cols *c, td_arena *a, int n)
{
    memset(c, 0, sizeof *c);
    c->a = a;
    c->n = n < TD_PG_COLS_MAX ? n : TD_PG_COLS_MAX;
}

void td_pg_col_add(td_pg_cols *c, int i, const char *v)
{
    td_buf_add(c->a, &c->b[i], c->b[i].len ? "," : "{", 1);
    td_buf_add(c->a, &c->b[i], v, strlen(v));
}

void td_pg_col_int(td_pg_cols *c, int i, long long v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", v);
    td_pg_col_add(c, i, s);
}

void td_pg_col_dec(td_pg_cols *c, int i, td_dec v)
{
    char s[TD_DEC_STR_MAX];
    td_dec_format(v, s, sizeof s);
    td_pg_col_add(c, i, s);
}

void td_pg_cols_params(td_pg_cols *c, const char **params)
{
    for (int i = 0; i < c->n; i++) {
        if (!c->b[i].len)
            td_buf_add(c->a, &c->b[i], "{", 1);
        td_buf_add(c->a, &c->b[i], "}", 1);
        params[i] = c->b[i].data;
    }
}
