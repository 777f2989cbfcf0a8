/*
 * pgjson.h - a PGresult's columns as JSON values (decimals, timestamps,
 * nullable values), and the one conditional order object and the one
 * fill object built from them: the API answers the order
 * (api/handlers/orders.c) and the relay publishes it as an order event's
 * data (engine/relay.c, sql/021); the API answers the fill
 * (api/handlers/fills.c) and the monitor pushes it from its commit
 * (engine/monitor.c, sql/026).  So REST and the channels agree field for
 * field.
 *
 * Nothing here queries; results stay the caller's.
 */
#ifndef TD_STORE_PGJSON_H
#define TD_STORE_PGJSON_H

#include "core/jsonw.h"
#include "domain/decimal.h"

#include <libpq-fe.h>

/* A NUMERIC column as fixed point; 0 when it is NULL or does not fit. */
int td_col_dec(const PGresult *res, int row, int col, td_dec *out);
/* The column as a decimal string, null when NULL; 0 when it does not fit. */
int td_jw_col_dec(td_jw *w, const PGresult *res, int row, int col);
/* The column as a string, null when NULL. */
void td_jw_col_str(td_jw *w, const PGresult *res, int row, int col);
/* A TD_SQL_EPOCH_MS column as RFC 3339, null when NULL. */
void td_jw_col_time(td_jw *w, const PGresult *res, int row, int col);

/* n consecutive columns from `first` as the members keys[0..n): strings,
 * decimals (0 when one does not fit), times; each null when NULL. */
void td_jw_col_strs(td_jw *w, const PGresult *res, int row, int first, const char *const *keys,
                    int n);
int td_jw_col_decs(td_jw *w, const PGresult *res, int row, int first, const char *const *keys,
                   int n);
void td_jw_col_times(td_jw *w, const PGresult *res, int row, int first, const char *const *keys,
                     int n);

/* The order's columns, from `first`, in this order (the API's
 * ORDER_COLUMNS, sql/021's o_* columns): id, client_order_id, type, side,
 * symbol, quantity, trigger_price, callback_rate, activation_price,
 * position_id, status, oco_group_id, cancel_reason, armed, extreme_price,
 * triggered_price, then created_at, updated_at, triggered_at, filled_at,
 * cancelled_at, expires_at as TD_SQL_EPOCH_MS, then trace_id. */
#define TD_ORDER_NCOLS 23

/* Those columns as openapi's ConditionalOrder; 0 when a stored value does
 * not fit fixed point (what was written is then not valid JSON). */
int td_jw_order(td_jw *w, const PGresult *res, int row, int first);

/* A fill's columns, from `first`, in this order (the API's FILL_COLUMNS,
 * sql/026's f_* columns): id, order_id, symbol, side, quantity, price,
 * realized_pnl, position_id, created_at as TD_SQL_EPOCH_MS, then its
 * order's trace_id. */
#define TD_FILL_NCOLS 10

/* Those columns as openapi's Fill; 0 when an amount does not fit fixed
 * point (what was written is then not valid JSON). */
int td_jw_fill(td_jw *w, const PGresult *res, int row, int first);

#endif
