/*
 * guard.c - the drawdown guard job: every TRADEDESK_GUARD_INTERVAL_S, while
 * this engine leads, one transaction
 *   - snapshots every account's equity (cash + open positions marked at
 *     prices_latest, the oracle's price, summed by domain/portfolio.h's
 *     td_portfolio_sum as GET /api/v1/portfolio does) into equity_snapshots;
 *   - steps each user's guard (domain/drawdown.h: peaks all time and of
 *     the UTC day, drawdown %, level by TRADEDESK_GUARD_WARNING_PCT and
 *     _CRITICAL_PCT, trip and clear) and upserts drawdown_guards;
 *   - for each user whose level changed, records the event with
 *     drawdown_guard_event() (sql/011_drawdown.sql: an audit row, an outbox
 *     row for the user's `orders` channel and, on a trip with
 *     TRADEDESK_GUARD_ACTION=close, the user's positions closed through
 *     fill_orders()).
 * The guard rows are locked FOR UPDATE first (an admin's reset waits for
 * the run, or the run for it), and the run holds engine_fence FOR SHARE
 * with this engine's fencing token checked against it, so an engine that
 * lost the lead writes nothing and a trip's action is taken exactly once,
 * whatever restarts: the trip is committed with its action, and the next
 * run sees it tripped.
 *
 * A thread of its own with its own blocking PostgreSQL connection: the
 * market loop never waits for it.  Leadership is the relay's lease
 * (td_relay_leader_token); the first run is a whole interval after this
 * engine starts leading.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/log.h"
#include "domain/drawdown.h"
#include "domain/portfolio.h"
#include "store/pgarray.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const td_db_stmt td_guard_stmts[] = {
    {"guard_fence", "SELECT token FROM engine_fence WHERE name = 'monitor' FOR SHARE", 0, 0},
    {"guard_states",
     "SELECT user_id, peak_equity, peak_today, peak_day - date '1970-01-01', level,"
     " tripped_at IS NOT NULL FROM drawdown_guards ORDER BY user_id FOR UPDATE",
     0, 0},
    {"guard_accounts",
     "SELECT user_id, cash_balance, " TD_SQL_EPOCH_MS("now()") " FROM accounts ORDER BY user_id",
     0, 0},
    {"guard_positions",
     "SELECT p.user_id, p.symbol, p.side, p.quantity, p.entry_price, pl.price FROM positions p"
     " LEFT JOIN prices_latest pl ON pl.symbol = p.symbol WHERE p.status = 'open'"
     " ORDER BY p.user_id, p.symbol, p.side",
     0, 0},
    /* Every account's snapshot and guard row; a trip sets tripped_at (and
     * blocked with the block action), a level below critical clears both. */
    {"guard_save",
     "WITH v AS (SELECT * FROM unnest($1::bigint[], $2::numeric[], $3::numeric[],"
     " $4::numeric[], $5::int[], $6::numeric[], $7::numeric[], $8::text[], $9::text[])"
     " AS v(user_id, equity, peak, peak_today, day, pct, today_pct, level, change)),"
     " snap AS (INSERT INTO equity_snapshots (user_id, taken_at, equity, peak_equity)"
     " SELECT user_id, now(), equity, peak FROM v)"
     " INSERT INTO drawdown_guards AS g (user_id, equity, peak_equity, peak_today, peak_day,"
     " drawdown_pct, drawdown_today_pct, level, warning_pct, critical_pct, action, tripped_at,"
     " blocked, updated_at)"
     " SELECT user_id, equity, peak, peak_today, date '1970-01-01' + day, pct, today_pct, level,"
     " $10::numeric, $11::numeric, $12, CASE WHEN change = 'tripped' THEN now() END,"
     " change = 'tripped' AND $12 = 'block', now() FROM v"
     " ON CONFLICT (user_id) DO UPDATE SET equity = EXCLUDED.equity,"
     " peak_equity = EXCLUDED.peak_equity, peak_today = EXCLUDED.peak_today,"
     " peak_day = EXCLUDED.peak_day, drawdown_pct = EXCLUDED.drawdown_pct,"
     " drawdown_today_pct = EXCLUDED.drawdown_today_pct, level = EXCLUDED.level,"
     " warning_pct = EXCLUDED.warning_pct, critical_pct = EXCLUDED.critical_pct,"
     " action = EXCLUDED.action,"
     " tripped_at = CASE WHEN EXCLUDED.tripped_at IS NOT NULL THEN EXCLUDED.tripped_at"
     " WHEN EXCLUDED.level <> 'critical' THEN NULL ELSE g.tripped_at END,"
     " blocked = CASE WHEN EXCLUDED.tripped_at IS NOT NULL THEN EXCLUDED.blocked"
     " WHEN EXCLUDED.level <> 'critical' THEN false ELSE g.blocked END,"
     " updated_at = now()",
     12, 0},
    {"guard_events",
     "SELECT drawdown_guard_event(v.user_id, v.kind, v.previous, 'engine', $4::bigint)"
     " FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY"
     " AS v(user_id, kind, previous, n) ORDER BY v.n",
     4, 0},
};
const size_t td_guard_nstmts = TD_ARRAY_LEN(td_guard_stmts);

