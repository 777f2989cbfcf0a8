/*
 * test_config.c - unit tests for TRADEDESK_* settings (core/config.c):
 * the table itself (every row sane, every default valid), defaults,
 * bounds and validation of every variable through a fake getenv table,
 * each program's view, the env file that wins over the process environment
 * and refuses names the table does not know, and td_config_read as the
 * programs call it, including a SIGHUP-style reload of a changed file.
 *
 * The env-file tests write temporary files under $TMPDIR (or /tmp) and
 * remove them; everything else is pure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"

#define SECRET32 "0123456789abcdef0123456789abcdef"

/* Every program's rows at once: the old single view. */
#define ALL (TD_PROG_API | TD_PROG_CLI | TD_PROG_ENGINE | TD_PROG_STREAM | TD_PROG_RUN)

/* ---- the fake environment ------------------------------------------------- */

#define FAKE_MAX 32
static const char *g_names[FAKE_MAX];
static const char *g_values[FAKE_MAX];
static size_t g_n;

static void env_clear(void)
{
    g_n = 0;
}

static void env_set(const char *name, const char *value)
{
    for (size_t i = 0; i < g_n; i++)
        if (strcmp(g_names[i], name) == 0) {
            g_values[i] = value;
            return;
        }
    assert_true(g_n < FAKE_MAX);
    g_names[g_n] = name;
    g_values[g_n] = value;
    g_n++;
}

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; i < g_n; i++)
        if (strcmp(g_names[i], name) == 0)
            return g_values[i];
    return NULL;
}

static int reset(void **state)
{
    (void)state;
    env_clear();
    return 0;
}

/* Loads and expects failure whose message starts with "VAR: ". */
static void expect_error(int need_secret, const char *var)
{
    td_config c;
    char err[512] = "";
    if (td_config_load(&c, fake_getenv, ALL, need_secret, err, sizeof err) != TD_EINVAL)
        fail_msg("%s: accepted", var);
    size_t n = strlen(var);
    if (strncmp(err, var, n) != 0 || err[n] != ':')
        fail_msg("error does not name %s: \"%s\"", var, err);
}

static void expect_ok(int need_secret, td_config *c)
{
    char err[512] = "";
    if (td_config_load(c, fake_getenv, ALL, need_secret, err, sizeof err) != TD_OK)
        fail_msg("refused: %s", err);
}

/* ---- the table ------------------------------------------------------------ */

static void test_table_rows(void **state)
{
    (void)state;
    size_t n;
    const td_setting *t = td_config_settings(&n);
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++) {
        const td_setting *s = &t[i];
        if (strncmp(s->name, "TRADEDESK_", 10) != 0 || !s->name[10])
            fail_msg("row %zu: bad name '%s'", i, s->name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(t[k].name, s->name) == 0)
                fail_msg("%s: two rows", s->name);
        assert_ptr_equal(td_config_setting(s->name), s);
        if (!s->help || !s->help[0] || strchr(s->help, '\n') || strchr(s->help, '|'))
            fail_msg("%s: help must be one line of markdown without '|'", s->name);
        if (!s->programs || (s->programs & ~(unsigned)ALL))
            fail_msg("%s: bad programs mask %#x", s->name, s->programs);
        if (s->offset != TD_SETTING_NOWHERE) {
            size_t width = s->type == TD_SETTING_STRING ? s->size : sizeof(int);
            if (s->type == TD_SETTING_STRING && s->size < 2)
                fail_msg("%s: string row without a size", s->name);
            if (s->offset + width > sizeof(td_config))
                fail_msg("%s: lands outside td_config", s->name);
            /* A field kept in td_config is read by some program, not only by scripts. */
            if (!(s->programs & ~(unsigned)TD_PROG_RUN))
                fail_msg("%s: only scripts read it, yet it has a field", s->name);
        }
        if (s->type == TD_SETTING_INT && s->lo > s->hi)
            fail_msg("%s: empty range", s->name);
        if (s->type == TD_SETTING_ENUM && (!s->choices || !s->choices[0]))
            fail_msg("%s: enum without choices", s->name);
        if (s->def && s->def_fn)
            fail_msg("%s: two defaults", s->name);
    }
    assert_null(td_config_setting("TRADEDESK_NO_SUCH_THING"));
    assert_null(td_config_setting("TRADEDESK_"));
}

/* Each default, set explicitly, is accepted and lands as the default:
 * a row cannot ship a default its own validation refuses. */
static void test_defaults_pass_validation(void **state)
{
    (void)state;
    size_t n;
    const td_setting *t = td_config_settings(&n);
    td_config d, c;
    expect_ok(0, &d);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].def)
            continue;
        env_clear();
        env_set(t[i].name, t[i].def);
        expect_ok(0, &c);
        assert_memory_equal(&c, &d, sizeof c);
    }
}

/* The fields no row fills stay zero: every field of td_config is a row. */
static void test_every_field_is_a_row(void **state)
{
    (void)state;
    size_t n;
    const td_setting *t = td_config_settings(&n);
    unsigned char covered[sizeof(td_config)] = {0};
    for (size_t i = 0; i < n; i++) {
        if (t[i].offset == TD_SETTING_NOWHERE)
            continue;
        size_t width = t[i].type == TD_SETTING_STRING ? t[i].size : sizeof(int);
        for (size_t k = 0; k < width; k++) {
            if (covered[t[i].offset + k])
                fail_msg("%s overlaps another row's field", t[i].name);
            covered[t[i].offset + k] = 1;
        }
    }
    size_t holes = 0;
    for (size_t k = 0; k < sizeof covered; k++)
        holes += !covered[k];
    assert_true(holes < sizeof(int)); /* at most tail padding */
}

