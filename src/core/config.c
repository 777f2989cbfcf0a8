/*
 * config.c - the table of TRADEDESK_* settings and the one loader that
 * reads it: env file, environment, defaults, validation.
 *
 * Every setting is one row of g_settings (Kore's directive table): its
 * type, default, bounds, who reads it, where it lands and one line of help.
 * The loader has no per-setting code; what a row cannot say (the JWT
 * secret's length, Redis URL schemes) is a check function the row names.
 * A bad value is a start-up error naming the variable, never a silent
 * fallback.  Apart from the env file and getenv this file does no I/O.
 */
#include "core/config.h"
#include "core/log.h"
#include "domain/decimal.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- checks the rows name ------------------------------------------------ */

/* Four per core: a worker blocks while PostgreSQL or Redis answers, and
 * fewer workers than that leave cores idle (docs/performance.md). */
static long default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 4 : n > 16 ? 64 : n * 4;
}

/* Argon2id is CPU-bound: more verifications at once than cores only makes
 * every request on the machine wait longer. */
static long default_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : n;
}

static td_status check_redis_url(const char *name, const char *v, int need_secret, char *err,
                                 size_t errcap)
{
    (void)need_secret;
    if (strncmp(v, "redis://", 8) == 0 || strncmp(v, "unix:", 5) == 0)
        return TD_OK;
    snprintf(err, errcap, "%s: '%s' must start with redis:// or unix:", name, v);
    return TD_EINVAL;
}

/* Only programs that sign or verify tokens need it (need_secret). */
static td_status check_jwt_secret(const char *name, const char *v, int need_secret, char *err,
                                  size_t errcap)
{
    size_t n = strlen(v);
    if (!need_secret || n >= 32)
        return TD_OK;
    if (n == 0)
        snprintf(err, errcap, "%s: not set (need at least 32 bytes)", name);
    else
        snprintf(err, errcap, "%s: %zu bytes is too short (need at least 32)", name, n);
    return TD_EINVAL;
}

/* A reconciliation tolerance: a non-negative fixed-point amount. */
static td_status check_recon_amount(const char *name, const char *v, int need_secret, char *err,
                                    size_t errcap)
{
    (void)need_secret;
    td_dec d;
    if (td_dec_parse(v, strlen(v), &d) == TD_OK && d >= 0)
        return TD_OK;
    snprintf(err, errcap, "%s: '%s' must be a non-negative amount with at most 8 decimals", name,
             v);
    return TD_EINVAL;
}

/* A drawdown threshold: a percentage above 0 and at most 100. */
static td_status check_guard_pct(const char *name, const char *v, int need_secret, char *err,
                                 size_t errcap)
{
    (void)need_secret;
    td_dec d;
    if (td_dec_parse(v, strlen(v), &d) == TD_OK && d > 0 && d <= 100 * TD_DEC_SCALE)
        return TD_OK;
    snprintf(err, errcap, "%s: '%s' must be a percentage above 0 and at most 100", name, v);
    return TD_EINVAL;
}

/* ---- the table ------------------------------------------------------------ */

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const oracle_modes[] = {"priority", "median", NULL};
static const char *const guard_actions[] = {"none", "block", "close", NULL}; /* td_guard_action */
static const char *const api_transports[] = {"libfcgi", "own", NULL}; /* TD_TRANSPORT_* */
_Static_assert(TD_LOG_DEBUG == 0 && TD_LOG_INFO == 1 && TD_LOG_WARN == 2 && TD_LOG_ERROR == 3,
               "log_levels[] is indexed by TD_LOG_*");

#define API TD_PROG_API
#define CLI TD_PROG_CLI
#define RUN TD_PROG_RUN
#define ENGINE TD_PROG_ENGINE
#define STREAM TD_PROG_STREAM

/* Where a row lands: a string field (with its size) or an int field. */
#define STR_AT(f) .offset = offsetof(td_config, f), .size = sizeof(((td_config *)0)->f)
#define INT_AT(f) .offset = offsetof(td_config, f)
#define NOWHERE .offset = TD_SETTING_NOWHERE

