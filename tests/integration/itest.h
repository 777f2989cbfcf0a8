/*
 * itest.h - the integration tests' HTTP client and helpers.
 *
 * Tests run against the real stack that tests/integration/run.sh starts
 * (nginx -> tradedesk-api -> PostgreSQL/Redis); this header talks to it over
 * HTTP with libcurl and parses answers with json-c.  It reads TD_TEST_URL,
 * TD_TEST_STACK and TD_TEST_BIN from the environment.
 *
 * Ownership: itest_http returns a response the caller frees with itest_free;
 * everything reachable from it (headers, body, json) dies with it.
 *
 * The ITEST_* macros are cmocka assertions that report the caller's line and
 * print the offending response.  Include <cmocka.h> (with its prerequisite
 * headers) before this file.
 */
#ifndef TD_ITEST_H
#define TD_ITEST_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct itest_header_kv {
    char *name; /* lower case */
    char *value;
} itest_header_kv;

typedef struct itest_response {
    long status; /* HTTP status, 0 when the request itself failed */
    char *body;  /* always NUL-terminated, "" when empty */
    size_t body_len;
    json_object *json; /* the body parsed, or NULL if it is not JSON */
    itest_header_kv *headers;
    size_t nheaders;
    char method[16];
    char path[256];  /* for diagnostics */
    char error[256]; /* libcurl's error when status is 0 */
} itest_response;

/* Send METHOD to TD_TEST_URL + path.  headers: NULL-terminated list of
 * "Name: value" (may be NULL).  body: sent as is (NULL: none); a body gets
 * "Content-Type: application/json" unless headers name one.  Never NULL. */
itest_response *itest_http(const char *method, const char *path, const char *const *headers,
                           const char *body);

/* Same with an explicit body length (bodies with NUL bytes, big bodies). */
itest_response *itest_http_n(const char *method, const char *path, const char *const *headers,
                             const char *body, size_t body_len);

/* GET/POST with "Authorization: Bearer token" (token may be NULL). */
itest_response *itest_get_auth(const char *path, const char *token);
itest_response *itest_post_auth(const char *path, const char *token, const char *body);
/* Any method, no body. */
itest_response *itest_http_auth(const char *method, const char *path, const char *token);

void itest_free(itest_response *r);

/* First response header with this name (any case), or NULL. */
const char *itest_header(const itest_response *r, const char *name);

/* String member at a dotted path of the JSON body ("error.code"), or NULL. */
const char *itest_json_str(const itest_response *r, const char *dotted);
/* The JSON member at a dotted path, or NULL. */
json_object *itest_json_get(const itest_response *r, const char *dotted);

/* Source address for later requests ("127.0.0.5"; NULL: the default).  Any
 * 127.x.y.z is local on Linux, so tests can appear as distinct clients to the
 * per-address rate limits. */
void itest_client_ip(const char *ip);
/* A fresh loopback address no other test in this process got. */
const char *itest_fresh_ip(void);

/* POST /api/v1/auth/login; on 200 copy access_token into token_out.
 * Returns the HTTP status. */
long itest_login(const char *user, const char *pass, char *token_out, size_t cap);

/* Run "$TD_TEST_STACK args" (e.g. "stop redis"); returns its exit status. */
int itest_stack(const char *args);

/* Run a shell command; its stdout (trailing newlines cut) into out (may be
 * NULL: discarded).  Returns pclose()'s status (0: exit status 0). */
int itest_sh(const char *cmd, char *out, size_t cap);

/* The pid in the stack's pid file VAR/run/NAME.pid ("api": the master). */
int itest_pid(const char *name);
/* The running tradedesk-api master's pid. */
int itest_api_pid(void);

/* A free 127.0.0.1 TCP port ("$TD_TEST_STACK free-port"), or -1. */
int itest_free_port(void);

/* Start tests/integration/fake_exchange.mjs (node) speaking venue's
 * protocol on 127.0.0.1:port (its log: TD_TEST_VAR/log/fake_<venue>.log)
 * and wait, at most 10 s, until /control/stats answers.  Its pid, or -1.
 * Stop it with itest_fake_exchange_stop (0 or -1: nothing). */
int itest_fake_exchange(const char *venue, int port);
void itest_fake_exchange_stop(int pid);

/* redis-cli on the stack's unix socket (TRADEDESK_REDIS_URL), bounded to
 * 10 s; its output into out (NULL: discarded).  Returns pclose's status. */
int itest_redis_cli(const char *args, char *out, size_t cap);

/* A subscriber of channel for the next `seconds` (redis-cli in the
 * background, what it receives into TD_TEST_VAR/NAME.sub), started and
 * subscribed when this returns; 0, or -1 when it did not subscribe.
 * itest_redis_heard: how many messages on it held needle so far. */
int itest_redis_listen(const char *name, const char *channel, int seconds);
int itest_redis_heard(const char *name, const char *needle);

