/*
 * statement.c - exchange statements (CSV exports) into trades; see
 * statement.h for the format and what is refused.
 */
#include "domain/statement.h"

#include <string.h>

#define MAX_FIELDS 8

typedef struct field {
    const char *s;
    size_t n;
} field;

static const char *const BINANCE_HEADER[] = {"Date(UTC)", "Pair",   "Side", "Price",
                                             "Executed",  "Amount", "Fee"};
#define BINANCE_COLUMNS (sizeof BINANCE_HEADER / sizeof BINANCE_HEADER[0])

td_status td_statement_format_parse(const char *name, td_statement_format *out)
{
    if (!name || strcmp(name, "binance") != 0)
        return TD_EINVAL;
    *out = TD_STATEMENT_BINANCE;
    return TD_OK;
}

/* Splits one line (no line end) at commas; a field may be quoted whole.
 * The number of fields, or -1 with *why. */
static int split(const char *s, size_t n, field *out, const char **why)
{
    int k = 0;
    size_t i = 0;
    for (;;) {
        if (k == MAX_FIELDS) {
            *why = "too many columns";
            return -1;
        }
        field *f = &out[k++];
        if (i < n && s[i] == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"')
                j++;
            if (j == n) {
                *why = "a quoted field is not closed";
                return -1;
            }
            f->s = s + i + 1;
            f->n = j - i - 1;
            i = j + 1;
            if (i < n && s[i] != ',') {
                *why = "a quote inside a field";
                return -1;
            }
        } else {
            size_t j = i;
            while (j < n && s[j] != ',') {
                if (s[j] == '"') {
                    *why = "a quote inside a field";
                    return -1;
                }
                j++;
            }
            f->s = s + i;
            f->n = j - i;
            i = j;
        }
        if (i == n)
            return k;
        i++; /* the comma */
    }
}

/* A decimal as exports write it: td_dec_parse's grammar, with fractional
 * zeros past the 8th accepted (exact) and any other digit there refused. */
static td_status decimal(const char *s, size_t n, td_dec *out)
{
    const char *dot = memchr(s, '.', n);
    if (dot && (size_t)(s + n - dot - 1) > TD_DEC_DIGITS) {
        for (const char *p = dot + 1 + TD_DEC_DIGITS; p < s + n; p++)
            if (*p != '0')
                return TD_EINVAL;
        n = (size_t)(dot + 1 + TD_DEC_DIGITS - s);
    }
    return td_dec_parse(s, n, out);
}

/* "0.5BTC", "0.5": the amount, and its asset suffix when it has one.  An
 * expected asset (the pair's base or quote) is matched whole at the end
 * first, so a name that begins with a digit ("0.51INCH") reads right. */
