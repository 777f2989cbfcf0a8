/*
 * pgarray.h - the columns of many rows as PostgreSQL array literals
 * ("{a,b,c}"), the parameters of one statement that takes them through
 * unnest(): many rows, one round trip.  Values must need no quoting:
 * symbols, names, numbers (decimals, ids, epoch ms), t/f.
 *
 * Memory comes from the caller's arena; nothing here frees.
 */
#ifndef TD_STORE_PGARRAY_H
#define TD_STORE_PGARRAY_H

#include "core/buf.h"
#include "domain/decimal.h"

#define TD_PG_COLS_MAX 10

typedef struct td_pg_cols {
    td_arena *a;
    int n;
    td_buf b[TD_PG_COLS_MAX];
} td_pg_cols;

/* n columns (at most TD_PG_COLS_MAX), empty. */
void td_pg_cols_init(td_pg_cols *c, td_arena *a, int n);
/* Append a value to column i. */
void td_pg_col_add(td_pg_cols *c, int i, const char *v);
void td_pg_col_int(td_pg_cols *c, int i, long long v);
void td_pg_col_dec(td_pg_cols *c, int i, td_dec v);
/* Close every column ("{}" when it got no value) and point params[0..n)
 * at them; valid as long as the arena. */
void td_pg_cols_params(td_pg_cols *c, const char **params);

#endif
