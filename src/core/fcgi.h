/*
 * fcgi.h - the FastCGI record codec of tradedesk's own transport (responder
 * role, one request at a time per connection, connections kept open).
 *
 * No I/O here: the caller reads bytes from its socket, feeds them in chunks
 * of any size (one byte at a time works), and writes what the codec gives
 * back.  The parser is strict: a record that breaks the protocol or a limit
 * makes td_fcgi_feed return TD_FCGI_ERROR, and the caller closes that one
 * connection (after writing c->reply when it is not empty).
 *
 * A request's params and body are parsed straight into the request arena
 * given at td_fcgi_conn_init; they stay valid until the caller resets that
 * arena, which it does once the response has been written.
 *
 * What the codec accepts, per connection:
 *   idle      BEGIN_REQUEST (role RESPONDER; another role is answered
 *             END_REQUEST/UNKNOWN_ROLE and refused), GET_VALUES (answered
 *             GET_VALUES_RESULT), another management record (id 0; answered
 *             UNKNOWN_TYPE)
 *   params    PARAMS of the active id until an empty one, ABORT_REQUEST
 *   stdin     STDIN of the active id until an empty one, ABORT_REQUEST
 *   handling  nothing: td_fcgi_feed returns TD_FCGI_BUSY and consumes no
 *             byte until the caller has called td_fcgi_respond
 * An ABORT_REQUEST for an id that is not active is ignored (it crosses the
 * response on the wire); a second BEGIN_REQUEST while one is active is an
 * error (GET_VALUES says FCGI_MPXS_CONNS=0; nginx never multiplexes).
 */
#ifndef TD_FCGI_H
#define TD_FCGI_H

#include "core/arena.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TD_FCGI_VERSION 1
#define TD_FCGI_HEADER_LEN 8
#define TD_FCGI_MAX_CONTENT 65535
/* STDOUT records carry at most this much: a multiple of 8 below 65535, so
 * only the last record of a response needs padding. */
#define TD_FCGI_CHUNK 65528
#define TD_FCGI_MGMT_MAX 1024 /* the longest GET_VALUES content accepted */
#define TD_FCGI_REPLY_MAX 256

enum td_fcgi_type {
    TD_FCGI_BEGIN_REQUEST = 1,
    TD_FCGI_ABORT_REQUEST = 2,
    TD_FCGI_END_REQUEST = 3,
    TD_FCGI_PARAMS = 4,
    TD_FCGI_STDIN = 5,
    TD_FCGI_STDOUT = 6,
    TD_FCGI_STDERR = 7,
    TD_FCGI_DATA = 8,
    TD_FCGI_GET_VALUES = 9,
    TD_FCGI_GET_VALUES_RESULT = 10,
    TD_FCGI_UNKNOWN_TYPE = 11,
};

enum { TD_FCGI_RESPONDER = 1, TD_FCGI_KEEP_CONN = 1 };
enum {
    TD_FCGI_REQUEST_COMPLETE = 0,
    TD_FCGI_CANT_MPX_CONN = 1,
    TD_FCGI_OVERLOADED = 2,
    TD_FCGI_UNKNOWN_ROLE = 3
};

typedef struct td_fcgi_limits {
    size_t max_params_bytes; /* the PARAMS stream of one request */
    size_t max_params;       /* name-value pairs of one request */
    size_t max_body_bytes;   /* STDIN kept; past it counted, dropped, flagged */
    unsigned max_conns;      /* what GET_VALUES answers for FCGI_MAX_CONNS */
    unsigned max_reqs;       /* ... and for FCGI_MAX_REQS */
} td_fcgi_limits;

typedef struct td_fcgi_param {
    const char *name, *value; /* NUL-terminated, in the request arena */
    size_t name_len, value_len;
} td_fcgi_param;

