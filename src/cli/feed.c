/*
 * feed.c - `tradedesk feed test`: how an operator checks a venue from a
 * machine that can reach it.  Connects with the engine's own client
 * (ws/venue.c: the same subscribe messages, parsers, back-off and silence
 * watchdog), to the URL of the engine's setting (TRADEDESK_<VENUE>_WS_URL)
 * or --url, for --duration seconds; prints each status change as it
 * happens (connected, subscription acks, venue errors, disconnects), then
 * counts per event kind, events per second and latency (the venue's event
 * time -> receive time).  --redis also checks that Redis answers a PING
 * (TRADEDESK_REDIS_*) and reports the round trip; it writes nothing there.
 *
 * Exit codes: 0 market events arrived (and Redis answered, with --redis);
 * 1 no market event, no connection, or Redis unreachable; 2 bad usage.
 * Never writes market data anywhere but stdout.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/latency.h"
#include "domain/symbol.h"
#include "store/redis.h"
#include "ws/stop.h"
#include "ws/venue.h"

#define FEED_USAGE                                                                                 \
    "usage: tradedesk feed test --exchange binance|coinbase|kraken --symbol BASE-QUOTE "           \
    "[--url ws://...] [--duration SECONDS] [--redis]"
#define DURATION_MAX_S 86400 /* as the --duration message says */
#define STOP_MS 1500         /* for the venue to confirm the unsubscribe */

typedef struct feed_run {
    int64_t start_ms;
    int stopping;
    int connected;     /* the connection is up now */
    unsigned connects; /* connections established */
    unsigned retries;  /* reconnects scheduled */
    unsigned disconnects;
    uint64_t kinds[TD_MKT_CANDLE + 1]; /* by td_market_kind */
    uint64_t events, dropped;
    uint64_t acks, heartbeats, statuses, venue_errors, shutdowns, ignored, parse_errors;
    char last_why[160];
    td_latency lat;
} feed_run;

