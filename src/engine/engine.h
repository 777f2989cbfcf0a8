/*
 * engine.h - tradedesk-engine's state, shared by its files: the market,
 * the feeds, the connections the publisher writes through, and counters.
 *
 * One libwebsockets event loop owns all of it (main.c); nothing here is
 * touched from another thread.
 */
#ifndef TD_ENGINE_ENGINE_H
#define TD_ENGINE_ENGINE_H

#include <libwebsockets.h>
#include <stdatomic.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/jsonw.h"
#include "domain/market_alert.h"
#include "domain/reconcile.h"
#include "engine/feeds/sim.h"
#include "engine/market.h"
#include "store/db.h"
#include "store/redis.h"
#include "store/redis_async.h"
#include "ws/loopfd.h"

#define TD_ENGINE_MAX_SOURCES TD_ORACLE_MAX_SOURCES

typedef struct td_feed_state {
    char name[32];     /* "sim", "binance", ... as in TRADEDESK_FEEDS */
    const char *state; /* connected, disconnected, reconnecting, error */
    uint64_t messages; /* messages (or sim steps) received */
    uint64_t events;   /* market events they held */
    uint64_t parse_errors;
    uint64_t reconnects;
    int64_t last_ms; /* when the last message arrived (0: never) */
    int64_t lag_ms;  /* event time -> receive time of the last event */
} td_feed_state;

typedef struct td_relay td_relay;
typedef struct td_monitor td_monitor;
typedef struct td_alerts td_alerts;

typedef struct td_engine {
    td_config cfg;
    td_market *market;
    td_db *db;                /* non-blocking face, serviced from the loop */
    td_db *boot_db;           /* blocking, only while starting */
    td_redis_async *aredis;   /* the publisher's non-blocking connection (ws/loopfd) */
    struct td_publisher *pub; /* publish.c's own state */
    struct lws_context *lws;
    td_ws_timer tick;                    /* descriptors (ws/loopfd says why) */
    lws_sorted_usec_list_t candle_slice; /* publish.c: the candle round's next slice */
    td_ws_timer latest_due;              /* publish.c: a throttled latest-value SET's time */
    td_dbwatch db_watch;        /* the publisher's PostgreSQL socket in the loop (ws/loopfd) */
    td_redis_watch redis_watch; /* the publisher's Redis socket in the loop (ws/loopfd) */

    int nsources;
    td_feed_state feeds[TD_ENGINE_MAX_SOURCES];
    td_sim sim;
    int sim_source;                   /* index of "sim" in feeds, -1 when not configured */
    int venue[TD_ENGINE_MAX_SOURCES]; /* td_venue of each source, 0 for sim and replay */
    int replay_source;                /* index of "replay" in feeds, -1 none */
    char replay_path[256];

    td_relay *relay;        /* relay.c: the outbox relay's thread */
    td_monitor *monitor;    /* monitor.c: the conditional orders */
    struct td_guard *guard; /* guard.c: the drawdown guard's thread */
    td_alerts *alerts;      /* alerts.c: the market-condition alerts */
    int64_t last_flush_ms;
    int64_t feeds_sent_ms;   /* snapshot.c */
    int64_t history_slot_ms; /* history.c: the last interval sampled */
    int64_t retention_ms[5]; /* retention.c: each rule's last pass */
    uint64_t db_writes, db_failures, redis_failures;
    volatile int stopping;
} td_engine;

/* publish.c: write what changed to Redis and PostgreSQL, never waiting on
 * either.  publish_redis after every pass of the loop (prices and trades,
 * coalesced per pass, one pipeline at a time); publish_db on the timer
 * (prices_latest and candles).  init before the loop (TD_ENOMEM). */
extern const td_db_stmt td_engine_stmts[];
extern const size_t td_engine_nstmts;
td_status td_engine_publish_init(td_engine *e);
void td_engine_publish_redis(td_engine *e);
/* e->latest_due fired: the throttled keys go (td_engine_publish_redis). */
void td_engine_on_latest_due(td_ws_timer *t);
void td_engine_publish_db(td_engine *e, int64_t now_ms);
void td_engine_publish_free(td_engine *e);
/* Symbol k's latest value of a kind changed (json, its rendering): PUBLISH
 * on the kind's channel now; SET <prefix><symbol> (EX 1 day) now or, when
 * it was set less than TD_LATEST_EVERY_MS ago, by td_engine_publish_redis
 * once that time has passed (the value then rendered again).  Appended to
 * the pass's pipeline. */