/* ---- td_config_load ------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    td_config c;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    expect_ok(0, &c);
    assert_string_equal(c.fcgi_listen, "var/run/tradedesk-api.sock");
    assert_string_equal(c.fcgi_group, "www-data");
    assert_int_equal(c.workers, cores < 1 ? 4 : cores > 16 ? 64 : cores * 4);
    assert_string_equal(c.database_url, "dbname=tradedesk");
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379/0");
    assert_int_equal(c.redis_timeout_ms, 200);
    assert_int_equal(c.db_timeout_ms, 5000);
    assert_int_equal(c.db_worker_share, 50);
    assert_string_equal(c.jwt_secret, "");
    assert_string_equal(c.jwt_issuer, "");
    assert_string_equal(c.jwt_audience, "");
    assert_int_equal(c.jwt_ttl_s, 900);
    assert_int_equal(c.max_body_bytes, 65536);
    assert_int_equal(c.login_rate_per_min, 10);
    assert_int_equal(c.login_burst, 5);
    assert_int_equal(c.login_user_rate, 30);
    assert_int_equal(c.login_user_burst, 20);
    assert_int_equal(c.login_ip_rate_per_min, 60);
    assert_int_equal(c.login_ip_burst, 20);
    assert_int_equal(c.log_level, TD_LOG_INFO);
    assert_int_equal(c.drain_timeout_s, 10);
    assert_int_equal(c.price_stale_ms, 10000);
    assert_string_equal(c.demo_password, "tradedesk");
    assert_string_equal(c.sql_dir, "");
}

static void test_all_overridden(void **state)
{
    (void)state;
    td_config c;
    env_set("TRADEDESK_FCGI_LISTEN", "127.0.0.1:9000");
    env_set("TRADEDESK_FCGI_GROUP", "nginx");
    env_set("TRADEDESK_WORKERS", "8");
    env_set("TRADEDESK_DATABASE_URL", "postgresql://u@db/td");
    env_set("TRADEDESK_REDIS_URL", "unix:/run/redis.sock");
    env_set("TRADEDESK_REDIS_TIMEOUT_MS", "150");
    env_set("TRADEDESK_DB_TIMEOUT_MS", "2500");
    env_set("TRADEDESK_DB_WORKER_SHARE", "25");
    env_set("TRADEDESK_JWT_SECRET", SECRET32);
    env_set("TRADEDESK_JWT_ISSUER", "iss");
    env_set("TRADEDESK_JWT_AUDIENCE", "aud");
    env_set("TRADEDESK_JWT_TTL", "60");
    env_set("TRADEDESK_MAX_BODY_BYTES", "1024");
    env_set("TRADEDESK_LOGIN_RATE", "3");
    env_set("TRADEDESK_LOGIN_BURST", "0");
    env_set("TRADEDESK_LOGIN_USER_RATE", "40");
    env_set("TRADEDESK_LOGIN_USER_BURST", "9");
    env_set("TRADEDESK_LOGIN_IP_RATE", "100");
    env_set("TRADEDESK_LOGIN_IP_BURST", "7");
    env_set("TRADEDESK_LOG_LEVEL", "DEBUG");
    env_set("TRADEDESK_DRAIN_TIMEOUT", "0");
    env_set("TRADEDESK_PRICE_STALE_MS", "2500");
    env_set("TRADEDESK_DEMO_PASSWORD", "pw");
    env_set("TRADEDESK_SQL_DIR", "/opt/td/sql");
    expect_ok(1, &c);
    assert_string_equal(c.fcgi_listen, "127.0.0.1:9000");
    assert_string_equal(c.fcgi_group, "nginx");
    assert_int_equal(c.workers, 8);
    assert_string_equal(c.database_url, "postgresql://u@db/td");
    assert_string_equal(c.redis_url, "unix:/run/redis.sock");
    assert_int_equal(c.redis_timeout_ms, 150);
    assert_int_equal(c.db_timeout_ms, 2500);
    assert_int_equal(c.db_worker_share, 25);
    assert_string_equal(c.jwt_secret, SECRET32);
    assert_string_equal(c.jwt_issuer, "iss");
    assert_string_equal(c.jwt_audience, "aud");
    assert_int_equal(c.jwt_ttl_s, 60);
    assert_int_equal(c.max_body_bytes, 1024);
    assert_int_equal(c.login_rate_per_min, 3);
    assert_int_equal(c.login_burst, 0);
    assert_int_equal(c.login_user_rate, 40);
    assert_int_equal(c.login_user_burst, 9);
    assert_int_equal(c.login_ip_rate_per_min, 100);
    assert_int_equal(c.login_ip_burst, 7);
    assert_int_equal(c.log_level, TD_LOG_DEBUG);
    assert_int_equal(c.drain_timeout_s, 0);
    assert_int_equal(c.price_stale_ms, 2500);
    assert_string_equal(c.demo_password, "pw");
    assert_string_equal(c.sql_dir, "/opt/td/sql");
}

typedef struct int_var {
    const char *name;
    size_t offset;
    long lo, hi;
} int_var;

static const int_var int_vars[] = {
    {"TRADEDESK_WORKERS", offsetof(td_config, workers), 1, 256},
    {"TRADEDESK_REDIS_TIMEOUT_MS", offsetof(td_config, redis_timeout_ms), 1, 60000},
    {"TRADEDESK_DB_TIMEOUT_MS", offsetof(td_config, db_timeout_ms), 1, 600000},
    {"TRADEDESK_DB_WORKER_SHARE", offsetof(td_config, db_worker_share), 1, 100},
    {"TRADEDESK_JWT_TTL", offsetof(td_config, jwt_ttl_s), 30, 7 * 24 * 3600},
    {"TRADEDESK_MAX_BODY_BYTES", offsetof(td_config, max_body_bytes), 256, 16 * 1024 * 1024},
    {"TRADEDESK_LOGIN_RATE", offsetof(td_config, login_rate_per_min), 1, 60000},
    {"TRADEDESK_LOGIN_BURST", offsetof(td_config, login_burst), 0, 100000},
    {"TRADEDESK_LOGIN_USER_RATE", offsetof(td_config, login_user_rate), 1, 60000},
    {"TRADEDESK_LOGIN_USER_BURST", offsetof(td_config, login_user_burst), 0, 1000000},
    {"TRADEDESK_LOGIN_IP_RATE", offsetof(td_config, login_ip_rate_per_min), 1, 60000},
    {"TRADEDESK_LOGIN_IP_BURST", offsetof(td_config, login_ip_burst), 0, 1000000},
    {"TRADEDESK_LOGIN_VERIFY_MAX", offsetof(td_config, login_verify_max), 1, 256},
    {"TRADEDESK_DRAIN_TIMEOUT", offsetof(td_config, drain_timeout_s), 0, 3600},
    {"TRADEDESK_PRICE_STALE_MS", offsetof(td_config, price_stale_ms), 1, 86400000},
    {"TRADEDESK_ORACLE_MAX_DEVIATION_BP", offsetof(td_config, oracle_max_dev_bp), 1, 10000},
    {"TRADEDESK_RT_PRIORITY", offsetof(td_config, rt_priority), 0, 99},
    {"TRADEDESK_SIM_STEP_MS", offsetof(td_config, sim_step_ms), 10, 60000},
    {"TRADEDESK_FEED_SILENCE_MS", offsetof(td_config, feed_silence_ms), 500, 600000},
    {"TRADEDESK_REPLAY_SPEED", offsetof(td_config, replay_speed), 1, 1000},
    {"TRADEDESK_LEADER_LEASE_MS", offsetof(td_config, leader_lease_ms), 1000, 60000},
    {"TRADEDESK_PRICE_HISTORY_INTERVAL_S", offsetof(td_config, price_history_interval_s), 0, 86400},
    {"TRADEDESK_PRICE_HISTORY_DAYS", offsetof(td_config, price_history_days), 0, 36500},
    {"TRADEDESK_IDEMPOTENCY_KEY_HOURS", offsetof(td_config, idempotency_key_hours), 0, 87600},
    {"TRADEDESK_SLOW_REQUEST_MS", offsetof(td_config, slow_request_ms), 0, 600000},
    {"TRADEDESK_READ_RATE", offsetof(td_config, read_rate_per_min), 1, 60000},
    {"TRADEDESK_READ_BURST", offsetof(td_config, read_burst), 0, 10000000},
    {"TRADEDESK_WRITE_RATE", offsetof(td_config, write_rate_per_min), 1, 60000},
    {"TRADEDESK_WRITE_BURST", offsetof(td_config, write_burst), 0, 10000000},
    {"TRADEDESK_ADDRESS_RATE", offsetof(td_config, address_rate_per_min), 1, 60000},
    {"TRADEDESK_ADDRESS_BURST", offsetof(td_config, address_burst), 0, 10000000},
    {"TRADEDESK_OUTBOX_RETENTION_DAYS", offsetof(td_config, outbox_retention_days), 0, 36500},
    {"TRADEDESK_MONITOR_RESYNC_S", offsetof(td_config, monitor_resync_s), 1, 3600},
    {"TRADEDESK_RECON_INTERVAL_S", offsetof(td_config, recon_interval_s), 0, 86400},
    {"TRADEDESK_GUARD_INTERVAL_S", offsetof(td_config, guard_interval_s), 0, 86400},
    {"TRADEDESK_EQUITY_SNAPSHOT_DAYS", offsetof(td_config, equity_snapshot_days), 0, 36500},
    {"TRADEDESK_MARKET_RATE", offsetof(td_config, market_rate_per_min), 1, 60000},
    {"TRADEDESK_MARKET_BURST", offsetof(td_config, market_burst), 0, 1000000},
    {"TRADEDESK_STREAM_MAX_MESSAGE_BYTES", offsetof(td_config, stream_max_message), 256, 1048576},
    {"TRADEDESK_STREAM_MAX_SUBSCRIPTIONS", offsetof(td_config, stream_max_subs), 1, 4096},
    {"TRADEDESK_STREAM_RATE", offsetof(td_config, stream_rate), 1, 100000},
    {"TRADEDESK_STREAM_QUEUE", offsetof(td_config, stream_queue), 8, 65536},
    {"TRADEDESK_STREAM_SOCKETS_PER_ADDRESS", offsetof(td_config, stream_per_address), 1, 1000000},
    {"TRADEDESK_STREAM_SOCKETS_PER_USER", offsetof(td_config, stream_per_user), 1, 100000},
    {"TRADEDESK_ALERT_STALE_S", offsetof(td_config, alert_stale_s), 0, 86400},
    {"TRADEDESK_ALERT_STALE_CRITICAL_S", offsetof(td_config, alert_stale_critical_s), 0, 86400},
    {"TRADEDESK_ALERT_GAP_BP", offsetof(td_config, alert_gap_bp), 0, 1000000},
    {"TRADEDESK_ALERT_GAP_CRITICAL_BP", offsetof(td_config, alert_gap_critical_bp), 0, 1000000},
    {"TRADEDESK_ALERT_VOLATILITY_BP", offsetof(td_config, alert_vol_bp), 0, 1000000},
    {"TRADEDESK_ALERT_VOLATILITY_CRITICAL_BP", offsetof(td_config, alert_vol_critical_bp), 0, 1000000},
    {"TRADEDESK_ALERT_VOLATILITY_WINDOW_MIN", offsetof(td_config, alert_vol_window_min), 2, 1440},
    {"TRADEDESK_ALERT_VOLATILITY_INTERVAL_S", offsetof(td_config, alert_vol_interval_s), 1, 3600},
    {"TRADEDESK_ALERT_SPREAD_BP", offsetof(td_config, alert_spread_bp), 0, 1000000},
    {"TRADEDESK_ALERT_SPREAD_CRITICAL_BP", offsetof(td_config, alert_spread_critical_bp), 0, 1000000},
    {"TRADEDESK_ALERT_DIVERGENCE_BP", offsetof(td_config, alert_divergence_bp), 0, 1000000},
    {"TRADEDESK_ALERT_DIVERGENCE_CRITICAL_BP", offsetof(td_config, alert_divergence_critical_bp), 0, 1000000},
    {"TRADEDESK_ALERT_HYSTERESIS_PCT", offsetof(td_config, alert_hysteresis_pct), 0, 100},
    {"TRADEDESK_ALERT_CLEAR_S", offsetof(td_config, alert_clear_s), 0, 86400},
    {"TRADEDESK_ALERT_RETENTION_DAYS", offsetof(td_config, alert_retention_days), 0, 36500},
};

static int int_field(const td_config *c, size_t offset)
{
    int v;
    memcpy(&v, (const char *)c + offset, sizeof v);
    return v;
}

/* The list above states the bounds a second time, independently of the
 * table: it must name every integer row the table has, with its bounds. */
