/*
 * stream.h - tradedesk-stream's state, shared by its files: the
 * per-vhost state (one td_stream: settings, the Redis and PostgreSQL
 * connections, the channel registry, counters) and the per-session state
 * of each WebSocket (td_sock: who it is, what it subscribed to, its
 * bounded outgoing queue).
 *
 * The shape is libwebsockets' minimal-ws-server-ring's: the protocol
 * callback in its own file (protocol.c), per-session and per-vhost
 * structs, a bounded queue per client with laggards culled.  One
 * libwebsockets loop owns everything (main.c); nothing here is touched
 * from another thread, and nothing on it waits for Redis or PostgreSQL:
 * a read is sent and its operation goes on in the reply (td_wait).
 *
 * Files: main.c (settings, signals, the loop, the timer), protocol.c (the
 * lws callback: frames in, the queue out, limits), message.c (a client's
 * message parsed and checked, pure), ops.c (auth,
 * subscribe, unsubscribe, ping), channels.c (the registry, Redis pub/sub
 * in, fan-out, snapshots), events.c (the user's fills and orders: replay
 * from the user's Streams and PostgreSQL, live without gap or duplicate),
 * http.c (/health, /metrics).
 */
#ifndef TD_STREAM_STREAM_H
#define TD_STREAM_STREAM_H

#include <libwebsockets.h>
#include <stdint.h>

#include "core/config.h"
#include "core/token.h"
#include "store/db.h"
#include "store/redis.h"
#include "store/redis_async.h"
#include "store/session.h"
#include "stream/message.h"
#include "ws/http.h"
#include "ws/loopfd.h"

#define TD_STREAM_PROTOCOL "td-stream"
#define TD_STREAM_CONTROL_SLACK 8 /* queue room beyond the limit for replies and errors */
#define TD_STREAM_GARBAGE_MAX 5   /* bad messages in a row before the socket is closed */

/* A message as it goes out: LWS_PRE bytes of headroom, then the JSON.
 * Shared by every socket it is queued on (a price fans out once). */
typedef struct td_msg {
    int refs;
    size_t len;
    unsigned char buf[]; /* LWS_PRE + len + 1 */
} td_msg;
/* A message holding json (len bytes), one reference.  NULL on OOM. */
td_msg *td_msg_new(const char *json, size_t len);
void td_msg_unref(td_msg *m);

struct td_sock;
struct td_stream;
struct td_check;

/* An operation waiting for Redis or PostgreSQL on a socket's behalf (an
 * auth's session check, a subscribe's log bounds, a replay's page, a
 * snapshot): the first member of the operation's own struct, passed to
 * the reply callback.  s becomes NULL when the socket closes (lws frees
 * its memory), so a late reply never touches it: the callback frees the
 * wait and returns.  Nothing the loop runs ever waits for a reply. */
typedef struct td_wait {
    struct td_stream *st;
    struct td_sock *s;            /* NULL: the socket closed meanwhile */
    struct td_wait *prev, *next;  /* the socket's waits */
} td_wait;
/* size bytes (a struct beginning with a td_wait) zeroed and linked to s;
 * NULL on OOM. */
void *td_wait_new(struct td_stream *st, struct td_sock *s, size_t size);
/* Unlinked and freed: the reply callback's last act. */
void td_wait_free(td_wait *w);

/* A client message that arrived while the socket's earlier one was still
 * being answered (td_sock.held): kept, in order, until it is. */
typedef struct td_deferred {
    struct td_deferred *next;
    size_t len;
    char text[];
} td_deferred;
#define TD_STREAM_DEFER_MAX 32

/* A user's event channels (events.c): fills and orders. */
enum { TD_LOG_FILLS, TD_LOG_ORDERS, TD_LOGS };
/* Where a socket is in one of them: the newest event id delivered (or the
 * replay's starting point; live events at or below it are dropped), and
 * while a replay reads PostgreSQL (pg), up to which id (0: no bound). */
typedef struct td_log_pos {
    long long last, pg_until;
    int pg;
    int fetching; /* a page is being read (one at a time) */
    int starting; /* the subscribe's bounds are being read: no page yet */
    long long seen; /* the newest live event held back while replaying */
    int hold;     /* the subscribe's hold on the socket's messages, until its first pages */
    unsigned gen; /* counts subscribes: a page read for an earlier one is dropped */
} td_log_pos;

/* One channel's subscribers.  Clients' names ("prices:BTC-USDT",
 * "fills") are keyed as they are; a user's fills are "fills#<id>", a
 * user's sockets "user#<id>", a session's "sid#<sid>" (a sid is at most 63
 * characters) and an address's "addr#<address>". */
typedef struct td_channel {
    char name[72];
    td_chan_kind kind;
    struct td_sock **members;
    int n, cap;
    /* A market channel's latest message data as the engine published it
     * (malloc'd; NULL before the first): the subscribe snapshot, so that
     * only a channel's first subscriber asks Redis. */
    char *last;
    size_t last_len;
    uint64_t pushes; /* messages fanned out: a snapshot read before one is stale */
    struct td_channel *next; /* hash chain */
} td_channel;

