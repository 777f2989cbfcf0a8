/*
 * monitor.c - the conditional-order monitor, in the engine's loop: every
 * active order sits in an index per symbol (domain/order_index), each
 * change of a symbol's oracle price is a tick evaluated against it, and
 * what fires is filled through fill_orders() (sql/007_fills.sql, set-based
 * since sql/008) in one batch per loop pass and lane (LANES connections,
 * orders split by user), carrying the leader's fencing token.  Each lane's
 * connection is warmed once it is up (a batch of one order that does not
 * exist, which fills nothing): fill_orders plans its statements on a
 * connection's first call, 10-40 ms, and the first real order should not
 * wait for that.
 *
 * Only the leader monitors (lease.c): on winning the lease it loads every
 * active order (pages of PAGE by id) and from then on follows
 * conditional_orders' NOTIFYs on td_orders (store/pgchannels.h): an insert
 * is fetched and added, a status change removes the order.  The LISTEN is
 * sent before any load on each connection, so nothing committed after the
 * load began is missed; a new connection (notifications may have been
 * lost) reloads everything, and so does a resync every
 * TRADEDESK_MONITOR_RESYNC_S, which counts what it had to correct (drift)
 * and reports each order to the reconciliation job (td_monitor_drift_take):
 * one active in PostgreSQL for 2 s or more that the index did not hold
 * (order_index_missing: it was not watched), or one the index held that is
 * no longer active and whose notification did not follow within 2 s
 * (order_index_extra; the load's snapshot can see a change before the
 * server sends its notification).  Losing the lease drops it all.
 *
 * Fired orders leave the index at once; their batch is retried (same
 * prices: the firing tick's) while PostgreSQL is unreachable, and dropped
 * when the fence refuses the token (another engine leads and will fire
 * them itself from the table).  Whatever happens PostgreSQL decides: an
 * order is filled only while active, once.
 *
 * Once a second: each symbol's index sees its current price (an order
 * added since its last tick and due at it fires), the safety net's round
 * starts (td_oidx_check, a slice every CHECK_MS, so that no pass of the
 * loop walks a whole index: a million orders in one symbol took 81 ms;
 * a slice that finds anything due runs the repairing td_oidx_sweep, and
 * its misses are counted), and the trailing stops' moved extremes written back
 * (armed, extreme_price), so a restart resumes them.  The monitor has its
 * own PostgreSQL connection on the loop (ws/loopfd's td_dbwatch): the
 * publisher's queue never delays a fill.
 *
 * A fill goes to its user's socket from the batch's answer (sql/025): the
 * answer carries each fill's row (sql/026), written here as the API
 * answers it (store/pgjson's td_jw_fill), with its user's previous fill,
 * and the monitor pushes it on a Redis connection of its own (the user's
 * caches made stale first, then store/fillpush's script: into the Stream
 * and onto td:fills only if the Stream's newest entry is that previous
 * fill).  The relay still delivers every outbox row and
 * finds these already there; a push that is not its turn, or is lost, is
 * the relay's, as every fill was before.
 */
#include "engine/engine.h"
#include "core/clock.h"
#include "core/histogram.h"
#include "core/log.h"
#include "domain/order_index.h"
#include "store/cachegen.h"
#include "store/fillpush.h"
#include "store/pgarray.h"
#include "store/pgchannels.h"
#include "store/pgjson.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 5000
#define PAGE_S "5000"
#define SECOND_MS 1000
#define CHECK_MS 10 /* a slice of the safety net's round this often */
#define RETRY_MS 500
#define BATCH_MAX 2000 /* orders per fill_orders call */
/* Fill batches in flight at once, each on its own connection.  A user's
 * orders waiting or in flight are all in one lane, in order (AFFINITY
 * buckets of users, each held by the lane that has its orders): different
 * lanes' fills touch disjoint rows, so they never wait on each other.  A
 * tick that fires fewer than SPREAD_MIN orders while lane 0 is idle goes
 * to lane 0 alone, one transaction on one core, which leaves the other to
 * the relay and the stream (ten fills a tick: 0.0-5.0 % of fills past
 * 10 ms against 1.0-12.8 % split in two, docs/performance.md); a bigger
 * one, or one while lane 0 is busy, is split by user, and PostgreSQL
 * fills on as many cores. */
#define LANES 2
#define AFFINITY 4096
#define SPREAD_MIN 32
#define MOVED_MAX 512

/* tradedesk_engine_tick_to_fill_seconds' buckets: fine around the 10 ms
 * the fills aim for (issue 9), up to the seconds a burst of thousands
 * takes. */
static const double FILL_BOUNDS[] = {0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007,
                                     0.008, 0.009, 0.01, 0.0125, 0.015, 0.02,
                                     0.025, 0.03, 0.04, 0.05,
                                     0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0};

#define ORDER_COLUMNS                                                                              \
    "o.id, o.symbol, o.type, o.side, o.trigger_price, o.callback_rate, o.activation_price, "        \
    "o.armed, o.extreme_price, o.user_id"

