/*
 * alerts.c - the engine's market-condition alerts: every symbol's stale
 * feed, price gap, volatility, spread and source divergence judged by
 * domain/market_alert's rules, stored in market_alerts (sql/012) for
 * GET /api/v1/guards/market-alerts, counted on /metrics, logged, and
 * published on td:alerts.
 *
 * The market loop is latency-critical, so the per-event part
 * (engine/alert_watch.c, the market's event listener) only measures and
 * judges: O(1), no allocation, no I/O; a change (raised, escalated,
 * cleared) goes into a fixed ring.  The engine's 100 ms timer
 * (td_alerts_tick) has the watch judge what only time moves (a stale feed;
 * a clear's hold), then logs, counts and writes the changes through
 * store/db's non-blocking face, as history.c does: nothing here ever waits
 * for PostgreSQL or Redis.
 *
 * Every engine judges; only the leader (lease.c) writes the table and
 * publishes, so two engines never write one alert twice.  The table
 * follows the leader: besides each change, every SYNC_EVERY_MS (and as
 * soon as it starts leading) one statement upserts its active alerts and
 * clears the active rows it does not hold (those of a predecessor, or of
 * changes lost while PostgreSQL was away).  The first sync waits until
 * this engine has watched the market long enough to have raised a stale
 * feed (WARMUP_MS after the stale threshold), so an alert still true after
 * a restart keeps its row and `since`.  A volatility alert needs its
 * window's first returns again after a restart.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "engine/alert_watch.h"
#include "store/keys.h"
#include "store/pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKE_MAX 256 /* changes reported per pass of the drain */
#define SYNC_EVERY_MS 30000
#define WARMUP_MS 5000
#define PENDING_MAX 1000 /* statements queued: PostgreSQL is behind, the sync catches up */

struct td_alerts {
    td_engine *e;
    td_alert_watch *w;
    int64_t started_ms, synced_ms;
    long long token; /* the leader token the last sync was made under */
    unsigned long long raised[TD_ALERT_KINDS][2], cleared[TD_ALERT_KINDS];
    td_arena arena; /* the timer's JSON and arrays, reset after each use */
};

/* The upsert of a raise, shared by the change and the sync: a row already
 * active (a predecessor's, a resend) keeps its `since`, its worst value
 * and, once critical, its severity with the threshold that made it so. */
#define UPSERT_TAIL                                                                                \
    " ON CONFLICT (symbol, kind) WHERE cleared_at IS NULL DO UPDATE SET"                           \
    " severity = CASE WHEN market_alerts.severity = 'critical' THEN 'critical'"                    \
    " ELSE EXCLUDED.severity END,"                                                                 \
    " threshold = CASE WHEN market_alerts.severity = 'critical' AND EXCLUDED.severity ="           \
    " 'warning' THEN market_alerts.threshold ELSE EXCLUDED.threshold END,"                         \
    " value = GREATEST(market_alerts.value, EXCLUDED.value)"

const td_db_stmt td_alert_stmts[] = {
    {"alert_raise",
     "INSERT INTO market_alerts (symbol, kind, severity, value, threshold, unit, since)"
     " VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint / 1000.0))" UPSERT_TAIL,
     7, 1},
    {"alert_clear",
     "UPDATE market_alerts SET cleared_at = GREATEST(since, to_timestamp($3::bigint / 1000.0)),"
     " value = GREATEST(value, $4::bigint)"
     " WHERE symbol = $1 AND kind = $2 AND cleared_at IS NULL",
     4, 1},
    /* The leader's active alerts, as a whole: the others' rows cleared. */
    {"alert_sync",
     "WITH cur AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],"
     " $5::bigint[], $6::text[], $7::bigint[]) AS c(symbol, kind, severity, value, threshold,"
     " unit, since)),"
     " gone AS (UPDATE market_alerts m SET cleared_at = GREATEST(m.since, now())"
     " WHERE m.cleared_at IS NULL AND NOT EXISTS (SELECT 1 FROM cur"
     " WHERE cur.symbol = m.symbol AND cur.kind = m.kind) RETURNING 1)"
     " INSERT INTO market_alerts (symbol, kind, severity, value, threshold, unit, since)"
     " SELECT symbol, kind, severity, value, threshold, unit, to_timestamp(since / 1000.0)"
     " FROM cur" UPSERT_TAIL,
     7, 1},
};
const size_t td_alert_nstmts = TD_ARRAY_LEN(td_alert_stmts);