static const td_setting g_settings[] = {
    {"TRADEDESK_ENV_FILE", TD_SETTING_STRING, API | CLI | ENGINE | STREAM, NULL, NOWHERE,
     .flags = TD_SETTING_ENV_ONLY,
     .help = "file of `TRADEDESK_NAME=value` lines read before the environment; its values win; "
             "the api re-reads it on SIGHUP"},
    {"TRADEDESK_HTTP_PORT", TD_SETTING_INT, RUN, "8080", .lo = 1, .hi = 65535, NOWHERE,
     .help = "nginx port for `make run`"},
    {"TRADEDESK_WS_PORT", TD_SETTING_INT, RUN, "8081", .lo = 1, .hi = 65535, NOWHERE,
     .help = "where `make run`'s nginx proxies `/ws`: the stream's port (its "
             "`TRADEDESK_STREAM_LISTEN` is set to `127.0.0.1:` this)"},
    {"TRADEDESK_FCGI_LISTEN", TD_SETTING_STRING, API, "var/run/tradedesk-api.sock",
     STR_AT(fcgi_listen), .flags = TD_SETTING_NONEMPTY,
     .help = "FastCGI socket: a unix path, or `host:port`; `make run` points it into `var/run`"},
    {"TRADEDESK_FCGI_GROUP", TD_SETTING_STRING, API, "www-data", STR_AT(fcgi_group),
     .help = "group given the unix FastCGI socket (mode 0660, so only the API's user and this "
             "group may connect): nginx's worker group; empty keeps the API's own group"},
    {"TRADEDESK_API_TRANSPORT", TD_SETTING_ENUM, API | RUN, "own", .choices = api_transports,
     INT_AT(api_transport),
     .help = "`libfcgi`: each worker accepts one FastCGI connection per request; `own`: the master "
             "holds nginx's kept-alive connections and hands each request to an idle worker "
             "(docs/architecture.md); read at start only"},
    {"TRADEDESK_WORKERS", TD_SETTING_INT, API, NULL, .lo = 1, .hi = 256, INT_AT(workers),
     .def_fn = default_workers, .doc_default = "4 × cores",
     .help = "FastCGI worker processes (they block on PostgreSQL and Redis, so more than cores)"},
    {"TRADEDESK_DATABASE_URL", TD_SETTING_STRING, API | CLI | ENGINE | STREAM, "dbname=tradedesk",
     STR_AT(database_url),
     .help =
         "libpq conninfo or URI; the api, engine and stream log in as the application role, the cli as the "
         "owner role (`make run` hands each its own)"},
    {"TRADEDESK_DB_TIMEOUT_MS", TD_SETTING_INT, API | ENGINE | STREAM, "5000", .lo = 1, .hi = 600000,
     INT_AT(db_timeout_ms),
     .help = "statement timeout, milliseconds; the api gives up on a silent server one second "
             "later"},
    {"TRADEDESK_DB_WORKER_SHARE", TD_SETTING_INT, API, "50", .lo = 1, .hi = 100,
     INT_AT(db_worker_share),
     .help = "percent of the api's workers that may wait on PostgreSQL at once (at least one, "
             "and one always left free); past it, while PostgreSQL is not answering, requests "
             "that need it get 503 at once and cached reads, `/health` and `/metrics` keep a "
             "worker"},
    {"TRADEDESK_REDIS_URL", TD_SETTING_STRING, API | CLI | ENGINE | STREAM, "redis://127.0.0.1:6379/0",
     STR_AT(redis_url), .check = check_redis_url,
     .help = "`redis://host:port[/db]` or `unix:/path`"},
    {"TRADEDESK_REDIS_TIMEOUT_MS", TD_SETTING_INT, API | CLI | ENGINE | STREAM, "200", .lo = 1, .hi = 60000,
     INT_AT(redis_timeout_ms), .help = "Redis connect/command timeout, milliseconds"},
    {"TRADEDESK_JWT_SECRET", TD_SETTING_STRING, API | CLI | RUN | STREAM, NULL, STR_AT(jwt_secret),
     .check = check_jwt_secret,
     .help = "HS256 signing secret, at least 32 bytes; required by the api and `tradedesk token`; "
             "`make run` generates one into `var/jwt_secret`"},
    {"TRADEDESK_JWT_TTL", TD_SETTING_INT, API | CLI, "900", .lo = 30, .hi = 7 * 24 * 3600,
     INT_AT(jwt_ttl_s), .help = "access token lifetime, seconds"},
    {"TRADEDESK_JWT_ISSUER", TD_SETTING_STRING, API | CLI | STREAM, NULL, STR_AT(jwt_issuer),
     .help = "`iss` claim: set in tokens and checked when given"},
    {"TRADEDESK_JWT_AUDIENCE", TD_SETTING_STRING, API | CLI | STREAM, NULL, STR_AT(jwt_audience),
     .help = "`aud` claim: set in tokens and checked when given"},
    {"TRADEDESK_MAX_BODY_BYTES", TD_SETTING_INT, API, "65536", .lo = 256, .hi = 16 * 1024 * 1024,
     INT_AT(max_body_bytes), .help = "larger request bodies get 413"},
    {"TRADEDESK_LOGIN_RATE", TD_SETTING_INT, API, "10", .lo = 1, .hi = 60000,
     INT_AT(login_rate_per_min),
     .help = "failed logins per minute per username from one client address (a correct password "
             "costs nothing)"},
    {"TRADEDESK_LOGIN_BURST", TD_SETTING_INT, API, "5", .lo = 0, .hi = 100000, INT_AT(login_burst),
     .help = "failed logins per username and client address allowed at once beyond the rate"},
    {"TRADEDESK_LOGIN_USER_RATE", TD_SETTING_INT, API, "30", .lo = 1, .hi = 60000,
     INT_AT(login_user_rate),
     .help = "failed logins per minute per username from all addresses together (against "
             "distributed guessing)"},
    {"TRADEDESK_LOGIN_USER_BURST", TD_SETTING_INT, API, "20", .lo = 0, .hi = 1000000,
     INT_AT(login_user_burst),
     .help = "failed logins per username from all addresses allowed at once beyond the rate"},
    {"TRADEDESK_LOGIN_IP_RATE", TD_SETTING_INT, API, "60", .lo = 1, .hi = 60000,
     INT_AT(login_ip_rate_per_min), .help = "login attempts per minute per client address"},
    {"TRADEDESK_LOGIN_IP_BURST", TD_SETTING_INT, API, "20", .lo = 0, .hi = 1000000,
     INT_AT(login_ip_burst), .help = "login attempts per client address allowed at once"},
    {"TRADEDESK_LOGIN_VERIFY_MAX", TD_SETTING_INT, API, NULL, .lo = 1, .hi = 256,
     INT_AT(login_verify_max), .def_fn = default_cores, .doc_default = "cores",
     .help = "password verifications (Argon2id) running at once over all workers; logins past it "
             "get 503 with `Retry-After`"},
    {"TRADEDESK_PRICE_STALE_MS", TD_SETTING_INT, API | ENGINE | STREAM, "10000", .lo = 1, .hi = 86400000,
     INT_AT(price_stale_ms), .help = "a price older than this (milliseconds) is `stale`"},
    {"TRADEDESK_DRAIN_TIMEOUT", TD_SETTING_INT, API | RUN, "10", .lo = 0, .hi = 3600,
     INT_AT(drain_timeout_s), .help = "seconds workers get to finish on SIGTERM"},
    {"TRADEDESK_METRICS_ALLOW", TD_SETTING_STRING, RUN, NULL, NOWHERE,
     .help = "`make run`'s nginx: networks besides loopback that may scrape `/metrics` "
             "(space-separated, e.g. `10.0.0.0/8`)"},
    {"TRADEDESK_FEEDS", TD_SETTING_STRING, ENGINE | RUN, "sim", STR_AT(feeds),
     .flags = TD_SETTING_NONEMPTY,
     .help = "market data sources in priority order: `binance`, `coinbase`, `kraken`, `sim`, "
             "`replay:FILE` (e.g. `binance,coinbase,sim`)"},
    {"TRADEDESK_LOG_LEVEL", TD_SETTING_ENUM, API | CLI | ENGINE | STREAM, "info", .choices = log_levels,
     INT_AT(log_level),
     .help = "`debug`, `info`, `warn`, `error` (the CLI never logs below `warn`)"},
    {"TRADEDESK_DEMO_PASSWORD", TD_SETTING_STRING, CLI | RUN, "tradedesk", STR_AT(demo_password),
     .flags = TD_SETTING_NONEMPTY, .help = "password of the demo users (`tradedesk seed demo`)"},
    {"TRADEDESK_SQL_DIR", TD_SETTING_STRING, CLI | RUN, NULL, STR_AT(sql_dir),
     .doc_default = "`<bin>/../sql`", .help = "where `tradedesk migrate` and `seed` find `sql/`"},
    {"TRADEDESK_ORACLE", TD_SETTING_ENUM, ENGINE, "priority", .choices = oracle_modes,
     INT_AT(oracle_mode),
     .help = "`priority`: the first fresh source of TRADEDESK_FEEDS; `median`: the median of the "
             "fresh sources"},
    {"TRADEDESK_ORACLE_MAX_DEVIATION_BP", TD_SETTING_INT, ENGINE, "200", .lo = 1, .hi = 10000,
     INT_AT(oracle_max_dev_bp),
     .help = "median oracle: a source further than this (basis points) from the median is ignored"},
    {"TRADEDESK_ENGINE_LISTEN", TD_SETTING_STRING, ENGINE, "127.0.0.1:8082", STR_AT(engine_listen),
     .help = "the engine's `/health` and `/metrics` (`host:port`; empty: none)"},
    {"TRADEDESK_RT_PRIORITY", TD_SETTING_INT, ENGINE | STREAM | RUN, "0", .lo = 0, .hi = 99,
     INT_AT(rt_priority),
     .help = "the engine and the stream run under `SCHED_FIFO` at this priority (1-99; 0: the "
             "normal scheduler), and `make run` starts Redis so too; needs `CAP_SYS_NICE` or "
             "`LimitRTPRIO=`, refused it warns and runs normally (docs/running.md)"},
    {"TRADEDESK_DATA_DIR", TD_SETTING_STRING, API, "var", STR_AT(data_dir),
     .help = "the folder whose disk's free space the detailed health reports (the database's)"},
    {"TRADEDESK_SIM_STEP_MS", TD_SETTING_INT, ENGINE, "250", .lo = 10, .hi = 60000,
     INT_AT(sim_step_ms), .help = "the simulator feed moves every symbol this often"},
    {"TRADEDESK_READY_FILE", TD_SETTING_STRING, ENGINE, NULL, STR_AT(ready_file),
     .help = "a file the engine creates once it serves (`make run` waits for it)"},
    {"TRADEDESK_BINANCE_WS_URL", TD_SETTING_STRING, CLI | ENGINE,
     "wss://stream.binance.com:9443/ws", STR_AT(binance_ws_url), .flags = TD_SETTING_NONEMPTY,
     .help = "Binance's WebSocket streams (a local server speaking its protocol in tests); also "
             "`tradedesk feed test`'s default"},
    {"TRADEDESK_COINBASE_WS_URL", TD_SETTING_STRING, CLI | ENGINE,
     "wss://ws-feed.exchange.coinbase.com", STR_AT(coinbase_ws_url), .flags = TD_SETTING_NONEMPTY,
     .help = "Coinbase Exchange's WebSocket feed"},
    {"TRADEDESK_KRAKEN_WS_URL", TD_SETTING_STRING, CLI | ENGINE, "wss://ws.kraken.com/v2",
     STR_AT(kraken_ws_url), .flags = TD_SETTING_NONEMPTY, .help = "Kraken's WebSocket API v2"},
    {"TRADEDESK_FEED_SILENCE_MS", TD_SETTING_INT, CLI | ENGINE, "10000", .lo = 500, .hi = 600000,
     INT_AT(feed_silence_ms),
     .help = "a venue connection with no message for this long is closed and reconnected"},
    {"TRADEDESK_PRICE_HISTORY_INTERVAL_S", TD_SETTING_INT, ENGINE, "60", .lo = 0, .hi = 86400,
     INT_AT(price_history_interval_s),
     .help = "the engine samples every fresh price into `price_history` this often (0: never)"},
    {"TRADEDESK_PRICE_HISTORY_DAYS", TD_SETTING_INT, ENGINE, "90", .lo = 0, .hi = 36500,
     INT_AT(price_history_days),
     .help = "`price_history` rows older than this many days are deleted (0: kept forever)"},
    {"TRADEDESK_IDEMPOTENCY_KEY_HOURS", TD_SETTING_INT, ENGINE, "24", .lo = 0, .hi = 87600,
     INT_AT(idempotency_key_hours),
     .help = "an `Idempotency-Key` is remembered this many hours, then deleted (0: kept forever)"},
    {"TRADEDESK_OUTBOX_RETENTION_DAYS", TD_SETTING_INT, ENGINE, "7", .lo = 0, .hi = 36500,
     INT_AT(outbox_retention_days),
     .help = "published `outbox` rows older than this many days are deleted, never the newest "
             "50,000 (0: kept forever)"},
    {"TRADEDESK_RECON_INTERVAL_S", TD_SETTING_INT, API | ENGINE, "60", .lo = 0, .hi = 86400,
     INT_AT(recon_interval_s),
     .help = "the leading engine reconciles positions, cash and the fills' Streams this often "
             "(0: never)"},
    {"TRADEDESK_MONITOR_RESYNC_S", TD_SETTING_INT, ENGINE, "60", .lo = 1, .hi = 3600,
     INT_AT(monitor_resync_s),
     .help = "the order monitor reloads the active orders this often, correcting its index and "
             "reporting each difference to reconciliation"},
    {"TRADEDESK_RECON_WARNING", TD_SETTING_STRING, ENGINE, "0.01", STR_AT(recon_warning),
     .check = check_recon_amount,
     .help = "a reconciled amount (quantity, P&L, cash) this far or more from its rebuild is a "
             "warning"},
    {"TRADEDESK_RECON_CRITICAL", TD_SETTING_STRING, ENGINE, "1.00", STR_AT(recon_critical),
     .check = check_recon_amount,
     .help = "a reconciled amount this far or more from its rebuild is critical, logged as an "
             "alert (at least `TRADEDESK_RECON_WARNING`)"},
    {"TRADEDESK_GUARD_INTERVAL_S", TD_SETTING_INT, API | ENGINE, "60", .lo = 0, .hi = 86400,
     INT_AT(guard_interval_s),
     .help = "the leading engine snapshots every user's equity and judges their drawdown this "
             "often (0: never)"},
    {"TRADEDESK_GUARD_WARNING_PCT", TD_SETTING_STRING, API | ENGINE, "5",
     STR_AT(guard_warning_pct), .check = check_guard_pct,
     .help = "a drawdown from the peak equity of this many percent or more is a warning"},
    {"TRADEDESK_GUARD_CRITICAL_PCT", TD_SETTING_STRING, API | ENGINE, "10",
     STR_AT(guard_critical_pct), .check = check_guard_pct,
     .help = "a drawdown of this many percent or more is critical and trips the guard (at least "
             "`TRADEDESK_GUARD_WARNING_PCT`)"},
    {"TRADEDESK_GUARD_ACTION", TD_SETTING_ENUM, API | ENGINE, "block", .choices = guard_actions,
     INT_AT(guard_action),
     .help = "on critical: `none` (recorded only), `block` (new conditional orders refused "
             "with 409 `guard_tripped` until the level falls back or an admin resets it), "
             "`close` (the user's open positions closed once, as fills)"},
    {"TRADEDESK_EQUITY_SNAPSHOT_DAYS", TD_SETTING_INT, ENGINE, "30", .lo = 0, .hi = 36500,
     INT_AT(equity_snapshot_days),
     .help = "`equity_snapshots` rows older than this many days are deleted (0: kept forever)"},
    {"TRADEDESK_SLOW_REQUEST_MS", TD_SETTING_INT, API, "250", .lo = 0, .hi = 600000,
     INT_AT(slow_request_ms),
     .help = "requests taking at least this long are kept for GET /api/v1/monitoring/slow-requests "
             "(0: none)"},
    {"TRADEDESK_MARKET_RATE", TD_SETTING_INT, API, "1200", .lo = 1, .hi = 60000,
     INT_AT(market_rate_per_min),
     .help = "public market data requests (prices, candles, trades, order book, feeds) per minute "
             "per client address"},
    {"TRADEDESK_MARKET_BURST", TD_SETTING_INT, API, "120", .lo = 0, .hi = 1000000,
     INT_AT(market_burst),
     .help = "public market data requests per client address allowed at once"},
    {"TRADEDESK_READ_RATE", TD_SETTING_INT, API, "6000", .lo = 1, .hi = 60000,
     INT_AT(read_rate_per_min),
     .help = "a user's reads (authenticated GET requests) per minute, all addresses together"},
    {"TRADEDESK_READ_BURST", TD_SETTING_INT, API, "600", .lo = 0, .hi = 10000000,
     INT_AT(read_burst), .help = "a user's reads allowed at once"},
    {"TRADEDESK_WRITE_RATE", TD_SETTING_INT, API, "600", .lo = 1, .hi = 60000,
     INT_AT(write_rate_per_min),
     .help = "a user's writes (orders, cancels, logouts, admin actions) per minute"},
    {"TRADEDESK_WRITE_BURST", TD_SETTING_INT, API, "100", .lo = 0, .hi = 10000000,
     INT_AT(write_burst), .help = "a user's writes allowed at once"},
    {"TRADEDESK_ADDRESS_RATE", TD_SETTING_INT, API, "60000", .lo = 1, .hi = 60000,
     INT_AT(address_rate_per_min),
     .help = "authenticated requests per minute from one client address, all users together"},
    {"TRADEDESK_ADDRESS_BURST", TD_SETTING_INT, API, "5000", .lo = 0, .hi = 10000000,
     INT_AT(address_burst),
     .help = "authenticated requests from one client address allowed at once"},
    {"TRADEDESK_LEADER_LEASE_MS", TD_SETTING_INT, ENGINE, "3000", .lo = 1000, .hi = 60000,
     INT_AT(leader_lease_ms),
     .help = "the engines' leader lease: a dead leader is replaced within this, renewed every "
             "third of it"},
    {"TRADEDESK_STREAM_LISTEN", TD_SETTING_STRING, STREAM, "127.0.0.1:8081", STR_AT(stream_listen),
     .flags = TD_SETTING_NONEMPTY,
     .help = "the stream's WebSocket (`/ws`, behind nginx), `/health` and `/metrics` (`host:port`)"},
    {"TRADEDESK_STREAM_SOCKET", TD_SETTING_STRING, STREAM, "", STR_AT(stream_socket),
     .doc_default = "empty", .help = "also `/ws` on this unix socket (nginx's upstream: no TCP under each write; "
             "`make run` points it into `var/run`); empty: none"},
    {"TRADEDESK_STREAM_SOCKET_GROUP", TD_SETTING_STRING, STREAM, "www-data",
     STR_AT(stream_socket_group),
     .help = "group given the stream's unix socket (mode 0660): nginx's worker group; empty keeps "
             "the stream's own"},
    {"TRADEDESK_STREAM_MAX_MESSAGE_BYTES", TD_SETTING_INT, STREAM, "4096", .lo = 256,
     .hi = 1048576, INT_AT(stream_max_message),
     .help = "a larger client message is refused (`message_too_large`)"},
    {"TRADEDESK_STREAM_MAX_SUBSCRIPTIONS", TD_SETTING_INT, STREAM, "64", .lo = 1, .hi = 4096,
     INT_AT(stream_max_subs), .help = "channels one socket may subscribe to"},
    {"TRADEDESK_STREAM_RATE", TD_SETTING_INT, STREAM, "20", .lo = 1, .hi = 100000,
     INT_AT(stream_rate),
     .help = "client messages per second per socket (as many again at once); past it "
             "`rate_limited`, and a socket that keeps flooding is closed"},
    {"TRADEDESK_STREAM_QUEUE", TD_SETTING_INT, STREAM, "256", .lo = 8, .hi = 65536,
     INT_AT(stream_queue),
     .help = "messages waiting to be written per socket: past it market channels conflate and a "
             "socket behind on `fills` is told `resync_required` and closed"},
    {"TRADEDESK_STREAM_SOCKETS_PER_ADDRESS", TD_SETTING_INT, STREAM, "100", .lo = 1, .hi = 1000000,
     INT_AT(stream_per_address),
     .help = "WebSockets open at once from one client address (nginx's `X-Real-IP`); past it "
             "`rate_limited` and closed"},
    {"TRADEDESK_STREAM_SOCKETS_PER_USER", TD_SETTING_INT, STREAM, "20", .lo = 1, .hi = 100000,
     INT_AT(stream_per_user),
     .help = "authenticated WebSockets of one user at once; an `auth` past it gets `rate_limited` "
             "and the socket is closed"},
    {"TRADEDESK_REPLAY_SPEED", TD_SETTING_INT, ENGINE, "1", .lo = 1, .hi = 1000,
     INT_AT(replay_speed), .help = "`replay:FILE` plays the recording this many times faster"},
    {"TRADEDESK_ALERT_STALE_S", TD_SETTING_INT, ENGINE, "10", .lo = 0, .hi = 86400,
     INT_AT(alert_stale_s),
     .help = "a symbol without a fresh oracle price for more than this many seconds raises a "
             "`stale_feed` warning (0: never)"},
    {"TRADEDESK_ALERT_STALE_CRITICAL_S", TD_SETTING_INT, ENGINE, "60", .lo = 0, .hi = 86400,
     INT_AT(alert_stale_critical_s),
     .help = "a symbol without a fresh oracle price for more than this many seconds: "
             "`stale_feed` is critical (at least `TRADEDESK_ALERT_STALE_S`)"},
    {"TRADEDESK_ALERT_GAP_BP", TD_SETTING_INT, ENGINE, "500", .lo = 0, .hi = 1000000,
     INT_AT(alert_gap_bp),
     .help = "a move between consecutive prices of a symbol above this (basis points) raises a"
             " `price_gap` warning (0: never)"},
    {"TRADEDESK_ALERT_GAP_CRITICAL_BP", TD_SETTING_INT, ENGINE, "1500", .lo = 0, .hi = 1000000,
     INT_AT(alert_gap_critical_bp),
     .help = "a move between consecutive prices above this (basis points): `price_gap` is "
             "critical"},
    {"TRADEDESK_ALERT_VOLATILITY_BP", TD_SETTING_INT, ENGINE, "100", .lo = 0, .hi = 1000000,
     INT_AT(alert_vol_bp),
     .help = "the standard deviation of a symbol's 1-minute returns over the window above this"
             " (basis points) raises a `volatility` warning (0: never)"},
    {"TRADEDESK_ALERT_VOLATILITY_CRITICAL_BP", TD_SETTING_INT, ENGINE, "300", .lo = 0, .hi = 1000000,
     INT_AT(alert_vol_critical_bp),
     .help = "the 1-minute returns' standard deviation above this (basis points): `volatility`"
             " is critical"},
    {"TRADEDESK_ALERT_VOLATILITY_WINDOW_MIN", TD_SETTING_INT, ENGINE, "30", .lo = 2, .hi = 1440,
     INT_AT(alert_vol_window_min),
     .help = "the volatility's window, in returns (1-minute ones unless the interval below says "
             "otherwise; measured from the fifth on)"},
    {"TRADEDESK_ALERT_VOLATILITY_INTERVAL_S", TD_SETTING_INT, ENGINE, "60", .lo = 1, .hi = 3600,
     INT_AT(alert_vol_interval_s),
     .help = "the volatility's returns are over this many seconds of the engine's clock (60: "
             "1-minute returns; shorter for tests)"},
    {"TRADEDESK_ALERT_SPREAD_BP", TD_SETTING_INT, ENGINE, "50", .lo = 0, .hi = 1000000,
     INT_AT(alert_spread_bp),
     .help = "a top of book wider than this (basis points of the mid) raises a `spread` "
             "warning (0: never)"},
    {"TRADEDESK_ALERT_SPREAD_CRITICAL_BP", TD_SETTING_INT, ENGINE, "200", .lo = 0, .hi = 1000000,
     INT_AT(alert_spread_critical_bp),
     .help = "a top of book wider than this (basis points of the mid): `spread` is critical"},
    {"TRADEDESK_ALERT_DIVERGENCE_BP", TD_SETTING_INT, ENGINE, "200", .lo = 0, .hi = 1000000,
     INT_AT(alert_divergence_bp),
     .help = "a fresh source's quote further than this (basis points) from the oracle's price "
             "raises a `source_divergence` warning (0: never)"},
    {"TRADEDESK_ALERT_DIVERGENCE_CRITICAL_BP", TD_SETTING_INT, ENGINE, "1000", .lo = 0, .hi = 1000000,
     INT_AT(alert_divergence_critical_bp),
     .help = "a fresh source further than this (basis points) from the oracle's price: "
             "`source_divergence` is critical"},
    {"TRADEDESK_ALERT_HYSTERESIS_PCT", TD_SETTING_INT, ENGINE, "20", .lo = 0, .hi = 100,
     INT_AT(alert_hysteresis_pct),
     .help = "a raised market alert clears once its value is this many percent below its "
             "warning threshold or less..."},
    {"TRADEDESK_ALERT_CLEAR_S", TD_SETTING_INT, ENGINE, "30", .lo = 0, .hi = 86400,
     INT_AT(alert_clear_s),
     .help = "... and has stayed there this many seconds"},
    {"TRADEDESK_ALERT_RETENTION_DAYS", TD_SETTING_INT, ENGINE, "30", .lo = 0, .hi = 36500,
     INT_AT(alert_retention_days),
     .help = "cleared `market_alerts` rows older than this many days are deleted (0: kept "
             "forever)"},
};

