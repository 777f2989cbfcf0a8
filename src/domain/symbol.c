/*
 * symbol.c - canonical symbols and exchange spellings; see symbol.h.
 *
 * Pure string work on caller buffers: no I/O, no allocation, no locale
 * (ASCII is tested by hand, never with <ctype.h>, whose answers depend on
 * the locale).  The quote lists and Kraken's asset codes are the only
 * exchange knowledge here; a new quote asset is one line in a table.
 */
#include "domain/symbol.h"

#include <string.h>

/* Quote assets a Binance symbol may end in.  Longest match wins, so
 * "BTCFDUSD" is BTC-FDUSD, never BTCFD-USD, and "BTCBIDR" BTC-BIDR. */
static const char *const BINANCE_QUOTES[] = {
    "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "USD", "DAI", "BTC", "ETH",  "BNB",
    "XRP",  "TRX",  "DOGE",  "EUR",  "AEUR", "EURI", "GBP", "TRY", "BRL", "AUD",  "JPY",
    "RUB",  "UAH",  "ZAR",   "PLN",  "RON",  "ARS",  "MXN", "COP", "IDR", "BIDR", "NGN",
};

/* Quote assets of Kraken altnames ("SOLUSD", "ETHXBT"), in Kraken's codes. */
static const char *const KRAKEN_QUOTES[] = {
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "USDT", "USDC", "PYUSD", "DAI", "XBT", "ETH",
};

/* Kraken's own names for two assets, in every spelling but WebSocket v2. */
static const struct {
    const char *kraken, *canon;
} KRAKEN_ALIASES[] = {{"XBT", "BTC"}, {"XDG", "DOGE"}};

/* The 4-letter asset codes of Kraken's legacy pair keys: X for crypto, Z
 * for fiat, a 3-letter code after it ("XXBTZUSD" is XXBT + ZUSD). */
static const struct {
    const char *code, *canon;
} KRAKEN_LEGACY[] = {
    {"XXBT", "BTC"}, {"XXDG", "DOGE"}, {"XETH", "ETH"}, {"XLTC", "LTC"}, {"XXRP", "XRP"},
    {"XXLM", "XLM"}, {"XXMR", "XMR"},  {"XZEC", "ZEC"}, {"XETC", "ETC"}, {"XREP", "REP"},
    {"XMLN", "MLN"}, {"ZUSD", "USD"},  {"ZEUR", "EUR"}, {"ZGBP", "GBP"}, {"ZJPY", "JPY"},
    {"ZCAD", "CAD"}, {"ZAUD", "AUD"},
};

/* Pair keys that follow neither rule: a new base against a legacy quote. */
static const struct {
    const char *key, *base, *quote;
} KRAKEN_ODD_KEYS[] = {{"USDTZUSD", "USDT", "USD"}};

static bool is_upper_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool td_asset_valid(const char *s, size_t n)
{
    if (n < TD_ASSET_MIN || n > TD_ASSET_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_upper_alnum(s[i]))
            return false;
    return true;
}

static bool all_upper_alnum(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_upper_alnum(s[i]))
            return false;
    return true;
}

static bool same(const char *a, size_t an, const char *b)
{
    return strlen(b) == an && memcmp(a, b, an) == 0;
}

static void clear(char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
}

/* Fills *out from two slices, refusing what the schema would refuse. */
static td_status parts(const char *b, size_t bn, const char *q, size_t qn, td_symbol *out)
{
    if (!td_asset_valid(b, bn) || !td_asset_valid(q, qn))
        return TD_EINVAL;
    memcpy(out->base, b, bn);
    out->base[bn] = '\0';
    memcpy(out->quote, q, qn);
    out->quote[qn] = '\0';
    return TD_OK;
}

/* Writes a, the separator (none when sep is 0) and b into buf. */
static td_status join(const char *a, char sep, const char *b, bool lower, char *buf, size_t cap)
{
    size_t an = strlen(a), bn = strlen(b), n = an + (sep ? 1 : 0) + bn;
    if (n + 1 > cap)
        return TD_ENOMEM;
    memcpy(buf, a, an);
    if (sep)
        buf[an] = sep;
    memcpy(buf + n - bn, b, bn);
    buf[n] = '\0';
    if (lower)
        for (size_t i = 0; i < n; i++)
            if (buf[i] >= 'A' && buf[i] <= 'Z')
                buf[i] = (char)(buf[i] - 'A' + 'a');
    return TD_OK;
}

