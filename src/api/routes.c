/*
 * routes.c - the API's single route table.  A new endpoint is one line here
 * plus its handler.
 */
#include "api/app.h"
#include "api/handlers/metrics_handler.h"
#include "api/router.h"

const td_route td_api_routes[] = {
    {"GET", "/health", td_h_health, TD_PUBLIC},
    {"GET", "/api/v1/monitoring/health", td_h_health, TD_PUBLIC},
    {"POST", "/api/v1/auth/login", td_h_login, TD_PUBLIC}, /* its own limits (handlers/auth.c) */
    {"POST", "/api/v1/auth/logout", td_h_logout, TD_USER},
    {"POST", "/api/v1/auth/logout-all", td_h_logout_all, TD_USER},
    {"GET", "/api/v1/auth/sessions", td_h_sessions, TD_USER},
    {"GET", "/api/v1/portfolio", td_h_portfolio, TD_USER},
    {"GET", "/api/v1/positions", td_h_positions, TD_USER},
    {"GET", "/api/v1/positions/{id}", td_h_position, TD_USER},
    {"POST", "/api/v1/orders/conditional", td_h_order_create, TD_USER},
    {"GET", "/api/v1/orders/conditional", td_h_orders, TD_USER},
    {"GET", "/api/v1/orders/conditional/{id}", td_h_order, TD_USER},
    {"DELETE", "/api/v1/orders/conditional/{id}", td_h_order_cancel, TD_USER},
    {"POST", "/api/v1/orders/oco", td_h_oco_create, TD_USER},
    {"GET", "/api/v1/orders/oco/{id}", td_h_oco, TD_USER},
    {"DELETE", "/api/v1/orders/oco/{id}", td_h_oco_cancel, TD_USER},
    {"GET", "/api/v1/fills", td_h_fills, TD_USER},
    {"GET", "/api/v1/pnl/daily", td_h_pnl_daily, TD_USER},
    {"GET", "/api/v1/reconciliation/status", td_h_recon_status, TD_USER},
    {"GET", "/api/v1/reconciliation/logs", td_h_recon_logs, TD_USER},
    {"GET", "/api/v1/guards/drawdown", td_h_guard_drawdown, TD_USER},
    /* The market's alerts: the same for every user, but a guard (a token). */
    {"GET", "/api/v1/guards/market-alerts", td_h_market_alerts, TD_USER},
    /* Market data: public, like an exchange's, and limited per address. */
    {"GET", "/api/v1/prices", td_h_prices, TD_PUBLIC, TD_LIMIT_MARKET},
    {"GET", "/api/v1/prices/{symbol}", td_h_price, TD_PUBLIC, TD_LIMIT_MARKET},
    {"GET", "/api/v1/candles", td_h_candles, TD_PUBLIC, TD_LIMIT_MARKET},
    {"GET", "/api/v1/trades", td_h_trades, TD_PUBLIC, TD_LIMIT_MARKET},
    {"GET", "/api/v1/orderbook/{symbol}", td_h_orderbook, TD_PUBLIC, TD_LIMIT_MARKET},
    {"GET", "/api/v1/market/feeds", td_h_market_feeds, TD_PUBLIC, TD_LIMIT_MARKET},
    {"GET", "/metrics", td_h_metrics, TD_PUBLIC}, /* nginx limits who may scrape */
    /* What the API did lately; the response cache's administration. */
    {"GET", "/api/v1/monitoring/health/detailed", td_h_monitoring_health_detailed, TD_ADMIN},
    {"GET", "/api/v1/monitoring/errors", td_h_monitoring_errors, TD_ADMIN},
    {"GET", "/api/v1/monitoring/slow-requests", td_h_monitoring_slow, TD_ADMIN},
    {"GET", "/api/v1/admin/redis/health", td_h_admin_redis_health, TD_ADMIN},
    {"GET", "/api/v1/admin/redis/stats", td_h_admin_redis_stats, TD_ADMIN},
    {"POST", "/api/v1/admin/redis/clear", td_h_admin_redis_clear, TD_ADMIN},
    {"POST", "/api/v1/admin/redis/reset-stats", td_h_admin_redis_reset_stats, TD_ADMIN},
    {"POST", "/api/v1/admin/guards/{user_id}/reset", td_h_admin_guard_reset, TD_ADMIN},
};
const size_t td_api_nroutes = TD_ARRAY_LEN(td_api_routes);