struct td_guard {
    pthread_t thread;
    atomic_int stop;
    const td_relay *relay;
    td_db *db;
    int64_t interval_ms;
    td_dd_thresholds t;
    td_guard_action action;
    char warning[32], critical[32];
    atomic_ullong runs, failures, snapshots, events[4]; /* events by td_dd_change */
    atomic_ullong run_us_sum, run_us_last;              /* committed runs' durations */
};

static int dec_at(const PGresult *res, int row, int col, td_dec *out)
{
    const char *s = PQgetvalue(res, row, col);
    return td_dec_parse_number(s, strlen(s), out) == TD_OK;
}

/* Row i of guard_positions as a td_position; 0 when it does not fit. */
static int position_at(const PGresult *res, int i, td_position *p)
{
    *p = (td_position){.symbol = PQgetvalue(res, i, 1), .status = TD_POSITION_OPEN};
    p->has_mark = !PQgetisnull(res, i, 5);
    return td_side_parse(PQgetvalue(res, i, 2), &p->side) == TD_OK &&
           dec_at(res, i, 3, &p->quantity) && dec_at(res, i, 4, &p->entry_price) &&
           (!p->has_mark || dec_at(res, i, 5, &p->mark_price));
}

/* A run's statements' results, freed together. */
typedef struct reads {
    PGresult *states, *accounts, *positions;
} reads;

static void reads_free(reads *r)
{
    PQclear(r->states);
    PQclear(r->accounts);
    PQclear(r->positions);
}

/* The stored state of the user at row *si of states (advanced past it). */
static td_dd_state state_of(const PGresult *states, int *si, long long user)
{
    td_dd_state s = {0};
    int n = PQntuples(states);
    while (*si < n && atoll(PQgetvalue(states, *si, 0)) < user)
        (*si)++;
    if (*si < n && atoll(PQgetvalue(states, *si, 0)) == user) {
        int i = *si;
        s.known = dec_at(states, i, 1, &s.peak) && dec_at(states, i, 2, &s.peak_today) &&
                  td_dd_level_parse(PQgetvalue(states, i, 4), &s.level) == TD_OK;
        s.day = atoll(PQgetvalue(states, i, 3));
        s.tripped = s.known && PQgetvalue(states, i, 5)[0] == 't';
    }
    return s;
}

/* Every account's equity, stepped; the rows to write into save and, for
 * the users whose level changed, into ev; counts[TD_DD_SAME] the
 * snapshots, counts[change] the events.  -1 when out of memory. */
