/*
 * message.h - a client's message to the stream, parsed and checked
 * (PRODUCT.md "WebSocket protocol", asyncapi.yaml): which op, its token,
 * its channels (each a name the stream serves), its since.  Pure: json-c
 * and the domain, no I/O, no libwebsockets, so it is unit tested and
 * fuzzed (tests/fuzz/fuzz_stream_msg.c) alone.
 *
 * Ownership: the strings a parsed message points to belong to it and
 * live until td_client_msg_free.
 */
#ifndef TD_STREAM_MESSAGE_H
#define TD_STREAM_MESSAGE_H

#include <stddef.h>

#include "domain/td.h"

typedef enum td_chan_kind {
    TD_CH_PRICES,
    TD_CH_TRADES,
    TD_CH_BOOK,
    TD_CH_CANDLES,
    TD_CH_MARKET,
    TD_CH_FILLS,
    TD_CH_ORDERS,
    TD_CH_KINDS,
    TD_CH_USER, /* internal: every authenticated socket of a user */
    TD_CH_ADDR, /* internal: every socket of a client address */
    TD_CH_SESSION, /* internal: every socket of a session (sid) */
} td_chan_kind;
extern const char *const td_chan_kind_name[TD_CH_KINDS];

/* A client's channel name (len bytes): its kind, or -1 when the stream
 * serves no such channel. */
int td_channel_parse(const char *name, size_t len);

typedef enum td_op { TD_OP_PING, TD_OP_AUTH, TD_OP_SUBSCRIBE, TD_OP_UNSUBSCRIBE } td_op;

#define TD_CLIENT_DEPTH 8 /* JSON nesting a client message may have */

typedef struct td_client_msg {
    td_op op;
    const char *token; /* auth */
    /* subscribe, unsubscribe: distinct names, in the order given */
    const char **channels;
    int *kinds;
    int n;
    const char *since; /* subscribe: a fills or orders event id (digits), NULL when absent */
    /* On TD_EINVAL: the error the client gets (asyncapi's codes), and the
     * channel it is about (NULL: none).  Static strings or the message's. */
    const char *code, *why, *channel;
    void *root; /* the parsed JSON (json_object) */
} td_client_msg;

/* Parse text (len bytes, no NUL needed).  max_channels: more in one
 * message is too_many_subscriptions.  TD_OK, TD_EINVAL (m->code and m->why
 * say what is wrong; free it all the same) or TD_ENOMEM. */
td_status td_client_msg_parse(const char *text, size_t len, int max_channels, td_client_msg *m);
void td_client_msg_free(td_client_msg *m);

#endif