static void test_integer_rows_listed(void **state)
{
    (void)state;
    size_t n, listed = 0;
    const td_setting *t = td_config_settings(&n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].type != TD_SETTING_INT || t[i].offset == TD_SETTING_NOWHERE)
            continue;
        listed++;
        size_t k = 0;
        while (k < TD_ARRAY_LEN(int_vars) && strcmp(int_vars[k].name, t[i].name) != 0)
            k++;
        if (k == TD_ARRAY_LEN(int_vars))
            fail_msg("%s is not in int_vars", t[i].name);
        assert_int_equal(int_vars[k].offset, t[i].offset);
        assert_int_equal(int_vars[k].lo, t[i].lo);
        assert_int_equal(int_vars[k].hi, t[i].hi);
    }
    assert_int_equal(listed, TD_ARRAY_LEN(int_vars));
}

static void test_integers_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "abc",
        "+5",
        " 5",
        "5 ",
        "5x",
        "1.5",
        "1e3",
        "0x10",
        "--5",
        "-",
        "99999999999999999999",
        "-99999999999999999999",
        "9223372036854775808",
    };
    for (size_t v = 0; v < TD_ARRAY_LEN(int_vars); v++) {
        for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++) {
            env_clear();
            env_set(int_vars[v].name, bad[i]);
            expect_error(0, int_vars[v].name);
        }
    }
}

