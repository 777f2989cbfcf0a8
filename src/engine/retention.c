/*
 * retention.c - what the database keeps only for a while, deleted by the
 * engine: one row per table below, each pass every ten minutes deleting
 * at most RETENTION_BATCH rows past their age (a full batch goes again on
 * the next round), so retention never holds long locks or a long
 * transaction.  A setting of 0 keeps the table's rows forever.
 *
 *   price_history     TRADEDESK_PRICE_HISTORY_DAYS (the sampled history)
 *   idempotency_keys  TRADEDESK_IDEMPOTENCY_KEY_HOURS (a key past it may be
 *                     used again, as a new request)
 *   outbox            TRADEDESK_OUTBOX_RETENTION_DAYS, published rows only,
 *                     never the newest the relay restores after a Redis
 *                     restart (relay.c, RESTORE_ROWS)
 *   equity_snapshots  TRADEDESK_EQUITY_SNAPSHOT_DAYS (the drawdown guard's,
 *                     guard.c; its state keeps the peaks)
 *   market_alerts     TRADEDESK_ALERT_RETENTION_DAYS, cleared alerts only
 *
 * Through store/db's non-blocking face on the engine's loop; every engine
 * may run it (a delete is idempotent).
 */
#include "engine/engine.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define RETENTION_EVERY_MS (10 * 60 * 1000)
#define RETENTION_BATCH "10000"

const td_db_stmt td_retention_stmts[] = {
    {"retention_price_history",
     "DELETE FROM price_history WHERE ctid = ANY (ARRAY(SELECT ctid FROM price_history"
     " WHERE ts < now() - make_interval(days => $1::int) LIMIT " RETENTION_BATCH "))",
     1, 1},
    {"retention_idempotency_keys",
     "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys"
     " WHERE created_at < now() - make_interval(hours => $1::int) LIMIT " RETENTION_BATCH "))",
     1, 1},
    /* Oldest first by id (the primary key), so each pass starts where the
     * last one stopped. */
    {"retention_outbox",
     "DELETE FROM outbox WHERE id = ANY (ARRAY(SELECT id FROM outbox"
     " WHERE published_at IS NOT NULL AND created_at < now() - make_interval(days => $1::int)"
     " AND id <= (SELECT coalesce(max(id), 0) FROM outbox) - " TD_RELAY_RESTORE_ROWS
     " ORDER BY id LIMIT " RETENTION_BATCH "))",
     1, 1},
    {"retention_equity_snapshots",
     "DELETE FROM equity_snapshots WHERE ctid = ANY (ARRAY(SELECT ctid FROM equity_snapshots"
     " WHERE taken_at < now() - make_interval(days => $1::int) LIMIT " RETENTION_BATCH "))",
     1, 1},
    {"retention_market_alerts",
     "DELETE FROM market_alerts WHERE id = ANY (ARRAY(SELECT id FROM market_alerts"
     " WHERE cleared_at < now() - make_interval(days => $1::int) LIMIT " RETENTION_BATCH "))",
     1, 1},
};
const size_t td_retention_nstmts = TD_ARRAY_LEN(td_retention_stmts);

typedef struct rule {
    const char *stmt;
    size_t age_at; /* offset of its int setting in td_config */
} rule;

static const rule RULES[] = {
    {"retention_price_history", offsetof(td_config, price_history_days)},
    {"retention_idempotency_keys", offsetof(td_config, idempotency_key_hours)},
    {"retention_outbox", offsetof(td_config, outbox_retention_days)},
    {"retention_equity_snapshots", offsetof(td_config, equity_snapshot_days)},
    {"retention_market_alerts", offsetof(td_config, alert_retention_days)},
};
_Static_assert(TD_ARRAY_LEN(RULES) == TD_ARRAY_LEN(((td_engine *)0)->retention_ms),
               "one due time per rule");

typedef struct pass {
    td_engine *e;
    int rule;
} pass;

static void on_done(void *arg, td_status st, const PGresult *res)
{
    pass *p = arg;
    td_engine *e = p->e;
    if (st != TD_OK) {
        e->db_failures++;
    } else {
        e->db_writes++;
        /* A full batch means more are due: go again on the next round. */
        const char *n = res ? PQcmdTuples((PGresult *)res) : "";
        if (*n && atoll(n) >= atoll(RETENTION_BATCH))
            e->retention_ms[p->rule] = 0;
    }
    free(p);
}

void td_engine_retention(td_engine *e, int64_t now_ms)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(RULES); i++) {
        int age = *(const int *)((const char *)&e->cfg + RULES[i].age_at);
        if (age <= 0 || now_ms - e->retention_ms[i] < RETENTION_EVERY_MS)
            continue;
        e->retention_ms[i] = now_ms;
        char v[16];
        snprintf(v, sizeof v, "%d", age);
        const char *params[] = {v};
        pass *p = malloc(sizeof *p);
        if (!p) {
            e->db_failures++;
            continue;
        }
        *p = (pass){e, (int)i};
        if (td_db_send(e->db, RULES[i].stmt, 1, params, on_done, p) != TD_OK) {
            free(p);
            e->db_failures++;
        }
    }
}
