/*
 * keys.h - every Redis key and pub/sub channel tradedesk uses, named once.
 *
 * Each name is a printf-style format (hiredis' td_redis_cmd/append and
 * snprintf/td_arena_printf take the same ones), so a key is written the
 * same way by every program that touches it: "SET " TD_KEY_SESSION " %s".
 * The strings are a contract with data already in Redis and with processes
 * of an older release running beside a newer one: never change one without
 * a migration.  tests/unit/test_keys.c pins them.  Lua scripts get their
 * keys as KEYS[] from these.  Nothing here allocates.
 */
#ifndef TD_STORE_KEYS_H
#define TD_STORE_KEYS_H

/* Session cache, by session id: "<user id>" while valid, "-" once revoked
 * (store/session.h). */
#define TD_KEY_SESSION "td:sess:%s"

/* Redis' revocation high-water mark: every tombstone of a revocation epoch
 * at or below it is in Redis (PostgreSQL's revocation_epoch counts them;
 * store/session.h).  Absent reads as 0.  No TTL. */
#define TD_KEY_REV_EPOCH "td:rev_epoch"

/* Login rate limits (GCRA TAT in ms, api/ratelimit.h): every attempt by
 * client address; failures by folded user name from all addresses, and by
 * client address + folded user name ("<addr>/<user>": an address never
 * holds a '/', so the first one splits). */
#define TD_KEY_RL_LOGIN_IP "td:rl:login:ip:%s"
#define TD_KEY_RL_LOGIN_USER "td:rl:login:u:%s"
#define TD_KEY_RL_LOGIN_USER_IP "td:rl:login:uip:%s/%s" /* addr, user */

/* Public market data requests (prices, candles, trades, book, feeds) by
 * client address (api/dispatch.c). */
#define TD_KEY_RL_MARKET_IP "td:rl:mkt:ip:%s"
/* A user's reads and writes, and every authenticated request of a client
 * address (api/dispatch.c). */
#define TD_KEY_RL_READ_USER "td:rl:r:u:%lld"
#define TD_KEY_RL_WRITE_USER "td:rl:w:u:%lld"
#define TD_KEY_RL_ADDRESS "td:rl:ip:%s"

/* A cache scope: one user's data, or data shared by everybody (prices). */
#define TD_SCOPE_USER "u%lld"
#define TD_SCOPE_PUB "pub"

/* A scope's cache generation counter (store/cachegen.h); absent reads as 0. */
#define TD_KEY_GEN "td:gen:%s" /* scope */
#define TD_KEY_GEN_USER "td:gen:" TD_SCOPE_USER
/* Every scope's generation has this one in front ("<all>.<scope's>"):
 * bumping it makes every cached response stale at once (admin clear). */
#define TD_KEY_GEN_ALL "td:gen:all"

/* A cached response, "<gen>:<etag><body>" (api/cache.h), by
 * "<scope>:<rule>:<path args>?<sorted query>". */
#define TD_KEY_CACHE "td:c:%s"

/* The single-flight lock of one cache key and generation: gen, then
 * "<scope>:<rule>...". */
#define TD_KEY_LOCK "td:lk:%s:%s"

/* The invalidation channel of workers' memory (store/cachegen.h).  A
 * message is one kind byte followed by its id. */
#define TD_INVAL_CHANNEL "td:inval"
#define TD_INVAL_USER 'u'     /* "u<user id>": the user's data changed */
#define TD_INVAL_SESSION 's'  /* "s<sid>": one session revoked */
#define TD_INVAL_SESSIONS 'S' /* "S<user id>": every session of a user revoked */
#define TD_INVAL_ALL 'C'      /* "C": every cached response is stale (admin clear) */

/* Market data the engine publishes (engine/publish.c): the oracle's latest
 * price per symbol as JSON, the channel every price change goes out on
 * (the stream subscribes), and the recent trades per symbol, newest first. */