#define NSETTINGS TD_ARRAY_LEN(g_settings)

const td_setting *td_config_settings(size_t *n)
{
    *n = NSETTINGS;
    return g_settings;
}

const td_setting *td_config_setting(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(g_settings[i].name, name) == 0)
            return &g_settings[i];
    return NULL;
}

/* ---- parsing one value ---------------------------------------------------- */

static td_status parse_int(const char *name, const char *v, long lo, long hi, long *out, char *err,
                           size_t errcap)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || !(isdigit((unsigned char)v[0]) || v[0] == '-')) {
        snprintf(err, errcap, "%s: '%s' is not an integer", name, v);
        return TD_EINVAL;
    }
    if (n < lo || n > hi) {
        snprintf(err, errcap, "%s: %ld is out of range [%ld, %ld]", name, n, lo, hi);
        return TD_EINVAL;
    }
    *out = n;
    return TD_OK;
}

static td_status parse_enum(const td_setting *s, const char *v, long *out, char *err, size_t errcap)
{
    for (long i = 0; s->choices[i]; i++)
        if (strcasecmp(v, s->choices[i]) == 0) {
            *out = i;
            return TD_OK;
        }
    size_t n = (size_t)snprintf(err, errcap, "%s: '%s' is not one of ", s->name, v);
    for (size_t i = 0; s->choices[i] && n < errcap; i++)
        n += (size_t)snprintf(err + n, errcap - n, "%s%s", i ? ", " : "", s->choices[i]);
    return TD_EINVAL;
}