static const td_db_stmt MONITOR_STMTS[] = {
    {"monitor_listen", "LISTEN " TD_PG_CHANNEL_ORDERS, 0, 1},
    /* The active orders by id, from sql/024's table of them. */
    {"monitor_page",
     "SELECT " ORDER_COLUMNS ", o.updated_at < now() - interval '2 seconds'"
     " FROM active_orders a JOIN conditional_orders o ON o.id = a.order_id"
     " WHERE a.order_id > $1 AND o.status = 'active' ORDER BY a.order_id LIMIT " PAGE_S,
     1, 1},
    {"monitor_one",
     "SELECT " ORDER_COLUMNS " FROM conditional_orders o WHERE o.id = $1 AND o.status = 'active'", 1,
     1},
    /* Idempotent by construction: an order is filled only while active. */
    {"monitor_fill",
     "SELECT order_id, fill_id, outcome, user_id, prev_fill_id, f_id, f_order_id, f_symbol,"
     " f_side, f_quantity, f_price, f_realized_pnl, f_position_id, f_created_ms, f_trace_id"
     " FROM fill_orders($1::bigint, $2::bigint[],"
     " $3::numeric[], ARRAY(SELECT to_timestamp(t / 1000.0) FROM unnest($4::bigint[]) t))",
     4, 1},
    {"monitor_extremes",
     "UPDATE conditional_orders o SET armed = true, extreme_price = v.x, updated_at = now()"
     " FROM unnest($1::bigint[], $2::numeric[]) AS v(id, x)"
     " WHERE o.id = v.id AND o.status = 'active' AND o.type = 'trailing_stop'",
     2, 1},
};

/* Which orders the index holds, by id: its symbol and the load that last
 * saw it.  Open addressing, linear probing, tombstones; grows at 1/2. */
typedef struct slot {
    int64_t id; /* 0 empty, -1 tombstone */
    int64_t user;
    int32_t sym;
    uint32_t epoch;
} slot;

/* An order a load did not find but the index held: out of the index at
 * once, drift only when no notification about it came within
 * NOTIFY_GRACE_MS (the load's snapshot may have seen a change whose
 * notification the server sends after the load's answer). */
#define SUSPECT_MAX 64
#define NOTIFY_GRACE_MS 2000
typedef struct suspect {
    int64_t id, user, due;
    int32_t sym;
} suspect;

typedef struct fire {
    int64_t id;
    td_dec price;
    int64_t tick_ms; /* the firing tick's wall time */
    int64_t tick_ns; /* and monotonic, for the tick -> fill latency */
    uint32_t bucket; /* its user's AFFINITY bucket */
} fire;

struct td_monitor;

/* One fill connection and its batches: what fired and waits, and what is
 * in flight (one fill_orders at a time per lane). */
typedef struct lane {
    struct td_monitor *m;
    td_dbwatch w; /* lane 0's is also the loads', NOTIFYs' and extremes' connection */
    fire *pending;
    size_t npending, cap_pending;
    fire *flight;
    size_t nflight;
    int64_t retry_due;
    unsigned warmed_gen; /* td_db_generation of the connection last warmed, + 1 */
    lws_sorted_usec_list_t flush;
} lane;

struct td_monitor {
    td_engine *e;
    lane lanes[LANES];
    td_oidx **idx; /* per market symbol */
    int nsym;
    uint32_t *check_at;      /* per symbol: where its safety net's round is */
    unsigned char *checking; /* per symbol: a round under way */
    td_ws_timer check; /* a descriptor: 100 wakes a second, ws/loopfd says why */
    slot *map;
    size_t cap, used, live;

    long long token;    /* the lease's token we monitor under; 0: idle */
    unsigned gen_seen;  /* td_db_generation when we last listened */
    int loading;        /* a load is in progress */
    int64_t load_after; /* its keyset position */
    uint32_t epoch;     /* the load's mark */
    int fresh;          /* the load fills an empty index: nothing it adds is drift */
    suspect suspects[SUSPECT_MAX];
    size_t nsuspect;
    int64_t resync_ms, resync_due, second_due;

    td_monitor_stats st;
    td_redis_async *push; /* the fills pushed from their commit */
    td_redis_watch push_watch;
    struct pushed *held, **held_tail; /* their batches until no lane is in flight */
    td_hist tick_to_fill; /* seconds from the firing tick to PostgreSQL's answer */
    int relay_owed; /* committed outbox rows the relay was not yet woken for */
    uint32_t aff_n[AFFINITY];   /* per user bucket: its orders waiting or in flight */
    uint8_t aff_lane[AFFINITY]; /* and the lane they are in */
};

/* ---- what the resyncs corrected, for reconciliation ----------------- */

#define DRIFT_MAX 256

/* Process-wide (one monitor per engine): the monitor's loop adds, the
 * reconciliation job on the relay's jobs thread takes. */
static struct {
    pthread_mutex_t mu;
    td_monitor_drift items[DRIFT_MAX];
    size_t n;
    long long checked, lost; /* orders compared; drift past DRIFT_MAX */
} g_drift = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void drift(td_monitor *m, const char *kind, int64_t id, int64_t user, int sym)
{
    m->st.drift++;
    pthread_mutex_lock(&g_drift.mu);
    if (g_drift.n < DRIFT_MAX) {
        td_monitor_drift *d = &g_drift.items[g_drift.n++];
        d->kind = kind;
        d->order = id;
        d->user = user;
        snprintf(d->symbol, sizeof d->symbol, "%s", td_market_symbol(m->e->market, sym));
    } else {
        g_drift.lost++;
    }
    pthread_mutex_unlock(&g_drift.mu);
}

