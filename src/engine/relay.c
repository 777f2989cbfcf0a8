/*
 * relay.c - the outbox relay: rows fill_orders() wrote to `outbox` in the
 * fill's own transaction (sql/007_fills.sql) go to Redis, then are marked
 * published.  A fill goes to its user's Stream (td:fills:<user>, entry id
 * "<fill id>-0", for replay after a reconnect) and to the td:fills channel
 * (live delivery to every stream instance), and the user's cached API
 * responses are made stale (their orders, positions and cash changed).
 * An order event (topic 'orders', sql/010_order_events.sql: any payload
 * {"type":T,"data":D}, an order's state change or another writer's, such
 * as the drawdown guard's) goes the same way to td:orders:<user> (entry
 * id "<outbox id>-0", fields type and data) and td:orders; one of a final
 * state comes short from the fill's transaction (sql/016): the batch
 * reads the order's row with it (sql/021), the relay renders the event
 * with the API's own order writer (store/pgjson.h: the push is what GET
 * /orders/conditional/{id} answers) and the mark writes that rendering
 * into the row (sql/020), so what is published, and kept, is whole.
 *
 * A batch's delivered rows are marked by the relay's next step, in the
 * same call that reads the next batch (sql/020: one statement a batch,
 * not two), so within its idle period.
 *
 * A fill the monitor pushed from its commit (sql/025, store/fillpush,
 * td_relay_pushed) is marked with nothing sent: it is in the Stream and
 * was published, and its user's caches were made stale.  Any other fill
 * goes through the same script, which publishes it only if the XADD added
 * it: a fill the monitor pushed whose answer came too late, or a resend,
 * is neither added nor published again.  A pushed fill a restarted Redis
 * lost is in the restore below, as any marked row is.
 *
 * Exactly once downstream, whatever dies when: a row is marked only after
 * Redis confirmed it, so a crash before the mark sends it again; the
 * Stream refuses an entry id it already holds ("equal or smaller than the
 * target stream top item"), which the relay counts as already delivered;
 * a fill is then not published again (the script), an order event may be,
 * and subscribers drop an id they have seen.  One user's fills are numbered, committed
 * and relayed in order (fill_orders holds the user's account row while it
 * numbers them), so a smaller id is always a duplicate, never a late fill.
 * One user's order events are relayed in id order too: the batch
 * (outbox_relay_step, sql/010's rule) leaves out a user's events while a
 * transaction writing one of that user's events is in flight.
 *
 * A Redis that restarts may come back without the newest entries (its
 * append-only file is synced every second) or empty: on each new Redis
 * process (its run_id), before anything else is added, the newest
 * TD_RELAY_RESTORE_ROWS outbox rows already published are added to the Streams
 * again, in order.  What Redis kept it refuses as above; what it lost is
 * added with its own id, so a reader resuming with `since` still gets
 * every fill once.  (Another engine's relay adding a newer fill first
 * would make a lost older one refused: both repair before relaying.)
 *
 * The same thread keeps the engine's leader lease (lease.c).  While it
 * leads, a second thread, the jobs', with connections of its own, runs
 * the reconciliation job (recon.c) and reads the business gauges, so
 * neither ever holds a fill's delivery (a run took about a second at
 * 10,000 positions); the reconciliation compares the Streams only with
 * the Redis process the relay restored them into, never during a
 * restore (restore_mu).
 *
 * A thread of its own with its own PostgreSQL (blocking face) and Redis
 * connections: it shares nothing with the event loop but its counters, so
 * a slow PostgreSQL or Redis never stalls market data, and market data
 * never delays a fill's delivery.  When either is down it retries every
 * half second; rows wait in PostgreSQL meanwhile.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/histogram.h"
#include "core/log.h"
#include "store/cachegen.h"
#include "store/fillpush.h"
#include "store/keys.h"
#include "store/pgarray.h"
#include "store/pgjson.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 500
#define BATCH_S "500"
#define IDLE_MS 20              /* nothing to relay: look again this soon (or when woken) */
#define RETRY_MS 500            /* PostgreSQL or Redis failed */
#define STREAM_MAX TD_FILL_STREAM_MAX
#define BUSINESS_EVERY_MS 10000 /* orders by state and the outbox backlog, read this often */
#define ROW_CMDS 4              /* an event's XADD and PUBLISH (a fill's one script), and the user's cache invalidation (2) */
#define JOBS_NAP_MS 50          /* the jobs thread looks this often */
#define PUSHED_SLOTS 8192       /* fills the monitor pushed, remembered (a few seconds of them) */

/* tradedesk_engine_relay_wake_to_published_seconds' buckets: fine below
 * the 10 ms a fill has from its tick to its user's socket (issue 10). */