static void line(const feed_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const feed_run *r, const char *fmt, ...)
{
    printf("[%7.3fs] ", (double)(td_wall_ms() - r->start_ms) / 1000.0);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void on_state(void *arg, const char *state, const char *why)
{
    feed_run *r = arg;
    if (strcmp(state, "connected") == 0 && !why) {
        r->connects++;
        r->connected = 1;
    } else if (strcmp(state, "disconnected") == 0) {
        r->disconnects += r->connected && !r->stopping; /* the venue's doing, not ours */
        r->connected = 0;
    } else if (strcmp(state, "reconnecting") == 0) {
        r->retries++;
        snprintf(r->last_why, sizeof r->last_why, "%s", why ? why : "");
        if (r->stopping)
            return;
    }
    if (strcmp(state, "connected") == 0 && why)
        return; /* "subscribed": the ack's own line says it */
    line(r, "%s%s%s%s", state, why ? " (" : "", why ? why : "", why ? ")" : "");
}

static void on_message(void *arg, td_feed_result *res, int64_t now)
{
    feed_run *r = arg;
    switch (res->msg) {
    case TD_FEED_EVENTS:
        for (size_t i = 0; i < res->n; i++) {
            const td_market_event *e = &res->ev[i];
            if (e->kind >= TD_MKT_TICKER && e->kind <= TD_MKT_CANDLE)
                r->kinds[e->kind]++;
            r->events++;
            if (e->event_ms > 0)
                td_latency_add(&r->lat, now - e->event_ms);
        }
        r->dropped += res->dropped;
        break;
    case TD_FEED_ACK:
        r->acks++;
        if (res->req_id)
            line(r, "%s acknowledged (id %lld)", r->stopping ? "unsubscribe" : "subscription",
                 (long long)res->req_id);
        else
            line(r, "%s acknowledged", r->stopping ? "unsubscribe" : "subscription");
        break;
    case TD_FEED_HEARTBEAT:
        r->heartbeats++;
        break;
    case TD_FEED_STATUS:
        r->statuses++;
        break;
    case TD_FEED_VENUE_ERROR:
        r->venue_errors++;
        line(r, "venue error: %s", res->error);
        break;
    case TD_FEED_SHUTDOWN:
        r->shutdowns++;
        line(r, "the venue announces a shutdown");
        break;
    default:
        r->ignored++;
    }
}

static void on_error(void *arg, const char *why, int64_t now)
{
    (void)now;
    feed_run *r = arg;
    if (r->parse_errors++ < 5) /* a storm shows its first few */
        line(r, "message refused: %s", why);
}

static void on_deadline(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    td_ws_stop_now(); /* or lws_service waits for its next timer */
}

/* A usage error: one line saying what is wrong, then the usage. */
static int usage(const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    cli_usage_error("feed test: %s", msg);
    fputs(FEED_USAGE "\n", stderr);
    return CLI_EXIT_USAGE;
}

/* The options; CLI_EXIT_OK or a usage error already reported. */
typedef struct feed_opts {
    td_venue venue;
    const char *symbol, *url;
    int duration_s, redis;
} feed_opts;

static int parse_opts(const td_config *cfg, int argc, char **argv, feed_opts *o)
{
    memset(o, 0, sizeof *o);
    o->duration_s = 10;
    if (argc < 1 || strcmp(argv[0], "test") != 0)
        return usage("%s", argc < 1 ? "which? (test)" : "only `feed test` exists");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--redis") == 0) {
            o->redis = 1;
            continue;
        }
        if (strcmp(a, "--exchange") && strcmp(a, "--symbol") && strcmp(a, "--url") &&
            strcmp(a, "--duration"))
            return usage("unknown option '%s'", a);
        if (i + 1 >= argc)
            return usage("%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--exchange") == 0) {
            if (!(o->venue = td_venue_from_name(v)))
                return usage("--exchange '%s' is not binance, coinbase or kraken", v);
        } else if (strcmp(a, "--symbol") == 0) {
            if (!td_symbol_valid(v))
                return usage("--symbol '%s' is not a canonical BASE-QUOTE symbol (e.g. BTC-USDT)",
                             v);
            o->symbol = v;
        } else if (strcmp(a, "--url") == 0) {
            if (strncmp(v, "ws://", 5) != 0 && strncmp(v, "wss://", 6) != 0)
                return usage("--url '%s' must start with ws:// or wss://", v);
            o->url = v;
        } else {
            char *end;
            long d = strtol(v, &end, 10);
            if (!*v || *end || d < 1 || d > DURATION_MAX_S)
                return usage("--duration '%s' is not a number of seconds from 1 to 86400", v);
            o->duration_s = (int)d;
        }
    }
    if (!o->venue || !o->symbol)
        return usage("%s", "--exchange and --symbol are required");
    if (!o->url)
        o->url = o->venue == TD_VENUE_BINANCE    ? cfg->binance_ws_url
                 : o->venue == TD_VENUE_COINBASE ? cfg->coinbase_ws_url
                                                 : cfg->kraken_ws_url;
    return CLI_EXIT_OK;
}

/* --redis: a PING's round trip; 0 when Redis answered. */
static int check_redis(const td_config *cfg, double *ms)
{
    td_redis *rd = td_redis_open(cfg->redis_url, cfg->redis_timeout_ms);
    int ok = rd && td_redis_ping(rd, ms) == TD_OK;
    td_redis_close(rd);
    return ok ? 0 : -1;
}

static void summary(const feed_run *r, const feed_opts *o, double secs, int redis_rc,
                    double redis_ms, const td_config *cfg)
{
    printf("summary: %s %s at %s, %.1f s\n", td_venue_name(o->venue), o->symbol, o->url, secs);
    printf("  connections   %u (%u disconnects, %u reconnects scheduled)\n", r->connects,
           r->disconnects, r->retries);
    printf("  ticker        %llu\n", (unsigned long long)r->kinds[TD_MKT_TICKER]);
    printf("  trade         %llu\n", (unsigned long long)r->kinds[TD_MKT_TRADE]);
    printf("  orderbook     %llu\n", (unsigned long long)r->kinds[TD_MKT_BOOK]);
    printf("  candle        %llu\n", (unsigned long long)r->kinds[TD_MKT_CANDLE]);
    printf("  heartbeats    %llu\n", (unsigned long long)r->heartbeats);
    printf("  acks          %llu\n", (unsigned long long)r->acks);
    printf("  status        %llu\n", (unsigned long long)r->statuses);
    printf("  venue errors  %llu\n", (unsigned long long)r->venue_errors);
    printf("  parse errors  %llu\n", (unsigned long long)r->parse_errors);
    printf("  ignored       %llu (messages of no use here; %llu events cut from lists)\n",
           (unsigned long long)r->ignored, (unsigned long long)r->dropped);
    printf("  events/s      %.1f\n", secs > 0 ? (double)r->events / secs : 0.0);
    if (r->lat.n)
        printf("  latency ms    avg %.1f min %lld max %lld p99 %lld (%llu events with a venue "
               "time)\n",
               td_latency_avg(&r->lat), (long long)r->lat.min, (long long)r->lat.max,
               (long long)td_latency_percentile(&r->lat, 99), (unsigned long long)r->lat.n);
    else
        printf("  latency ms    - (no event carried a venue time)\n");
    if (o->redis) {
        if (redis_rc == 0)
            printf("  redis         PING %.2f ms at %s\n", redis_ms, cfg->redis_url);
        else
            printf("  redis         unreachable at %s\n", cfg->redis_url);
    }
    fflush(stdout);
}