#define TD_KEY_PRICE_PREFIX "td:px:" /* then the symbol (the engine appends it by hand) */
#define TD_KEY_PRICE TD_KEY_PRICE_PREFIX "%s"
#define TD_CHANNEL_PRICES "td:px"
#define TD_KEY_TRADES_PREFIX "td:trades:"
#define TD_KEY_TRADES TD_KEY_TRADES_PREFIX "%s" /* symbol */
/* The trades of the chosen source, one message per symbol and publisher
 * pipeline: the trades oldest first, each the REST trade item plus
 * "symbol", separated by newlines (JSON without raw newlines); and each
 * candle that moved or closed (the REST candle item plus "symbol" and
 * "interval"), for the stream; the latest candle of each series also as a
 * value (1 day TTL) for its subscribe snapshot. */
#define TD_CHANNEL_TRADES "td:trades"
#define TD_CHANNEL_CANDLES "td:candles"
#define TD_KEY_CANDLE_PREFIX "td:candles:" /* then "<symbol>:<interval>" */
#define TD_KEY_CANDLE TD_KEY_CANDLE_PREFIX "%s:%s" /* symbol, interval */
/* The top of book per symbol as JSON ({"symbol","bid","bid_qty","ask",
 * "ask_qty","source","updated_at"}), and the channel each change goes out
 * on (engine/snapshot.c). */
#define TD_KEY_BOOK_PREFIX "td:book:"
#define TD_KEY_BOOK TD_KEY_BOOK_PREFIX "%s" /* symbol */
#define TD_CHANNEL_BOOKS "td:book"
/* The engine's feeds ({"at","feeds":[...]} as its /health shows them),
 * rewritten every second; expires when the engine stops reporting. */
#define TD_KEY_FEEDS "td:feeds"
/* Each running program's own status, a hash per program, field = the
 * instance, value = JSON with its "at" (rewritten every second; readers
 * call one older than TD_STATUS_STALE_MS down): GET
 * /api/v1/monitoring/health/detailed reads them. */
#define TD_KEY_STATUS_ENGINE "td:status:engine"
#define TD_KEY_STATUS_STREAM "td:status:stream"
#define TD_STATUS_STALE_MS 10000
#define TD_FEEDS_TTL_MS 10000
/* Fills the engine's outbox relay delivered (engine/relay.c): each user's
 * Stream, entry id "<fill id>-0" and field "fill" (the fill as JSON), for
 * replay; and the channel every fill goes out on, for live delivery, each
 * message "<user id> <the fill as JSON>" (the stream routes by the id). */
#define TD_KEY_FILLS "td:fills:%s" /* user id */
#define TD_CHANNEL_FILLS "td:fills"
/* Order events the relay delivered (sql/010_order_events.sql): each user's
 * Stream, entry id "<event id>-0" (the outbox row's id), fields "type"
 * (order, or another kind such as guard) and "data" (JSON); and the
 * channel each goes out on, "<user id> <event id> <type> <data>". */
#define TD_KEY_ORDERS "td:orders:%s" /* user id */
#define TD_CHANNEL_ORDERS "td:orders"
/* The engines' leader lease ("<engine id> <token>", expiring) and the
 * counter its fencing tokens come from (engine/lease.c). */
#define TD_KEY_LEADER "td:leader"
#define TD_KEY_LEADER_TOKEN "td:leader:token"
/* Feed connection events ({"source","state","at"}): connected,
 * disconnected, reconnecting, error. */
#define TD_CHANNEL_MARKET "td:market"
/* Market-condition alerts raised, escalated and cleared by the leading
 * engine (engine/alerts.c): GET /api/v1/guards/market-alerts' item
 * without its id ({"symbol","kind","severity","value","threshold","unit",
 * "since","cleared_at","active"}).  Nothing reads it yet: the stream's
 * `market` channel may carry it. */
#define TD_CHANNEL_ALERTS "td:alerts"

#endif