/* Parse v as row s's type into the row's field (when it has one). */
static td_status store(td_config *c, const td_setting *s, const char *v, char *err, size_t errcap)
{
    char *field = s->offset == TD_SETTING_NOWHERE ? NULL : (char *)c + s->offset;
    long n = 0;
    switch (s->type) {
    case TD_SETTING_STRING: {
        size_t len = strlen(v);
        if (field && len >= s->size) {
            snprintf(err, errcap, "%s: too long (%zu bytes, at most %zu)", s->name, len,
                     s->size - 1);
            return TD_EINVAL;
        }
        if (field)
            memcpy(field, v, len + 1);
        return TD_OK;
    }
    case TD_SETTING_INT:
        if (parse_int(s->name, v, s->lo, s->hi, &n, err, errcap) != TD_OK)
            return TD_EINVAL;
        break;
    case TD_SETTING_ENUM:
        if (parse_enum(s, v, &n, err, errcap) != TD_OK)
            return TD_EINVAL;
        break;
    }
    if (field) {
        int i = (int)n; /* bounds keep every int row inside int */
        memcpy(field, &i, sizeof i);
    }
    return TD_OK;
}

/* ---- the loader ----------------------------------------------------------- */

static td_status set_default(td_config *c, const td_setting *s, char *err, size_t errcap)
{
    char buf[32];
    const char *def = s->def;
    if (s->def_fn) {
        snprintf(buf, sizeof buf, "%ld", s->def_fn());
        def = buf;
    }
    if (!def)
        return TD_OK; /* memset left "" */
    return store(c, s, def, err, errcap);
}

