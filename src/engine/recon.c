/*
 * recon.c - the reconciliation job: every TRADEDESK_RECON_INTERVAL_S, on the
 * relay's jobs thread (its own blocking PostgreSQL and Redis connections,
 * so a run never holds a fill's delivery) and only while this engine
 * leads, one run compares
 *   - each of the newest RECON_LIMIT positions and accounts with its rebuild
 *     from its opening record and its later fills (reconcile_books(),
 *     sql/009_reconciliation.sql): kinds position_quantity, position_pnl,
 *     position_status, cash;
 *   - each of the newest RECON_STREAM_ROWS published fill outbox rows with
 *     its user's Redis Stream, where it must be once under "<fill id>-0":
 *     kinds stream_missing, stream_duplicate (only with the Redis process
 *     the relay restored the Streams into, and not while it restores
 *     them: td_recon_gate; otherwise left to the next run);
 *   - each of the newest RECON_STATEMENTS venue statements (imported with
 *     `tradedesk recon import`) with the user's fills over its time
 *     (reconcile_venue(), sql/013_venue_statements.sql): kinds
 *     venue_quantity, venue_notional;
 *   - the order monitor's in-memory index with the active orders: what its
 *     resyncs (monitor.c) corrected since the last run, kinds
 *     order_index_missing (an active order it did not watch: critical) and
 *     order_index_extra (one it held that was no longer active: a warning).
 * The run row, its divergences (at most RECON_STORED, the rest counted) and
 * its verdict are written in one transaction, REPEATABLE READ, so every
 * comparison sees the same snapshot.  How serious each divergence is and
 * the run's verdict are domain/reconcile.h's; a critical run is logged with
 * td_error (an alert), and every divergence is counted on /metrics by kind
 * and level.  Never writes the books themselves.
 */
#include "engine/engine.h"
#include "core/log.h"
#include "domain/reconcile.h"
#include "store/keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECON_LIMIT "10000"   /* positions and accounts compared per run */
#define RECON_STREAM_ROWS 1000 /* fill outbox rows checked per run (a Stream keeps 10,000) */
#define RECON_STATEMENTS "100" /* venue statements compared per run */
#define RECON_STORED 1000      /* divergences stored per run */
#define RECON_ALERTS 10        /* critical ones logged one by one per run */

const td_db_stmt td_recon_stmts[] = {
    {"recon_run", "INSERT INTO reconciliation_runs DEFAULT VALUES RETURNING id", 0, 0},
    {"recon_books",
     "SELECT kind, user_id, symbol, expected, actual, detail FROM reconcile_books(" RECON_LIMIT
     ")",
     0, 0},
    {"recon_venue",
     "SELECT kind, user_id, symbol, expected, actual, detail FROM reconcile_venue("
     RECON_STATEMENTS ")",
     0, 0},
    {"recon_outbox",
     "SELECT key, payload->>'id' FROM outbox WHERE topic = 'fills' AND published_at IS NOT NULL"
     " AND key IS NOT NULL AND payload ? 'id' ORDER BY id DESC LIMIT $1::int",
     1, 0},
    {"recon_divergence",
     "INSERT INTO reconciliation_divergences (run_id, kind, user_id, symbol, expected, actual,"
     " detail, level) VALUES ($1::bigint, $2, $3::bigint, $4, $5::numeric, $6::numeric, $7, $8)",
     8, 0},
    {"recon_finish",
     "UPDATE reconciliation_runs SET finished_at = now(), matched = $2::int,"
     " divergences = $3::int, status = $4 WHERE id = $1::bigint",
     4, 0},
};
const size_t td_recon_nstmts = TD_ARRAY_LEN(td_recon_stmts);

/* The kinds counted on /metrics; anything else counts as "other". */
static const char *const KINDS[] = {"position_quantity", "position_pnl",   "position_status",
                                    "cash",              "stream_missing", "stream_duplicate",
                                    "order_index_missing", "order_index_extra", "venue_quantity",
                                    "venue_notional", "other"};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