td_status td_alerts_rules(const td_config *c, td_alert_rule out[TD_ALERT_KINDS], char *err,
                          size_t cap)
{
    static const char *const names[TD_ALERT_KINDS] = {
        [TD_ALERT_STALE] = "STALE_S / TRADEDESK_ALERT_STALE_CRITICAL_S",
        [TD_ALERT_GAP] = "GAP_BP / TRADEDESK_ALERT_GAP_CRITICAL_BP",
        [TD_ALERT_VOLATILITY] = "VOLATILITY_BP / TRADEDESK_ALERT_VOLATILITY_CRITICAL_BP",
        [TD_ALERT_SPREAD] = "SPREAD_BP / TRADEDESK_ALERT_SPREAD_CRITICAL_BP",
        [TD_ALERT_DIVERGENCE] = "DIVERGENCE_BP / TRADEDESK_ALERT_DIVERGENCE_CRITICAL_BP",
    };
    const int64_t warn[TD_ALERT_KINDS] = {(int64_t)c->alert_stale_s * 1000, c->alert_gap_bp,
                                          c->alert_vol_bp, c->alert_spread_bp,
                                          c->alert_divergence_bp};
    const int64_t crit[TD_ALERT_KINDS] = {
        (int64_t)c->alert_stale_critical_s * 1000, c->alert_gap_critical_bp,
        c->alert_vol_critical_bp, c->alert_spread_critical_bp, c->alert_divergence_critical_bp};
    for (int k = 0; k < TD_ALERT_KINDS; k++) {
        out[k] = (td_alert_rule){.warning = warn[k],
                                 .critical = crit[k],
                                 .hysteresis_pct = c->alert_hysteresis_pct,
                                 .clear_ms = (int64_t)c->alert_clear_s * 1000};
        if (td_alert_rule_check(&out[k]) != TD_OK) {
            snprintf(err, cap, "TRADEDESK_ALERT_%s: the critical threshold is below the warning",
                     names[k]);
            return TD_EINVAL;
        }
    }
    return TD_OK;
}

td_alerts *td_alerts_new(td_engine *e, char *err, size_t cap)
{
    td_alert_rule rules[TD_ALERT_KINDS];
    if (td_alerts_rules(&e->cfg, rules, err, cap) != TD_OK)
        return NULL;
    td_alerts *a = calloc(1, sizeof *a);
    int64_t now = td_wall_ms();
    if (!a || !(a->w = td_alert_watch_new(e->market, rules, e->cfg.alert_vol_window_min,
                                          (int64_t)e->cfg.alert_vol_interval_s * 1000, now))) {
        snprintf(err, cap, "out of memory");
        free(a);
        return NULL;
    }
    a->e = e;
    a->started_ms = now;
    td_arena_init(&a->arena, 16 * 1024);
    return a;
}

void td_alerts_free(td_alerts *a)
{
    if (!a)
        return;
    td_alert_watch_free(a->w);
    td_arena_free(&a->arena);
    free(a);
}

td_status td_alerts_configure(td_alerts *a, const td_config *c, char *err, size_t cap)
{
    td_alert_rule r[TD_ALERT_KINDS];
    if (td_alerts_rules(c, r, err, cap) != TD_OK)
        return TD_EINVAL;
    td_alert_watch_set_rules(a->w, r);
    return TD_OK;
}

static int64_t threshold_of(const td_alerts *a, td_alert_kind k, td_alert_severity s)
{
    return td_alert_threshold(td_alert_watch_rule(a->w, k), s);
}

