/*
 * alerts.c - the engine's market-condition alerts: every symbol's stale
 * feed, price gap, volatility, spread and source divergence judged by
 * domain/market_alert's rules, stored in market_alerts (sql/012) for
 * GET /api/v1/guards/market-alerts, counted on /metrics, logged, and
 * published on td:alerts.
 *
 * The market loop is latency-critical, so the per-event part
 * (td_market_on_event -> on_event) only measures and judges: a few integer
 * ratios, a ring slot for the volatility, no allocation, no I/O, O(1) per
 * event.  A change (raised, escalated, cleared) goes into a fixed ring;
 * the engine's 100 ms timer (td_alerts_tick) judges what only time moves
 * (a stale feed; a clear's hold), then logs, counts and writes the changes
 * through store/db's non-blocking face, as history.c does: nothing here
 * ever waits for PostgreSQL or Redis.
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
#include "domain/market_alert.h"
#include "store/keys.h"
#include "store/pgarray.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANGES_MAX 4096 /* changes between two timer rounds */
#define SYNC_EVERY_MS 30000
#define WARMUP_MS 5000
#define PENDING_MAX 1000 /* statements queued: the sync waits for PostgreSQL */

typedef struct sym_alerts {
    td_alert_state st[TD_ALERT_KINDS];
    int64_t value[TD_ALERT_KINDS]; /* the latest measured value */
    td_dec last_price;             /* the latest fresh oracle price (gaps) */
    td_alert_vol vol;
} sym_alerts;

typedef struct change {
    int symbol;
    td_alert_kind kind;
    td_alert_change what;
    td_alert_state st; /* raised or escalated: as it is now; cleared: as it was */
    int64_t at_ms;
} change;