static struct {
    pthread_mutex_t mu;
    unsigned long long runs[3]; /* by verdict */
    unsigned long long failures;
    unsigned long long divergences[NKINDS][2]; /* [kind][warning, critical] */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t kind_index(const char *kind)
{
    for (size_t i = 0; i + 1 < NKINDS; i++)
        if (strcmp(KINDS[i], kind) == 0)
            return i;
    return NKINDS - 1;
}

td_status td_recon_init(td_recon *rc, const td_config *cfg)
{
    memset(rc, 0, sizeof *rc);
    rc->interval_ms = (int64_t)cfg->recon_interval_s * 1000;
    if (td_dec_parse(cfg->recon_warning, strlen(cfg->recon_warning), &rc->tol.warning) != TD_OK ||
        td_dec_parse(cfg->recon_critical, strlen(cfg->recon_critical), &rc->tol.critical) !=
            TD_OK ||
        td_recon_tolerance_check(rc->tol) != TD_OK) {
        td_error("TRADEDESK_RECON_CRITICAL (%s) must be at least TRADEDESK_RECON_WARNING (%s)",
                 cfg->recon_critical, cfg->recon_warning);
        return TD_EINVAL;
    }
    return TD_OK;
}

/* One run's tally. */
typedef struct run {
    td_db *db;
    const char *id;
    td_recon_tolerance tol;
    long long checks, levels[3];
    int stored, failed;
} run;

static void diverge(run *r, const char *kind, const char *user, const char *symbol,
                    const char *expected, const char *actual, const char *detail)
{
    td_recon_level l = td_recon_level_of(kind, expected, actual, r->tol);
    r->levels[l]++;
    if (l == TD_RECON_HEALTHY)
        return;
    pthread_mutex_lock(&g.mu);
    g.divergences[kind_index(kind)][l == TD_RECON_CRITICAL]++;
    pthread_mutex_unlock(&g.mu);
    if (l == TD_RECON_CRITICAL && r->levels[l] <= RECON_ALERTS)
        td_error("reconciliation: critical %s for user %s%s%s: expected %s, stored %s (%s)", kind,
                 user ? user : "-", symbol ? " " : "", symbol ? symbol : "",
                 expected ? expected : "-", actual ? actual : "-", detail ? detail : "");
    if (r->stored >= RECON_STORED || r->failed)
        return;
    const char *p[8] = {r->id,  kind,   user,   symbol, expected,
                        actual, detail, td_recon_level_name(l)};
    td_status st;
    PGresult *res = td_db_exec(r->db, "recon_divergence", 8, p, &st);
    if (!res) {
        r->failed = 1;
        return;
    }
    PQclear(res);
    r->stored++;
}

/* A comparison done in SQL (reconcile_books, reconcile_venue): one row per
 * difference, the last one the count of comparisons. */
static int compared_in_sql(run *r, const char *stmt)
{
    td_status st;
    PGresult *res = td_db_exec(r->db, stmt, 0, NULL, &st);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
#define COL(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
        if (!COL(0)) { /* the last row: how many comparisons */
            r->checks += atoll(PQgetvalue(res, i, 3));
            continue;
        }
        diverge(r, COL(0), COL(1), COL(2), COL(3), COL(4), COL(5));
#undef COL
    }
    PQclear(res);
    return 0;
}

/* The newest published fills against their Streams, one pipelined XRANGE
 * each over the fill's id range: one entry "<fill>-0" is a match. */
