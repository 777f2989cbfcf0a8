/*
 * config.c - defaults, environment overrides and validation of TRADEDESK_*.
 *
 * Pure apart from the injected getenv: tests pass a fake table.  A bad value
 * is a start-up error naming the variable, never a silent fallback.
 */
#include "core/config.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static td_status copy_str(const char *name, const char *v, char *dst, size_t cap, char *err,
                          size_t errcap)
{
    size_t n = strlen(v);
    if (n >= cap) {
        snprintf(err, errcap, "%s: too long (%zu bytes, at most %zu)", name, n, cap - 1);
        return TD_EINVAL;
    }
    memcpy(dst, v, n + 1);
    return TD_OK;
}

static td_status parse_int(const char *name, const char *v, long lo, long hi, int *out, char *err,
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
    *out = (int)n;
    return TD_OK;
}

/* Four per core: a worker blocks while PostgreSQL or Redis answers, and
 * fewer workers than that leave cores idle (docs/performance.md). */
static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 4 : n > 16 ? 64 : (int)n * 4;
}

#define STR(var, field)                                                                            \
    do {                                                                                           \
        const char *v_ = get(var);                                                                 \
        if (v_ && copy_str(var, v_, c->field, sizeof c->field, err, errcap) != TD_OK)              \
            return TD_EINVAL;                                                                      \
    } while (0)

#define INT(var, field, lo, hi)                                                                    \
    do {                                                                                           \
        const char *v_ = get(var);                                                                 \
        if (v_ && parse_int(var, v_, lo, hi, &c->field, err, errcap) != TD_OK)                     \
            return TD_EINVAL;                                                                      \
    } while (0)

td_status td_config_load(td_config *c, td_getenv_fn get, int need_secret, char *err, size_t errcap)
{
    memset(c, 0, sizeof *c);
    snprintf(c->fcgi_listen, sizeof c->fcgi_listen, "var/run/tradedesk-api.sock");
    c->workers = default_workers();
    snprintf(c->database_url, sizeof c->database_url, "dbname=tradedesk");
    snprintf(c->redis_url, sizeof c->redis_url, "redis://127.0.0.1:6379/0");
    c->redis_timeout_ms = 200;
    c->db_timeout_ms = 5000;
    c->jwt_ttl_s = 900;
    c->max_body_bytes = 64 * 1024;
    c->login_rate_per_min = 10;
    c->login_burst = 5;
    c->login_ip_rate_per_min = 60;
    c->login_ip_burst = 20;
    c->log_level = TD_LOG_INFO;
    c->drain_timeout_s = 10;
    c->price_stale_ms = 10000;
    snprintf(c->demo_password, sizeof c->demo_password, "tradedesk");

    STR("TRADEDESK_FCGI_LISTEN", fcgi_listen);
    INT("TRADEDESK_WORKERS", workers, 1, 256);
    STR("TRADEDESK_DATABASE_URL", database_url);
    STR("TRADEDESK_REDIS_URL", redis_url);
    INT("TRADEDESK_REDIS_TIMEOUT_MS", redis_timeout_ms, 1, 60000);
    INT("TRADEDESK_DB_TIMEOUT_MS", db_timeout_ms, 1, 600000);
    STR("TRADEDESK_JWT_SECRET", jwt_secret);
    STR("TRADEDESK_JWT_ISSUER", jwt_issuer);
    STR("TRADEDESK_JWT_AUDIENCE", jwt_audience);
    INT("TRADEDESK_JWT_TTL", jwt_ttl_s, 30, 7 * 24 * 3600);
    INT("TRADEDESK_MAX_BODY_BYTES", max_body_bytes, 256, 16 * 1024 * 1024);
    INT("TRADEDESK_LOGIN_RATE", login_rate_per_min, 1, 100000);
    INT("TRADEDESK_LOGIN_BURST", login_burst, 0, 100000);
    INT("TRADEDESK_LOGIN_IP_RATE", login_ip_rate_per_min, 1, 1000000);
    INT("TRADEDESK_LOGIN_IP_BURST", login_ip_burst, 0, 1000000);
    INT("TRADEDESK_DRAIN_TIMEOUT", drain_timeout_s, 0, 3600);
    INT("TRADEDESK_PRICE_STALE_MS", price_stale_ms, 1, 86400000);
    STR("TRADEDESK_DEMO_PASSWORD", demo_password);

    const char *lvl = get("TRADEDESK_LOG_LEVEL");
    if (lvl) {
        int l = td_log_level_parse(lvl);
        if (l < 0) {
            snprintf(err, errcap,
                     "TRADEDESK_LOG_LEVEL: '%s' is not one of debug, info, warn, error", lvl);
            return TD_EINVAL;
        }
        c->log_level = l;
    }

    if (c->fcgi_listen[0] == '\0') {
        snprintf(err, errcap, "TRADEDESK_FCGI_LISTEN: must not be empty");
        return TD_EINVAL;
    }
    if (strncmp(c->redis_url, "redis://", 8) != 0 && strncmp(c->redis_url, "unix:", 5) != 0) {
        snprintf(err, errcap,
                 "TRADEDESK_REDIS_URL: '%s' must start with redis:// or unix:", c->redis_url);
        return TD_EINVAL;
    }
    if (need_secret) {
        size_t n = strlen(c->jwt_secret);
        if (n == 0) {
            snprintf(err, errcap, "TRADEDESK_JWT_SECRET: not set (need at least 32 bytes)");
            return TD_EINVAL;
        }
        if (n < 32) {
            snprintf(err, errcap, "TRADEDESK_JWT_SECRET: %zu bytes is too short (need at least 32)",
                     n);
            return TD_EINVAL;
        }
    }
    if (c->demo_password[0] == '\0') {
        snprintf(err, errcap, "TRADEDESK_DEMO_PASSWORD: must not be empty");
        return TD_EINVAL;
    }
    return TD_OK;
}

/* The env file, parsed into a flat table.  Process-wide: one per program. */
#define ENV_FILE_MAX 128
static char *g_file_names[ENV_FILE_MAX];
static char *g_file_values[ENV_FILE_MAX];
static int g_file_n;

static void env_file_clear(void)
{
    for (int i = 0; i < g_file_n; i++) {
        free(g_file_names[i]);
        free(g_file_values[i]);
    }
    g_file_n = 0;
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
    char line[1024];
    int lineno = 0;
    td_status st = TD_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s += 7;
        char *eq = strchr(s, '=');
        if (!eq || strncmp(s, "TRADEDESK_", 10) != 0 || g_file_n == ENV_FILE_MAX) {
            snprintf(err, errcap, "TRADEDESK_ENV_FILE: %s:%d is not a TRADEDESK_NAME=value line",
                     path, lineno);
            st = TD_EINVAL;
            break;
        }
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
        g_file_names[g_file_n] = strdup(s);
        g_file_values[g_file_n] = strdup(v);
        g_file_n++;
    }
    fclose(f);
    if (st != TD_OK)
        env_file_clear();
    return st;
}

const char *td_config_getenv(const char *name)
{
    for (int i = g_file_n - 1; i >= 0; i--)
        if (strcmp(g_file_names[i], name) == 0)
            return g_file_values[i];
    return getenv(name);
}
