/*
 * symbol.h - canonical instrument symbols and each exchange's spelling of them.
 *
 * Canonical is BASE-QUOTE in upper case, each asset 2 to 12 of [A-Z0-9]:
 * exactly what the instruments table's CHECK in sql/001_schema.sql admits,
 * so a symbol valid here is one PostgreSQL accepts and the reverse.
 * Adapters turn an exchange's spelling into the canonical one as a message
 * arrives and back when they subscribe; nothing else in tradedesk knows
 * that Kraken calls Bitcoin XBT.
 *
 * Pure: no I/O, no allocation, no locale.  Every function writes into a
 * buffer the caller owns; on failure that buffer holds "" (when cap > 0).
 */
#ifndef TD_SYMBOL_H
#define TD_SYMBOL_H

#include "domain/td.h"

#include <stdbool.h>

#define TD_ASSET_MIN 2
#define TD_ASSET_MAX 12
/* Longest symbol in any spelling here ("ABCDEFGHIJKL-ABCDEFGHIJKL", 25)
 * plus the NUL: a buffer of TD_SYMBOL_STR_MAX always fits. */
#define TD_SYMBOL_STR_MAX 32

/* A canonical symbol taken apart. */
typedef struct td_symbol {
    char base[TD_ASSET_MAX + 1];
    char quote[TD_ASSET_MAX + 1];
} td_symbol;

typedef enum td_spelling {
    TD_SPELL_BINANCE,        /* "BTCUSDT": REST and the "s" field of stream events */
    TD_SPELL_BINANCE_STREAM, /* "btcusdt": stream names, "btcusdt@miniTicker" */
    TD_SPELL_COINBASE,       /* "BTC-USD": product_id, the canonical form itself */
    TD_SPELL_KRAKEN,         /* "BTC/USD": WebSocket v2 "symbol" */
    TD_SPELL_KRAKEN_V1,      /* "XBT/USD": WebSocket v1 pair (wsname), XBT and XDG */
    TD_SPELL_KRAKEN_REST,    /* "XXBTZUSD" legacy pair key, "SOLUSD" altname */
} td_spelling;

/* True when exactly n bytes of s are an asset: 2 to 12 of [A-Z0-9]. */
bool td_asset_valid(const char *s, size_t n);

/* True when s (NUL-terminated) is canonical: ^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$. */
bool td_symbol_valid(const char *s);

/* Splits exactly len bytes of s (no NUL needed) into *out; TD_EINVAL
 * unless canonical.  *out is untouched on failure. */
td_status td_symbol_parse(const char *s, size_t len, td_symbol *out);

/*
 * An exchange's spelling (exactly len bytes of s) to the canonical symbol,
 * written NUL-terminated into buf.  TD_EINVAL when s is not that spelling:
 * wrong case ("btcusdt" is not TD_SPELL_BINANCE, "BTCUSDT" not
 * TD_SPELL_BINANCE_STREAM), a missing or extra separator, an asset outside
 * 2..12 of [A-Z0-9], or, for the spellings without a separator (Binance,
 * Kraken REST altnames), no known quote asset at the end: those are split
 * at the longest quote asset in the exchange's list (symbol.c).  Kraken's
 * XBT and XDG read as BTC and DOGE, and the X/Z prefixes of its legacy pair
 * keys ("XXBTZUSD", "XETHXXBT") are dropped.  TD_ENOMEM when cap is too small.
 */
td_status td_symbol_from_venue(td_spelling sp, const char *s, size_t len, char *buf, size_t cap);

/*
 * The canonical symbol canon (NUL-terminated) in an exchange's spelling,
 * written NUL-terminated into buf.  TD_EINVAL when canon is not canonical,
 * when the spelling would not read back as canon (a Binance or Kraken
 * altname whose quote asset is not in the list; XBT or XDG as a canonical
 * asset for Kraken, which means BTC or DOGE there), TD_ENOMEM when cap is
 * too small.  So td_symbol_from_venue(sp, td_symbol_to_venue(sp, c)) == c
 * whenever this returns TD_OK.
 */
td_status td_symbol_to_venue(td_spelling sp, const char *canon, char *buf, size_t cap);

#endif