static td_status money(field f, const char *expect, td_dec *out, char *asset, size_t cap)
{
    size_t n = f.n, elen = expect ? strlen(expect) : 0;
    if (asset)
        asset[0] = '\0';
    if (elen && n > elen && memcmp(f.s + n - elen, expect, elen) == 0 &&
        (f.s[n - elen - 1] >= '0' && f.s[n - elen - 1] <= '9')) {
        n -= elen;
        if (asset && elen < cap)
            memcpy(asset, expect, elen + 1);
    } else {
        size_t k = 0;
        while (k < n && ((f.s[k] >= '0' && f.s[k] <= '9') || f.s[k] == '.' || f.s[k] == '-'))
            k++;
        if (k < n) {
            if (!asset || !td_asset_valid(f.s + k, n - k) || n - k >= cap)
                return TD_EINVAL;
            memcpy(asset, f.s + k, n - k);
            asset[n - k] = '\0';
            n = k;
        }
    }
    return decimal(f.s, n, out);
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD HH:MM:SS", UTC. */
static td_status utc_time(field f, int64_t *ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *s = f.s;
    int y, mo, d, h, mi, se;
    if (f.n != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
        return TD_EINVAL;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
        h > 23 || mi > 59 || se > 59)
        return TD_EINVAL;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000;
    return TD_OK;
}

static bool field_is(field f, const char *s)
{
    return f.n == strlen(s) && memcmp(f.s, s, f.n) == 0;
}

static td_status binance_trade(const field *c, td_venue_trade *t, const char **why)
{
    memset(t, 0, sizeof *t);
    td_symbol sym;
    if (utc_time(c[0], &t->at_ms) != TD_OK) {
        *why = "Date(UTC) is not YYYY-MM-DD HH:MM:SS";
        return TD_EINVAL;
    }
    if (td_symbol_from_venue(TD_SPELL_BINANCE, c[1].s, c[1].n, t->symbol, sizeof t->symbol) !=
            TD_OK ||
        td_symbol_parse(t->symbol, strlen(t->symbol), &sym) != TD_OK) {
        *why = "Pair is not a symbol Binance spells";
        return TD_EINVAL;
    }
    if (field_is(c[2], "BUY")) {
        t->buy = true;
    } else if (!field_is(c[2], "SELL")) {
        *why = "Side is neither BUY nor SELL";
        return TD_EINVAL;
    }
    if (money(c[3], NULL, &t->price, NULL, 0) != TD_OK || t->price <= 0) {
        *why = "Price is not a positive decimal of at most 8 places";
        return TD_EINVAL;
    }
    char asset[TD_ASSET_MAX + 1];
    if (money(c[4], sym.base, &t->quantity, asset, sizeof asset) != TD_OK || t->quantity <= 0 ||
        (asset[0] && strcmp(asset, sym.base) != 0)) {
        *why = "Executed is not a positive amount of the pair's base asset";
        return TD_EINVAL;
    }
    if (money(c[5], sym.quote, &t->amount, asset, sizeof asset) != TD_OK || t->amount <= 0 ||
        (asset[0] && strcmp(asset, sym.quote) != 0)) {
        *why = "Amount is not a positive amount of the pair's quote asset";
        return TD_EINVAL;
    }
    /* The fee's asset: the base or quote when it ends so, else any. */
    const char *fee_expect = c[6].n > strlen(sym.quote) &&
                                     memcmp(c[6].s + c[6].n - strlen(sym.quote), sym.quote,
                                            strlen(sym.quote)) == 0
                                 ? sym.quote
                                 : sym.base;
    if (money(c[6], fee_expect, &t->fee, t->fee_asset, sizeof t->fee_asset) != TD_OK ||
        t->fee < 0) {
        *why = "Fee is not a decimal of at most 8 places with an optional asset";
        return TD_EINVAL;
    }
    return TD_OK;
}

td_status td_statement_parse(td_statement_format f, const char *text, size_t len,
                             td_statement_fn fn, void *arg, size_t *line, const char **why)
{
    (void)f; /* one format so far */
    *line = 0;
    *why = "";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    bool header = false;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
        const char *s = text + i;
        i = nl ? end + 1 : len;
        ++*line;
        if (n && s[n - 1] == '\r')
            n--;
        if (!n)
            continue;
        if (memchr(s, '\r', n) || memchr(s, '\0', n)) {
            *why = "a carriage return or NUL inside a line";
            return TD_EINVAL;
        }
        field c[MAX_FIELDS];
        int k = split(s, n, c, why);
        if (k < 0)
            return TD_EINVAL;
        if ((size_t)k != BINANCE_COLUMNS) {
            *why = header ? "a trade needs exactly 7 columns"
                          : "the header is not Date(UTC),Pair,Side,Price,Executed,Amount,Fee";
            return TD_EINVAL;
        }
        if (!header) {
            for (size_t j = 0; j < BINANCE_COLUMNS; j++)
                if (!field_is(c[j], BINANCE_HEADER[j])) {
                    *why = "the header is not Date(UTC),Pair,Side,Price,Executed,Amount,Fee";
                    return TD_EINVAL;
                }
            header = true;
            continue;
        }
        td_venue_trade t;
        if (binance_trade(c, &t, why) != TD_OK)
            return TD_EINVAL;
        if (fn && fn(arg, &t) != 0) {
            *why = "stopped";
            return TD_ERROR;
        }
    }
    if (!header) {
        *why = "no header line: an empty file";
        return TD_EINVAL;
    }
    return TD_OK;
}
