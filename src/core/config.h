/*
 * config.h - every TRADEDESK_* setting, declared once as a row of one table.
 *
 * td_config_read() is the one way a program gets its settings, at start and
 * (tradedesk-api) again on SIGHUP: it reads the file named by
 * TRADEDESK_ENV_FILE, then the environment (the file wins), and fills a
 * td_config from the table in config.c, validating each value; on failure it
 * names the variable and what is wrong in one line.  The table is the
 * complete list, settings only the shell scripts of src/run read included, so
 * `tradedesk settings` and README.md's configuration table come from it.
 * A new setting is one row there (and one field here when a program keeps it).
 */
#ifndef TD_CONFIG_H
#define TD_CONFIG_H

enum { TD_TRANSPORT_LIBFCGI, TD_TRANSPORT_OWN };

#include <stdio.h>

#include "domain/td.h"

typedef struct td_config {
    char fcgi_listen[256];     /* TRADEDESK_FCGI_LISTEN: unix socket path, or host:port */
    char fcgi_group[64];       /* TRADEDESK_FCGI_GROUP: group of the unix socket ("": own) */
    int api_transport;         /* TRADEDESK_API_TRANSPORT: TD_TRANSPORT_* */
    int workers;               /* TRADEDESK_WORKERS: FastCGI workers (default: cores) */
    char database_url[512];    /* TRADEDESK_DATABASE_URL: libpq conninfo or URI */
    char redis_url[256];       /* TRADEDESK_REDIS_URL: redis://host:port[/db] or unix:/path */
    int redis_timeout_ms;      /* TRADEDESK_REDIS_TIMEOUT_MS */
    int db_timeout_ms;         /* TRADEDESK_DB_TIMEOUT_MS: statement timeout */
    int db_worker_share;       /* TRADEDESK_DB_WORKER_SHARE: % of workers that may wait on PG */
    char jwt_secret[256];      /* TRADEDESK_JWT_SECRET: HS256 secret, >= 32 bytes */
    char jwt_issuer[128];      /* TRADEDESK_JWT_ISSUER: optional */
    char jwt_audience[128];    /* TRADEDESK_JWT_AUDIENCE: optional */
    int jwt_ttl_s;             /* TRADEDESK_JWT_TTL: access token lifetime, seconds */
    int max_body_bytes;        /* TRADEDESK_MAX_BODY_BYTES */
    int login_rate_per_min;    /* TRADEDESK_LOGIN_RATE: failures per minute, user + address */
    int login_burst;           /* TRADEDESK_LOGIN_BURST: extra failures allowed at once */
    int login_user_rate;       /* TRADEDESK_LOGIN_USER_RATE: failures per user, all addresses */
    int login_user_burst;      /* TRADEDESK_LOGIN_USER_BURST */
    int login_ip_rate_per_min; /* TRADEDESK_LOGIN_IP_RATE: login attempts per client address */
    int login_ip_burst;        /* TRADEDESK_LOGIN_IP_BURST */
    int login_verify_max;      /* TRADEDESK_LOGIN_VERIFY_MAX: Argon2id runs at once */
    int log_level;             /* TRADEDESK_LOG_LEVEL: debug|info|warn|error */
    int drain_timeout_s;       /* TRADEDESK_DRAIN_TIMEOUT: seconds workers get on SIGTERM */
    int price_stale_ms;        /* TRADEDESK_PRICE_STALE_MS: a price older than this is stale */
    char demo_password[128];   /* TRADEDESK_DEMO_PASSWORD: demo users' password */
    char sql_dir[1024];        /* TRADEDESK_SQL_DIR: "" means <binary's dir>/../sql */
    char feeds[256];           /* TRADEDESK_FEEDS: market data sources in priority order */
    int oracle_mode;           /* TRADEDESK_ORACLE: 0 priority, 1 median */
    int oracle_max_dev_bp;     /* TRADEDESK_ORACLE_MAX_DEVIATION_BP */
    char engine_listen[128];   /* TRADEDESK_ENGINE_LISTEN: health and metrics, host:port */
    char data_dir[256];        /* TRADEDESK_DATA_DIR: where the disk's free space is watched */
    int rt_priority;           /* TRADEDESK_RT_PRIORITY: SCHED_FIFO priority, 0: none */
    int sim_step_ms;           /* TRADEDESK_SIM_STEP_MS */
    char ready_file[512];      /* TRADEDESK_READY_FILE: created once the program serves */
    char binance_ws_url[256];  /* TRADEDESK_BINANCE_WS_URL */
    char coinbase_ws_url[256]; /* TRADEDESK_COINBASE_WS_URL */
    char kraken_ws_url[256];   /* TRADEDESK_KRAKEN_WS_URL */
    int feed_silence_ms;       /* TRADEDESK_FEED_SILENCE_MS: a quiet feed is reconnected */
    int replay_speed;          /* TRADEDESK_REPLAY_SPEED: replay:FILE this many times faster */
    int leader_lease_ms;          /* TRADEDESK_LEADER_LEASE_MS */
    int price_history_interval_s; /* TRADEDESK_PRICE_HISTORY_INTERVAL_S: 0 never */
    int price_history_days;       /* TRADEDESK_PRICE_HISTORY_DAYS: retention, 0 forever */
    int slow_request_ms;          /* TRADEDESK_SLOW_REQUEST_MS: the slow-request log's threshold */
    int idempotency_key_hours;    /* TRADEDESK_IDEMPOTENCY_KEY_HOURS: retention, 0 forever */
    int outbox_retention_days;    /* TRADEDESK_OUTBOX_RETENTION_DAYS: published rows, 0 forever */
    int monitor_resync_s;         /* TRADEDESK_MONITOR_RESYNC_S */
    int recon_interval_s;         /* TRADEDESK_RECON_INTERVAL_S: 0 never */
    char recon_warning[32];       /* TRADEDESK_RECON_WARNING: a decimal amount */
    char recon_critical[32];      /* TRADEDESK_RECON_CRITICAL: a decimal amount */
    int guard_interval_s;         /* TRADEDESK_GUARD_INTERVAL_S: equity snapshots, 0 never */
    char guard_warning_pct[32];   /* TRADEDESK_GUARD_WARNING_PCT: a drawdown percentage */
    char guard_critical_pct[32];  /* TRADEDESK_GUARD_CRITICAL_PCT: a drawdown percentage */
    int guard_action;             /* TRADEDESK_GUARD_ACTION: td_guard_action (none, block, close) */
    int equity_snapshot_days;     /* TRADEDESK_EQUITY_SNAPSHOT_DAYS: retention, 0 forever */
    int market_rate_per_min;      /* TRADEDESK_MARKET_RATE: public market requests per address */
    int market_burst;             /* TRADEDESK_MARKET_BURST */
    int read_rate_per_min;        /* TRADEDESK_READ_RATE: a user's authenticated GETs */
    int read_burst;               /* TRADEDESK_READ_BURST */
    int write_rate_per_min;       /* TRADEDESK_WRITE_RATE: a user's other requests */
    int write_burst;              /* TRADEDESK_WRITE_BURST */
    int address_rate_per_min;     /* TRADEDESK_ADDRESS_RATE: authenticated requests per address */
    int address_burst;            /* TRADEDESK_ADDRESS_BURST */
    char stream_listen[128];      /* TRADEDESK_STREAM_LISTEN: host:port */
    char stream_socket[128];      /* TRADEDESK_STREAM_SOCKET: unix path, "" none */
    char stream_socket_group[64]; /* TRADEDESK_STREAM_SOCKET_GROUP */
    int stream_max_message;       /* TRADEDESK_STREAM_MAX_MESSAGE_BYTES */
    int stream_max_subs;          /* TRADEDESK_STREAM_MAX_SUBSCRIPTIONS */
    int stream_rate;              /* TRADEDESK_STREAM_RATE: client messages per second */
    int stream_queue;             /* TRADEDESK_STREAM_QUEUE: outgoing messages per socket */
    int stream_per_address;       /* TRADEDESK_STREAM_SOCKETS_PER_ADDRESS */
    int stream_per_user;          /* TRADEDESK_STREAM_SOCKETS_PER_USER */
    /* TRADEDESK_ALERT_*: the market alerts (domain/market_alert.h) */
    int alert_stale_s;
    int alert_stale_critical_s;
    int alert_gap_bp;
    int alert_gap_critical_bp;
    int alert_vol_bp;
    int alert_vol_critical_bp;
    int alert_vol_window_min;
    int alert_vol_interval_s;
    int alert_spread_bp;
    int alert_spread_critical_bp;
    int alert_divergence_bp;
    int alert_divergence_critical_bp;
    int alert_hysteresis_pct;
    int alert_clear_s;
    int alert_retention_days;
} td_config;

