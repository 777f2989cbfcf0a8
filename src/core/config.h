/*
 * config.h - every TRADEDESK_* setting, read once from the environment.
 *
 * td_config_load() fills a td_config with defaults, overrides them from the
 * environment and validates each value; on failure it names the variable and
 * what is wrong in one line.  Programs call it at start and on SIGHUP.
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

#include "domain/td.h"

typedef struct td_config {
    char fcgi_listen[256];     /* TRADEDESK_FCGI_LISTEN: unix socket path, or host:port */
    int workers;               /* TRADEDESK_WORKERS: FastCGI workers (default: cores) */
    char database_url[512];    /* TRADEDESK_DATABASE_URL: libpq conninfo or URI */
    char redis_url[256];       /* TRADEDESK_REDIS_URL: redis://host:port[/db] or unix:/path */
    int redis_timeout_ms;      /* TRADEDESK_REDIS_TIMEOUT_MS */
    int db_timeout_ms;         /* TRADEDESK_DB_TIMEOUT_MS: statement timeout */
    char jwt_secret[256];      /* TRADEDESK_JWT_SECRET: HS256 secret, >= 32 bytes */
    char jwt_issuer[128];      /* TRADEDESK_JWT_ISSUER: optional */
    char jwt_audience[128];    /* TRADEDESK_JWT_AUDIENCE: optional */
    int jwt_ttl_s;             /* TRADEDESK_JWT_TTL: access token lifetime, seconds */
    int max_body_bytes;        /* TRADEDESK_MAX_BODY_BYTES */
    int login_rate_per_min;    /* TRADEDESK_LOGIN_RATE: login attempts per minute */
    int login_burst;           /* TRADEDESK_LOGIN_BURST: extra attempts allowed at once */
    int login_ip_rate_per_min; /* TRADEDESK_LOGIN_IP_RATE: login attempts per client address */
    int login_ip_burst;        /* TRADEDESK_LOGIN_IP_BURST */
    int log_level;             /* TRADEDESK_LOG_LEVEL: debug|info|warn|error */
    int drain_timeout_s;       /* TRADEDESK_DRAIN_TIMEOUT: seconds workers get on SIGTERM */
    int price_stale_ms;        /* TRADEDESK_PRICE_STALE_MS: a price older than this is stale */
    char demo_password[128];   /* TRADEDESK_DEMO_PASSWORD: demo users' password */
} td_config;

/* Source of variables: getenv in programs, a fake table in tests. */
typedef const char *(*td_getenv_fn)(const char *name);

/* Fill *c from the environment; on error write "TRADEDESK_X: what is wrong"
 * into err and return TD_EINVAL.  need_secret=0 lets tools run without a
 * JWT secret (migrate, seed). */
td_status td_config_load(td_config *c, td_getenv_fn get, int need_secret, char *err, size_t errcap);

/* Optional file of KEY=VALUE lines (TRADEDESK_ENV_FILE): its values win over
 * the process environment in td_config_getenv.  Re-read on SIGHUP, which is
 * how a running server picks up new settings.  Missing path: no file. */
td_status td_config_env_file(const char *path, char *err, size_t errcap);

/* getenv that sees the env file first. */
const char *td_config_getenv(const char *name);

#endif