static const double PUBLISHED_BOUNDS[] = {0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004,
                                          0.005,  0.006, 0.008,  0.01,  0.015,  0.02,  0.03,
                                          0.05,   0.1,   0.25,   0.5,   1.0,    2.5};

static const td_db_stmt RELAY_STMTS[] = {
    /* sql/020: the previous batch's delivered rows marked, then the
     * unpublished rows (sql/010: but a user's order events while one of
     * that user's event writers is still in flight). */
    {"relay_step", "SELECT * FROM outbox_relay_step($1::bigint[], $2::jsonb, " BATCH_S ")", 2, 1},
    {"relay_recent",
     "SELECT x.id, x.topic, x.key, x.payload->>'id', outbox_payload_text(x, t.trace),"
     " x.payload->>'type', (x.payload->'data')::text, t.trace"
     " FROM outbox x, LATERAL (SELECT outbox_trace_id(x) AS trace) t"
     " WHERE x.id > $1::bigint AND x.id > (SELECT coalesce(max(id), 0) FROM outbox) "
     "- " TD_RELAY_RESTORE_ROWS " AND x.published_at IS NOT NULL ORDER BY x.id LIMIT " BATCH_S,
     1, 1},
    /* The mark alone (mark_held): a deferred order event (sql/016) is
     * kept as it was published (sql/020). */
    {"relay_mark", "SELECT count(*) FROM outbox_relay_step($1::bigint[], $2::jsonb, 0)", 2, 1},
};

/* The jobs thread's (its own connection). */
static const td_db_stmt JOBS_STMTS[] = {
    {"relay_business",
     "SELECT s.name, coalesce(c.n, 0), b.n FROM unnest($1::text[]) WITH ORDINALITY AS s(name, i)"
     " LEFT JOIN (SELECT status, count(*) AS n FROM conditional_orders GROUP BY status) c"
     " ON c.status = s.name, (SELECT count(*) AS n FROM outbox WHERE published_at IS NULL) b"
     " ORDER BY s.i",
     1, 1},
};

struct td_relay {
    pthread_t thread;
    /* The jobs' thread (reconciliation, the business gauges) and its own
     * connections: a run never holds a fill's delivery. */
    pthread_t jobs_thread;
    td_db *jobs_db;
    td_redis *jobs_redis;
    /* Held while the relay restores the Streams into a new Redis process
     * (and sets run_id), and while the reconciliation compares them. */
    pthread_mutex_t restore_mu;
    atomic_int stop;
    /* td_relay_wake: the monitor committed fills; the nap ends at once.
     * woke_ns: when the first wake not yet taken came; batch_woke_ns:
     * that of the wake the relay is answering (0: none).  mu guards
     * these and wake_to_published, which the metrics read. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int woken;
    int64_t woke_ns, batch_woke_ns;
    td_hist wake_to_published;
    atomic_ullong published, duplicates, failures, restored;
    /* Fills the monitor pushed from their commit (td_relay_pushed), by id
     * modulo PUSHED_SLOTS: their rows are marked with no command to Redis.
     * A slot another fill took over only costs that row its push again,
     * which the Stream refuses. */
    atomic_llong pushed[PUSHED_SLOTS];
    /* The last batch, while its first held_n rows, delivered, wait for
     * their mark: the next step's, or mark_held's. */
    PGresult *held;
    int held_n;
    /* The order events the relay rendered of the batch `rendered` (the
     * one being delivered, then held): data[i] for its row i, NULL where
     * the row's own data column stands (sql/021). */
    const PGresult *rendered;
    int rendered_n; /* data[0..rendered_n) are set */
    td_arena render_arena;
    char *data[BATCH];
    size_t data_len[BATCH];
    uint64_t checked_conn; /* the Redis connection whose process was checked */
    char run_id[48];       /* that process' run_id */
    td_db *db;
    td_redis *redis;
    td_lease lease;
    int64_t lease_due_ms; /* the lease's next step (keep_lease) */
    td_recon recon;
};

/* The lease's step when due: from the loop, and between the pages of a
 * restore, which re-adds up to TD_RELAY_RESTORE_ROWS entries and took
 * seconds, so that a standby waited that long to take a released lease
 * and a leader could let its own run out. */
static void keep_lease(td_relay *r)
{
    int64_t now = td_mono_ns() / 1000000;
    if (now < r->lease_due_ms)
        return;
    td_lease_step(&r->lease, r->redis, r->db);
    r->lease_due_ms = now + r->lease.renew_ms;
}