static int step_all(td_guard *g, const reads *rd, td_pg_cols *save, td_pg_cols *ev, int *nev,
                    unsigned long long counts[4])
{
    int na = PQntuples(rd->accounts), np = PQntuples(rd->positions), si = 0, pi = 0;
    td_position *pos = calloc((size_t)np + 1, sizeof *pos);
    td_exposure *ex = calloc((size_t)np + 1, sizeof *ex);
    if (!pos || !ex) {
        free(pos);
        free(ex);
        return -1;
    }
    int rc = 0;
    for (int a = 0; a < na && rc == 0; a++) {
        const char *uid = PQgetvalue(rd->accounts, a, 0);
        long long user = atoll(uid);
        int64_t now_ms = atoll(PQgetvalue(rd->accounts, a, 2));
        while (pi < np && atoll(PQgetvalue(rd->positions, pi, 0)) < user)
            pi++; /* positions of a user without an account: no equity to judge */
        size_t n = 0;
        int ok = 1;
        for (; pi < np && atoll(PQgetvalue(rd->positions, pi, 0)) == user; pi++)
            ok &= position_at(rd->positions, pi, &pos[n++]);
        td_dec cash;
        td_portfolio pf;
        td_dd_state s = state_of(rd->states, &si, user);
        td_dd_step st;
        if (!ok || !dec_at(rd->accounts, a, 1, &cash) ||
            td_portfolio_sum(cash, 0, pos, n, ex, n, &pf) != TD_OK ||
            td_drawdown_observe(&s, pf.equity, now_ms, g->t, &st) != TD_OK) {
            td_warn("drawdown guard: user %s's equity does not fit fixed point; skipped", uid);
            continue;
        }
        td_pg_col_add(save, 0, uid);
        td_pg_col_dec(save, 1, pf.equity);
        td_pg_col_dec(save, 2, s.peak);
        td_pg_col_dec(save, 3, s.peak_today);
        td_pg_col_int(save, 4, (long long)s.day);
        td_pg_col_dec(save, 5, st.drawdown_pct);
        td_pg_col_dec(save, 6, st.drawdown_today_pct);
        td_pg_col_add(save, 7, td_dd_level_name(s.level));
        td_pg_col_add(save, 8, td_dd_change_name(st.change));
        counts[TD_DD_SAME]++;
        if (st.change == TD_DD_SAME)
            continue;
        td_pg_col_add(ev, 0, uid);
        td_pg_col_add(ev, 1, td_dd_change_name(st.change));
        td_pg_col_add(ev, 2, td_dd_level_name(st.previous));
        (*nev)++;
        counts[st.change]++;
        if (st.change == TD_DD_TRIPPED) {
            char pct[TD_DEC_STR_MAX];
            td_dec_format(st.drawdown_pct, pct, sizeof pct);
            td_error("drawdown guard: user %s is critical (%s %% below the peak); action %s", uid,
                     pct, td_guard_action_name(g->action));
        }
    }
    free(pos);
    free(ex);
    return rc;
}

static int exec_into(td_db *db, const char *stmt, int n, const char *const *p, PGresult **out)
{
    td_status st;
    *out = td_db_exec(db, stmt, n, p, &st);
    return *out ? 0 : -1;
}

/* One run inside its transaction; -1 to roll back. */
static int run_in_tx(td_guard *g, long long token, unsigned long long counts[4])
{
    PGresult *fence;
    if (exec_into(g->db, "guard_fence", 0, NULL, &fence) != 0)
        return -1;
    long long at = PQntuples(fence) ? atoll(PQgetvalue(fence, 0, 0)) : 0;
    PQclear(fence);
    if (token < at)
        return -1; /* a newer leader exists: this engine writes nothing */
    reads rd = {0};
    if (exec_into(g->db, "guard_states", 0, NULL, &rd.states) != 0 ||
        exec_into(g->db, "guard_accounts", 0, NULL, &rd.accounts) != 0 ||
        exec_into(g->db, "guard_positions", 0, NULL, &rd.positions) != 0) {
        reads_free(&rd);
        return -1;
    }
    td_arena a;
    td_arena_init(&a, 4096);
    td_pg_cols save, ev;
    td_pg_cols_init(&save, &a, 9);
    td_pg_cols_init(&ev, &a, 3);
    int nev = 0, rc = step_all(g, &rd, &save, &ev, &nev, counts);
    reads_free(&rd);
    const char *p[12];
    PGresult *res = NULL;
    if (rc == 0) {
        td_pg_cols_params(&save, p);
        p[9] = g->warning;
        p[10] = g->critical;
        p[11] = td_guard_action_name(g->action);
        rc = exec_into(g->db, "guard_save", 12, p, &res);
        PQclear(res);
    }
    if (rc == 0 && nev) {
        char tok[24];
        snprintf(tok, sizeof tok, "%lld", token);
        td_pg_cols_params(&ev, p);
        p[3] = tok;
        rc = exec_into(g->db, "guard_events", 4, p, &res);
        PQclear(res);
    }
    td_arena_free(&a);
    return rc;
}

static int run_once(td_guard *g, long long token)
{
    unsigned long long counts[4] = {0};
    if (td_db_command(g->db, "BEGIN") != TD_OK)
        return -1;
    if (run_in_tx(g, token, counts) != 0 || !td_db_in_transaction(g->db)) {
        td_db_command(g->db, "ROLLBACK");
        return -1;
    }
    if (td_db_command(g->db, "COMMIT") != TD_OK)
        return -1;
    atomic_fetch_add(&g->snapshots, counts[TD_DD_SAME]);
    for (int c = TD_DD_LEVEL; c <= TD_DD_CLEARED; c++)
        atomic_fetch_add(&g->events[c], counts[c]);
    return 0;
}