static void test_integers_range(void **state)
{
    (void)state;
    char lo[32], hi[32], below[32], above[32];
    td_config c;
    for (size_t v = 0; v < TD_ARRAY_LEN(int_vars); v++) {
        const int_var *iv = &int_vars[v];
        snprintf(lo, sizeof lo, "%ld", iv->lo);
        snprintf(hi, sizeof hi, "%ld", iv->hi);
        snprintf(below, sizeof below, "%ld", iv->lo - 1);
        snprintf(above, sizeof above, "%ld", iv->hi + 1);

        env_clear();
        env_set(iv->name, below);
        expect_error(0, iv->name);
        env_set(iv->name, above);
        expect_error(0, iv->name);
        env_set(iv->name, "2147483648"); /* past int, inside long */
        expect_error(0, iv->name);

        env_set(iv->name, lo);
        expect_ok(0, &c);
        assert_int_equal(int_field(&c, iv->offset), iv->lo);
        env_set(iv->name, hi);
        expect_ok(0, &c);
        assert_int_equal(int_field(&c, iv->offset), iv->hi);
    }
    /* "-0" and leading zeros are plain decimal integers. */
    env_clear();
    env_set("TRADEDESK_WORKERS", "007");
    expect_ok(0, &c);
    assert_int_equal(c.workers, 7);
    env_set("TRADEDESK_LOGIN_BURST", "-0");
    expect_ok(0, &c);
    assert_int_equal(c.login_burst, 0);
}