int cli_feed(const td_config *cfg, int argc, char **argv)
{
    feed_opts o;
    int rc = parse_opts(cfg, argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc;

    static feed_run r; /* ~90 KB of latency buckets */
    memset(&r, 0, sizeof r);
    td_latency_init(&r.lat);
    r.start_ms = td_wall_ms();

    lws_set_log_level(LLL_ERR, NULL);
    static struct lws_protocols protocols[] = {TD_VENUE_PROTOCOL, {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        cli_fail("feed test: cannot start the event loop");
        return CLI_EXIT_FAIL;
    }
    const char *symbols[] = {o.symbol};
    td_venue_opts vo = {.venue = o.venue,
                        .url = o.url,
                        .name = td_venue_name(o.venue),
                        .symbols = symbols,
                        .nsymbols = 1,
                        .silence_ms = cfg->feed_silence_ms};
    static const td_venue_hooks hooks = {on_state, on_message, on_error};
    td_venue_client *c = NULL;
    td_status st = td_venue_client_start(ctx, &vo, &hooks, &r, &c);
    if (st != TD_OK) {
        lws_context_destroy(ctx);
        if (st == TD_EINVAL)
            return usage("--symbol %s: the venue has no spelling for it", o.symbol);
        cli_fail("feed test: out of memory");
        return CLI_EXIT_FAIL;
    }
    printf("feed test: %s %s at %s for %d s\n", td_venue_name(o.venue), o.symbol, o.url,
           o.duration_s);
    fflush(stdout);

    td_ws_stop_catch(ctx);
    lws_sorted_usec_list_t deadline;
    memset(&deadline, 0, sizeof deadline);
    lws_sul_schedule(ctx, 0, &deadline, on_deadline, (int64_t)o.duration_s * LWS_US_PER_SEC);
    while (!td_ws_stop)
        if (lws_service(ctx, 0) < 0)
            break;
    double secs = (double)(td_wall_ms() - r.start_ms) / 1000.0;
    lws_sul_cancel(&deadline);
    r.stopping = 1;
    td_venue_client_stop(c);
    td_venue_clients_drain(ctx, &c, 1, STOP_MS);
    td_ws_stop_context(NULL);
    lws_context_destroy(ctx);
    td_venue_client_free(c);

    double redis_ms = 0;
    int redis_rc = o.redis ? check_redis(cfg, &redis_ms) : 0;
    summary(&r, &o, secs, redis_rc, redis_ms, cfg);

    if (!r.connects) {
        cli_fail("feed test: cannot connect to %s%s%s", o.url, r.last_why[0] ? ": " : "",
                 r.last_why);
        return CLI_EXIT_FAIL;
    }
    if (!r.events) {
        cli_fail("feed test: no market event from %s in %.1f s (%llu messages of other kinds)",
                 td_venue_name(o.venue), secs,
                 (unsigned long long)(r.acks + r.heartbeats + r.statuses + r.venue_errors +
                                      r.ignored + r.parse_errors));
        return CLI_EXIT_FAIL;
    }
    if (redis_rc != 0) {
        cli_fail("feed test: Redis at %s does not answer", cfg->redis_url);
        return CLI_EXIT_FAIL;
    }
    printf("ok: %llu market events\n", (unsigned long long)r.events);
    return CLI_EXIT_OK;
}