/* An alert as td:alerts carries it and the API lists it (without the id). */
static void alert_json(td_alerts *a, const td_alert_transition *c, td_arena *ar, td_buf *b)
{
    td_jw w;
    td_jw_init(&w, ar, b);
    td_jw_obj(&w);
    td_jw_key(&w, "symbol");
    td_jw_str(&w, td_market_symbol(a->e->market, c->symbol));
    td_jw_key(&w, "kind");
    td_jw_str(&w, td_alert_kind_name(c->kind));
    td_jw_key(&w, "severity");
    td_jw_str(&w, td_alert_severity_name(c->st.severity));
    td_jw_key(&w, "value");
    td_jw_int(&w, (long long)c->st.value);
    td_jw_key(&w, "threshold");
    td_jw_int(&w, (long long)threshold_of(a, c->kind, c->st.severity));
    td_jw_key(&w, "unit");
    td_jw_str(&w, td_alert_kind_unit(c->kind));
    td_jw_key(&w, "since");
    td_jw_time_ms(&w, c->st.since_ms);
    td_jw_key(&w, "cleared_at");
    if (c->what == TD_ALERT_CLEARED)
        td_jw_time_ms(&w, c->at_ms);
    else
        td_jw_null(&w);
    td_jw_key(&w, "active");
    td_jw_bool(&w, c->what != TD_ALERT_CLEARED);
    td_jw_end(&w, '}');
}

static void report(td_alerts *a, const td_alert_transition *c, int leading, td_arena *ar)
{
    const char *sym = td_market_symbol(a->e->market, c->symbol),
               *kind = td_alert_kind_name(c->kind), *sev = td_alert_severity_name(c->st.severity),
               *unit = td_alert_kind_unit(c->kind);
    long long value = (long long)c->st.value,
              threshold = (long long)threshold_of(a, c->kind, c->st.severity);
    if (c->what == TD_ALERT_CLEARED) {
        a->cleared[c->kind]++;
        td_info("market alert cleared: %s %s (%s, worst %lld %s, threshold %lld, for %lld ms)", sym,
                kind, sev, value, unit, threshold, (long long)(c->at_ms - c->st.since_ms));
    } else {
        a->raised[c->kind][c->st.severity == TD_ALERT_CRITICAL]++;
        td_warn("market alert %s: %s %s %s, %lld %s above %lld",
                c->what == TD_ALERT_RAISED ? "raised" : "escalated", sym, kind, sev, value, unit,
                threshold);
    }
    if (!leading)
        return;
    td_buf b = {0};
    alert_json(a, c, ar, &b);
    td_engine_redis_publish(a->e, TD_CHANNEL_ALERTS, b.data, b.len);
    if (td_db_pending(a->e->db) >= PENDING_MAX)
        return; /* PostgreSQL is behind: the next sync writes it */
    char v[24], t[24], at[24];
    snprintf(v, sizeof v, "%lld", value);
    snprintf(t, sizeof t, "%lld", threshold);
    td_status st;
    if (c->what == TD_ALERT_CLEARED) {
        snprintf(at, sizeof at, "%lld", (long long)c->at_ms);
        const char *p[] = {sym, kind, at, v};
        st = td_db_send(a->e->db, "alert_clear", 4, p, td_engine_db_written, a->e);
    } else {
        snprintf(at, sizeof at, "%lld", (long long)c->st.since_ms);
        const char *p[] = {sym, kind, sev, v, t, unit, at};
        st = td_db_send(a->e->db, "alert_raise", 7, p, td_engine_db_written, a->e);
    }
    if (st != TD_OK)
        a->e->db_failures++;
}

/* Every active alert in one statement; the rows it does not name clear. */
static void sync_table(td_alerts *a, td_arena *ar)
{
    td_pg_cols c;
    td_pg_cols_init(&c, ar, 7);
    int n = td_market_nsymbols(a->e->market);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < TD_ALERT_KINDS; k++) {
            const td_alert_state *s = td_alert_watch_state(a->w, i, (td_alert_kind)k);
            if (s->severity == TD_ALERT_NONE)
                continue;
            td_pg_col_add(&c, 0, td_market_symbol(a->e->market, i));
            td_pg_col_add(&c, 1, td_alert_kind_name((td_alert_kind)k));
            td_pg_col_add(&c, 2, td_alert_severity_name(s->severity));
            td_pg_col_int(&c, 3, (long long)s->value);
            td_pg_col_int(&c, 4, (long long)threshold_of(a, (td_alert_kind)k, s->severity));
            td_pg_col_add(&c, 5, td_alert_kind_unit((td_alert_kind)k));
            td_pg_col_int(&c, 6, (long long)s->since_ms);
        }
    const char *p[7];
    td_pg_cols_params(&c, p);
    if (td_db_send(a->e->db, "alert_sync", 7, p, td_engine_db_written, a->e) != TD_OK)
        a->e->db_failures++;
}