static void test_error_message_text(void **state)
{
    (void)state;
    td_config c;
    char err[256];
    env_set("TRADEDESK_WORKERS", "lots");
    assert_int_equal(td_config_load(&c, fake_getenv, ALL, 0, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_WORKERS: 'lots' is not an integer");
    env_set("TRADEDESK_WORKERS", "0");
    assert_int_equal(td_config_load(&c, fake_getenv, ALL, 0, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_WORKERS: 0 is out of range [1, 256]");
    /* A short buffer is cut, not overrun. */
    char tiny[8];
    memset(tiny, 'Z', sizeof tiny);
    assert_int_equal(td_config_load(&c, fake_getenv, ALL, 0, tiny, 6), TD_EINVAL);
    assert_string_equal(tiny, "TRADE");
    assert_int_equal(tiny[6], 'Z');
}

static void test_jwt_secret(void **state)
{
    (void)state;
    td_config c;
    char err[256];

    /* Missing, empty, 31 bytes: refused when a secret is needed. */
    expect_error(1, "TRADEDESK_JWT_SECRET");
    env_set("TRADEDESK_JWT_SECRET", "");
    expect_error(1, "TRADEDESK_JWT_SECRET");
    env_set("TRADEDESK_JWT_SECRET", &SECRET32[1]);
    assert_int_equal(strlen(&SECRET32[1]), 31);
    assert_int_equal(td_config_load(&c, fake_getenv, ALL, 1, err, sizeof err), TD_EINVAL);
    assert_non_null(strstr(err, "TRADEDESK_JWT_SECRET: 31 bytes"));

    /* 32 bytes is enough. */
    env_set("TRADEDESK_JWT_SECRET", SECRET32);
    expect_ok(1, &c);
    assert_string_equal(c.jwt_secret, SECRET32);

    /* Tools that mint nothing run without one. */
    env_clear();
    expect_ok(0, &c);
    assert_string_equal(c.jwt_secret, "");
    env_set("TRADEDESK_JWT_SECRET", "short");
    expect_ok(0, &c);
}

static void test_redis_url(void **state)
{
    (void)state;
    td_config c;
    static const char *const bad[] = {
        "", "http://x:6379", "redis:/x", "REDIS://x", "127.0.0.1:6379", "unix", " redis://x"};
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++) {
        env_set("TRADEDESK_REDIS_URL", bad[i]);
        expect_error(0, "TRADEDESK_REDIS_URL");
    }
    env_set("TRADEDESK_REDIS_URL", "redis://10.0.0.1:6380/2");
    expect_ok(0, &c);
    assert_string_equal(c.redis_url, "redis://10.0.0.1:6380/2");
    env_set("TRADEDESK_REDIS_URL", "unix:/var/run/redis.sock");
    expect_ok(0, &c);
}

static void test_log_level(void **state)
{
    (void)state;
    td_config c;
    static const char *const bad[] = {"", "verbose", "warning", "infox", "0", " info"};
    for (size_t i = 0; i < TD_ARRAY_LEN(bad); i++) {
        env_set("TRADEDESK_LOG_LEVEL", bad[i]);
        expect_error(0, "TRADEDESK_LOG_LEVEL");
    }
    static const struct {
        const char *s;
        int level;
    } good[] = {{"debug", TD_LOG_DEBUG},
                {"info", TD_LOG_INFO},
                {"Warn", TD_LOG_WARN},
                {"ERROR", TD_LOG_ERROR}};
    for (size_t i = 0; i < TD_ARRAY_LEN(good); i++) {
        env_set("TRADEDESK_LOG_LEVEL", good[i].s);
        expect_ok(0, &c);
        assert_int_equal(c.log_level, good[i].level);
    }
}

static void test_empty_required_strings(void **state)
{
    (void)state;
    env_set("TRADEDESK_FCGI_LISTEN", "");
    expect_error(0, "TRADEDESK_FCGI_LISTEN");
    env_clear();
    env_set("TRADEDESK_DEMO_PASSWORD", "");
    expect_error(0, "TRADEDESK_DEMO_PASSWORD");
}

static void test_overlong_strings(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t cap;
        const char *prefix; /* so a value that fits is also valid */
    } vars[] = {
        {"TRADEDESK_FCGI_LISTEN", sizeof(((td_config *)0)->fcgi_listen), ""},
        {"TRADEDESK_FCGI_GROUP", sizeof(((td_config *)0)->fcgi_group), ""},
        {"TRADEDESK_DATABASE_URL", sizeof(((td_config *)0)->database_url), ""},
        {"TRADEDESK_REDIS_URL", sizeof(((td_config *)0)->redis_url), "redis://"},
        {"TRADEDESK_JWT_SECRET", sizeof(((td_config *)0)->jwt_secret), ""},
        {"TRADEDESK_JWT_ISSUER", sizeof(((td_config *)0)->jwt_issuer), ""},
        {"TRADEDESK_JWT_AUDIENCE", sizeof(((td_config *)0)->jwt_audience), ""},
        {"TRADEDESK_DEMO_PASSWORD", sizeof(((td_config *)0)->demo_password), ""},
        {"TRADEDESK_SQL_DIR", sizeof(((td_config *)0)->sql_dir), ""},
    };
    td_config c;
    char *v = malloc(8192);
    assert_non_null(v);
    for (size_t i = 0; i < TD_ARRAY_LEN(vars); i++) {
        size_t pl = strlen(vars[i].prefix);
        memcpy(v, vars[i].prefix, pl);
        memset(v + pl, 'x', 8192 - pl);

        /* cap bytes (no room for the NUL) and far more are refused... */
        static const size_t extra[] = {0, 1, 4000};
        for (size_t k = 0; k < TD_ARRAY_LEN(extra); k++) {
            v[vars[i].cap + extra[k]] = '\0';
            env_clear();
            env_set(vars[i].name, v);
            expect_error(0, vars[i].name);
            v[vars[i].cap + extra[k]] = 'x';
        }
        /* ...cap - 1 bytes fit exactly. */
        v[vars[i].cap - 1] = '\0';
        env_clear();
        env_set(vars[i].name, v);
        expect_ok(0, &c);
        assert_int_equal(strlen(fake_getenv(vars[i].name)), vars[i].cap - 1);
    }
    free(v);
}

/* ---- the env file --------------------------------------------------------- */

static char g_path[256];

static void write_file(const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(g_path, sizeof g_path, "%s/td-config-test-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static int env_file_teardown(void **state)
{
    (void)state;
    char err[16];
    if (g_path[0])
        unlink(g_path);
    g_path[0] = '\0';
    td_config_env_file(NULL, err, sizeof err); /* frees the table */
    unsetenv("TRADEDESK_WORKERS");
    unsetenv("TRADEDESK_JWT_TTL");
    unsetenv("TRADEDESK_DEMO_PASSWORD");
    return 0;
}

static void test_env_file(void **state)
{
    (void)state;
    char err[512] = "";
    write_file("# settings for tests\n"
               "   # an indented comment\n"
               "\n"
               "  \t\n"
               "TRADEDESK_WORKERS=3\n"
               "export TRADEDESK_JWT_ISSUER=\"quoted issuer\"\n"
               "TRADEDESK_JWT_AUDIENCE='single'\n"
               "  TRADEDESK_DATABASE_URL=host=db port=5432\n"
               "TRADEDESK_FCGI_LISTEN=first\n"
               "TRADEDESK_FCGI_LISTEN=second\n"
               "TRADEDESK_JWT_SECRET=\"" SECRET32 "\"\r\n"
               "TRADEDESK_REDIS_URL=\"redis://r:1/0'\n"
               "TRADEDESK_LOG_LEVEL=\n"
               "TRADEDESK_DEMO_PASSWORD=\"\"");
    setenv("TRADEDESK_WORKERS", "9", 1);
    setenv("TRADEDESK_JWT_TTL", "120", 1);
    setenv("TRADEDESK_DEMO_PASSWORD", "from-env", 1);

    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "3");   /* the file wins */
    assert_string_equal(td_config_getenv("TRADEDESK_JWT_TTL"), "120"); /* not in the file */
    assert_string_equal(td_config_getenv("TRADEDESK_JWT_ISSUER"), "quoted issuer");
    assert_string_equal(td_config_getenv("TRADEDESK_JWT_AUDIENCE"), "single");
    assert_string_equal(td_config_getenv("TRADEDESK_DATABASE_URL"), "host=db port=5432");
    assert_string_equal(td_config_getenv("TRADEDESK_FCGI_LISTEN"), "second"); /* last wins */
    assert_string_equal(td_config_getenv("TRADEDESK_JWT_SECRET"), SECRET32);  /* CRLF */
    assert_string_equal(td_config_getenv("TRADEDESK_REDIS_URL"), "\"redis://r:1/0'");
    assert_string_equal(td_config_getenv("TRADEDESK_LOG_LEVEL"), "");
    assert_string_equal(td_config_getenv("TRADEDESK_DEMO_PASSWORD"), "");
    assert_null(td_config_getenv("TRADEDESK_NOT_SET_ANYWHERE"));
}

static void test_env_file_load(void **state)
{
    (void)state;
    char err[512] = "";
    td_config c;
    write_file("TRADEDESK_WORKERS=3\n"
               "export TRADEDESK_JWT_SECRET='" SECRET32 "'\n"
               "TRADEDESK_JWT_ISSUER=\"tradedesk\"\n");
    setenv("TRADEDESK_WORKERS", "9", 1);
    setenv("TRADEDESK_JWT_TTL", "120", 1);
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    if (td_config_load(&c, td_config_getenv, ALL, 1, err, sizeof err) != TD_OK)
        fail_msg("%s", err);
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.jwt_ttl_s, 120);
    assert_string_equal(c.jwt_secret, SECRET32);
    assert_string_equal(c.jwt_issuer, "tradedesk");
}

static void expect_bad_line(const char *text, int line)
{
    char err[512] = "", want[300];
    write_file(text);
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_EINVAL);
    snprintf(want, sizeof want, "%s:%d", g_path, line);
    if (!strstr(err, want) || strncmp(err, "TRADEDESK_ENV_FILE: ", 20) != 0)
        fail_msg("error does not name %s: \"%s\"", want, err);
    /* Nothing of a bad file is kept. */
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "9");
    unlink(g_path);
    g_path[0] = '\0';
}