struct td_alerts {
    td_engine *e;
    td_alert_rule rule[TD_ALERT_KINDS];
    int n;
    sym_alerts *s;
    int32_t *rings; /* n windows of 1-minute returns */
    change changes[CHANGES_MAX];
    size_t head, count;
    int64_t started_ms, synced_ms;
    long long token; /* the leader token the last sync was made under */
    unsigned long long raised[TD_ALERT_KINDS][2], cleared[TD_ALERT_KINDS], dropped;
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

static void judge(td_alerts *a, int i, td_alert_kind k, int64_t value, int64_t now_ms)
{
    sym_alerts *x = &a->s[i];
    x->value[k] = value;
    td_alert_state was;
    td_alert_change what = td_alert_step(&a->rule[k], &x->st[k], value, now_ms, &was);
    if (what == TD_ALERT_SAME)
        return;
    if (a->count == CHANGES_MAX) { /* the timer is far behind: the sync repairs the table */
        a->dropped++;
        return;
    }
    a->changes[(a->head + a->count++) % CHANGES_MAX] =
        (change){i, k, what, what == TD_ALERT_CLEARED ? was : x->st[k], now_ms};
}

/* The market's listener: O(1), no allocation, no I/O. */
static void on_event(void *arg, int i, const td_market_event *ev, int64_t now_ms)
{
    td_alerts *a = arg;
    td_market *m = a->e->market;
    sym_alerts *x = &a->s[i];
    if (ev->has_book) {
        const td_book_top *b = td_market_book(m, i);
        judge(a, i, TD_ALERT_SPREAD, td_alert_spread_bp(b->bid, b->ask), now_ms);
    }
    if (ev->kind == TD_MKT_BOOK)
        return;
    td_price_update p;
    if (!td_market_price(m, i, &p) || p.stale)
        return;
    /* Every fresh price is a tick: one at the same price is no gap (so a
     * raised gap calms down as the market goes on). */
    if (x->last_price > 0)
        judge(a, i, TD_ALERT_GAP, td_alert_gap_bp(x->last_price, p.price), now_ms);
    x->last_price = p.price;
    if (td_alert_vol_price(&x->vol, p.price, now_ms))
        judge(a, i, TD_ALERT_VOLATILITY, td_alert_vol_bp(&x->vol), now_ms);
    judge(a, i, TD_ALERT_DIVERGENCE,
          td_alert_divergence_bp(td_market_oracle_cfg(m), td_market_quotes(m, i), p.price, now_ms),
          now_ms);
}

td_alerts *td_alerts_new(td_engine *e, char *err, size_t cap)
{
    td_alerts *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (td_alerts_rules(&e->cfg, a->rule, err, cap) != TD_OK) {
        free(a);
        return NULL;
    }
    a->e = e;
    a->n = td_market_nsymbols(e->market);
    int window = e->cfg.alert_vol_window_min;
    a->s = calloc((size_t)a->n, sizeof *a->s);
    a->rings = calloc((size_t)a->n * (size_t)window, sizeof *a->rings);
    if (!a->s || !a->rings) {
        snprintf(err, cap, "out of memory");
        td_alerts_free(a);
        return NULL;
    }
    for (int i = 0; i < a->n; i++)
        td_alert_vol_init(&a->s[i].vol, a->rings + (size_t)i * (size_t)window, window);
    a->started_ms = td_wall_ms();
    td_market_on_event(e->market, on_event, a);
    return a;
}

void td_alerts_free(td_alerts *a)
{
    if (!a)
        return;
    if (a->e && a->e->market)
        td_market_on_event(a->e->market, NULL, NULL);
    free(a->s);
    free(a->rings);
    free(a);
}

td_status td_alerts_configure(td_alerts *a, const td_config *c, char *err, size_t cap)
{
    td_alert_rule r[TD_ALERT_KINDS];
    if (td_alerts_rules(c, r, err, cap) != TD_OK)
        return TD_EINVAL;
    memcpy(a->rule, r, sizeof r);
    return TD_OK;
}

static void on_written(void *arg, td_status st, const PGresult *res)
{
    (void)res;
    td_engine *e = arg;
    if (st == TD_OK)
        e->db_writes++;
    else
        e->db_failures++;
}

/* An alert as td:alerts carries it and the API lists it (without the id). */
static void alert_json(td_alerts *a, const change *c, td_arena *ar, td_buf *b)
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
    td_jw_int(&w, (long long)td_alert_threshold(&a->rule[c->kind], c->st.severity));
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

static void report(td_alerts *a, const change *c, int leading, td_arena *ar)
{
    const char *sym = td_market_symbol(a->e->market, c->symbol),
               *kind = td_alert_kind_name(c->kind), *sev = td_alert_severity_name(c->st.severity),
               *unit = td_alert_kind_unit(c->kind);
    long long value = (long long)c->st.value,
              threshold = (long long)td_alert_threshold(&a->rule[c->kind], c->st.severity);
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
        st = td_db_send(a->e->db, "alert_clear", 4, p, on_written, a->e);
    } else {
        snprintf(at, sizeof at, "%lld", (long long)c->st.since_ms);
        const char *p[] = {sym, kind, sev, v, t, unit, at};
        st = td_db_send(a->e->db, "alert_raise", 7, p, on_written, a->e);
    }
    if (st != TD_OK)
        a->e->db_failures++;
}

/* Every active alert in one statement; the rows it does not name clear. */
static void sync_table(td_alerts *a, td_arena *ar)
{
    td_pg_cols c;
    td_pg_cols_init(&c, ar, 7);
    for (int i = 0; i < a->n; i++)
        for (int k = 0; k < TD_ALERT_KINDS; k++) {
            const td_alert_state *s = &a->s[i].st[k];
            if (s->severity == TD_ALERT_NONE)
                continue;
            td_pg_col_add(&c, 0, td_market_symbol(a->e->market, i));
            td_pg_col_add(&c, 1, td_alert_kind_name((td_alert_kind)k));
            td_pg_col_add(&c, 2, td_alert_severity_name(s->severity));
            td_pg_col_int(&c, 3, (long long)s->value);
            td_pg_col_int(&c, 4, (long long)td_alert_threshold(&a->rule[k], s->severity));
            td_pg_col_add(&c, 5, td_alert_kind_unit((td_alert_kind)k));
            td_pg_col_int(&c, 6, (long long)s->since_ms);
        }
    const char *p[7];
    td_pg_cols_params(&c, p);
    if (td_db_send(a->e->db, "alert_sync", 7, p, on_written, a->e) != TD_OK)
        a->e->db_failures++;
}

