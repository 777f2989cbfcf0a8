/*
 * app.h - what a worker holds for its lifetime: configuration and its own
 * PostgreSQL and Redis connections.
 */
#ifndef TD_API_APP_H
#define TD_API_APP_H

#include "api/request.h"
#include "core/config.h"
#include "store/db.h"
#include "store/redis.h"
#include "core/token.h"

typedef struct td_app {
    td_config cfg;
    td_db *db;
    td_redis *redis;
    td_token_config tok;
} td_app;

/* Connect nothing yet; connections open on first use.  TD_ENOMEM on OOM. */
td_status td_app_open(td_app *app, const td_config *cfg);
void td_app_close(td_app *app);

/* Route, authenticate and run the handler for a parsed request; always
 * leaves a response in r->out. */
void td_api_handle(td_req *r);

/* Accept and serve FastCGI requests on listen_fd until shutdown. */
int td_worker_run(int listen_fd, const td_config *cfg);

/* Run one of the handlers' prepared statements; on failure answer the
 * request (503 when PostgreSQL is down, ...) and return NULL. */
PGresult *td_req_query(td_req *r, const char *stmt, int nparams, const char *const *params);

/* Handlers (one file per area). */
void td_h_health(td_req *r);
void td_h_login(td_req *r);
void td_h_logout(td_req *r);
void td_h_logout_all(td_req *r);
void td_h_sessions(td_req *r);
void td_h_portfolio(td_req *r);
void td_h_positions(td_req *r);
void td_h_position(td_req *r);
void td_h_prices(td_req *r);
void td_h_price(td_req *r);
void td_h_candles(td_req *r);
void td_h_trades(td_req *r);
void td_h_orderbook(td_req *r);
void td_h_market_feeds(td_req *r);
void td_h_orders(td_req *r);
void td_h_order(td_req *r);
void td_h_order_create(td_req *r);
void td_h_order_cancel(td_req *r);
void td_h_oco_create(td_req *r);
void td_h_oco(td_req *r);
void td_h_oco_cancel(td_req *r);
void td_h_pnl_daily(td_req *r);
void td_h_monitoring_errors(td_req *r);
void td_h_monitoring_health_detailed(td_req *r);
void td_h_monitoring_slow(td_req *r);
void td_h_admin_redis_health(td_req *r);
void td_h_admin_redis_stats(td_req *r);
void td_h_admin_redis_clear(td_req *r);
void td_h_admin_redis_reset_stats(td_req *r);
void td_h_fills(td_req *r);
void td_h_recon_status(td_req *r);
void td_h_recon_logs(td_req *r);
void td_h_guard_drawdown(td_req *r);
void td_h_admin_guard_reset(td_req *r);
/* guards.c: 1 when user uid may create orders; 0 after answering (409
 * guard_tripped while their drawdown guard blocks, or a database error).
 * Inside the creating transaction (it locks the guard row FOR SHARE). */
int td_guard_allows_orders(td_req *r, const char *uid);
void td_h_market_alerts(td_req *r);

/* SQL statements of each handler file, prepared on every connection. */
extern const td_db_stmt td_auth_stmts[], td_portfolio_stmts[], td_position_stmts[],
    td_price_stmts[], td_market_stmts[], td_order_stmts[], td_fill_stmts[], td_monitoring_stmts[],
    td_recon_api_stmts[];
extern const td_db_stmt td_guard_api_stmts[];
extern const size_t td_guard_api_nstmts;
extern const size_t td_auth_nstmts, td_portfolio_nstmts, td_position_nstmts, td_price_nstmts,
    td_market_nstmts, td_order_nstmts, td_fill_nstmts, td_monitoring_nstmts, td_recon_api_nstmts;
extern const td_db_stmt td_market_alert_stmts[];
extern const size_t td_market_alert_nstmts;

#endif
