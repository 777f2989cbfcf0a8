/*
 * wsclient.h - the integration tests' WebSocket client: a small blocking
 * RFC 6455 client over a plain TCP socket to nginx (TD_TEST_URL), so a
 * test can send exactly the frames it wants (garbage, binary, oversized)
 * and stop reading to play a slow client.
 *
 * With TD_WS_RECORD set, every JSON message received is appended to that
 * file as {"from":"server","message":...} and every one sent with
 * itest_ws_send as {"from":"client","message":...}, one line each, for
 * the contract validator (asyncapi.yaml).  The one place that records.
 *
 * Ownership: itest_ws_recv's object belongs to the caller (json_object_put).
 */
#ifndef TD_WSCLIENT_H
#define TD_WSCLIENT_H

#include <json-c/json.h>
#include <stddef.h>

typedef struct itest_ws itest_ws;

/* Open path (e.g. "/ws") through nginx from source address ip (NULL: the
 * default); NULL when the upgrade failed (the reason on stderr). */
itest_ws *itest_ws_open(const char *path, const char *ip);
/* The same to 127.0.0.1:port directly (a second stream instance). */
itest_ws *itest_ws_open_port(int port, const char *path, const char *ip);
void itest_ws_close(itest_ws *w);
/* /ws through nginx, authenticated with token and subscribed to channels
 * (a JSON array: "[\"orders\"]"), each answered as it should be; NULL
 * (the reason on stderr) otherwise. */
itest_ws *itest_ws_subscribed(const char *token, const char *channels);

/* A text message (recorded when it is JSON); 0 on success. */
int itest_ws_send(itest_ws *w, const char *text);
/* A text message the test knows the protocol refuses (recorded as
 * "invalid": the contract validator then expects it not to validate). */
int itest_ws_send_invalid(itest_ws *w, const char *text);
/* printf-formatted itest_ws_send. */
int itest_ws_sendf(itest_ws *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Any frame (opcode 1 text, 2 binary, ...), not recorded. */
int itest_ws_send_frame(itest_ws *w, int opcode, const void *data, size_t len);

/* The next server message (parsed JSON) within timeout_ms, else NULL
 * (timeout, close, or not JSON: a test failure the caller asserts). */
json_object *itest_ws_recv(itest_ws *w, int timeout_ms);
/* The next message whose "type" is type (others skipped; with channel not
 * NULL, also its "channel"), within timeout_ms; NULL when none came. */
json_object *itest_ws_expect(itest_ws *w, const char *type, const char *channel, int timeout_ms);
/* Wait for the server's close frame (or the connection's end) within
 * timeout_ms: its status code, 1005 when it had none, 0 for an end
 * without a close frame, -1 when still open. */
int itest_ws_wait_closed(itest_ws *w, int timeout_ms);

/* A string member of o at a dotted path ("data.symbol"), or NULL. */
const char *itest_ws_str(json_object *o, const char *dotted);

#endif