static void test_env_file_bad_line(void **state)
{
    (void)state;
    setenv("TRADEDESK_WORKERS", "9", 1);
    expect_bad_line("TRADEDESK_WORKERS=3\n# ok\nTRADEDESK_JWT_TTL\n", 3);
    expect_bad_line("TRADEDESK_WORKERS=3\nPATH=/bin\n", 2);
    expect_bad_line("TRADEDESK_WORKERS=3\n\n\nexport\n", 4);
    expect_bad_line("tradedesk_workers=4\n", 1);
    expect_bad_line("TRADEDESK_WORKERS=3\n=x\n", 2);
}

/* The file holds one value per setting, so its length is not limited: the
 * last of many lines naming a setting wins, and a bad line late in a long
 * file still drops the whole file. */
static void test_env_file_long(void **state)
{
    (void)state;
    char err[512];
    size_t cap = 5000 * 40, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 1; i <= 5000; i++)
        n += (size_t)snprintf(text + n, cap - n, "TRADEDESK_WORKERS=%d\n", i % 256 + 1);
    write_file(text);
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "137"); /* 5000 % 256 + 1 */
    unlink(g_path);
    setenv("TRADEDESK_WORKERS", "9", 1);
    snprintf(text + n, cap - n, "TRADEDESK_WORKER=1\n");
    expect_bad_line(text, 5001);
    free(text);
}

static void test_env_file_missing_and_null(void **state)
{
    (void)state;
    char err[512] = "";
    write_file("TRADEDESK_WORKERS=3\n");
    setenv("TRADEDESK_WORKERS", "9", 1);
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "3");

    /* A missing file is an error naming it, and drops the old values. */
    const char *missing = "/nonexistent-dir/tradedesk.env";
    assert_int_equal(td_config_env_file(missing, err, sizeof err), TD_EINVAL);
    assert_non_null(strstr(err, "TRADEDESK_ENV_FILE"));
    assert_non_null(strstr(err, missing));
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "9");

    /* NULL or empty path: no file, only the environment. */
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "3");
    assert_int_equal(td_config_env_file(NULL, err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "9");
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    assert_int_equal(td_config_env_file("", err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "9");
}

static void test_env_file_reread(void **state)
{
    (void)state;
    char err[512] = "";
    /* SIGHUP re-reads: the second file replaces the first entirely. */
    write_file("TRADEDESK_WORKERS=3\nTRADEDESK_JWT_ISSUER=a\n");
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    unlink(g_path);
    write_file("TRADEDESK_WORKERS=4\n");
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "4");
    assert_null(td_config_getenv("TRADEDESK_JWT_ISSUER"));
}

/* ---- each program's view -------------------------------------------------- */

/* A program reads and validates its rows only; every other field keeps its
 * default, so a bad value meant for another program does not stop it. */
static void test_program_views(void **state)
{
    (void)state;
    static const unsigned progs[] = {TD_PROG_API, TD_PROG_CLI, TD_PROG_ENGINE, TD_PROG_STREAM,
                                     TD_PROG_RUN};
    size_t n;
    const td_setting *t = td_config_settings(&n);
    for (size_t p = 0; p < TD_ARRAY_LEN(progs); p++) {
        for (size_t i = 0; i < n; i++) {
            const td_setting *s = &t[i];
            if (s->flags & TD_SETTING_ENV_ONLY)
                continue;
            /* A value every row refuses: too long for strings, not a number. */
            static char bad[4096];
            memset(bad, 'x', sizeof bad - 1);
            const char *v = s->type == TD_SETTING_STRING ? bad : "nonsense";
            if (s->type == TD_SETTING_STRING && s->offset == TD_SETTING_NOWHERE)
                continue; /* free-form text the scripts check */
            env_clear();
            env_set(s->name, v);
            td_config c, d;
            char err[512] = "";
            td_status st = td_config_load(&c, fake_getenv, progs[p], 0, err, sizeof err);
            if (s->programs & progs[p]) {
                if (st != TD_EINVAL || strncmp(err, s->name, strlen(s->name)) != 0)
                    fail_msg("program %#x accepted %s='%.20s...'", progs[p], s->name, v);
            } else {
                if (st != TD_OK)
                    fail_msg("program %#x does not read %s, yet: %s", progs[p], s->name, err);
                env_clear();
                assert_int_equal(td_config_load(&d, fake_getenv, progs[p], 0, err, sizeof err),
                                 TD_OK);
                assert_memory_equal(&c, &d, sizeof c);
            }
        }
    }
}