td_status td_config_load(td_config *c, td_getenv_fn get, unsigned program, int need_secret,
                         char *err, size_t errcap)
{
    memset(c, 0, sizeof *c);
    /* Every field gets its default, read by this program or not, so a
     * td_config is always complete. */
    for (size_t i = 0; i < NSETTINGS; i++)
        if (set_default(c, &g_settings[i], err, errcap) != TD_OK)
            return TD_EINVAL;

    for (size_t i = 0; i < NSETTINGS; i++) {
        const td_setting *s = &g_settings[i];
        if (!(s->programs & program) || (s->flags & TD_SETTING_ENV_ONLY))
            continue;
        const char *v = get(s->name);
        if (v && store(c, s, v, err, errcap) != TD_OK)
            return TD_EINVAL;
        if (s->type != TD_SETTING_STRING)
            continue;
        /* The final string: the field, or (shell-only rows) v or default. */
        const char *final = s->offset != TD_SETTING_NOWHERE ? (const char *)c + s->offset
                            : v                             ? v
                            : s->def                        ? s->def
                                                            : "";
        if ((s->flags & TD_SETTING_NONEMPTY) && final[0] == '\0') {
            snprintf(err, errcap, "%s: must not be empty", s->name);
            return TD_EINVAL;
        }
        if (s->check && s->check(s->name, final, need_secret, err, errcap) != TD_OK)
            return TD_EINVAL;
    }
    return TD_OK;
}