typedef enum td_latest_kind { TD_LATEST_PRICE, TD_LATEST_BOOK, TD_LATEST_KINDS } td_latest_kind;
#define TD_LATEST_EVERY_MS 100
void td_engine_redis_latest(td_engine *e, td_latest_kind kind, int k, const char *json, size_t len,
                            int64_t now_ms);
/* snapshot.c: symbol k's top of book as td:book:<sym> holds it. */
void td_engine_book_json(const td_engine *e, int k, td_arena *a, td_buf *b);
/* A source index's name as TRADEDESK_FEEDS spells it; "median" for the
 * median oracle's choice (-2) and anything else out of range. */
const char *td_engine_source_name(const td_engine *e, int source);
/* PUBLISH channel json, appended to the pass's pipeline (never waits). */
void td_engine_redis_publish(td_engine *e, const char *channel, const char *json, size_t len);
/* A write's answer (td_db_done_fn; arg: the engine): counted in
 * db_writes or db_failures. */
void td_engine_db_written(void *arg, td_status st, const PGresult *res);
/* Prometheus lines of the publisher (Redis commands, pipelines, latency). */
void td_engine_publish_metrics(td_engine *e, td_arena *a, td_buf *b);

/* publish.c: the publisher's Redis socket in the loop (ws/loopfd).
 * service: read, write, time out and reconnect, then (re)adopt the socket
 * as needed. */
void td_engine_redis_service(td_engine *e);

/* publish.c: Redis pipelines the publisher keeps in flight; a pass's
 * changes wait for a free one (latency.c keeps one mark each).  Eight, not
 * two: with two, messages waited in the engine for a reply (receive ->
 * sent p99 5.7-7.9 ms against 4.7-4.8 on a quiet machine, docs/performance.md,
 * the fourth round). */
#define TD_PUBLISH_IN_FLIGHT 8

/* latency.c: receive -> Redis-confirmed latency of feed messages.  The
 * feed protocol with its receive callback timed (main.c registers it);
 * seal: the messages received so far ride on the pipeline being sent
 * (returns the mark to confirm); unsent: those since the last seal carried
 * nothing; confirm: the pipeline up to mark was answered (ok) or lost. */
struct lws_protocols td_engine_timed_feed_protocol(void);
uint64_t td_engine_latency_seal(void);
void td_engine_latency_unsent(void);
void td_engine_latency_confirm(uint64_t upto, int ok);
void td_engine_latency_render(td_arena *a, td_buf *b);
/* The 100 ms timer callback took took_ns, cpu_ns of them on a core
 * (tradedesk_engine_tick_seconds, tradedesk_engine_tick_cpu_seconds). */
void td_engine_latency_tick(int64_t took_ns, int64_t cpu_ns);

/* snapshot.c: append the changed tops of book and (once a second) the
 * feeds' state to the publisher's Redis pipeline; returns the commands
 * appended.  td_engine_feeds_json writes the feeds array /health shows
 * (any_fresh, when not NULL, set to 1 if a feed spoke within the stale
 * limit). */
int td_engine_snapshot_append(td_engine *e, td_arena *a, int64_t now_ms);
void td_engine_feeds_json(const td_engine *e, td_jw *w, int64_t now_ms, int *any_fresh);

/* history.c: sample prices into price_history and apply its retention;
 * call on the timer. */
extern const td_db_stmt td_history_stmts[];
extern const size_t td_history_nstmts;
void td_engine_history(td_engine *e, int64_t now_ms);

/* retention.c: old rows of price_history, idempotency_keys and outbox
 * deleted in bounded batches (on the publisher's round). */
extern const td_db_stmt td_retention_stmts[];
extern const size_t td_retention_nstmts;
void td_engine_retention(td_engine *e, int64_t now_ms);
/* relay.c: how many of the newest published outbox rows it adds to the
 * Streams again after a Redis restart (retention keeps them). */
#define TD_RELAY_RESTORE_ROWS "50000"

/* relay.c: the outbox relay, a thread with its own connections (PostgreSQL
 * outbox rows → the user's Redis Stream and the td:fills channel).  start:
 * NULL when it cannot (logged by the caller); stop: after the batch in
 * hand, then joins. */