/* Run SQL (any number of statements, from a file) through "$TD_TEST_STACK
 * psql [--as ROLE]" with ON_ERROR_STOP: the first line of its output (or of
 * its error) into out (may be NULL), echoed to stderr.  Returns psql's exit
 * status (0: every statement succeeded).  Role NULL: the tables' owner. */
int itest_psql_as(const char *role, const char *sql, char *out, size_t cap);
/* The same with all of the output (as much as fits) into out: what psql
 * prints after the first line too (a LISTEN's notifications, say). */
int itest_psql_all_as(const char *role, const char *sql, char *out, size_t cap);
int itest_psql(const char *sql, char *out, size_t cap);
/* The first line as a number (a count); -1 when psql failed. */
long long itest_psql_int(const char *sql);

/* Send sig (SIGSTOP, SIGCONT) to the stack's PostgreSQL: the postmaster
 * (first line of TD_TEST_VAR/pg/postmaster.pid) and every process it
 * forked (each backend runs in a session of its own, so no group signal
 * reaches them).  SIGSTOP stalls the server the way a frozen host does:
 * sockets accept, nothing answers.  Returns how many processes got it. */
int itest_pg_signal(int sig);

/* Run "$TD_TEST_BIN/tradedesk args" feeding `input` (may be NULL) on stdin;
 * its stdout (trailing newline removed) goes to out when out != NULL.
 * Returns the exit status. */
int itest_cli(const char *args, const char *input, char *out, size_t cap);

/* itest_psql with the SQL printf-formatted; _int: its first line as a
 * number (-1 when psql failed). */
long long itest_sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A user named name (alice's password) with an account holding cash (a
 * decimal); its id, -1 on failure. */
long long itest_user_cash(const char *name, const char *cash);
/* A fill of user's: a stop-loss buy of 0.01 BTC-USDT placed and filled
 * at 100 through fill_orders() (as the monitor does, with the current
 * fence, or by the engine's monitor when it is first), so the engine's
 * relay publishes it; the fill's id (asserted). */
long long itest_fill(long long user);
/* `stack.sh restart api` with the environment as it is now (settings a
 * test set with setenv), then /health polled until it answers ok (20 s);
 * 0 when it did, -1 otherwise. */
int itest_api_restart(void);
/* The stack's engine on a free port: TRADEDESK_ENGINE_LISTEN set to it (and
 * written into listen), `stack.sh start engine`'s status returned. */
int itest_engine_start(char *listen, size_t cap);
/* A second engine (another process, not the stack's) listening on listen,
 * its log in VAR/log/engine_<port>.log; its pid, -1 on failure. */
int itest_engine_spawn(const char *listen);
/* itest_psql with the SQL printf-formatted. */
int itest_sql(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A token for user from `tradedesk token USER --ttl 3600` (no login, so no
 * rate limit) into out; asserts it worked. */
void itest_token(const char *user, char *out, size_t cap);

/* Create a user with a name unique to this run, prefix + pid + counter,
 * written into name_out.  Password `pass`.  Returns 0 on success. */
int itest_user_add(const char *prefix, const char *pass, char *name_out, size_t cap);

/* Poll GET path every 100 ms until the status is `status` and the JSON
 * string at `dotted` equals `value` (dotted NULL: status only), for at most
 * timeout_ms.  Returns the last response (caller frees). */
itest_response *itest_poll(const char *path, long status, const char *dotted, const char *value,
                           int timeout_ms);

/* Value of an unlabelled sample in GET /metrics, or -1 when absent. */
long long itest_metric(const char *name);

/* One sample of an engine's own /metrics at listen (host:port), named
 * whole with its labels, or -1 when absent. */
double itest_engine_metric(const char *listen, const char *series);

/* Milliseconds since an arbitrary point (monotonic). */
long long itest_now_ms(void);

/* Print a response (status, headers, body) to stderr. */
void itest_dump(const itest_response *r);

/* Assertions with the caller's file and line. */
void itest_check_status(const itest_response *r, long status, const char *file, int line);
void itest_check_error(const itest_response *r, long status, const char *code, const char *file,
                       int line);

/* The response has this status (dumps it otherwise). */
#define ITEST_STATUS(r, st) itest_check_status((r), (st), __FILE__, __LINE__)

/* The response is 429 rate_limited with Retry-After >= 1 and every
 * RateLimit-* header, RateLimit-Remaining 0. */
void itest_check_rate_limited(const itest_response *r, const char *file, int line);
#define ITEST_RATE_LIMITED(r) itest_check_rate_limited((r), __FILE__, __LINE__)

/* The response is status st with {"error":{"code":code,"message":<non-empty
 * string>,"request_id":<equal to the X-Request-ID header>}}. */
#define ITEST_ERROR(r, st, code) itest_check_error((r), (st), (code), __FILE__, __LINE__)

#endif
