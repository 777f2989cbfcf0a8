/*
 * fuzz_symbol.c - libFuzzer target for symbol parsing (domain/symbol.c):
 * canonical symbols and every exchange's spelling, the strings adapters
 * take straight from the wire.
 *
 * Whatever reads as a symbol must be canonical, must write back in that
 * spelling and read back to itself (the round trip symbol.h promises), and
 * nothing may read past len or write past cap.
 */
#include "domain/symbol.h"

#include <stdlib.h>
#include <string.h>

static const td_spelling spellings[] = {
    TD_SPELL_BINANCE, TD_SPELL_BINANCE_STREAM, TD_SPELL_COINBASE,
    TD_SPELL_KRAKEN,  TD_SPELL_KRAKEN_V1,      TD_SPELL_KRAKEN_REST,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size bytes: the parsers must never read past len. */
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    memcpy(s, data, size);

    td_symbol sym;
    if (td_symbol_parse(s, size, &sym) == TD_OK) {
        char joined[TD_SYMBOL_STR_MAX];
        size_t bl = strlen(sym.base), ql = strlen(sym.quote);
        if (bl + 1 + ql != size || memcmp(s, sym.base, bl) != 0 || s[bl] != '-')
            abort();
        memcpy(joined, s, size);
        joined[size] = '\0';
        if (!td_symbol_valid(joined))
            abort();
    }

    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char canon[TD_SYMBOL_STR_MAX], venue[TD_SYMBOL_STR_MAX], back[TD_SYMBOL_STR_MAX];
        if (td_symbol_from_venue(spellings[i], s, size, canon, sizeof canon) != TD_OK)
            continue;
        if (!td_symbol_valid(canon))
            abort();
        if (td_symbol_to_venue(spellings[i], canon, venue, sizeof venue) == TD_OK) {
            if (td_symbol_from_venue(spellings[i], venue, strlen(venue), back, sizeof back) !=
                    TD_OK ||
                strcmp(back, canon) != 0)
                abort();
        }
        /* A buffer too small is refused, never overrun. */
        char tiny[3];
        if (td_symbol_from_venue(spellings[i], s, size, tiny, sizeof tiny) == TD_OK)
            abort();
    }
    free(s);
    return 0;
}