bool td_symbol_valid(const char *s)
{
    td_symbol sym;
    return s && td_symbol_parse(s, strlen(s), &sym) == TD_OK;
}

td_status td_symbol_parse(const char *s, size_t len, td_symbol *out)
{
    if (!s || !out)
        return TD_EINVAL;
    const char *dash = memchr(s, '-', len);
    if (!dash)
        return TD_EINVAL;
    size_t bn = (size_t)(dash - s);
    td_symbol sym;
    /* A second dash lands in the quote, which asset_ok refuses. */
    if (parts(s, bn, dash + 1, len - bn - 1, &sym) != TD_OK)
        return TD_EINVAL;
    *out = sym;
    return TD_OK;
}

/* Splits a separator-less upper-case pair at its longest known quote,
 * leaving a base of at least TD_ASSET_MIN characters. */
static td_status split_by_quote(const char *s, size_t len, const char *const *quotes,
                                size_t nquotes, td_symbol *out)
{
    if (!all_upper_alnum(s, len))
        return TD_EINVAL;
    size_t best = 0;
    for (size_t i = 0; i < nquotes; i++) {
        size_t qn = strlen(quotes[i]);
        if (qn > best && qn + TD_ASSET_MIN <= len && memcmp(s + len - qn, quotes[i], qn) == 0)
            best = qn;
    }
    if (best == 0)
        return TD_EINVAL; /* no known quote asset */
    return parts(s, len - best, s + len - best, best, out);
}

/* Kraken's XBT and XDG to BTC and DOGE, in place. */
static void kraken_to_canon(char *asset)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_ALIASES); i++)
        if (strcmp(asset, KRAKEN_ALIASES[i].kraken) == 0)
            strcpy(asset, KRAKEN_ALIASES[i].canon);
}

static const char *canon_to_kraken(const char *asset)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_ALIASES); i++)
        if (strcmp(asset, KRAKEN_ALIASES[i].canon) == 0)
            return KRAKEN_ALIASES[i].kraken;
    return asset;
}

static bool is_kraken_alias(const char *asset)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_ALIASES); i++)
        if (strcmp(asset, KRAKEN_ALIASES[i].kraken) == 0)
            return true;
    return false;
}

static const char *legacy_canon(const char *code)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_LEGACY); i++)
        if (memcmp(code, KRAKEN_LEGACY[i].code, 4) == 0)
            return KRAKEN_LEGACY[i].canon;
    return NULL;
}

static const char *legacy_code(const char *canon)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_LEGACY); i++)
        if (strcmp(canon, KRAKEN_LEGACY[i].canon) == 0)
            return KRAKEN_LEGACY[i].code;
    return NULL;
}

static td_status kraken_rest_parse(const char *s, size_t len, td_symbol *out)
{
    for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_ODD_KEYS); i++)
        if (same(s, len, KRAKEN_ODD_KEYS[i].key))
            return parts(KRAKEN_ODD_KEYS[i].base, strlen(KRAKEN_ODD_KEYS[i].base),
                         KRAKEN_ODD_KEYS[i].quote, strlen(KRAKEN_ODD_KEYS[i].quote), out);
    /* A legacy key: a crypto code (X...) then any legacy code. */
    if (len == 8 && s[0] == 'X') {
        const char *b = legacy_canon(s), *q = legacy_canon(s + 4);
        if (b && q)
            return parts(b, strlen(b), q, strlen(q), out);
    }
    td_status st = split_by_quote(s, len, KRAKEN_QUOTES, TD_ARRAY_LEN(KRAKEN_QUOTES), out);
    if (st == TD_OK) {
        kraken_to_canon(out->base);
        kraken_to_canon(out->quote);
    }
    return st;
}

