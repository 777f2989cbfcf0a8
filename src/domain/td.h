/*
 * td.h - the one result convention shared by every tradedesk module.
 *
 * Functions that can fail return a td_status and fill out-parameters; the
 * caller decides what a failure means to a client.  Nothing here does I/O.
 */
#ifndef TD_H
#define TD_H

#include <stddef.h>
#include <stdint.h>

typedef enum td_status {
    TD_OK = 0,
    TD_ERROR = -1,     /* unexpected failure; details are logged where it happened */
    TD_EINVAL = -2,    /* the input is malformed or out of range */
    TD_ENOTFOUND = -3, /* the thing asked for does not exist */
    TD_EUNAVAIL = -4,  /* a dependency (PostgreSQL, Redis) is unreachable */
    TD_EDENIED = -5,   /* authentication or authorization refused */
    TD_ENOMEM = -6,    /* out of memory or a fixed buffer is too small */
    TD_ECONFLICT = -7, /* the request conflicts with the current state */
    TD_ELIMIT = -8,    /* a rate or size limit was reached */
} td_status;

#define TD_VERSION "0.1.0"

#define TD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