static void drift_checked(size_t n)
{
    pthread_mutex_lock(&g_drift.mu);
    g_drift.checked += (long long)n;
    pthread_mutex_unlock(&g_drift.mu);
}

size_t td_monitor_drift_take(td_monitor_drift *out, size_t cap, long long *checked,
                             long long *lost)
{
    pthread_mutex_lock(&g_drift.mu);
    size_t n = g_drift.n < cap ? g_drift.n : cap;
    memcpy(out, g_drift.items, n * sizeof *out);
    memmove(g_drift.items, g_drift.items + n, (g_drift.n - n) * sizeof *out);
    g_drift.n -= n;
    *checked = g_drift.checked;
    *lost = g_drift.lost;
    g_drift.checked = g_drift.lost = 0;
    pthread_mutex_unlock(&g_drift.mu);
    return n;
}

/* ---- the id map ---------------------------------------------------- */

static uint64_t mix(int64_t id)
{
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    return x ^ (x >> 29);
}

static slot *map_find(td_monitor *m, int64_t id)
{
    if (!m->cap)
        return NULL;
    for (size_t i = mix(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->map[i].id == id)
            return &m->map[i];
        if (m->map[i].id == 0)
            return NULL;
    }
}

static int map_grow(td_monitor *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    while (m->live * 2 >= cap)
        cap *= 2;
    slot *n = calloc(cap, sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->map[i].id > 0) {
            size_t j = mix(m->map[i].id) & (cap - 1);
            while (n[j].id)
                j = (j + 1) & (cap - 1);
            n[j] = m->map[i];
        }
    free(m->map);
    m->map = n;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

static slot *map_put(td_monitor *m, int64_t id)
{
    if ((m->used + 1) * 2 > m->cap && map_grow(m) != 0)
        return NULL;
    size_t i = mix(id) & (m->cap - 1);
    while (m->map[i].id > 0)
        i = (i + 1) & (m->cap - 1);
    if (m->map[i].id == 0)
        m->used++;
    m->map[i].id = id;
    m->live++;
    return &m->map[i];
}

static void map_del(td_monitor *m, slot *s)
{
    s->id = -1;
    m->live--;
}

/* ---- orders in and out --------------------------------------------- */

static int dec_col(const PGresult *r, int row, int col, td_dec *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return 1;
    }
    const char *v = PQgetvalue(r, row, col);
    return td_dec_parse_number(v, strlen(v), out) == TD_OK;
}

/* One row of ORDER_COLUMNS into the index (marked with the current load);
 * 1 when it was not there before. */
static int add_row(td_monitor *m, const PGresult *r, int row)
{
    int64_t id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
    slot *s = map_find(m, id);
    if (s) {
        s->epoch = m->epoch;
        return 0;
    }
    int sym = td_market_find(m->e->market, PQgetvalue(r, row, 1));
    td_oidx_order o = {.id = id, .armed = PQgetvalue(r, row, 7)[0] == 't'};
    if (sym < 0 || td_order_type_parse(PQgetvalue(r, row, 2), &o.type) != TD_OK ||
        td_order_side_parse(PQgetvalue(r, row, 3), &o.side) != TD_OK ||
        !dec_col(r, row, 4, &o.trigger_price) || !dec_col(r, row, 5, &o.callback_rate) ||
        !dec_col(r, row, 6, &o.activation_price) || !dec_col(r, row, 8, &o.extreme)) {
        m->st.unusable++;
        return 0;
    }
    if (td_oidx_add(m->idx[sym], &o) != TD_OK) {
        m->st.unusable++;
        return 0;
    }
    if (!(s = map_put(m, id))) {
        td_oidx_remove(m->idx[sym], id);
        m->st.unusable++;
        return 0;
    }
    s->sym = sym;
    s->user = strtoll(PQgetvalue(r, row, 9), NULL, 10);
    s->epoch = m->epoch;
    return 1;
}

/* The load missed a held order: drift unless its notification follows. */
static void suspect_add(td_monitor *m, const slot *s, int64_t now)
{
    if (m->nsuspect == SUSPECT_MAX) {
        drift(m, "order_index_extra", s->id, s->user, s->sym);
        return;
    }
    m->suspects[m->nsuspect++] =
        (suspect){.id = s->id, .user = s->user, .sym = s->sym, .due = now + NOTIFY_GRACE_MS};
}

/* Its notification came: not drift. */
static void suspect_heard(td_monitor *m, int64_t id)
{
    size_t keep = 0;
    for (size_t i = 0; i < m->nsuspect; i++)
        if (m->suspects[i].id != id)
            m->suspects[keep++] = m->suspects[i];
    m->nsuspect = keep;
}

/* Those whose grace is over by now, unheard of: drift. */
static void suspects_due(td_monitor *m, int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < m->nsuspect; i++) {
        const suspect *x = &m->suspects[i];
        if (now >= x->due)
            drift(m, "order_index_extra", x->id, x->user, x->sym);
        else
            m->suspects[keep++] = *x;
    }
    m->nsuspect = keep;
}