/* What a socket subscribed to; pending_seq: the queue entry holding this
 * channel's latest unsent market message (conflation), or UINT64_MAX. */
typedef struct td_sub {
    td_channel *ch;
    char name[64]; /* the client's name ("fills" for fills#<id>) */
    uint64_t pending_seq;
} td_sub;

typedef struct td_qent {
    td_msg *m;      /* NULL: dropped (its channel was unsubscribed) */
    td_channel *ch; /* conflatable market message of this channel, else NULL */
    int64_t at_ms;  /* when it was queued (monotonic): how far behind the socket is */
} td_qent;

/* A socket whose oldest unsent message has waited longer than this is
 * slow: its market messages conflate (the latency bar, tick to socket). */
#define TD_STREAM_SLOW_MS 10

typedef struct td_sock {
    td_ws_http http; /* first: an HTTP request (/health) uses the same memory */
    struct lws *wsi;
    struct td_sock *prev, *next; /* every open socket */
    td_channel *addr;            /* addr#<client address>: the sockets from there */
    td_channel *session;         /* sid#<sid> once authenticated: revocation finds it */
    int authed;
    int64_t user_id, exp;
    char sid[64];
    td_sub *subs; /* grown as needed, at most TRADEDESK_STREAM_MAX_SUBSCRIPTIONS */
    int nsubs, subcap;
    /* The outgoing queue: a ring; entry seq s sits at s % qcap while
     * popped <= s < pushed.  It grows with the backlog up to qmax
     * (qlimit, TRADEDESK_STREAM_QUEUE, plus room for replies); none is
     * allocated while nothing waits. */
    td_qent *q;
    int qcap, qmax, qlimit;
    uint64_t pushed, popped;
    /* A message arriving in fragments, joined (NULL otherwise), and limits. */
    char *rx;
    size_t rxlen;
    int rx_too_big;
    double tokens;
    int64_t tokens_ms;
    int flood_strikes, garbage;
    td_log_pos log[TD_LOGS];
    unsigned replaying; /* bit k: replaying log k (events.c): its live events wait */
    int closing; /* close once the queue is written */
    uint16_t close_code;
    td_wait *waits; /* operations waiting for a reply on its behalf */
    /* Operations still answering one of its messages (an auth, a
     * subscribe's reads): later messages wait in dq, so every client
     * message is answered in the order sent. */
    int held, draining, ndq;
    td_deferred *dq, *dq_tail;
} td_sock;

typedef struct td_stream_stats {
    uint64_t connections_total, messages_in, messages_out, conflated, dropped, resyncs;
    uint64_t redis_messages, redis_gaps, replays, replayed, replay_retries, revoked_closes,
        expired_closes;
    uint64_t bad_messages, rate_limited, flood_closes, garbage_closes, limit_closes;
} td_stream_stats;

/* The per-vhost state. */
typedef struct td_stream {
    td_config cfg;
    td_token_config tok;
    struct lws_context *lws;
    struct lws_vhost *ux; /* TRADEDESK_STREAM_SOCKET's listener (NULL: none): nginx's alone */
    /* Non-blocking, each its socket in the loop: session checks and
     * revocation epochs, events older than the Streams (db); session
     * entries, the Streams, snapshots, the status (ar, store/redis_async). */
    td_db *db;
    td_dbwatch dbw;
    td_redis_async *ar;
    td_redis_watch arw;
    td_redis_sub *sub;  /* td:px, td:book, td:trades, td:candles, td:market, td:fills,
                           td:orders, td:inval */
    td_loop_fd sub_loop; /* its socket in the loop */
    int sub_ok, sub_seen;
    td_rev_sync rev;
    int64_t rev_next_ms;
    int rev_failures;
    int rev_busy;       /* a sync is reading PostgreSQL (since rev_started_ms) */
    int64_t rev_started_ms;
    struct td_check *rev_waiters;  /* auths waiting for it (ops.c) */
    struct td_check *auths, *auths_tail; /* auths being checked, oldest first */
    int catch_up; /* a gap was seen: catch up once the subscription is current */
    td_sock *socks; /* every open WebSocket */
    int nsocks, nauthed;
    /* The timers visit sockets only when there is work: the earliest
     * token expiry (plus leeway, seconds) among authenticated sockets
     * (INT64_MAX: none), and whether a replay waits for Redis to answer. */
    int64_t exp_next_s;
    int replay_retry;
    td_channel *buckets[1024];
    int nsubs[TD_CH_KINDS];
    td_stream_stats st;
    lws_sorted_usec_list_t tick;
    lws_sorted_usec_list_t kick; /* td_stream_kick's: the connections serviced next pass */
    int kicked;
    volatile int stopping;
} td_stream;

/* protocol.c */
extern const struct lws_protocols td_stream_protocol;
/* Queue m for s (a reference is taken).  ch: a market channel whose
 * unsent message m replaces (conflation), NULL for one that must go out.
 * Returns 0, or -1 when the queue is full (m is then not queued). */