/* Wait up to ms, or until td_relay_wake or td_relay_stop: a fill the
 * monitor committed goes out now, not on the next look (a wake that came
 * while a batch ran ends the next nap at once); the look every IDLE_MS
 * stays for the outbox rows other processes write (the API's order
 * events). */
static void nap(td_relay *r, int ms)
{
    int64_t t = td_mono_ns() + (int64_t)ms * 1000000;
    struct timespec until = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    pthread_mutex_lock(&r->mu);
    while (!r->woken && !atomic_load(&r->stop))
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0)
            break;
    r->batch_woke_ns = r->woken ? r->woke_ns : 0;
    r->woken = 0;
    pthread_mutex_unlock(&r->mu);
}

void td_relay_pushed(td_relay *r, long long fill_id)
{
    if (r && fill_id > 0)
        atomic_store(&r->pushed[fill_id % PUSHED_SLOTS], fill_id);
}

void td_relay_wake(td_relay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    if (!r->woken)
        r->woke_ns = td_mono_ns();
    r->woken = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* A row's columns, as relay_step and relay_recent give them; relay_step's
 * go on with the order of a deferred event for the relay to render
 * (sql/021: TD_ORDER_NCOLS from COL_ORDER, NULL for any other row). */
enum {
    COL_ID,
    COL_TOPIC,
    COL_KEY,
    COL_FILL,
    COL_PAYLOAD,
    COL_TYPE,
    COL_DATA,
    COL_TRACE,
    COL_ORDER
};

static int is_fill(const PGresult *res, int i)
{
    return strcmp(PQgetvalue(res, i, COL_TOPIC), "fills") == 0;
}

/* Row i is a fill the monitor pushed (and made its user's caches stale
 * for) already. */
static int was_pushed(td_relay *r, const PGresult *res, int i)
{
    if (!is_fill(res, i))
        return 0;
    long long id = strtoll(PQgetvalue(res, i, COL_FILL), NULL, 10);
    return id > 0 && atomic_load(&r->pushed[id % PUSHED_SLOTS]) == id;
}

/* An order event's type: a lower-case word (sql/010's order_event_emit
 * checks the same), written into the stream's JSON as it is. */
static int event_type_ok(const char *t)
{
    size_t n = strlen(t);
    return n >= 1 && n <= 32 && t[0] >= 'a' && t[0] <= 'z' &&
           strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static void forget_rendered(td_relay *r)
{
    r->rendered = NULL;
    r->rendered_n = 0;
    td_arena_reset(&r->render_arena);
}

/* The order events of a batch the step gave with their order's columns,
 * rendered as the API shows the order (td_jw_order), its data; one whose
 * stored values do not fit fixed point (only a hand edit makes one) goes
 * short, {"id","status"}, as an event whose order moved on does. */
static void render_batch(td_relay *r, const PGresult *res)
{
    forget_rendered(r);
    r->rendered = res;
    if (PQnfields(res) < COL_ORDER + TD_ORDER_NCOLS)
        return;
    int n = PQntuples(res) < BATCH ? PQntuples(res) : BATCH;
    for (int i = 0; i < n; i++) {
        r->data[i] = NULL;
        if (PQgetisnull(res, i, COL_ORDER))
            continue;
        td_buf out = {0};
        td_jw w;
        td_jw_init(&w, &r->render_arena, &out);
        if (!td_jw_order(&w, res, i, COL_ORDER)) {
            td_warn("relay: order %s does not fit fixed point: its event %s goes out short",
                    PQgetvalue(res, i, COL_ORDER), PQgetvalue(res, i, COL_ID));
            out = (td_buf){0};
            td_jw_init(&w, &r->render_arena, &out);
            td_jw_obj(&w);
            td_jw_key(&w, "id");
            td_jw_col_str(&w, res, i, COL_ORDER);
            td_jw_key(&w, "status");
            td_jw_col_str(&w, res, i, COL_ORDER + 10);
            td_jw_end(&w, '}');
        }
        r->data[i] = out.data;
        r->data_len[i] = out.len;
    }
    r->rendered_n = n;
}

/* Row i's event data: the relay's rendering, or the row's column. */
static const char *row_data(const td_relay *r, const PGresult *res, int i, size_t *len)
{
    if (res == r->rendered && i < r->rendered_n && r->data[i]) {
        *len = r->data_len[i];
        return r->data[i];
    }
    *len = (size_t)PQgetlength(res, i, COL_DATA);
    return PQgetisnull(res, i, COL_DATA) ? NULL : PQgetvalue(res, i, COL_DATA);
}

/* Queue the XADD of a row to its user's Stream: 1 when queued, 0 when
 * Redis went away, -1 for a row nothing knows how to deliver.  Fills:
 * td:fills:<user>, entry "<fill id>-0", field fill (the payload); order
 * events ({"type":T,"data":D}, sql/010): td:orders:<user>, entry
 * "<outbox id>-0", fields type T and data D. */
static int append_entry(td_relay *r, const PGresult *res, int i)
{
    const char *user = PQgetvalue(res, i, COL_KEY);
    if (!*user || strspn(user, "0123456789") != strlen(user))
        return -1;
    if (is_fill(res, i)) {
        const char *fill = PQgetvalue(res, i, COL_FILL);
        if (!*fill)
            return -1;
        return td_redis_append(r->redis, "XADD " TD_KEY_FILLS " MAXLEN ~ %d %s-0 fill %b", user,
                               STREAM_MAX, fill, PQgetvalue(res, i, COL_PAYLOAD),
                               (size_t)PQgetlength(res, i, COL_PAYLOAD)) == TD_OK;
    }
    size_t len;
    const char *data = row_data(r, res, i, &len);
    if (strcmp(PQgetvalue(res, i, COL_TOPIC), "orders") != 0 ||
        !event_type_ok(PQgetvalue(res, i, COL_TYPE)) || !data)
        return -1;
    return td_redis_append(r->redis, "XADD " TD_KEY_ORDERS " MAXLEN ~ %d %s-0 type %s data %b",
                           user, STREAM_MAX, PQgetvalue(res, i, COL_ID),
                           PQgetvalue(res, i, COL_TYPE), data, len) == TD_OK;
}

/* How many commands row i takes: a fill's push (store/fillpush: the
 * XADD, and the PUBLISH only if it added the entry, so that a fill the
 * monitor pushed at its commit is not published twice), an order event's
 * XADD and PUBLISH; then the user's cache invalidation. */
static int row_cmds(const PGresult *res, int i)
{
    return is_fill(res, i) ? 3 : ROW_CMDS;
}

/* Queue one row's commands (row_cmds when Redis took them all); how many
 * were queued, -1 for a row nothing knows how to deliver. */
static int queue_row(td_relay *r, PGresult *res, int i)
{
    const char *user = PQgetvalue(res, i, COL_KEY);
    if (is_fill(res, i)) {
        const char *fill = PQgetvalue(res, i, COL_FILL);
        if (!*user || strspn(user, "0123456789") != strlen(user) || !*fill)
            return -1;
        const td_fill_push p = {user, fill, PQgetvalue(res, i, COL_PAYLOAD),
                                (size_t)PQgetlength(res, i, COL_PAYLOAD), NULL};
        int n = td_fill_push_append(r->redis, &p) == TD_OK;
        return n + td_cache_invalidate_user_append(r->redis, strtoll(user, NULL, 10));
    }
    int n = append_entry(r, res, i);
    if (n < 0)
        return -1;
    /* One argument the stream routes by its first word, the user id:
     * "<user id> <fill>", or "<user id> <event id> <type> <data>". */
    const char *parts[4] = {user};
    size_t lens[4] = {strlen(user)};
    int np = 1;
    for (int c = 0; c < 2; c++) {
        int col = c == 0 ? COL_ID : COL_TYPE;
        parts[np] = PQgetvalue(res, i, col);
        lens[np++] = (size_t)PQgetlength(res, i, col);
    }
    parts[np] = row_data(r, res, i, &lens[np]); /* append_entry checked it */
    np++;
    size_t total = 0;
    for (int p = 0; p < np; p++)
        total += lens[p] + 1;
    char *msg = malloc(total);
    if (msg) {
        size_t at = 0;
        for (int p = 0; p < np; p++) {
            memcpy(msg + at, parts[p], lens[p]);
            at += lens[p];
            msg[at++] = ' ';
        }
        n += td_redis_append(r->redis, "PUBLISH " TD_CHANNEL_ORDERS " %b", msg, total - 1) ==
             TD_OK;
        free(msg);
    }
    /* An order event changed the user's orders (a fill, above, their
     * positions and cash too): their cached responses are stale now
     * (store/cachegen). */
    n += td_cache_invalidate_user_append(r->redis, strtoll(user, NULL, 10));
    return n;
}

static int duplicate_entry(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "equal or smaller");
}

/* What Redis said of row i's entry (its first command): 1 added, 0 the
 * Stream held it already, -1 refused. */
static int entry_reply(const PGresult *res, int i, const redisReply *x)
{
    if (is_fill(res, i)) {
        int v = td_fill_push_result(x, 0);
        return v == 1 || v == 0 ? v : -1;
    }
    return x->type != REDIS_REPLY_ERROR ? 1 : duplicate_entry(x) ? 0 : -1;
}

/* The run_id of rd's Redis process into out (at least 41 bytes); 0 on
 * failure. */
static int run_id(td_redis *rd, char *out, size_t cap)
{
    redisReply *rep = td_redis_cmd(rd, "INFO server");
    size_t n = 0;
    const char *p =
        rep && rep->type == REDIS_REPLY_STRING ? td_redis_info_field(rep->str, "run_id", &n) : NULL;
    if (!p || n + 1 > cap)
        n = 0;
    else {
        memcpy(out, p, n);
        out[n] = '\0';
    }
    if (rep)
        freeReplyObject(rep);
    return n > 0;
}

/* The newest published rows into their Streams again (XADD only: the
 * live channel and the caches had them); 0, or -1 on failure. */
static int restore(td_relay *r)
{
    char after[24] = "0";
    int added = 0, seen = 0;
    int64_t t0 = td_mono_ns();
    for (;;) {
        td_status st;
        const char *p[1] = {after};
        PGresult *res = td_db_exec(r->db, "relay_recent", 1, p, &st);
        if (!res)
            return -1;
        int rows = PQntuples(res), queued = 0;
        seen += rows;
        for (int i = 0; i < rows; i++)
            queued += append_entry(r, res, i) > 0;
        if (rows)
            snprintf(after, sizeof after, "%s", PQgetvalue(res, rows - 1, 0));
        PQclear(res);
        redisReply *rep[BATCH];
        if (queued && td_redis_flush(r->redis, rep, queued) != TD_OK)
            return -1;
        int refused = 0;
        for (int i = 0; i < queued; i++) {
            /* "Already there" is what a restore mostly hears.  A key that
             * holds something else (WRONGTYPE) is that entry's alone:
             * logged, and the others go on.  Any other refusal is Redis'
             * state, not the entry's (LOADING while it reads its file
             * back, OOM, READONLY...): the restore fails, and runs again
             * from the start once Redis takes entries, so nothing it was
             * to add is skipped. */
            if (rep[i]->type != REDIS_REPLY_ERROR)
                added++;
            else if (strncmp(rep[i]->str, "WRONGTYPE", 9) == 0)
                td_warn("relay: Redis refused an entry it may have lost: %.200s", rep[i]->str);
            else if (!duplicate_entry(rep[i]) && !refused++)
                td_warn("relay: Redis refused the restore (%.200s); trying again", rep[i]->str);
            freeReplyObject(rep[i]);
        }
        if (refused) {
            atomic_fetch_add(&r->restored, (unsigned long long)added);
            return -1;
        }
        if (rows < BATCH)
            break;
        keep_lease(r);
    }
    atomic_fetch_add(&r->restored, (unsigned long long)added);
    td_info("relay: the Streams checked against the newest %d outbox rows in %lld ms", seen,
            (long long)((td_mono_ns() - t0) / 1000000));
    if (added)
        td_warn("relay: Redis had lost %d fills and order events of the Streams; added again"
                " from the outbox",
                added);
    return 0;
}

static void release_held(td_relay *r)
{
    if (r->held)
        PQclear(r->held);
    r->held = NULL;
    r->held_n = 0;
    forget_rendered(r);
}

/* Run stmt (relay_step or relay_mark) with the held rows' mark: their
 * ids, and a JSON array of what was published of each order event (null
 * for a fill), which a deferred one is kept as (sql/020): the payload
 * the step gave, or {"type":T,"data":D} of one the relay rendered.  Its result,
 * and nothing held any more; NULL on failure (they stay held). */
static PGresult *exec_marking(td_relay *r, const char *stmt)
{
    td_arena a;
    td_arena_init(&a, 16 * 1024);
    td_pg_cols ids;
    td_pg_cols_init(&ids, &a, 1);
    td_buf payloads = {0};
    td_buf_add(&a, &payloads, "[", 1);
    for (int i = 0; i < r->held_n; i++) {
        td_pg_col_add(&ids, 0, PQgetvalue(r->held, i, COL_ID));
        if (i)
            td_buf_add(&a, &payloads, ",", 1);
        size_t len;
        const char *data = row_data(r, r->held, i, &len);
        if (is_fill(r->held, i) || (!data && PQgetisnull(r->held, i, COL_PAYLOAD)))
            td_buf_add(&a, &payloads, "null", 4);
        else if (PQgetisnull(r->held, i, COL_PAYLOAD)) {
            const char *type = PQgetvalue(r->held, i, COL_TYPE);
            if (!event_type_ok(type)) { /* never delivered (append_entry): nothing to keep */
                td_buf_add(&a, &payloads, "null", 4);
                continue;
            }
            td_buf_add(&a, &payloads, "{\"type\":\"", 9);
            td_buf_add(&a, &payloads, type, strlen(type));
            td_buf_add(&a, &payloads, "\",\"data\":", 9);
            td_buf_add(&a, &payloads, data, len);
            td_buf_add(&a, &payloads, "}", 1);
        } else
            td_buf_add(&a, &payloads, PQgetvalue(r->held, i, COL_PAYLOAD),
                       (size_t)PQgetlength(r->held, i, COL_PAYLOAD));
    }
    td_buf_add(&a, &payloads, "]", 1);
    const char *p[2];
    td_pg_cols_params(&ids, p);
    p[1] = payloads.data;
    td_status st;
    PGresult *res = td_db_exec(r->db, stmt, 2, p, &st);
    td_arena_free(&a);
    if (res)
        release_held(r);
    return res;
}

/* Mark the held rows now, not with the next batch: before a restore
 * (which re-adds published rows only) and when the relay stops.  0 when
 * nothing is left to mark, -1 on failure (they stay held). */
static int mark_held(td_relay *r)
{
    if (!r->held)
        return 0;
    PGresult *m = exec_marking(r, "relay_mark");
    if (!m)
        return -1;
    PQclear(m);
    return 0;
}

/* Before the first XADD on a connection: is it the Redis process the
 * Streams were last written to?  If not, restore what it may have lost.
 * 0 when Redis can take new entries, -1 otherwise. */
static int check_redis(td_relay *r)
{
    uint64_t conn = td_redis_connection(r->redis);
    if (!conn)
        return -1;
    if (conn == r->checked_conn)
        return 0;
    char id[sizeof r->run_id];
    if (!run_id(r->redis, id, sizeof id))
        return -1;
    if (strcmp(id, r->run_id) != 0) {
        if (mark_held(r) != 0)
            return -1;
        td_info("relay: Redis process %s%s: restoring the newest events in the Streams", id,
                r->run_id[0] ? " (restarted)" : "");
        pthread_mutex_lock(&r->restore_mu);
        int restored = restore(r) == 0;
        if (restored)
            memcpy(r->run_id, id, sizeof id);
        pthread_mutex_unlock(&r->restore_mu);
        if (!restored)
            return -1;
    }
    r->checked_conn = conn;
    return 0;
}

static void drop_batch(td_relay *r, PGresult *res)
{
    forget_rendered(r);
    PQclear(res);
}

/* One step: the held rows marked, and the next batch delivered and held
 * for the next step's mark.  2 when the batch was full (more may wait), 1
 * when it took what there was, 0 when idle, -1 on failure. */
static int relay_once(td_relay *r)
{
    PGresult *res = exec_marking(r, "relay_step");
    if (!res) {
        /* The step holds users' session locks while it picks its rows
         * (sql/020): an error there must not leave them held, or those
         * users' fills would wait on them.  (A lost connection took them.) */
        td_db_command(r->db, "SELECT pg_advisory_unlock_all()");
        return -1;
    }
    int rows = PQntuples(res);
    if (rows == 0) {
        PQclear(res);
        return 0;
    }
    render_batch(r, res);
    if (check_redis(r) != 0) { /* the appends below must not connect unchecked */
        drop_batch(r, res);
        return -1;
    }
    int cmds[BATCH], queued = 0, short_queued = 0;
    unsigned char pushed[BATCH];
    for (int i = 0; i < rows; i++) {
        if ((pushed[i] = (unsigned char)was_pushed(r, res, i))) {
            cmds[i] = 0; /* in Redis already: only the mark */
            continue;
        }
        cmds[i] = queue_row(r, res, i);
        if (cmds[i] < 0)
            td_error("relay: outbox row %s has topic '%s', which nothing delivers; marked sent",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
        else
            queued += cmds[i];
        short_queued |= cmds[i] >= 0 && cmds[i] < row_cmds(res, i);
    }
    redisReply *rep[ROW_CMDS * BATCH];
    if (queued && td_redis_flush(r->redis, rep, queued) != TD_OK) {
        drop_batch(r, res);
        return -1;
    }
    if (short_queued) { /* Redis went away while queueing: all again later */
        for (int i = 0; i < queued; i++)
            freeReplyObject(rep[i]);
        drop_batch(r, res);
        return -1;
    }
    /* Hold the rows up to the first one Redis did not take, to be marked. */
    int k = 0, ok = 1, nmark = 0;
    for (int i = 0; i < rows; i++) {
        for (int c = 0; c < (cmds[i] > 0 ? cmds[i] : 0); c++, k++) {
            redisReply *x = rep[k];
            int v = c == 0 ? entry_reply(res, i, x) : x->type == REDIS_REPLY_ERROR ? -1 : 1;
            if (v == 0)
                atomic_fetch_add(&r->duplicates, 1);
            else if (v < 0) {
                if (ok)
                    td_warn("relay: Redis refused outbox row %s: %.200s", PQgetvalue(res, i, 0),
                            x->type == REDIS_REPLY_ERROR ? x->str : "(not the push's answer)");
                ok = 0;
            }
        }
        if (!ok)
            break;
        nmark++;
        if (pushed[i])
            atomic_fetch_add(&r->duplicates, 1);
        if (cmds[i] > 0) {
            atomic_fetch_add(&r->published, 1);
            /* One debug line a row, with the trace of the request behind it. */
            if (td_log_enabled(TD_LOG_DEBUG)) {
                td_log_set_trace(PQgetisnull(res, i, COL_TRACE) ? NULL
                                                                : PQgetvalue(res, i, COL_TRACE));
                if (is_fill(res, i))
                    td_debug("relay: published fill %s of user %s (outbox row %s)",
                             PQgetvalue(res, i, COL_FILL), PQgetvalue(res, i, COL_KEY),
                             PQgetvalue(res, i, COL_ID));
                else
                    td_debug("relay: published %s event %s of user %s",
                             PQgetvalue(res, i, COL_TYPE), PQgetvalue(res, i, COL_ID),
                             PQgetvalue(res, i, COL_KEY));
                td_log_set_trace(NULL);
            }
            if (is_fill(res, i) && entry_reply(res, i, rep[k - cmds[i]]) == 1) /* counted once */
                td_business_fill(PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4));
        }
    }
    for (int i = 0; i < queued; i++)
        freeReplyObject(rep[i]);
    /* A wake answered: from the commit that woke the relay to Redis'
     * answer for the batch that carried its rows. */
    pthread_mutex_lock(&r->mu);
    if (r->batch_woke_ns && ok)
        td_hist_observe(&r->wake_to_published, (double)(td_mono_ns() - r->batch_woke_ns) / 1e9);
    r->batch_woke_ns = 0;
    pthread_mutex_unlock(&r->mu);
    if (nmark) {
        r->held = res;
        r->held_n = nmark;
    } else {
        drop_batch(r, res);
    }
    return !ok ? -1 : rows == BATCH ? 2 : 1;
}

/* Orders by state and the outbox backlog, for the business gauges. */
static void read_gauges(td_relay *r)
{
    td_arena a;
    td_arena_init(&a, 1024);
    td_pg_cols states;
    td_pg_cols_init(&states, &a, 1);
    for (int i = 0; i < TD_ORDER_STATES; i++)
        td_pg_col_add(&states, 0, td_order_state_names[i]);
    const char *p[1];
    td_pg_cols_params(&states, p);
    td_status st;
    PGresult *res = td_db_exec(r->jobs_db, "relay_business", 1, p, &st);
    if (res && PQntuples(res) == TD_ORDER_STATES) {
        long long orders[TD_ORDER_STATES];
        for (int i = 0; i < TD_ORDER_STATES; i++)
            orders[i] = atoll(PQgetvalue(res, i, 1));
        td_business_gauges(orders, atoll(PQgetvalue(res, 0, 2)));
    }
    if (res)
        PQclear(res);
    td_arena_free(&a);
}

/* The reconciliation compares the Streams only with the Redis process
 * the relay restored them into, and never while it restores them: 1 (and
 * held until streams_release) when rd's process is that one. */
static int streams_hold(void *ctx, td_redis *rd)
{
    td_relay *r = ctx;
    char id[sizeof r->run_id];
    if (!run_id(rd, id, sizeof id))
        return 0;
    pthread_mutex_lock(&r->restore_mu);
    if (strcmp(id, r->run_id) == 0)
        return 1;
    pthread_mutex_unlock(&r->restore_mu);
    return 0;
}

static void streams_release(void *ctx)
{
    td_relay *r = ctx;
    pthread_mutex_unlock(&r->restore_mu);
}

/* The leader's periodic jobs, on a thread of their own: the business
 * gauges every BUSINESS_EVERY_MS (one engine counts the table) and the
 * reconciliation every TRADEDESK_RECON_INTERVAL_S. */
static void *jobs_main(void *arg)
{
    td_relay *r = arg;
    const td_recon_gate gate = {streams_hold, streams_release, r};
    int64_t gauges_due = 0;
    while (!atomic_load(&r->stop)) {
        int64_t now = td_mono_ns() / 1000000;
        int leading = atomic_load(&r->lease.token) > 0;
        if (leading && now >= gauges_due) {
            read_gauges(r);
            gauges_due = now + BUSINESS_EVERY_MS;
        }
        td_recon_step(&r->recon, r->jobs_db, r->jobs_redis, &gate, now, leading);
        td_nap_unless(&r->stop, JOBS_NAP_MS);
    }
    return NULL;
}

static void *relay_main(void *arg)
{
    td_relay *r = arg;
    while (!atomic_load(&r->stop)) {
        keep_lease(r);
        /* A Redis that restarted while nothing was relayed is repaired too. */
        int got = check_redis(r) == 0 ? relay_once(r) : -1;
        /* After a batch that took what there was, the next look waits
         * too: a fill committed meanwhile woke it (the nap ends at once),
         * and the look straight after found nothing, a third of the
         * relay's queries (docs/performance.md). */
        if (got < 0) {
            atomic_fetch_add(&r->failures, 1);
            nap(r, RETRY_MS);
        } else if (got < 2) {
            nap(r, IDLE_MS);
        }
    }
    if (mark_held(r) != 0)
        td_warn("relay: PostgreSQL did not take the last batch's mark; its rows go again");
    release_held(r);
    td_lease_release(&r->lease, r->redis);
    return NULL;
}

/* Both threads stopped (those started), the connections closed, r freed. */
static void relay_free(td_relay *r, int relay_started, int jobs_started)
{
    atomic_store(&r->stop, 1);
    if (relay_started) {
        td_relay_wake(r); /* out of its nap now */
        pthread_join(r->thread, NULL);
    }
    if (jobs_started)
        pthread_join(r->jobs_thread, NULL);
    td_db_close(r->db);
    td_redis_close(r->redis);
    td_db_close(r->jobs_db);
    td_redis_close(r->jobs_redis);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->restore_mu);
    td_arena_free(&r->render_arena);
    free(r);
}

