/*
 * fuzz_statement.c - libFuzzer target for exchange statements
 * (domain/statement.c), the CSV an operator imports with
 * `tradedesk recon import`.
 *
 * Every trade handed over is well-formed (a canonical symbol, a time from
 * 1970 on, positive price, quantity and amount, a fee of zero or more, a
 * fee asset of [A-Z0-9] or none); a refusal names a line inside the input
 * and a reason; the same bytes parse the same way twice; nothing reads
 * past len.
 */
#include "domain/statement.h"

#include <stdlib.h>
#include <string.h>

typedef struct tally {
    size_t n;
    int64_t sum; /* of prices and quantities, to compare the two parses */
} tally;

static int check(void *arg, const td_venue_trade *t)
{
    tally *g = arg;
    if (!td_symbol_valid(t->symbol) || t->at_ms < 0 || t->price <= 0 || t->quantity <= 0 ||
        t->amount <= 0 || t->fee < 0)
        abort();
    for (const char *p = t->fee_asset; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            abort();
    g->n++;
    g->sum += (t->price % 1000003) + (t->quantity % 1000003);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    tally a = {0}, b = {0};
    size_t la, lb;
    const char *wa, *wb;
    td_status sa = td_statement_parse(TD_STATEMENT_BINANCE, s, size, check, &a, &la, &wa);
    td_status sb = td_statement_parse(TD_STATEMENT_BINANCE, s, size, check, &b, &lb, &wb);
    if (sa != sb || la != lb || strcmp(wa, wb) != 0 || a.n != b.n || a.sum != b.sum)
        abort();
    if (sa != TD_OK && (sa != TD_EINVAL || !*wa))
        abort();
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += s[i] == '\n';
    if (la > lines)
        abort();
    free(s);
    return 0;
}