int td_sock_push(td_stream *st, td_sock *s, td_msg *m, td_channel *ch);
/* A free subscription slot (the array grows); NULL past the limit or OOM. */
td_sub *td_sock_sub_add(td_stream *st, td_sock *s);
/* Queue a reply built as JSON text (copied). */
void td_sock_send(td_stream *st, td_sock *s, const char *json, size_t len);
/* {"type":"error","code":code,"message":msg[,"channel":channel][,"last_id":last_id]} */
void td_sock_error(td_stream *st, td_sock *s, const char *code, const char *channel,
                   const char *last_id, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A message that is not what the protocol says: the error, counted, and
 * after TD_STREAM_GARBAGE_MAX in a row the socket closed with close_code. */
void td_sock_bad(td_stream *st, td_sock *s, const char *code, const char *channel,
                 uint16_t close_code, const char *msg);
/* Hold s's later messages until as many releases; the last release
 * answers the ones that waited meanwhile. */
void td_sock_hold(td_sock *s);
void td_sock_release(td_stream *st, td_sock *s);
/* Service the async Redis and PostgreSQL connections (the timer's, and
 * td_stream_kick's on the next pass). */
void td_stream_service(td_stream *st);
/* Send the queries and commands just made (td_db_send, the async Redis):
 * the loop watches for their sockets' writability. */
void td_stream_kick(td_stream *st);
/* Close after what is queued has been written (code: a WebSocket close status). */
void td_sock_close(td_sock *s, uint16_t code);
/* Forget queued messages of ch (unsubscribed). */
void td_sock_forget(td_sock *s, td_channel *ch);

/* ops.c: one complete client message. */
void td_stream_op(td_stream *st, td_sock *s, const char *text, size_t len);

/* channels.c */
td_channel *td_channel_find(td_stream *st, const char *name);
/* Add s to the channel (created when new); NULL on OOM. */
td_channel *td_channel_join(td_stream *st, const char *name, td_chan_kind kind, td_sock *s);
void td_channel_leave(td_stream *st, td_channel *ch, td_sock *s);
/* The subscribe snapshot of a market channel (latest price, top of
 * book, current candle), queued on s when Redis has one. */
void td_channel_snapshot(td_stream *st, td_sock *s, td_sub *sub);
/* The Redis subscription: poll it (and adopt its socket); on_gap runs
 * the catch-up after messages may have been missed. */
void td_stream_sub_poll(td_stream *st);
td_status td_stream_sub_open(td_stream *st);
/* The string value of "key" in a flat JSON object written by the engine
 * or PostgreSQL (its values carry no escapes; "key": "v" spacing either
 * way) into out; 0 when absent or too long. */
int td_json_field(const char *json, size_t len, const char *key, char *out, size_t cap);
/* A push {"type":type,"channel":channel,"data":data[,"snapshot":true]}
 * (with "id" when id is not NULL). NULL on OOM. */
td_msg *td_push_new(const char *type, const char *channel, const char *id, const char *data,
                    size_t len, int snapshot);

/* events.c (its statements: older events from PostgreSQL) */
extern const td_db_stmt td_stream_stmts[];
extern const size_t td_stream_nstmts;
/* The log of a channel kind (TD_CH_FILLS, TD_CH_ORDERS), else -1. */
int td_log_of(int chan_kind);
/* Subscribe an authenticated socket to log k; since NULL: live only. */
void td_log_subscribe(td_stream *st, td_sock *s, int k, const char *since);
/* A td:fills ("<user id> <fill>") or td:orders ("<user id> <event id>
 * <type> <data>") message, for log k. */
void td_log_live(td_stream *st, int k, const char *msg, size_t len);
/* Go on with the replays the queue had no more room for (one page read
 * at a time, continued in its reply). */
void td_log_resume(td_stream *st, td_sock *s);
/* On the timer: replays Redis could not answer are tried again (a
 * catch-up after a Redis restart, before the connection is back). */
void td_log_tick(td_stream *st);
/* After a Redis gap: every fills and orders subscriber catches up from
 * its Stream. */
void td_log_catch_up(td_stream *st);

/* ops.c: sessions */
/* Revocations: a td:inval message; the periodic sync; close sockets whose
 * session ended or token expired (call once a second). */
void td_stream_inval(td_stream *st, const char *msg, size_t len);
/* An auth unanswered this long past the Redis timeout is answered
 * "internal: try again" (PostgreSQL stalled; the blocking face's deadline
 * was its statement timeout plus a second); one waits for the revocation
 * sync at most TD_STREAM_SYNC_WAIT_MS.  Checked on the timer. */
#define TD_STREAM_AUTH_SLACK_MS 1500
#define TD_STREAM_SYNC_WAIT_MS 1500
void td_stream_auths_check(td_stream *st, int64_t now_ms);
void td_stream_sessions_check(td_stream *st, int64_t now_ms, int recheck_all);

/* http.c: /health, /metrics for td_ws_http_serve. */
int td_stream_http(void *ctx, const char *uri, td_arena *a, td_buf *b, const char **type);

#endif