/* The request being received or handled; arena memory (see above). */
typedef struct td_fcgi_request {
    uint16_t id;
    int keep_conn; /* BEGIN_REQUEST's FCGI_KEEP_CONN */
    td_fcgi_param *params;
    size_t nparams;
    char *body; /* NUL-terminated; NULL when STDIN was empty */
    size_t body_len;
    uint64_t body_total; /* STDIN bytes received, kept or not */
    int body_overflow;   /* body_total > max_body_bytes: body holds none of it */
} td_fcgi_request;

typedef enum td_fcgi_event {
    TD_FCGI_MORE,    /* every byte consumed; feed more when they come */
    TD_FCGI_REQUEST, /* c->req is complete: handle it, then td_fcgi_respond */
    TD_FCGI_REPLY,   /* write c->reply (a management answer), then feed on */
    TD_FCGI_ABORTED, /* the client aborted the request being received: write
                      * c->reply (its END_REQUEST), reset the arena, then
                      * close if c->req.keep_conn is 0, else feed on */
    TD_FCGI_BUSY,    /* a request is being handled: nothing consumed */
    TD_FCGI_ERROR,   /* protocol or limit broken (c->error says which): write
                      * c->reply if not empty, then close the connection */
} td_fcgi_event;

typedef struct td_fcgi_conn {
    /* Public, read-only. */
    td_fcgi_request req;
    unsigned char reply[TD_FCGI_REPLY_MAX];
    size_t reply_len;
    const char *error; /* static text, set with TD_FCGI_ERROR */

    /* Private. */
    td_fcgi_limits lim;
    td_arena *arena;
    int state;
    unsigned char hdr[TD_FCGI_HEADER_LEN];
    size_t hdr_got;
    unsigned type;
    uint16_t rec_id;
    size_t rec_len, content_left, padding_left;
    unsigned char small[TD_FCGI_MGMT_MAX]; /* BEGIN_REQUEST's body, GET_VALUES' */
    size_t small_got;
    size_t params_bytes, params_cap;
    td_buf body; /* STDIN as it comes, in the arena (core/buf) */
    /* the name-value pair being read */
    int pair_state;
    unsigned char len_buf[4];
    size_t len_got;
    size_t name_len, value_len, pair_got;
    char *pair;
} td_fcgi_conn;

/* Set up a connection's codec; arena is the request arena (the caller
 * resets it between requests; the codec keeps no pointer into it then). */
void td_fcgi_conn_init(td_fcgi_conn *c, const td_fcgi_limits *lim, td_arena *arena);

/* Parse data[0..len).  *used gets the bytes consumed; the rest (when the
 * event is not TD_FCGI_MORE) is fed again after acting on the event.  The
 * reply buffer is emptied at each call. */
td_fcgi_event td_fcgi_feed(td_fcgi_conn *c, const void *data, size_t len, size_t *used);

/* The value of a param of the complete request, or NULL. */
const char *td_fcgi_param_get(const td_fcgi_request *r, const char *name);

/* The whole response to the request being handled: STDOUT records of at
 * most TD_FCGI_CHUNK bytes of data[0..len) each padded to 8, the empty
 * STDOUT, END_REQUEST (REQUEST_COMPLETE, app_status), as *iov[0..return)
 * for one writev.  The headers live in the request arena and the iovecs
 * point into data: both must stay until the write is done.  The codec goes
 * back to idle; the caller then closes the connection when
 * c->req.keep_conn was 0. */
size_t td_fcgi_respond(td_fcgi_conn *c, const void *data, size_t len, uint32_t app_status,
                       struct iovec **iov);

/* After a writev that wrote n bytes of (*iov)[0..*cnt): drop what went out.
 * Returns the bytes still to write. */
size_t td_fcgi_iov_advance(struct iovec **iov, size_t *cnt, size_t n);

/* Encode one record header into out[8]. */
void td_fcgi_header(unsigned char out[TD_FCGI_HEADER_LEN], unsigned type, uint16_t id,
                    size_t content_len, unsigned padding_len);

#endif