static void forget(td_monitor *m, int64_t id)
{
    if (m->nsuspect)
        suspect_heard(m, id);
    slot *s = map_find(m, id);
    if (!s)
        return;
    td_oidx_remove(m->idx[s->sym], id);
    map_del(m, s);
}

/* Fired orders that leave their lane (filled, refused, dropped): their
 * users' buckets may move to another lane once empty. */
static void release(td_monitor *m, const fire *f, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        m->aff_n[f[i].bucket]--;
    *n = 0;
}

/* Drop every order (the lease is gone, or before a full load). */
static void clear_all(td_monitor *m)
{
    for (int i = 0; i < m->nsym; i++) {
        td_oidx_free(m->idx[i]);
        m->idx[i] = td_oidx_new(NULL);
        m->checking[i] = 0;
    }
    free(m->map);
    m->map = NULL;
    m->cap = m->used = m->live = 0;
    m->nsuspect = 0;
    for (int k = 0; k < LANES; k++)
        release(m, m->lanes[k].pending, &m->lanes[k].npending);
}

static void watch(td_monitor *m)
{
    td_dbwatch_update(m->e->lws, &m->lanes[0].w);
}

static void send_page(td_monitor *m);

static void on_page(void *arg, td_status st, const PGresult *r)
{
    td_monitor *m = arg;
    if (st != TD_OK) {
        m->loading = 0; /* a new connection or the next resync starts over */
        m->resync_due = td_wall_ms() + RETRY_MS;
        return;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        /* A resync found an order the notifications missed; one changed
         * in the last 2 s may have its notification still on the way. */
        if (add_row(m, r, i) && !m->fresh && PQgetvalue(r, i, 10)[0] == 't') {
            slot *s = map_find(m, id);
            drift(m, "order_index_missing", id, s->user, s->sym);
        }
        m->load_after = id;
    }
    if (n == PAGE) {
        send_page(m);
        return;
    }
    /* The load is complete: what it did not see is no longer active. */
    size_t held = m->live;
    int64_t now = td_wall_ms();
    for (size_t i = 0; i < m->cap; i++)
        if (m->map[i].id > 0 && m->map[i].epoch != m->epoch) {
            suspect_add(m, &m->map[i], now);
            td_oidx_remove(m->idx[m->map[i].sym], m->map[i].id);
            map_del(m, &m->map[i]);
        }
    if (!m->fresh)
        drift_checked(held);
    m->fresh = 0;
    m->loading = 0;
    td_info("monitor: %zu active orders", m->live);
}

static void send_page(td_monitor *m)
{
    char after[24];
    snprintf(after, sizeof after, "%lld", (long long)m->load_after);
    const char *p[] = {after};
    if (td_db_send(m->lanes[0].w.db, "monitor_page", 1, p, on_page, m) != TD_OK) {
        m->loading = 0;
        m->resync_due = td_wall_ms() + RETRY_MS;
    }
    watch(m);
}

static void on_listen(void *arg, td_status st, const PGresult *r)
{
    (void)r;
    td_monitor *m = arg;
    if (st != TD_OK)
        m->gen_seen = 0; /* listen again */
}

/* (Re)load every active order; the LISTEN goes first on a new connection. */
static void start_load(td_monitor *m)
{
    if (m->loading)
        return;
    unsigned gen = td_db_generation(m->lanes[0].w.db);
    if (gen != m->gen_seen || !td_db_ready(m->lanes[0].w.db)) {
        td_db_send(m->lanes[0].w.db, "monitor_listen", 0, NULL, on_listen, m);
        /* Not connected: it runs on the next connection. */
        m->gen_seen = td_db_ready(m->lanes[0].w.db) ? gen : gen + 1;
    }
    m->loading = 1;
    m->load_after = 0;
    m->epoch++;
    m->st.loads++;
    m->resync_due = td_wall_ms() + m->resync_ms;
    send_page(m);
}

static void on_one(void *arg, td_status st, const PGresult *r)
{
    td_monitor *m = arg;
    if (st == TD_OK && PQntuples(r) == 1)
        add_row(m, r, 0);
}

/* conditional_orders changed: {"id","user_id","symbol","status","op"}. */
static void on_notify(void *arg, const char *channel, const char *payload)
{
    td_monitor *m = arg;
    if (!m->token || strcmp(channel, TD_PG_CHANNEL_ORDERS) != 0)
        return;
    m->st.notifications++;
    json_object *o = json_tokener_parse(payload), *id, *status;
    if (o && json_object_object_get_ex(o, "id", &id) &&
        json_object_object_get_ex(o, "status", &status)) {
        const char *ids = json_object_get_string(id);
        if (strcmp(json_object_get_string(status), "active") == 0) {
            const char *p[] = {ids};
            td_db_send(m->lanes[0].w.db, "monitor_one", 1, p, on_one, m);
        } else {
            forget(m, strtoll(ids, NULL, 10));
        }
    }
    json_object_put(o);
}

/* ---- firing -------------------------------------------------------- */

static void flush(lws_sorted_usec_list_t *sul);
static void send_flight(lane *l);

static void schedule_flush(lane *l)
{
    if (!l->nflight && l->npending)
        lws_sul_schedule(l->m->e->lws, 0, &l->flush, flush, 1);
}