/* ---- the env file --------------------------------------------------------- */

/* Values from the file, one slot per row (the last line naming a setting
 * wins).  Process-wide: one per program. */
static char *g_file[NSETTINGS];

static void env_file_clear(void)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (g_file[i])
            explicit_bzero(g_file[i], strlen(g_file[i])); /* it may hold the JWT secret */
        free(g_file[i]);
        g_file[i] = NULL;
    }
}

/* Split one line into name and value in place; NULL name when malformed. */
static void split_line(char *s, char **name, char **value)
{
    *name = NULL;
    if (strncmp(s, "export ", 7) == 0)
        s += 7;
    char *eq = strchr(s, '=');
    if (!eq || strncmp(s, "TRADEDESK_", 10) != 0)
        return;
    char *name_end = eq;
    while (name_end > s && (name_end[-1] == ' ' || name_end[-1] == '\t'))
        name_end--; /* NAME = value */
    *name_end = '\0';
    char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
        v[vl - 1] = '\0';
        v++;
    }
    *name = s;
    *value = v;
}

td_status td_config_env_file(const char *path, char *err, size_t errcap)
{
    env_file_clear();
    if (!path || !*path)
        return TD_OK;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "TRADEDESK_ENV_FILE: cannot open '%s': %s", path, strerror(errno));
        return TD_EINVAL;
    }
    char line[2048];
    int lineno = 0;
    td_status st = TD_OK;
    while (st == TD_OK && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *name, *v;
        split_line(s, &name, &v);
        const td_setting *row = name ? td_config_setting(name) : NULL;
        if (!name) {
            snprintf(err, errcap, "TRADEDESK_ENV_FILE: %s:%d is not a TRADEDESK_NAME=value line",
                     path, lineno);
            st = TD_EINVAL;
        } else if (!row) {
            /* A typo would otherwise leave the default in force, unnoticed. */
            snprintf(err, errcap,
                     "TRADEDESK_ENV_FILE: %s:%d: %s is not a setting (see `tradedesk settings`)",
                     path, lineno, name);
            st = TD_EINVAL;
        } else if (row->flags & TD_SETTING_ENV_ONLY) {
            snprintf(err, errcap, "TRADEDESK_ENV_FILE: %s:%d: %s cannot be set in the env file",
                     path, lineno, name);
            st = TD_EINVAL;
        } else {
            size_t i = (size_t)(row - g_settings);
            free(g_file[i]);
            g_file[i] = strdup(v);
            if (!g_file[i]) {
                snprintf(err, errcap, "TRADEDESK_ENV_FILE: out of memory");
                st = TD_EINVAL;
            }
        }
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    if (st != TD_OK)
        env_file_clear();
    return st;
}