void td_alerts_tick(td_alerts *a, int64_t now_ms)
{
    if (!a)
        return;
    /* What only time moves: a price's age, and the holds of clears. */
    for (int i = 0; i < a->n; i++) {
        td_price_update p;
        int64_t since = td_market_price(a->e->market, i, &p) ? p.updated_ms : a->started_ms;
        judge(a, i, TD_ALERT_STALE, now_ms > since ? now_ms - since : 0, now_ms);
        for (int k = 0; k < TD_ALERT_KINDS; k++)
            if (k != TD_ALERT_STALE && a->s[i].st[k].severity != TD_ALERT_NONE)
                judge(a, i, (td_alert_kind)k, a->s[i].value[k], now_ms);
    }
    long long token = td_relay_leader_token(a->e->relay);
    int leading = token > 0;
    td_arena ar;
    td_arena_init(&ar, 16 * 1024);
    for (; a->count > 0; a->count--) {
        report(a, &a->changes[a->head], leading, &ar);
        a->head = (a->head + 1) % CHANGES_MAX;
        td_arena_reset(&ar);
    }
    int64_t warmup = a->rule[TD_ALERT_STALE].warning + WARMUP_MS;
    if (leading && now_ms - a->started_ms >= warmup && td_db_pending(a->e->db) < PENDING_MAX &&
        (token != a->token || now_ms - a->synced_ms >= SYNC_EVERY_MS)) {
        a->token = token;
        a->synced_ms = now_ms;
        sync_table(a, &ar);
    }
    td_arena_free(&ar);
}

void td_alerts_render(const td_alerts *a, td_arena *ar, td_buf *b)
{
    if (!a)
        return;
    char line[512];
    int active[TD_ALERT_KINDS][2] = {{0}};
    for (int i = 0; i < a->n; i++)
        for (int k = 0; k < TD_ALERT_KINDS; k++)
            if (a->s[i].st[k].severity != TD_ALERT_NONE)
                active[k][a->s[i].st[k].severity == TD_ALERT_CRITICAL]++;
#define LINE(...) td_buf_add(ar, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    LINE("# HELP tradedesk_engine_market_alerts_raised_total Market alerts raised (or escalated "
         "to critical), by kind and severity.\n"
         "# TYPE tradedesk_engine_market_alerts_raised_total counter\n");
    for (int k = 0; k < TD_ALERT_KINDS; k++)
        for (int c = 0; c < 2; c++)
            LINE("tradedesk_engine_market_alerts_raised_total{kind=\"%s\",severity=\"%s\"} %llu\n",
                 td_alert_kind_name((td_alert_kind)k),
                 td_alert_severity_name(c ? TD_ALERT_CRITICAL : TD_ALERT_WARNING), a->raised[k][c]);
    LINE("# HELP tradedesk_engine_market_alerts_cleared_total Market alerts cleared, by kind.\n"
         "# TYPE tradedesk_engine_market_alerts_cleared_total counter\n");
    for (int k = 0; k < TD_ALERT_KINDS; k++)
        LINE("tradedesk_engine_market_alerts_cleared_total{kind=\"%s\"} %llu\n",
             td_alert_kind_name((td_alert_kind)k), a->cleared[k]);
    LINE("# HELP tradedesk_engine_market_alerts_active Market alerts raised now, by kind and "
         "severity.\n"
         "# TYPE tradedesk_engine_market_alerts_active gauge\n");
    for (int k = 0; k < TD_ALERT_KINDS; k++)
        for (int c = 0; c < 2; c++)
            LINE("tradedesk_engine_market_alerts_active{kind=\"%s\",severity=\"%s\"} %d\n",
                 td_alert_kind_name((td_alert_kind)k),
                 td_alert_severity_name(c ? TD_ALERT_CRITICAL : TD_ALERT_WARNING), active[k][c]);
    LINE("# HELP tradedesk_engine_market_alert_changes_dropped_total Alert changes the timer "
         "could not keep up with (the table is repaired by the next sync).\n"
         "# TYPE tradedesk_engine_market_alert_changes_dropped_total counter\n"
         "tradedesk_engine_market_alert_changes_dropped_total %llu\n",
         a->dropped);
#undef LINE
}