static int lane_reserve(lane *l, size_t more)
{
    if (l->npending + more <= l->cap_pending)
        return 0;
    size_t cap = l->cap_pending ? l->cap_pending : 256;
    while (cap < l->npending + more)
        cap *= 2;
    fire *p = realloc(l->pending, cap * sizeof *p);
    if (!p)
        return -1;
    l->pending = p;
    l->cap_pending = cap;
    return 0;
}

static void fired(td_monitor *m, const int64_t *ids, size_t n, td_dec price)
{
    int64_t wall = td_wall_ms(), mono = td_mono_ns();
    if (!n)
        return;
    for (int k = 0; k < LANES; k++)
        if (lane_reserve(&m->lanes[k], n) != 0) {
            td_error("monitor: out of memory for %zu fired orders; the sweep fires them again",
                     n);
            return;
        }
    int spread = n >= SPREAD_MIN || m->lanes[0].nflight || m->lanes[0].npending;
    for (size_t i = 0; i < n; i++) {
        slot *s = map_find(m, ids[i]);
        uint64_t user = s ? (uint64_t)s->user : 0;
        uint32_t b = (uint32_t)(user % AFFINITY);
        if (!m->aff_n[b])
            m->aff_lane[b] = spread ? (uint8_t)(user % LANES) : 0;
        m->aff_n[b]++;
        lane *l = &m->lanes[m->aff_lane[b]];
        if (s)
            map_del(m, s);
        l->pending[l->npending++] = (fire){ids[i], price, wall, mono, b};
    }
    m->st.fired += n;
    for (int k = 0; k < LANES; k++)
        schedule_flush(&m->lanes[k]);
}

/* A batch's fills to push from their commit, then waiting for Redis'
 * answer: each one's user, id, the user's fill before it, and its text
 * (written in the batch's arena). */
typedef struct pushed {
    struct pushed *next; /* the batches held until no lane is in flight */
    td_monitor *m;
    size_t n;
    long long *user, *id, *prev;
    char **fills;
    size_t *lens;
    td_arena text;
} pushed;

static void pushed_free(pushed *p)
{
    td_arena_free(&p->text);
    free(p->user);
    free(p->id);
    free(p->prev);
    free(p->fills);
    free(p->lens);
    free(p);
}

static void on_pushed(void *arg, struct redisReply *reply)
{
    pushed *p = arg;
    td_monitor *m = p->m;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        td_warn("monitor: Redis refused a batch's push (the relay delivers it): %.200s",
                reply->str);
    for (size_t k = 0; k < p->n; k++)
        switch (td_fill_push_result(reply, k)) {
        case 1:
            m->st.pushed++;
            td_business_fill(p->fills[k], p->lens[k]); /* (the relay will not send it) */
            td_relay_pushed(m->e->relay, p->id[k]);
            break;
        case 0:
        case -1:
            m->st.push_relayed++; /* the relay's: there first, or a fill before it to go */
            break;
        default:
            m->st.push_failed++;
        }
    pushed_free(p);
}

/* The answer's column where the fill's row (store/pgjson's TD_FILL_NCOLS
 * columns) begins, after the order, the fill's id, the outcome, the user
 * and the user's fill before. */
#define FILL_ROW_COL 5

/* The batch's fills to push (the answer's columns 3 and 4, the user and
 * the user's fill before, then the fill's row, written as the API shows
 * it), held; NULL when it has none. */
static pushed *fills_of(td_monitor *m, const PGresult *r)
{
    int rows = PQntuples(r);
    if (PQnfields(r) < FILL_ROW_COL + TD_FILL_NCOLS || rows == 0)
        return NULL;
    pushed *p = calloc(1, sizeof *p);
    if (p)
        td_arena_init(&p->text, 16 * 1024);
    size_t cap = (size_t)rows < TD_FILL_PUSH_MAX ? (size_t)rows : TD_FILL_PUSH_MAX;
    if (!p || !(p->user = malloc(cap * sizeof *p->user)) ||
        !(p->id = malloc(cap * sizeof *p->id)) || !(p->prev = malloc(cap * sizeof *p->prev)) ||
        !(p->fills = calloc(cap, sizeof *p->fills)) || !(p->lens = malloc(cap * sizeof *p->lens)))
        goto fail;
    p->m = m;
    for (int i = 0; i < rows && p->n < cap; i++) {
        if (PQgetisnull(r, i, 1) || PQgetisnull(r, i, 3) || PQgetisnull(r, i, 4) ||
            PQgetisnull(r, i, FILL_ROW_COL))
            continue; /* not filled, or no account to number its fills: the relay's */
        td_buf out = {0};
        td_jw w;
        td_jw_init(&w, &p->text, &out);
        if (!td_jw_fill(&w, r, i, FILL_ROW_COL))
            continue; /* (an amount past fixed point: only a hand edit makes one) */
        size_t k = p->n;
        p->fills[k] = out.data;
        p->lens[k] = out.len;
        p->id[k] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        p->user[k] = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        p->prev[k] = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        p->n++;
    }
    if (p->n)
        return p;
    pushed_free(p);
    return NULL;
fail:
    if (p) {
        m->st.push_failed += p->n;
        pushed_free(p);
    }
    return NULL;
}