static int streams_compare(run *r, td_redis *rd)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", RECON_STREAM_ROWS);
    const char *p[1] = {limit};
    td_status st;
    PGresult *res = td_db_exec(r->db, "recon_outbox", 1, p, &st);
    if (!res)
        return -1;
    int rows = PQntuples(res), queued = 0;
    for (int i = 0; i < rows; i++) {
        const char *fill = PQgetvalue(res, i, 1);
        queued += td_redis_append(rd, "XRANGE " TD_KEY_FILLS " %s-0 %s-18446744073709551615 COUNT 2",
                                  PQgetvalue(res, i, 0), fill, fill) == TD_OK;
    }
    redisReply *rep[RECON_STREAM_ROWS];
    if (queued && td_redis_flush(rd, rep, queued) != TD_OK) {
        PQclear(res);
        return -1;
    }
    if (queued < rows) { /* Redis went away while queueing: read what went, try later */
        for (int i = 0; i < queued; i++)
            freeReplyObject(rep[i]);
        PQclear(res);
        return -1;
    }
    int bad = 0;
    for (int i = 0; i < rows; i++) {
        const char *user = PQgetvalue(res, i, 0), *fill = PQgetvalue(res, i, 1);
        char want[48], detail[96];
        snprintf(want, sizeof want, "%s-0", fill);
        redisReply *x = rep[i];
        if (x->type != REDIS_REPLY_ARRAY) {
            bad = 1;
        } else {
            r->checks++;
            int first_ok = x->elements >= 1 && x->element[0]->type == REDIS_REPLY_ARRAY &&
                           x->element[0]->elements >= 1 &&
                           x->element[0]->element[0]->type == REDIS_REPLY_STRING &&
                           strcmp(x->element[0]->element[0]->str, want) == 0;
            if (x->elements >= 2) {
                snprintf(detail, sizeof detail, "fill %s is in td:fills:%s more than once", fill,
                         user);
                diverge(r, "stream_duplicate", user, NULL, NULL, NULL, detail);
            } else if (!first_ok) {
                snprintf(detail, sizeof detail, "fill %s (entry %s) is not in td:fills:%s", fill,
                         want, user);
                diverge(r, "stream_missing", user, NULL, NULL, NULL, detail);
            }
        }
        freeReplyObject(x);
    }
    PQclear(res);
    return bad ? -1 : 0;
}

/* The Streams compared only when the gate lets them be (none: always). */
static int streams(run *r, td_redis *rd, const td_recon_gate *gate)
{
    if (gate && !gate->hold(gate->ctx, rd)) {
        td_info("reconciliation: the Streams are not settled (a Redis restart the relay has "
                "not restored yet); compared next run");
        return 0;
    }
    int rc = streams_compare(r, rd);
    if (gate)
        gate->release(gate->ctx);
    return rc;
}

/* The monitor's index against PostgreSQL, as its resyncs found it. */
static void order_index(run *r)
{
    td_monitor_drift d[RECON_ALERTS * 10];
    long long checked, lost;
    size_t n = td_monitor_drift_take(d, TD_ARRAY_LEN(d), &checked, &lost);
    r->checks += checked;
    for (size_t i = 0; i < n; i++) {
        char user[24], detail[160];
        snprintf(user, sizeof user, "%lld", (long long)d[i].user);
        snprintf(detail, sizeof detail,
                 strcmp(d[i].kind, "order_index_missing") == 0
                     ? "order %lld was active but not in the monitor's index (resync added it)"
                     : "order %lld was in the monitor's index but not active (resync removed it)",
                 (long long)d[i].order);
        diverge(r, d[i].kind, user, d[i].symbol, NULL, NULL, detail);
    }
    if (lost)
        td_warn("reconciliation: %lld more order index differences not stored", lost);
}

