/*
 * price.c - the staleness rule; see price.h.  No I/O here.
 */
#include "domain/price.h"

bool td_price_stale(int64_t age_ms, int64_t stale_after_ms)
{
    return age_ms > stale_after_ms;
}