/* Who reads a setting (a row's `programs`, a bitmask) and whose view
 * td_config_read() builds: a program reads and validates only its rows. */
enum {
    TD_PROG_API = 1u << 0,    /* tradedesk-api */
    TD_PROG_CLI = 1u << 1,    /* bin/tradedesk */
    TD_PROG_ENGINE = 1u << 2, /* tradedesk-engine */
    TD_PROG_STREAM = 1u << 3, /* tradedesk-stream */
    TD_PROG_RUN = 1u << 4,    /* the shell scripts of src/run (make run, stack.sh) */
};

typedef enum td_setting_type {
    TD_SETTING_STRING, /* copied into a char array of `size` bytes */
    TD_SETTING_INT,    /* a decimal integer in [lo, hi], stored as int */
    TD_SETTING_ENUM,   /* one of `choices` (any case), stored as its index */
} td_setting_type;

/* Row flags. */
enum {
    TD_SETTING_NONEMPTY = 1u << 0, /* "" is refused */
    TD_SETTING_ENV_ONLY = 1u << 1, /* never a line of the env file (TRADEDESK_ENV_FILE itself) */
};

/* `offset` of a setting no program keeps in td_config (shell-only ones). */
#define TD_SETTING_NOWHERE ((size_t)-1)

typedef struct td_setting {
    const char *name;           /* TRADEDESK_... */
    td_setting_type type;       /* how the text is parsed */
    unsigned programs;          /* TD_PROG_* that read it */
    const char *def;            /* the default as one would write it in the environment, parsed
                                   and validated like a value; NULL: unset ("" for a string) */
    long lo, hi;                /* TD_SETTING_INT: inclusive bounds */
    const char *const *choices; /* TD_SETTING_ENUM: NULL-terminated names */
    size_t offset;              /* where it lands in td_config, or TD_SETTING_NOWHERE */
    size_t size;                /* TD_SETTING_STRING: the field's bytes, NUL included */
    unsigned flags;             /* TD_SETTING_* */
    long (*def_fn)(void);       /* TD_SETTING_INT: a default computed at load, instead of def */
    /* Extra validation of the final value (default or given); need_secret
     * as passed to td_config_load. */
    td_status (*check)(const char *name, const char *value, int need_secret, char *err,
                       size_t errcap);
    const char *doc_default; /* the default as documentation shows it, when def cannot */
    const char *help;        /* one line of markdown: what it means */
} td_setting;