static td_status from_venue(td_spelling sp, const char *s, size_t len, td_symbol *out)
{
    char up[2 * TD_ASSET_MAX];
    const char *sep;
    switch (sp) {
    case TD_SPELL_BINANCE:
        return split_by_quote(s, len, BINANCE_QUOTES, TD_ARRAY_LEN(BINANCE_QUOTES), out);
    case TD_SPELL_BINANCE_STREAM:
        if (len > sizeof up)
            return TD_EINVAL;
        for (size_t i = 0; i < len; i++) {
            if (!is_lower_alnum(s[i]))
                return TD_EINVAL;
            up[i] = s[i] >= 'a' ? (char)(s[i] - 'a' + 'A') : s[i];
        }
        return split_by_quote(up, len, BINANCE_QUOTES, TD_ARRAY_LEN(BINANCE_QUOTES), out);
    case TD_SPELL_COINBASE:
        return td_symbol_parse(s, len, out);
    case TD_SPELL_KRAKEN:
    case TD_SPELL_KRAKEN_V1:
        sep = memchr(s, '/', len);
        if (!sep || parts(s, (size_t)(sep - s), sep + 1, len - (size_t)(sep - s) - 1, out) != TD_OK)
            return TD_EINVAL;
        kraken_to_canon(out->base);
        kraken_to_canon(out->quote);
        return TD_OK;
    case TD_SPELL_KRAKEN_REST:
        return kraken_rest_parse(s, len, out);
    }
    return TD_EINVAL;
}

td_status td_symbol_from_venue(td_spelling sp, const char *s, size_t len, char *buf, size_t cap)
{
    td_symbol sym;
    td_status st = s ? from_venue(sp, s, len, &sym) : TD_EINVAL;
    if (st == TD_OK)
        st = join(sym.base, '-', sym.quote, false, buf, cap);
    if (st != TD_OK)
        clear(buf, cap);
    return st;
}

static td_status to_venue(td_spelling sp, const td_symbol *sym, char *buf, size_t cap)
{
    bool kraken = sp == TD_SPELL_KRAKEN || sp == TD_SPELL_KRAKEN_V1 || sp == TD_SPELL_KRAKEN_REST;
    if (kraken && (is_kraken_alias(sym->base) || is_kraken_alias(sym->quote)))
        return TD_EINVAL; /* "XBT-USD" would read back as BTC-USD */
    switch (sp) {
    case TD_SPELL_BINANCE:
        return join(sym->base, 0, sym->quote, false, buf, cap);
    case TD_SPELL_BINANCE_STREAM:
        return join(sym->base, 0, sym->quote, true, buf, cap);
    case TD_SPELL_COINBASE:
        return join(sym->base, '-', sym->quote, false, buf, cap);
    case TD_SPELL_KRAKEN:
        return join(sym->base, '/', sym->quote, false, buf, cap);
    case TD_SPELL_KRAKEN_V1:
        return join(canon_to_kraken(sym->base), '/', canon_to_kraken(sym->quote), false, buf, cap);
    case TD_SPELL_KRAKEN_REST: {
        for (size_t i = 0; i < TD_ARRAY_LEN(KRAKEN_ODD_KEYS); i++)
            if (strcmp(sym->base, KRAKEN_ODD_KEYS[i].base) == 0 &&
                strcmp(sym->quote, KRAKEN_ODD_KEYS[i].quote) == 0)
                return join(KRAKEN_ODD_KEYS[i].key, 0, "", false, buf, cap);
        const char *b = legacy_code(sym->base), *q = legacy_code(sym->quote);
        if (b && q && b[0] == 'X')
            return join(b, 0, q, false, buf, cap);
        return join(canon_to_kraken(sym->base), 0, canon_to_kraken(sym->quote), false, buf, cap);
    }
    }
    return TD_EINVAL;
}

td_status td_symbol_to_venue(td_spelling sp, const char *canon, char *buf, size_t cap)
{
    td_symbol sym, back;
    td_status st = canon ? td_symbol_parse(canon, strlen(canon), &sym) : TD_EINVAL;
    if (st == TD_OK)
        st = to_venue(sp, &sym, buf, cap);
    /* A spelling without a separator must split back where it was joined. */
    if (st == TD_OK && (from_venue(sp, buf, strlen(buf), &back) != TD_OK ||
                        strcmp(back.base, sym.base) != 0 || strcmp(back.quote, sym.quote) != 0))
        st = TD_EINVAL;
    if (st != TD_OK)
        clear(buf, cap);
    return st;
}