const char *td_config_getenv(const char *name)
{
    const td_setting *row = td_config_setting(name);
    if (row && g_file[row - g_settings])
        return g_file[row - g_settings];
    return getenv(name);
}

td_status td_config_read(td_config *c, unsigned program, int need_secret, char *err, size_t errcap)
{
    td_status st = td_config_env_file(getenv("TRADEDESK_ENV_FILE"), err, errcap);
    if (st == TD_OK)
        st = td_config_load(c, td_config_getenv, program, need_secret, err, errcap);
    env_file_clear(); /* everything is in *c now; keep no second copy of secrets */
    return st;
}

/* ---- documentation -------------------------------------------------------- */

static const struct {
    unsigned bit;
    const char *name;
} g_programs[] = {
    {TD_PROG_API, "api"},       {TD_PROG_CLI, "cli"}, {TD_PROG_ENGINE, "engine"},
    {TD_PROG_STREAM, "stream"}, {TD_PROG_RUN, "run"},
};

void td_config_print_markdown(FILE *out)
{
    fprintf(out, "| variable | default | programs | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const td_setting *s = &g_settings[i];
        char progs[64] = "";
        size_t n = 0;
        for (size_t k = 0; k < TD_ARRAY_LEN(g_programs); k++)
            if (s->programs & g_programs[k].bit)
                n += (size_t)snprintf(progs + n, sizeof progs - n, "%s%s", n ? ", " : "",
                                      g_programs[k].name);
        fprintf(out, "| `%s` | ", s->name);
        if (s->doc_default)
            fputs(s->doc_default, out);
        else if (s->def)
            fprintf(out, "`%s`", s->def);
        else
            fputs("unset", out);
        fprintf(out, " | %s | %s |\n", progs, s->help);
    }
}