static void test_cli_view(void **state)
{
    (void)state;
    td_config c;
    char err[512] = "";
    /* What bin/tradedesk uses is read... */
    env_set("TRADEDESK_DATABASE_URL", "host=db");
    env_set("TRADEDESK_SQL_DIR", "/srv/sql");
    env_set("TRADEDESK_JWT_TTL", "60");
    /* ...what only the api uses is not, not even to be refused. */
    env_set("TRADEDESK_WORKERS", "lots");
    env_set("TRADEDESK_FCGI_LISTEN", "");
    env_set("TRADEDESK_MAX_BODY_BYTES", "1");
    assert_int_equal(td_config_load(&c, fake_getenv, TD_PROG_CLI, 0, err, sizeof err), TD_OK);
    assert_string_equal(c.database_url, "host=db");
    assert_string_equal(c.sql_dir, "/srv/sql");
    assert_int_equal(c.jwt_ttl_s, 60);
    assert_string_equal(c.fcgi_listen, "var/run/tradedesk-api.sock");
    assert_int_equal(c.max_body_bytes, 65536);
    /* The api refuses the same environment, naming the first bad row. */
    assert_int_equal(td_config_load(&c, fake_getenv, TD_PROG_API, 0, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_FCGI_LISTEN: must not be empty");
}

/* The shell scripts' rows have bounds too, even though no C program keeps
 * them: the table is where they are documented and checked. */
static void test_run_rows(void **state)
{
    (void)state;
    td_config c;
    char err[512] = "";
    env_set("TRADEDESK_HTTP_PORT", "65536");
    assert_int_equal(td_config_load(&c, fake_getenv, TD_PROG_RUN, 0, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_HTTP_PORT: 65536 is out of range [1, 65535]");
    env_set("TRADEDESK_HTTP_PORT", "8088");
    env_set("TRADEDESK_WS_PORT", "0");
    assert_int_equal(td_config_load(&c, fake_getenv, TD_PROG_RUN, 0, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_WS_PORT: 0 is out of range [1, 65535]");
    env_set("TRADEDESK_WS_PORT", "8089");
    env_set("TRADEDESK_FEEDS", "binance,coinbase");
    expect_ok(0, &c);
}

/* ---- the env file: names --------------------------------------------------- */

static void test_env_file_unknown_names(void **state)
{
    (void)state;
    char err[512] = "";
    setenv("TRADEDESK_WORKERS", "9", 1);
    /* A typo would leave the default in force: refused, naming line and name. */
    write_file("TRADEDESK_WORKERS=3\nTRADEDESK_JWT_SECERT=" SECRET32 "\n");
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_EINVAL);
    char want[512];
    snprintf(want, sizeof want,
             "TRADEDESK_ENV_FILE: %s:2: TRADEDESK_JWT_SECERT is not a setting "
             "(see `tradedesk settings`)",
             g_path);
    assert_string_equal(err, want);
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "9");
    unlink(g_path);
    expect_bad_line("TRADEDESK_X0=1\n", 1);
    expect_bad_line("TRADEDESK_WORKERS=3\nTRADEDESK_=1\n", 2);
    expect_bad_line("TRADEDESK_workers=3\n", 1);
    /* The file cannot name another file. */
    expect_bad_line("TRADEDESK_WORKERS=3\nTRADEDESK_ENV_FILE=/etc/other.env\n", 2);
    /* Every row of the table, the scripts' included, is a valid line. */
    size_t n, len = 0;
    const td_setting *t = td_config_settings(&n);
    char text[8192];
    for (size_t i = 0; i < n; i++)
        if (!(t[i].flags & TD_SETTING_ENV_ONLY))
            len += (size_t)snprintf(text + len, sizeof text - len, "%s=v%zu\n", t[i].name, i);
    write_file(text);
    assert_int_equal(td_config_env_file(g_path, err, sizeof err), TD_OK);
    for (size_t i = 0; i < n; i++) {
        if (t[i].flags & TD_SETTING_ENV_ONLY)
            continue;
        char want_v[32];
        snprintf(want_v, sizeof want_v, "v%zu", i);
        assert_string_equal(td_config_getenv(t[i].name), want_v);
    }
}

/* ---- td_config_read: what programs call ------------------------------------ */

static int read_teardown(void **state)
{
    unsetenv("TRADEDESK_ENV_FILE");
    unsetenv("TRADEDESK_JWT_SECRET");
    unsetenv("TRADEDESK_LOG_LEVEL");
    return env_file_teardown(state);
}

static void test_read_file_wins(void **state)
{
    (void)state;
    td_config c;
    char err[512] = "";
    write_file("TRADEDESK_WORKERS=3\nTRADEDESK_JWT_SECRET=" SECRET32 "\n");
    setenv("TRADEDESK_ENV_FILE", g_path, 1);
    setenv("TRADEDESK_WORKERS", "9", 1);
    setenv("TRADEDESK_JWT_SECRET", "the environment's secret, also long enough", 1);
    setenv("TRADEDESK_JWT_TTL", "120", 1);
    if (td_config_read(&c, TD_PROG_API, 1, err, sizeof err) != TD_OK)
        fail_msg("%s", err);
    assert_int_equal(c.workers, 3);              /* the file wins */
    assert_string_equal(c.jwt_secret, SECRET32); /* the file wins */
    assert_int_equal(c.jwt_ttl_s, 120);          /* not in the file: the environment */
    assert_int_equal(c.log_level, TD_LOG_INFO);  /* in neither: the default */
    /* Nothing of the file stays behind once read. */
    assert_string_equal(td_config_getenv("TRADEDESK_WORKERS"), "9");
}

/* bin/tradedesk under `env -i TRADEDESK_ENV_FILE=...`: the file alone. */
static void test_read_file_only(void **state)
{
    (void)state;
    td_config c;
    char err[512] = "";
    write_file("TRADEDESK_DATABASE_URL=host=/x dbname=td\n"
               "TRADEDESK_JWT_SECRET='" SECRET32 "'\n"
               "TRADEDESK_SQL_DIR=/srv/sql\n");
    setenv("TRADEDESK_ENV_FILE", g_path, 1);
    if (td_config_read(&c, TD_PROG_CLI, 1, err, sizeof err) != TD_OK)
        fail_msg("%s", err);
    assert_string_equal(c.database_url, "host=/x dbname=td");
    assert_string_equal(c.jwt_secret, SECRET32);
    assert_string_equal(c.sql_dir, "/srv/sql");

    /* migrate and seed run without a secret; token does not. */
    unlink(g_path);
    write_file("TRADEDESK_DATABASE_URL=host=/x\n");
    setenv("TRADEDESK_ENV_FILE", g_path, 1);
    assert_int_equal(td_config_read(&c, TD_PROG_CLI, 0, err, sizeof err), TD_OK);
    assert_int_equal(td_config_read(&c, TD_PROG_CLI, 1, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_JWT_SECRET: not set (need at least 32 bytes)");
}

static void test_read_errors(void **state)
{
    (void)state;
    td_config c;
    char err[512] = "";
    /* No TRADEDESK_ENV_FILE, or an empty one: the environment alone. */
    setenv("TRADEDESK_JWT_SECRET", SECRET32, 1);
    assert_int_equal(td_config_read(&c, TD_PROG_API, 1, err, sizeof err), TD_OK);
    setenv("TRADEDESK_ENV_FILE", "", 1);
    assert_int_equal(td_config_read(&c, TD_PROG_API, 1, err, sizeof err), TD_OK);
    /* A file that is not there is an error, not "no settings". */
    setenv("TRADEDESK_ENV_FILE", "/nonexistent-dir/td.env", 1);
    assert_int_equal(td_config_read(&c, TD_PROG_API, 1, err, sizeof err), TD_EINVAL);
    assert_non_null(strstr(err, "TRADEDESK_ENV_FILE: cannot open '/nonexistent-dir/td.env'"));
    /* A bad value in the file is named like one in the environment. */
    write_file("TRADEDESK_LOG_LEVEL=loud\n");
    setenv("TRADEDESK_ENV_FILE", g_path, 1);
    assert_int_equal(td_config_read(&c, TD_PROG_API, 1, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_LOG_LEVEL: 'loud' is not one of debug, info, warn, error");
}

/* What tradedesk-api does on SIGHUP: the same call, with the file changed
 * in between; settings removed from the file fall back to the environment
 * or the default, and a broken file leaves the caller's config untouched
 * (load_config fills a fresh td_config and keeps the running one). */
static void test_read_reload(void **state)
{
    (void)state;
    td_config running, next;
    char err[512] = "";
    setenv("TRADEDESK_JWT_SECRET", SECRET32, 1);
    setenv("TRADEDESK_LOG_LEVEL", "warn", 1);
    write_file("TRADEDESK_WORKERS=3\nTRADEDESK_LOG_LEVEL=debug\nTRADEDESK_LOGIN_RATE=7\n");
    setenv("TRADEDESK_ENV_FILE", g_path, 1);
    assert_int_equal(td_config_read(&running, TD_PROG_API, 1, err, sizeof err), TD_OK);
    assert_int_equal(running.workers, 3);
    assert_int_equal(running.log_level, TD_LOG_DEBUG);
    assert_int_equal(running.login_rate_per_min, 7);

    /* Rewritten in place, as an operator does before `kill -HUP`. */
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    fputs("TRADEDESK_WORKERS=5\n", f);
    fclose(f);
    assert_int_equal(td_config_read(&next, TD_PROG_API, 1, err, sizeof err), TD_OK);
    assert_int_equal(next.workers, 5);
    assert_int_equal(next.log_level, TD_LOG_WARN); /* back to the environment's */
    assert_int_equal(next.login_rate_per_min, 10); /* back to the default */
    running = next;

    f = fopen(g_path, "w");
    assert_non_null(f);
    fputs("TRADEDESK_WORKERS=5000\n", f);
    fclose(f);
    assert_int_equal(td_config_read(&next, TD_PROG_API, 1, err, sizeof err), TD_EINVAL);
    assert_string_equal(err, "TRADEDESK_WORKERS: 5000 is out of range [1, 256]");
    assert_int_equal(running.workers, 5);
}

/* ---- documentation -------------------------------------------------------- */

/* One markdown row per setting, in table order, with its default. */
static void test_markdown(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    td_config_print_markdown(f);
    fclose(f);
    assert_true(strncmp(text, "| variable | default | programs | meaning |\n|---|", 48) == 0);
    assert_non_null(strstr(text, "\n| `TRADEDESK_HTTP_PORT` | `8080` | run | "));
    assert_non_null(strstr(text, "\n| `TRADEDESK_WORKERS` | 4 × cores | api | "));
    assert_non_null(strstr(text, "\n| `TRADEDESK_JWT_SECRET` | unset | api, cli, stream, run | "));
    assert_non_null(
        strstr(text, "\n| `TRADEDESK_DATABASE_URL` | `dbname=tradedesk` | api, cli, engine, stream | "));
    size_t n, rows = 0;
    const td_setting *t = td_config_settings(&n);
    const char *p = strstr(text, "|---|---|---|---|\n");
    assert_non_null(p);
    for (p = strchr(p, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        char want[128];
        snprintf(want, sizeof want, "| `%s` | ", t[rows].name);
        if (strncmp(p, want, strlen(want)) != 0)
            fail_msg("row %zu: expected %s", rows, want);
        rows++;
    }
    assert_int_equal(rows, n);
    free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, reset, NULL)
#define F(fn) cmocka_unit_test_setup_teardown(fn, reset, env_file_teardown)
#define R(fn) cmocka_unit_test_setup_teardown(fn, reset, read_teardown)

extern char **environ;

int main(void)
{
    /* The env-file tests read the real environment: start it clean. */
    for (size_t i = 0; environ[i];) {
        char name[256];
        size_t n = strcspn(environ[i], "=");
        if (strncmp(environ[i], "TRADEDESK_", 10) == 0 && n < sizeof name) {
            memcpy(name, environ[i], n);
            name[n] = '\0';
            unsetenv(name);
        } else {
            i++;
        }
    }
    const struct CMUnitTest tests[] = {
        T(test_table_rows),
        T(test_defaults_pass_validation),
        T(test_every_field_is_a_row),
        T(test_defaults),
        T(test_all_overridden),
        T(test_integer_rows_listed),
        T(test_integers_rejected),
        T(test_integers_range),
        T(test_error_message_text),
        T(test_jwt_secret),
        T(test_redis_url),
        T(test_log_level),
        T(test_empty_required_strings),
        T(test_overlong_strings),
        F(test_env_file),
        F(test_env_file_load),
        F(test_env_file_bad_line),
        F(test_env_file_long),
        F(test_env_file_missing_and_null),
        F(test_env_file_reread),
        F(test_env_file_unknown_names),
        T(test_program_views),
        T(test_cli_view),
        T(test_run_rows),
        R(test_read_file_wins),
        R(test_read_file_only),
        R(test_read_errors),
        R(test_read_reload),
        T(test_markdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
