/*
 * decimal.h - fixed-point money: an int64_t counting units of 1e-8.
 *
 * Prices, quantities and balances travel as decimal strings ("106562.08")
 * and live as td_dec, so no float ever touches money.  Range: about
 * +/-92233720368.54775807.  Every operation either gives the exact result
 * (or, for mul/div, the result rounded half away from zero to 8 digits) or
 * fails with TD_EINVAL; nothing wraps, saturates or rounds silently.
 * On failure the out-parameter is left untouched.
 */
#ifndef TD_DECIMAL_H
#define TD_DECIMAL_H

#include "domain/td.h"

typedef int64_t td_dec;

#define TD_DEC_DIGITS 8
#define TD_DEC_SCALE INT64_C(100000000)
/* Longest td_dec_format output is "-92233720368.54775808" (21) plus NUL. */
#define TD_DEC_STR_MAX 32

/*
 * Parses exactly len bytes of s (no NUL needed), strictly:
 *   -?(0|[1-9][0-9]*)(\.[0-9]{1,8})?
 * Refused with TD_EINVAL: empty input, '+', whitespace, exponents, "." ,
 * "1.", ".5", leading zeros ("01"), more than 8 fractional digits (never
 * rounded), and values outside the td_dec range.  "-0" parses as 0.
 */
td_status td_dec_parse(const char *s, size_t len, td_dec *out);

/*
 * Parses exactly len bytes of s as a number the way exchanges send market
 * data: JSON's number grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * (Kraken sends JSON numbers, read here from their text, never through a
 * double), rounded half away from zero to 8 decimals when it has more.
 * TD_EINVAL outside that grammar or the td_dec range.  For prices and
 * sizes from a venue only: what a client sends goes through td_dec_parse,
 * which never rounds.
 */
td_status td_dec_parse_number(const char *s, size_t len, td_dec *out);

/*
 * Writes the canonical string of v into buf and returns its length (without
 * the NUL).  Trailing fractional zeros are stripped but at least 2 decimals
 * are kept: "106562.08", "1.50", "0.00001", "-3.00", "0.00".  Returns 0 and
 * writes "" (when cap > 0) if cap is too small; TD_DEC_STR_MAX always fits.
 */
size_t td_dec_format(td_dec v, char *buf, size_t cap);

/* Exact, or TD_EINVAL on overflow. */
td_status td_dec_add(td_dec a, td_dec b, td_dec *out);
td_status td_dec_sub(td_dec a, td_dec b, td_dec *out);

/*
 * a*b and a/b with a 128-bit intermediate, rounded half away from zero to
 * 8 decimals.  TD_EINVAL on overflow and on division by zero.
 */
td_status td_dec_mul(td_dec a, td_dec b, td_dec *out);
td_status td_dec_div(td_dec a, td_dec b, td_dec *out);

#endif