typedef struct td_relay_stats {
    unsigned long long published, duplicates, failures;
    unsigned long long restored; /* Stream entries a restarted Redis had lost, added again */
} td_relay_stats;
td_relay *td_relay_start(const td_config *cfg);
void td_relay_stop(td_relay *r);
/* Any thread: outbox rows were just committed (the monitor's fills); the
 * relay looks now instead of at its next idle look (NULL: nothing). */
void td_relay_wake(td_relay *r);
/* The monitor pushed this fill to Redis from its commit (store/fillpush
 * said added): the relay marks its row without sending it again. */
void td_relay_pushed(td_relay *r, long long fill_id);
td_relay_stats td_relay_stats_get(const td_relay *r);
/* tradedesk_engine_relay_wake_to_published_seconds (any thread). */
void td_relay_render(td_relay *r, td_arena *a, td_buf *b);
/* The fencing token this engine fires orders with; 0 while it does not
 * lead (lease.c; the relay's thread keeps the lease). */
long long td_relay_leader_token(const td_relay *r);

/* recon.c: the reconciliation job, stepped on the relay's jobs thread with
 * its connections: a run every interval while this engine leads (the first a
 * whole interval after it starts leading).  init: TD_EINVAL (logged) when
 * the tolerances are inconsistent. */
typedef struct td_recon {
    int64_t interval_ms; /* 0: never */
    int64_t due_ms;      /* monotonic; 0 until leading */
    td_recon_tolerance tol;
} td_recon;
extern const td_db_stmt td_recon_stmts[];
extern const size_t td_recon_nstmts;
td_status td_recon_init(td_recon *rc, const td_config *cfg);
/* What lets a run compare the Streams: hold(ctx, rd) is 1, and holds them
 * until release(ctx), when rd's Redis process is the one the relay
 * restored them into and no restore runs (relay.c); 0 skips the
 * comparison this run. */
typedef struct td_recon_gate {
    int (*hold)(void *ctx, td_redis *rd);
    void (*release)(void *ctx);
    void *ctx;
} td_recon_gate;
void td_recon_step(td_recon *rc, td_db *db, td_redis *rd, const td_recon_gate *gate,
                   int64_t now_ms, int leading);
/* Runs and divergences by kind and level, in Prometheus' text format. */
void td_recon_render(td_arena *a, td_buf *b);

/* guard.c: the drawdown guard, a thread with its own PostgreSQL
 * connection that, while this engine leads (the relay's lease), snapshots
 * every user's equity every TRADEDESK_GUARD_INTERVAL_S and acts on a
 * critical drawdown.  start: NULL (logged) when the thresholds are
 * inconsistent or it cannot; stop: after the run in hand, then joins. */
typedef struct td_guard td_guard;
extern const td_db_stmt td_guard_stmts[];
extern const size_t td_guard_nstmts;
td_guard *td_guard_start(const td_config *cfg, const td_relay *relay);
void td_guard_stop(td_guard *g);
/* Runs (with their duration), failures, snapshots and events by kind, in
 * Prometheus' text format. */
void td_guard_render(const td_guard *g, td_arena *a, td_buf *b);

/* business.c: fills, notional and realized P&L per symbol (counted by the
 * relay per fill delivered; payload = the outbox's Fill JSON) and orders by
 * state and the outbox backlog (set by the relay's jobs thread), rendered on
 * the engine's /metrics. */
#define TD_ORDER_STATES 6
extern const char *const td_order_state_names[TD_ORDER_STATES];
void td_business_fill(const char *payload, size_t len);
void td_business_gauges(const long long orders[TD_ORDER_STATES], long long backlog);
void td_business_render(td_arena *a, td_buf *b);
/* The outbox backlog the leader last read; 0 when not known (into *known). */
long long td_business_backlog(int *known);

/* monitor.c: the conditional-order monitor (after the market exists; its
 * own PostgreSQL connection on the loop).  tick: on the engine's timer. */