void td_alerts_tick(td_alerts *a, int64_t now_ms)
{
    if (!a)
        return;
    td_alert_watch_tick(a->w, now_ms);
    long long token = td_relay_leader_token(a->e->relay);
    int leading = token > 0;
    td_alert_transition t[TAKE_MAX];
    size_t n;
    do {
        n = td_alert_watch_take(a->w, t, TAKE_MAX);
        for (size_t i = 0; i < n; i++) {
            report(a, &t[i], leading, &a->arena);
            td_arena_reset(&a->arena);
        }
    } while (n == TAKE_MAX);
    int64_t warmup = td_alert_watch_rule(a->w, TD_ALERT_STALE)->warning + WARMUP_MS;
    if (leading && now_ms - a->started_ms >= warmup && td_db_pending(a->e->db) < PENDING_MAX &&
        (token != a->token || now_ms - a->synced_ms >= SYNC_EVERY_MS)) {
        a->token = token;
        a->synced_ms = now_ms;
        sync_table(a, &a->arena);
        td_arena_reset(&a->arena);
    }
}

/* One family by kind and severity (values[kind][critical]). */
static void family(td_arena *ar, td_buf *b, const char *name, const char *help, const char *type,
                   const unsigned long long values[TD_ALERT_KINDS][2])
{
    char line[512];
    td_buf_add(ar, b, line,
               (size_t)snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                                type));
    for (int k = 0; k < TD_ALERT_KINDS; k++)
        for (int c = 0; c < 2; c++)
            td_buf_add(
                ar, b, line,
                (size_t)snprintf(line, sizeof line, "%s{kind=\"%s\",severity=\"%s\"} %llu\n", name,
                                 td_alert_kind_name((td_alert_kind)k),
                                 td_alert_severity_name(c ? TD_ALERT_CRITICAL : TD_ALERT_WARNING),
                                 values[k][c]));
}

void td_alerts_render(const td_alerts *a, td_arena *ar, td_buf *b)
{
    if (!a)
        return;
    char line[512];
    unsigned long long active[TD_ALERT_KINDS][2] = {{0}};
    for (int i = 0; i < td_market_nsymbols(a->e->market); i++)
        for (int k = 0; k < TD_ALERT_KINDS; k++) {
            td_alert_severity s = td_alert_watch_state(a->w, i, (td_alert_kind)k)->severity;
            if (s != TD_ALERT_NONE)
                active[k][s == TD_ALERT_CRITICAL]++;
        }
    family(ar, b, "tradedesk_engine_market_alerts_raised_total",
           "Market alerts raised (or escalated to critical), by kind and severity.", "counter",
           a->raised);
    family(ar, b, "tradedesk_engine_market_alerts_active",
           "Market alerts raised now, by kind and severity.", "gauge", active);
#define LINE(...) td_buf_add(ar, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    LINE("# HELP tradedesk_engine_market_alerts_cleared_total Market alerts cleared, by kind.\n"
         "# TYPE tradedesk_engine_market_alerts_cleared_total counter\n");
    for (int k = 0; k < TD_ALERT_KINDS; k++)
        LINE("tradedesk_engine_market_alerts_cleared_total{kind=\"%s\"} %llu\n",
             td_alert_kind_name((td_alert_kind)k), a->cleared[k]);
    LINE("# HELP tradedesk_engine_market_alert_changes_dropped_total Alert changes the timer "
         "could not keep up with (the table is repaired by the next sync).\n"
         "# TYPE tradedesk_engine_market_alert_changes_dropped_total counter\n"
         "tradedesk_engine_market_alert_changes_dropped_total %llu\n",
         td_alert_watch_dropped(a->w));
#undef LINE
}
