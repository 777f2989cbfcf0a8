/*
 * history.c - the sampled price history (price_history, migration 005):
 * every TRADEDESK_PRICE_HISTORY_INTERVAL_S, each symbol whose oracle price
 * is fresh gets one row stamped with the interval's start (so a restarted
 * engine cannot sample an interval twice).  Rows older than
 * TRADEDESK_PRICE_HISTORY_DAYS go with the other retention rules
 * (retention.c).
 *
 * Through store/db's non-blocking face like the rest of the publisher:
 * a sample PostgreSQL cannot take now is skipped, not queued up.
 */
#include "engine/engine.h"
#include "core/log.h"
#include "store/pgarray.h"

#include <stdio.h>
#include <stdlib.h>

#define PENDING_MAX 1000

const td_db_stmt td_history_stmts[] = {
    /* Every fresh symbol's row of one interval in one statement. */
    {"history_sample",
     "INSERT INTO price_history (symbol, ts, price, source)"
     " SELECT s, to_timestamp($2::bigint / 1000.0), p, src"
     " FROM unnest($1::text[], $3::numeric[], $4::text[]) AS v(s, p, src)"
     " ON CONFLICT (symbol, ts, source) DO NOTHING",
     4, 1},
};
const size_t td_history_nstmts = TD_ARRAY_LEN(td_history_stmts);

static void on_done(void *arg, td_status st, const PGresult *res)
{
    td_engine *e = arg;
    if (st != TD_OK) {
        e->db_failures++;
        return;
    }
    (void)res;
    e->db_writes++;
}

/* How many rows were sent: 0 while no price is fresh. */
static int sample(td_engine *e, int64_t at_ms)
{
    td_arena a;
    td_arena_init(&a, 16 * 1024);
    td_pg_cols c;
    td_pg_cols_init(&c, &a, 3);
    int rows = 0;
    for (int i = 0; i < td_market_nsymbols(e->market); i++) {
        td_price_update p;
        if (!td_market_price(e->market, i, &p) || p.stale)
            continue;
        td_pg_col_add(&c, 0, p.symbol);
        td_pg_col_dec(&c, 1, p.price);
        td_pg_col_add(&c, 2, td_engine_source_name(e, p.source));
        rows++;
    }
    if (rows) {
        char at[24];
        snprintf(at, sizeof at, "%lld", (long long)at_ms);
        const char *cols[3], *params[4];
        td_pg_cols_params(&c, cols);
        params[0] = cols[0];
        params[1] = at;
        params[2] = cols[1];
        params[3] = cols[2];
        if (td_db_send(e->db, "history_sample", 4, params, on_done, e) != TD_OK) {
            e->db_failures++;
            rows = 0;
        }
    }
    td_arena_free(&a);
    return rows;
}

void td_engine_history(td_engine *e, int64_t now_ms)
{
    const td_config *c = &e->cfg;
    if (c->price_history_interval_s <= 0 || td_db_pending(e->db) > PENDING_MAX)
        return;
    int64_t every = (int64_t)c->price_history_interval_s * 1000;
    int64_t slot = now_ms - now_ms % every;
    if (slot > e->history_slot_ms && sample(e, slot) > 0)
        e->history_slot_ms = slot; /* else: again next round, until a price is fresh */
}