typedef struct td_monitor_stats {
    unsigned long long ticks, fired, filled, rejected, skipped, fenced, fill_failures;
    unsigned long long loads, drift, notifications, unusable, sweep_missed;
    unsigned long long extremes_saved, extreme_failures;
    unsigned long long pushed, push_relayed, push_failed; /* fills pushed from their commit */
    size_t active, pending;
} td_monitor_stats;
td_monitor *td_monitor_new(td_engine *e);
void td_monitor_tick(td_monitor *m, int64_t now_ms);
void td_monitor_stats_get(const td_monitor *m, td_monitor_stats *out);
/* The tick -> fill latency histogram, in Prometheus' text format. */
void td_monitor_render(const td_monitor *m, td_arena *a, td_buf *b);
void td_monitor_free(td_monitor *m);
/* What the monitor's resyncs corrected since the last call, for the
 * reconciliation job (any thread): up to cap orders, how many orders the
 * resyncs compared (*checked) and how many differences did not fit the
 * report (*lost). */
typedef struct td_monitor_drift {
    const char *kind; /* order_index_missing, order_index_extra; static */
    int64_t order, user;
    char symbol[TD_SYMBOL_STR_MAX];
} td_monitor_drift;
size_t td_monitor_drift_take(td_monitor_drift *out, size_t cap, long long *checked,
                             long long *lost);

/* lease.c: the leader lease (Redis, with a fencing token PostgreSQL
 * checks), TRADEDESK_LEADER_LEASE_MS long; stepped every third of it on
 * the relay's thread. */
typedef struct td_lease {
    char id[160]; /* host/pid/nonce */
    int lease_ms, renew_ms;
    atomic_llong token; /* while leading, else 0: read from any thread */
    long long held;     /* the token this thread holds */
    long long floor;    /* PostgreSQL's fence as last seen: tokens must exceed it */
    int64_t renewed_ms; /* monotonic: the last successful renewal */
    unsigned long long acquired;
} td_lease;
extern const td_db_stmt td_lease_stmts[];
extern const size_t td_lease_nstmts;
void td_lease_init(td_lease *l, int lease_ms);
void td_lease_step(td_lease *l, td_redis *rd, td_db *db);
void td_lease_release(td_lease *l, td_redis *rd);

/* alerts.c: the market-condition alerts (domain/market_alert.h) of every
 * symbol, judged on each market event (the market's on_event listener,
 * O(1)) and on the timer (tick: stale feeds, clears; then the log lines,
 * counters and, while leading, market_alerts and td:alerts).  new: after
 * the market; NULL with err (TD_EINVAL settings, or out of memory).
 * configure: SIGHUP's thresholds (the window on restart). */
extern const td_db_stmt td_alert_stmts[];
extern const size_t td_alert_nstmts;
td_status td_alerts_rules(const td_config *c, td_alert_rule out[TD_ALERT_KINDS], char *err,
                          size_t cap);
td_alerts *td_alerts_new(td_engine *e, char *err, size_t cap);
td_status td_alerts_configure(td_alerts *a, const td_config *c, char *err, size_t cap);
void td_alerts_tick(td_alerts *a, int64_t now_ms);
void td_alerts_render(const td_alerts *a, td_arena *ar, td_buf *b);
void td_alerts_free(td_alerts *a);

/* http.c: the protocol serving GET /health and GET /metrics. */
extern const struct lws_protocols td_engine_http_protocol;

/* adapter.c: a ws/venue client per exchange of TRADEDESK_FEEDS.
 * td_engine_venue: the td_venue of a feed name, 0 when it is not one.
 * td_engine_adapters_stop: no more reconnects; every venue unsubscribes
 * and closes (the loop is served for at most a second meanwhile). */
extern const struct lws_protocols td_engine_feed_protocol;
int td_engine_venue(const char *name);
td_status td_engine_adapter_start(td_engine *e, int source, int venue);
void td_engine_adapters_stop(td_engine *e); /* SIGTERM */
void td_engine_adapters_free(td_engine *e); /* after the context is gone */

/* replay.c: TRADEDESK_FEEDS=replay:FILE, a recording played back through
 * the parsers.  open at start (TD_EINVAL: unreadable), step on the timer. */
td_status td_engine_replay_open(td_engine *e, int source, const char *path);
void td_engine_replay_step(td_engine *e, int64_t now_ms);
void td_engine_replay_free(void);

/* publish.c: the publisher's PostgreSQL socket in the loop.  Call after
 * td_db_service or td_db_send: (re)adopts the socket and asks for
 * writability as needed (ws/loopfd's td_dbwatch_update does it for any). */
void td_engine_db_watch(td_engine *e);

#endif