/* The table, in documentation order; *n gets its length.  Static storage. */
const td_setting *td_config_settings(size_t *n);

/* The row named `name`, or NULL when no such setting exists. */
const td_setting *td_config_setting(const char *name);

/* The one entry point: the env file named by the process environment's
 * TRADEDESK_ENV_FILE (none when unset or empty), then the environment; the
 * file's values win.  Fills *c with the view of `program` (one TD_PROG_*):
 * every field starts at its default, and only that program's rows are read
 * and validated.  On error writes "TRADEDESK_X: what is wrong" into err and
 * returns TD_EINVAL.  need_secret=0 lets tools run without a JWT secret
 * (migrate, seed).  Call it again to reload: the file is read anew. */
td_status td_config_read(td_config *c, unsigned program, int need_secret, char *err, size_t errcap);

/* Source of variables: td_config_getenv in programs, a fake table in tests. */
typedef const char *(*td_getenv_fn)(const char *name);

/* The table half of td_config_read, with the variables from `get`. */
td_status td_config_load(td_config *c, td_getenv_fn get, unsigned program, int need_secret,
                         char *err, size_t errcap);

/* The file half: parse KEY=VALUE lines of `path` into a process-wide table
 * that td_config_getenv consults before the environment.  Only names of the
 * table are accepted (a typo is an error, not a silent default).  Replaces
 * what an earlier call read; on error nothing of the file is kept.  NULL
 * or "": no file. */
td_status td_config_env_file(const char *path, char *err, size_t errcap);

/* getenv that sees the env file first.  The pointer stays valid until the
 * next td_config_env_file or td_config_read call. */
const char *td_config_getenv(const char *name);

/* The table as markdown rows (variable, default, programs, meaning) with
 * their header, as README.md's configuration section shows it. */
void td_config_print_markdown(FILE *out);

#endif
