/*
 * fuzz_feed.c - libFuzzer target for the exchange message parsers
 * (ws/feed): the first byte picks the venue, the rest is the message.
 *
 * A parse either fails whole (no events, a reason) or gives events whose
 * symbols are canonical, whose kinds are known and whose counts fit; the
 * same bytes parse the same way twice (no state leaks between messages).
 */
#include "ws/feed.h"

#include <stdlib.h>
#include <string.h>

static td_feed_parser *P;
static td_feed_result A, B;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!P && !(P = td_feed_parser_new()))
        abort();
    td_venue v = (td_venue)(1 + data[0] % 3);
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;

    td_status st = td_feed_parse(P, v, msg, len, &A);
    if (st != TD_OK) {
        if (st != TD_EINVAL || A.n != 0 || A.error[0] == '\0')
            abort();
    } else {
        if (A.n > TD_FEED_MAX_EVENTS || (A.n > 0 && A.msg != TD_FEED_EVENTS))
            abort();
        for (size_t i = 0; i < A.n; i++) {
            const td_market_event *e = &A.ev[i];
            if (!td_symbol_valid(e->symbol) || e->kind < TD_MKT_TICKER || e->kind > TD_MKT_CANDLE)
                abort();
            if (e->kind == TD_MKT_CANDLE && e->interval_s <= 0)
                abort();
        }
    }
    if (td_feed_parse(P, v, msg, len, &B) != st || B.n != A.n || B.msg != A.msg ||
        (A.n && memcmp(A.ev, B.ev, A.n * sizeof A.ev[0]) != 0))
        abort();
    return 0;
}