static int run_once(td_recon *rc, td_db *db, td_redis *rd, const td_recon_gate *gate)
{
    if (td_db_command(db, "BEGIN ISOLATION LEVEL REPEATABLE READ") != TD_OK)
        return -1;
    td_status st;
    PGresult *res = td_db_exec(db, "recon_run", 0, NULL, &st);
    if (!res) {
        td_db_command(db, "ROLLBACK");
        return -1;
    }
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    run r = {.db = db, .id = id, .tol = rc->tol};
    if (compared_in_sql(&r, "recon_books") != 0 || compared_in_sql(&r, "recon_venue") != 0 ||
        streams(&r, rd, gate) != 0 || r.failed) {
        td_db_command(db, "ROLLBACK");
        return -1;
    }
    order_index(&r);
    long long diverged = r.levels[TD_RECON_WARNING] + r.levels[TD_RECON_CRITICAL];
    td_recon_level verdict =
        td_recon_verdict(r.levels[TD_RECON_WARNING], r.levels[TD_RECON_CRITICAL]);
    char matched[24], divergences[24];
    snprintf(matched, sizeof matched, "%lld", r.checks > diverged ? r.checks - diverged : 0);
    snprintf(divergences, sizeof divergences, "%lld", diverged);
    const char *p[4] = {id, matched, divergences, td_recon_level_name(verdict)};
    res = td_db_exec(db, "recon_finish", 4, p, &st);
    if (!res) {
        td_db_command(db, "ROLLBACK");
        return -1;
    }
    PQclear(res);
    if (td_db_command(db, "COMMIT") != TD_OK)
        return -1;
    pthread_mutex_lock(&g.mu);
    g.runs[verdict]++;
    pthread_mutex_unlock(&g.mu);
    if (verdict == TD_RECON_CRITICAL)
        td_error("reconciliation run %s: critical, %lld divergences (%lld critical)", id, diverged,
                 r.levels[TD_RECON_CRITICAL]);
    else if (diverged)
        td_warn("reconciliation run %s: %lld warnings", id, diverged);
    return 0;
}

void td_recon_step(td_recon *rc, td_db *db, td_redis *rd, const td_recon_gate *gate,
                   int64_t now_ms, int leading)
{
    if (rc->interval_ms <= 0 || !leading) {
        rc->due_ms = 0; /* a new leader waits a whole interval */
        return;
    }
    if (!rc->due_ms)
        rc->due_ms = now_ms + rc->interval_ms;
    if (now_ms < rc->due_ms)
        return;
    rc->due_ms = now_ms + rc->interval_ms;
    if (run_once(rc, db, rd, gate) != 0) {
        pthread_mutex_lock(&g.mu);
        g.failures++;
        pthread_mutex_unlock(&g.mu);
        td_warn("reconciliation: run failed (%s); again in %lld s", td_db_last_error(db),
                (long long)rc->interval_ms / 1000);
    }
}

void td_recon_render(td_arena *a, td_buf *b)
{
    char line[256];
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    pthread_mutex_lock(&g.mu);
    LINE("# HELP tradedesk_reconciliation_runs_total Reconciliation runs finished, by verdict.\n"
         "# TYPE tradedesk_reconciliation_runs_total counter\n");
    for (int l = 0; l < 3; l++)
        LINE("tradedesk_reconciliation_runs_total{status=\"%s\"} %llu\n",
             td_recon_level_name((td_recon_level)l), g.runs[l]);
    LINE("# HELP tradedesk_reconciliation_failures_total Reconciliation runs PostgreSQL or Redis "
         "failed.\n"
         "# TYPE tradedesk_reconciliation_failures_total counter\n"
         "tradedesk_reconciliation_failures_total %llu\n",
         g.failures);
    LINE("# HELP tradedesk_reconciliation_divergences_total Divergences found, by kind and "
         "level.\n"
         "# TYPE tradedesk_reconciliation_divergences_total counter\n");
    for (size_t k = 0; k < NKINDS; k++)
        for (int c = 0; c < 2; c++)
            LINE("tradedesk_reconciliation_divergences_total{kind=\"%s\",level=\"%s\"} %llu\n",
                 KINDS[k], c ? "critical" : "warning", g.divergences[k][c]);
    pthread_mutex_unlock(&g.mu);
#undef LINE
}
