/*
 * params.c - parameter validation and JSON shapers; see params.h.
 */
#include "api/params.h"
#include "core/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(td_req *r, const char *name, const char *why)
{
    td_resp_error(r, TD_ERR_INVALID_PARAMETER, "%s: %s", name, why);
    return 0;
}

int td_param_only(td_req *r, const char *const *allowed)
{
    for (size_t i = 0; i < r->nparams; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, r->params[i].name) == 0;
        if (!ok)
            return bad(r, r->params[i].name, "unknown parameter");
    }
    return 1;
}

int td_param_none(td_req *r)
{
    static const char *const none[] = {NULL};
    return td_param_only(r, none);
}

static int parse_i64(const char *s, int64_t *out)
{
    if (!*s || *s == '+' || *s == '-' || *s == ' ' || strlen(s) > 19)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = v;
    return 1;
}

int td_param_int(td_req *r, const char *name, int def, int lo, int hi, int *out)
{
    const char *v = td_req_param(r, name);
    int64_t n;
    if (!v) {
        *out = def;
        return 1;
    }
    if (!parse_i64(v, &n) || n < lo || n > hi) {
        char why[80];
        snprintf(why, sizeof why, "must be an integer from %d to %d", lo, hi);
        return bad(r, name, why);
    }
    *out = (int)n;
    return 1;
}

int td_param_enum(td_req *r, const char *name, const char *const *choices, const char **out)
{
    const char *v = td_req_param(r, name);
    *out = NULL;
    if (!v)
        return 1;
    for (const char *const *c = choices; *c; c++)
        if (strcmp(*c, v) == 0) {
            *out = *c;
            return 1;
        }
    char why[160];
    size_t n = (size_t)snprintf(why, sizeof why, "must be one of");
    for (const char *const *c = choices; *c && n < sizeof why; c++)
        n += (size_t)snprintf(why + n, sizeof why - n, " %s", *c);
    return bad(r, name, why);
}

#define SYMBOL_WHY "must be a canonical symbol like BTC-USDT"

int td_param_symbol(td_req *r, const char *name, const char **out)
{
    const char *v = td_req_param(r, name);
    *out = NULL;
    if (!v)
        return 1;
    if (!td_symbol_valid(v))
        return bad(r, name, SYMBOL_WHY);
    *out = v;
    return 1;
}

int td_path_symbol(td_req *r, size_t idx)
{
    if (idx >= r->npath_args || !td_symbol_valid(r->path_args[idx]))
        return bad(r, "symbol", SYMBOL_WHY);
    return 1;
}

/* Cursors are "p" + the last id in base 36: opaque enough to discourage
 * building them by hand, trivially validated, and stable across deploys. */
void td_cursor_encode(int64_t id, char *buf, size_t cap)
{
    char tmp[16];
    int n = 0;
    uint64_t v = (uint64_t)id;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v);
    size_t o = 0;
    if (cap < (size_t)n + 2)
        return;
    buf[o++] = 'p';
    while (n)
        buf[o++] = tmp[--n];
    buf[o] = '\0';
}

td_status td_cursor_decode(const char *s, int64_t *id)
{
    if (s[0] != 'p' || !s[1] || strlen(s) > 14)
        return TD_EINVAL;
    uint64_t v = 0;
    for (const char *p = s + 1; *p; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'z' ? *p - 'a' + 10 : -1;
        /* Checked before the step, not after: 13 digits of base 36 exceed
         * 2^64, so a check after the multiplication sees a wrapped value. */
        if (d < 0 || v > ((uint64_t)INT64_MAX - (uint64_t)d) / 36)
            return TD_EINVAL;
        v = v * 36 + (uint64_t)d;
    }
    if (v == 0)
        return TD_EINVAL;
    *id = (int64_t)v;
    return TD_OK;
}

int td_param_time(td_req *r, const char *name, int64_t *epoch_ms, int *present)
{
    const char *v = td_req_param(r, name);
    *present = v != NULL;
    *epoch_ms = 0;
    if (v && td_rfc3339_parse_ms(v, strlen(v), epoch_ms) != TD_OK)
        return bad(r, name, "must be an RFC 3339 time like 2026-11-22T01:03:13.494Z");
    return 1;
}

int td_param_date(td_req *r, const char *name, int64_t *day_ms, int *present)
{
    const char *v = td_req_param(r, name);
    *present = v != NULL;
    *day_ms = 0;
    if (!v)
        return 1;
    /* The day's midnight as a time, and back: 2026-02-30 does not survive. */
    char t[32], back[40];
    if (strlen(v) != 10 || (size_t)snprintf(t, sizeof t, "%sT00:00:00Z", v) >= sizeof t ||
        td_rfc3339_parse_ms(t, strlen(t), day_ms) != TD_OK ||
        td_rfc3339_ms(*day_ms, back, sizeof back) < 10 || memcmp(back, v, 10) != 0)
        return bad(r, name, "must be a UTC date like 2026-11-22");
    return 1;
}

int td_param_cursor(td_req *r, const char *name, int64_t *after_id)
{
    const char *v = td_req_param(r, name);
    *after_id = 0;
    if (!v)
        return 1;
    if (td_cursor_decode(v, after_id) != TD_OK)
        return bad(r, name, "is not a cursor this API returned");
    return 1;
}

int td_id_parse(const char *s, int64_t *out)
{
    int64_t v;
    if (!parse_i64(s, &v) || v <= 0)
        return 0;
    *out = v;
    return 1;
}

int td_param_id(td_req *r, const char *name, int64_t *out)
{
    const char *v = td_req_param(r, name);
    *out = 0;
    if (v && !parse_i64(v, out))
        return bad(r, name, "must be a non-negative integer id");
    return 1;
}

int td_path_id(td_req *r, size_t idx, const char *what, int64_t *out)
{
    if (idx >= r->npath_args || !td_id_parse(r->path_args[idx], out))
        return bad(r, what, "must be a positive integer id");
    return 1;
}
