/*
 * price.h - when a price is too old to trust.
 *
 * The API's stale flag, the oracle's choice of a fresh source and the
 * stream's pushes must draw the line at the same millisecond, so the rule
 * lives here once.  Pure: no I/O, no clock (the caller passes the age).
 */
#ifndef TD_PRICE_H
#define TD_PRICE_H

#include <stdbool.h>
#include <stdint.h>

/* A price aged age_ms is stale when strictly older than stale_after_ms:
 * exactly at the limit it is still fresh. */
bool td_price_stale(int64_t age_ms, int64_t stale_after_ms);

#endif