td_relay *td_relay_start(const td_config *cfg)
{
    td_relay *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* nap's deadline */
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->restore_mu, NULL);
    td_arena_init(&r->render_arena, 64 * 1024);
    td_hist_init(&r->wake_to_published, PUBLISHED_BOUNDS, TD_ARRAY_LEN(PUBLISHED_BOUNDS));
    td_lease_init(&r->lease, cfg->leader_lease_ms);
    if (td_recon_init(&r->recon, cfg) != TD_OK) {
        relay_free(r, 0, 0);
        return NULL;
    }
    const td_db_stmts parts[] = {{RELAY_STMTS, TD_ARRAY_LEN(RELAY_STMTS)},
                                 {td_lease_stmts, td_lease_nstmts}};
    td_db_opts o = {.conninfo = cfg->database_url,
                    .application_name = "tradedesk-engine relay",
                    .statement_timeout_ms = cfg->db_timeout_ms};
    r->db = td_db_open(&o, parts, TD_ARRAY_LEN(parts));
    r->redis = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    const td_db_stmts jobs[] = {{JOBS_STMTS, TD_ARRAY_LEN(JOBS_STMTS)},
                                {td_recon_stmts, td_recon_nstmts}};
    o.application_name = "tradedesk-engine jobs";
    r->jobs_db = td_db_open(&o, jobs, TD_ARRAY_LEN(jobs));
    r->jobs_redis = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    if (!r->db || !r->redis || !r->jobs_db || !r->jobs_redis) {
        relay_free(r, 0, 0);
        return NULL;
    }
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        relay_free(r, 0, 0);
        return NULL;
    }
    if (pthread_create(&r->jobs_thread, NULL, jobs_main, r) != 0) {
        relay_free(r, 1, 0);
        return NULL;
    }
    return r;
}

void td_relay_stop(td_relay *r)
{
    if (r)
        relay_free(r, 1, 1);
}

td_relay_stats td_relay_stats_get(const td_relay *r)
{
    td_relay_stats s = {0};
    if (r) {
        s.published = atomic_load(&((td_relay *)r)->published);
        s.duplicates = atomic_load(&((td_relay *)r)->duplicates);
        s.failures = atomic_load(&((td_relay *)r)->failures);
        s.restored = atomic_load(&((td_relay *)r)->restored);
    }
    return s;
}

void td_relay_render(td_relay *r, td_arena *a, td_buf *b)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    td_hist h = r->wake_to_published;
    pthread_mutex_unlock(&r->mu);
    td_hist_render(&h, a, b, "tradedesk_engine_relay_wake_to_published_seconds",
                   "Fills committed (the relay woken) to Redis' answer for the batch that "
                   "carried them.");
}

long long td_relay_leader_token(const td_relay *r)
{
    return r ? atomic_load(&((td_relay *)r)->lease.token) : 0;
}
