/*
 * statement.h - an exchange's account statement, as its CSV export spells
 * it, into trades (bin/tradedesk recon import reads the file, the engine's
 * reconciliation compares the trades with the user's fills).
 *
 * Binance's spot "Trade History" export, the one format so far:
 *
 *   Date(UTC),Pair,Side,Price,Executed,Amount,Fee
 *   2026-11-30 16:36:56,BTCUSDT,BUY,57000.00,0.00100000BTC,57.00000000USDT,0.000001BTC
 *
 * Executed is in the base asset, Amount in the quote asset, Fee in any;
 * each may carry its asset's name as a suffix, or none.  A UTF-8 byte order
 * mark, CRLF line ends, RFC 4180 quoting of a field and blank lines are
 * accepted; anything else (a missing or extra column, a pair no symbol
 * spells, a time that is not YYYY-MM-DD HH:MM:SS, a non-positive price or
 * quantity, a decimal with more than 8 significant fractional digits) is
 * refused with the line and the reason, never rounded or skipped.
 *
 * Pure: no I/O, no allocation, no locale.
 */
#ifndef TD_STATEMENT_H
#define TD_STATEMENT_H

#include "domain/decimal.h"
#include "domain/symbol.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum td_statement_format {
    TD_STATEMENT_BINANCE, /* spot Trade History */
} td_statement_format;

/* "binance" -> TD_STATEMENT_BINANCE; TD_EINVAL for any other name. */
td_status td_statement_format_parse(const char *name, td_statement_format *out);

typedef struct td_venue_trade {
    int64_t at_ms; /* the trade's time, UTC, milliseconds since the epoch */
    char symbol[TD_SYMBOL_STR_MAX]; /* canonical */
    bool buy;
    td_dec price, quantity, amount, fee; /* price, quantity, amount > 0; fee >= 0 */
    char fee_asset[TD_ASSET_MAX + 1];    /* "" when the file names none */
} td_venue_trade;

/* Called for each trade, in the file's order; nonzero stops the parse. */
typedef int (*td_statement_fn)(void *arg, const td_venue_trade *t);

/*
 * Parses a whole statement (exactly len bytes of text): the header line,
 * then one trade per line.  TD_OK when every line is a trade (or blank);
 * otherwise TD_EINVAL with *line (1-based) and *why (static text) saying
 * where and why, or the callback's nonzero as TD_ERROR.  An empty
 * statement (a header alone) is TD_OK with no trades.  Trades before the
 * bad line were already handed to fn: a caller that stores them does so
 * in a transaction it rolls back.
 */
td_status td_statement_parse(td_statement_format f, const char *text, size_t len,
                             td_statement_fn fn, void *arg, size_t *line, const char **why);

#endif