static void *guard_main(void *arg)
{
    td_guard *g = arg;
    int64_t due = 0;
    while (!atomic_load(&g->stop)) {
        int64_t now = td_mono_ns() / 1000000;
        long long token = td_relay_leader_token(g->relay);
        if (token <= 0) {
            due = 0; /* a new leader waits a whole interval */
        } else if (!due) {
            due = now + g->interval_ms;
        } else if (now >= due) {
            due = now + g->interval_ms;
            int64_t t0 = td_mono_ns();
            if (run_once(g, token) == 0) {
                unsigned long long us = (unsigned long long)((td_mono_ns() - t0) / 1000);
                atomic_fetch_add(&g->run_us_sum, us);
                atomic_store(&g->run_us_last, us);
                atomic_fetch_add(&g->runs, 1);
            } else {
                atomic_fetch_add(&g->failures, 1);
                td_warn("drawdown guard: run failed (%s); again in %lld s",
                        td_db_last_error(g->db), (long long)g->interval_ms / 1000);
            }
        }
        td_nap_unless(&g->stop, 50);
    }
    return NULL;
}

td_guard *td_guard_start(const td_config *cfg, const td_relay *relay)
{
    td_guard *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->relay = relay;
    g->interval_ms = (int64_t)cfg->guard_interval_s * 1000;
    g->action = (td_guard_action)cfg->guard_action;
    snprintf(g->warning, sizeof g->warning, "%s", cfg->guard_warning_pct);
    snprintf(g->critical, sizeof g->critical, "%s", cfg->guard_critical_pct);
    if (td_dec_parse(g->warning, strlen(g->warning), &g->t.warning_pct) != TD_OK ||
        td_dec_parse(g->critical, strlen(g->critical), &g->t.critical_pct) != TD_OK ||
        td_dd_thresholds_check(g->t) != TD_OK) {
        td_error("TRADEDESK_GUARD_CRITICAL_PCT (%s) must be at least TRADEDESK_GUARD_WARNING_PCT "
                 "(%s)",
                 g->critical, g->warning);
        free(g);
        return NULL;
    }
    const td_db_stmts parts[] = {{td_guard_stmts, td_guard_nstmts}};
    td_db_opts o = {.conninfo = cfg->database_url,
                    .application_name = "tradedesk-engine guard",
                    .statement_timeout_ms = cfg->db_timeout_ms};
    g->db = td_db_open(&o, parts, TD_ARRAY_LEN(parts));
    if (!g->db || pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        td_db_close(g->db);
        free(g);
        return NULL;
    }
    return g;
}

void td_guard_stop(td_guard *g)
{
    if (!g)
        return;
    atomic_store(&g->stop, 1);
    pthread_join(g->thread, NULL);
    td_db_close(g->db);
    free(g);
}

void td_guard_render(const td_guard *g, td_arena *a, td_buf *b)
{
    if (!g)
        return;
    td_guard *m = (td_guard *)g; /* the counters are atomics */
    char line[1024];
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    LINE("# HELP tradedesk_guard_runs_total Drawdown guard runs committed (the leader's).\n"
         "# TYPE tradedesk_guard_runs_total counter\n"
         "tradedesk_guard_runs_total %llu\n"
         "# HELP tradedesk_guard_failures_total Drawdown guard runs PostgreSQL failed or "
         "refused.\n"
         "# TYPE tradedesk_guard_failures_total counter\n"
         "tradedesk_guard_failures_total %llu\n"
         "# HELP tradedesk_guard_run_seconds_total Time the committed runs took.\n"
         "# TYPE tradedesk_guard_run_seconds_total counter\n"
         "tradedesk_guard_run_seconds_total %.6f\n"
         "# HELP tradedesk_guard_last_run_seconds Time the last committed run took.\n"
         "# TYPE tradedesk_guard_last_run_seconds gauge\n"
         "tradedesk_guard_last_run_seconds %.6f\n"
         "# HELP tradedesk_guard_snapshots_total Equity snapshots judged.\n"
         "# TYPE tradedesk_guard_snapshots_total counter\n"
         "tradedesk_guard_snapshots_total %llu\n"
         "# HELP tradedesk_guard_events_total Drawdown guard events, by kind.\n"
         "# TYPE tradedesk_guard_events_total counter\n",
         atomic_load(&m->runs), atomic_load(&m->failures),
         (double)atomic_load(&m->run_us_sum) / 1e6, (double)atomic_load(&m->run_us_last) / 1e6,
         atomic_load(&m->snapshots));
    for (int c = TD_DD_LEVEL; c <= TD_DD_CLEARED; c++)
        LINE("tradedesk_guard_events_total{kind=\"%s\"} %llu\n",
             td_dd_change_name((td_dd_change)c), atomic_load(&m->events[c]));
#undef LINE
}