/* One held batch to Redis, in one command, after its users' caches were
 * made stale; 0, or -1 when it could not be sent (then counted failed). */
static int push_send(td_monitor *m, pushed *p)
{
    td_fill_push *fp = malloc(p->n * sizeof *fp);
    char (*num)[3][24] = malloc(p->n * sizeof *num);
    int ok = fp && num && td_redis_async_ready(m->push);
    for (size_t k = 0; ok && k < p->n; k++) {
        snprintf(num[k][0], sizeof num[k][0], "%lld", p->user[k]);
        snprintf(num[k][1], sizeof num[k][1], "%lld", p->id[k]);
        snprintf(num[k][2], sizeof num[k][2], "%lld-0", p->prev[k]); /* "0-0": the first */
        fp[k] = (td_fill_push){num[k][0], num[k][1], p->fills[k], p->lens[k], num[k][2]};
        if (k == 0 || p->user[k] != p->user[k - 1])
            td_cache_invalidate_user_async(m->push, p->user[k]);
    }
    ok = ok && td_fill_push_async(m->push, fp, p->n, on_pushed, p) == TD_OK;
    free(fp);
    free(num);
    if (!ok) {
        m->st.push_failed += p->n;
        pushed_free(p);
        return -1;
    }
    return 0;
}

/* The held batches out, oldest first. */
static void push_held(td_monitor *m)
{
    int sent = 0;
    while (m->held) {
        pushed *p = m->held;
        m->held = p->next;
        sent |= push_send(m, p) == 0;
    }
    m->held_tail = &m->held;
    if (sent)
        td_ws_redis_service(&m->push_watch); /* written now, not on the next pass */
}

static void on_filled(void *arg, td_status st, const PGresult *r)
{
    lane *l = arg;
    td_monitor *m = l->m;
    if (st == TD_OK) {
        int64_t now = td_mono_ns();
        for (size_t i = 0; i < l->nflight; i++)
            td_hist_observe(&m->tick_to_fill, (double)(now - l->flight[i].tick_ns) / 1e9);
        int outboxed = 0; /* orders whose fill or rejection wrote outbox rows */
        for (int i = 0; i < PQntuples(r); i++) {
            const char *outcome = PQgetvalue(r, i, 2);
            if (strcmp(outcome, "filled") == 0) {
                m->st.filled++;
                outboxed++;
            } else if (strcmp(outcome, "rejected") == 0) {
                m->st.rejected++;
                outboxed++;
            } else {
                m->st.skipped++;
            }
        }
        release(m, l->flight, &l->nflight);
        /* Their fills go to Redis from here, and their outbox rows to the
         * relay, once no other lane's batch is in flight: Redis, the
         * stream and the relay's reads and marks would take a core from a
         * fill still running (the relay's at ten fills a tick: 2.0
         * against 7.5 % of them past 10 ms); the relay's look every
         * IDLE_MS bounds its wait. */
        pushed *p = fills_of(m, r);
        if (p) {
            *m->held_tail = p;
            m->held_tail = &p->next;
        }
        m->relay_owed |= outboxed > 0;
        int busy = 0;
        for (int k = 0; k < LANES; k++)
            busy |= m->lanes[k].nflight > 0;
        if (!busy)
            push_held(m);
        if (m->relay_owed && !busy) {
            td_relay_wake(m->e->relay);
            m->relay_owed = 0;
        }
    } else if (strcmp(td_db_last_sqlstate(l->w.db), "TD001") == 0) {
        /* The fence moved past our token: another engine leads now. */
        td_warn("monitor: PostgreSQL refused %zu fills with a stale token; not leading", l->nflight);
        m->st.fenced += l->nflight;
        release(m, l->flight, &l->nflight);
    } else {
        /* Unreachable or failing: the same orders at the same prices again. */
        m->st.fill_failures++;
        l->retry_due = td_wall_ms() + RETRY_MS;
        return; /* flight kept; sent again after RETRY_MS */
    }
    schedule_flush(l);
}

static void flush(lws_sorted_usec_list_t *sul)
{
    lane *l = lws_container_of(sul, lane, flush);
    if (l->nflight || !l->npending || !l->m->token)
        return;
    size_t n = l->npending < BATCH_MAX ? l->npending : BATCH_MAX;
    fire *f = malloc(n * sizeof *f);
    if (!f)
        return; /* the next fire or tick tries again */
    memcpy(f, l->pending, n * sizeof *f);
    memmove(l->pending, l->pending + n, (l->npending - n) * sizeof *l->pending);
    l->npending -= n;
    free(l->flight);
    l->flight = f;
    l->nflight = n;
    send_flight(l);
}

/* The lane's batch in flight, sent (again, after a failure: the tick). */
static void send_flight(lane *l)
{
    td_arena a;
    td_arena_init(&a, 64 * 1024);
    td_pg_cols c;
    td_pg_cols_init(&c, &a, 3);
    for (size_t i = 0; i < l->nflight; i++) {
        td_pg_col_int(&c, 0, (long long)l->flight[i].id);
        td_pg_col_dec(&c, 1, l->flight[i].price);
        td_pg_col_int(&c, 2, (long long)l->flight[i].tick_ms);
    }
    char token[24];
    snprintf(token, sizeof token, "%lld", l->m->token);
    const char *p[4] = {token};
    td_pg_cols_params(&c, p + 1);
    l->retry_due = td_db_send(l->w.db, "monitor_fill", 4, p, on_filled, l) != TD_OK
                       ? td_wall_ms() + RETRY_MS
                       : 0;
    td_arena_free(&a); /* td_db_send copied the parameters */
    /* Out at once, not on the next timer (never called from inside
     * td_db_service: from the flush timer or the engine's tick). */
    td_db_service(l->w.db);
    td_dbwatch_update(l->m->e->lws, &l->w);
}

/* The warm-up's answer: nothing to count (a stale token or an error is the
 * real batches' to report). */
static void on_warmed(void *arg, td_status st, const PGresult *r)
{
    (void)arg;
    (void)st;
    (void)r;
}

/* A lane's connection, once per connection while leading: fill_orders
 * over order 0, which no order has, so it fills nothing and leaves its
 * statements planned. */
static void warm(lane *l)
{
    unsigned gen = td_db_generation(l->w.db);
    if (!td_db_ready(l->w.db) || l->warmed_gen == gen + 1)
        return;
    char token[24];
    snprintf(token, sizeof token, "%lld", l->m->token);
    const char *p[4] = {token, "{0}", "{1}", "{0}"};
    if (td_db_send(l->w.db, "monitor_fill", 4, p, on_warmed, l) == TD_OK)
        l->warmed_gen = gen + 1;
}

/* The market's tick: a symbol's chosen price changed. */
static void on_price(void *arg, int sym, td_dec price, int64_t now_ms)
{
    (void)now_ms;
    td_monitor *m = arg;
    if (!m->token || sym < 0 || sym >= m->nsym)
        return;
    const int64_t *ids;
    size_t n;
    m->st.ticks++;
    if (td_oidx_on_price(m->idx[sym], price, &ids, &n) == TD_OK)
        fired(m, ids, n, price);
}

/* ---- once a second ------------------------------------------------- */

static void on_extremes(void *arg, td_status st, const PGresult *r)
{
    (void)r;
    td_monitor *m = arg;
    if (st != TD_OK)
        m->st.extreme_failures++;
}

/* A slice of each symbol's round: what it finds due, the sweep repairs
 * (and fires) at the current price. */
static void check_slice(td_ws_timer *t)
{
    td_monitor *m = lws_container_of(t, td_monitor, check);
    int more = 0;
    for (int i = 0; i < m->nsym; i++) {
        if (!m->checking[i] || !m->idx[i])
            continue;
        /* A round within about a second. */
        uint32_t budget = td_oidx_check_budget(m->idx[i], SECOND_MS / CHECK_MS);
        int done = 0;
        size_t due = td_oidx_check(m->idx[i], &m->check_at[i], budget, &done);
        td_price_update p;
        if (due && td_market_price(m->e->market, i, &p) && !p.stale) {
            const int64_t *ids_fired;
            size_t n, missed = 0;
            if (td_oidx_sweep(m->idx[i], p.price, &ids_fired, &n, &missed) == TD_OK) {
                m->st.sweep_missed += missed;
                fired(m, ids_fired, n, p.price);
            }
            done = 1; /* the sweep looked at every order */
        }
        m->checking[i] = !done;
        more |= !done;
    }
    if (more)
        td_ws_timer_schedule(&m->check, CHECK_MS * 1000);
}

static void second(td_monitor *m, int64_t now)
{
    if (m->nsuspect)
        suspects_due(m, now);
    td_oidx_moved mv[MOVED_MAX];
    int rounds = 0;
    for (int i = 0; i < m->nsym; i++) {
        td_price_update p;
        if (td_market_price(m->e->market, i, &p) && !p.stale) {
            const int64_t *ids_fired;
            size_t n;
            if (td_oidx_on_price(m->idx[i], p.price, &ids_fired, &n) == TD_OK)
                fired(m, ids_fired, n, p.price);
            if (!m->checking[i]) { /* (a round still under way goes on) */
                m->checking[i] = 1;
                m->check_at[i] = 0;
            }
            rounds = 1;
        }
        size_t k;
        while ((k = td_oidx_take_moved(m->idx[i], now, mv, MOVED_MAX)) > 0) {
            td_arena a;
            td_arena_init(&a, 16 * 1024);
            td_pg_cols c;
            td_pg_cols_init(&c, &a, 2);
            for (size_t j = 0; j < k; j++) {
                td_pg_col_int(&c, 0, (long long)mv[j].id);
                td_pg_col_dec(&c, 1, mv[j].extreme);
            }
            const char *params[2];
            td_pg_cols_params(&c, params);
            td_db_send(m->lanes[0].w.db, "monitor_extremes", 2, params, on_extremes, m);
            td_arena_free(&a);
            m->st.extremes_saved += k;
            if (k < MOVED_MAX)
                break;
        }
    }
    if (rounds)
        td_ws_timer_schedule(&m->check, 0);
}

/* ---- life ---------------------------------------------------------- */

td_monitor *td_monitor_new(td_engine *e)
{
    td_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->e = e;
    m->resync_ms = (int64_t)e->cfg.monitor_resync_s * 1000;
    td_hist_init(&m->tick_to_fill, FILL_BOUNDS, TD_ARRAY_LEN(FILL_BOUNDS));
    m->nsym = td_market_nsymbols(e->market);
    m->idx = calloc((size_t)m->nsym, sizeof *m->idx);
    m->check_at = calloc((size_t)m->nsym, sizeof *m->check_at);
    m->checking = calloc((size_t)m->nsym, 1);
    const td_db_stmts parts[] = {{MONITOR_STMTS, TD_ARRAY_LEN(MONITOR_STMTS)}};
    td_db_opts o = {.conninfo = e->cfg.database_url,
                    .application_name = "tradedesk-engine monitor",
                    .statement_timeout_ms = e->cfg.db_timeout_ms,
                    .nonblocking = 1};
    m->held_tail = &m->held;
    m->push = td_redis_async_open(e->cfg.redis_url, e->cfg.redis_timeout_ms);
    m->push_watch = (td_redis_watch){.r = m->push, .lws = e->lws, .loop.fd = -1};
    int ok = m->idx && m->check_at && m->checking && m->push &&
             td_ws_timer_init(e->lws, &m->check, check_slice) == 0;
    for (int k = 0; k < LANES; k++) {
        lane *l = &m->lanes[k];
        l->m = m;
        l->w.loop.fd = -1;
        ok &= (l->w.db = td_db_open(&o, parts, 1)) != NULL;
    }
    if (!ok) {
        td_monitor_free(m);
        return NULL;
    }
    for (int i = 0; i < m->nsym; i++)
        if (!(m->idx[i] = td_oidx_new(NULL))) {
            td_monitor_free(m);
            return NULL;
        }
    td_db_on_notify(m->lanes[0].w.db, on_notify, m);
    td_market_on_price(e->market, on_price, m);
    return m;
}

void td_monitor_tick(td_monitor *m, int64_t now)
{
    long long token = td_relay_leader_token(m->e->relay);
    if (token != m->token) {
        if (!token) {
            td_info("monitor: not leading; %zu orders dropped", m->live);
            clear_all(m);
        } else if (!m->token) {
            td_info("monitor: leading (token %lld); loading the active orders", token);
        }
        m->token = token;
        if (token) {
            m->loading = 0;
            clear_all(m);
            start_load(m);
            m->fresh = 1;
        }
    }
    if (m->token) {
        if (td_db_generation(m->lanes[0].w.db) != m->gen_seen && td_db_ready(m->lanes[0].w.db)) {
            m->loading = 0; /* a new connection: notifications may be lost */
            start_load(m);
        } else if (!m->loading && now >= m->resync_due) {
            start_load(m);
        }
        for (int k = 0; k < LANES; k++) {
            lane *l = &m->lanes[k];
            warm(l);
            if (l->nflight && l->retry_due && now >= l->retry_due)
                send_flight(l);
        }
        if (now >= m->second_due) {
            m->second_due = now + SECOND_MS;
            second(m, now);
        }
    }
    for (int k = 0; k < LANES; k++) {
        td_db_service(m->lanes[k].w.db);
        td_dbwatch_update(m->e->lws, &m->lanes[k].w);
    }
    int busy = 0;
    for (int k = 0; k < LANES; k++)
        busy |= m->lanes[k].nflight > 0;
    if (m->held && !busy) /* (a batch the fence refused left the last lane idle) */
        push_held(m);
    td_ws_redis_service(&m->push_watch); /* connects, times out, reconnects */
}

void td_monitor_stats_get(const td_monitor *m, td_monitor_stats *out)
{
    *out = m->st;
    out->active = m->live;
    out->pending = 0;
    for (int k = 0; k < LANES; k++)
        out->pending += m->lanes[k].npending + m->lanes[k].nflight;
}

void td_monitor_render(const td_monitor *m, td_arena *a, td_buf *b)
{
    td_hist_render(&m->tick_to_fill, a, b, "tradedesk_engine_tick_to_fill_seconds",
                   "The tick that fired an order to PostgreSQL's answer to its fill batch.");
}

void td_monitor_free(td_monitor *m)
{
    if (!m)
        return;
    /* Pushes not yet answered end here (on_pushed with no reply), while m
     * is whole; then the loop must not point at the watch. */
    td_ws_loop_fd_release(&m->push_watch.loop);
    td_redis_async_close(m->push);
    while (m->held) {
        struct pushed *p = m->held;
        m->held = p->next;
        pushed_free(p);
    }
    for (int k = 0; k < LANES && m->e && m->e->lws; k++)
        lws_sul_cancel(&m->lanes[k].flush);
    td_ws_timer_release(&m->check);
    if (m->e && m->e->market)
        td_market_on_price(m->e->market, NULL, NULL);
    if (m->idx)
        for (int i = 0; i < m->nsym; i++)
            td_oidx_free(m->idx[i]);
    free(m->idx);
    free(m->check_at);
    free(m->checking);
    /* The loop closes its adoption later (lws_context_destroy): by then it
     * must not point at this memory. */
    for (int k = 0; k < LANES; k++) {
        td_ws_loop_fd_release(&m->lanes[k].w.loop);
        td_db_close(m->lanes[k].w.db);
        free(m->lanes[k].pending);
        free(m->lanes[k].flight);
    }
    free(m->map);
    free(m);
}
