/*
 * oracle.c - the price oracle's two rules; see oracle.h.
 *
 * Pure computation on the caller's struct: no I/O, no clock, no floats
 * (the median of two is their exact mean rounded half away from zero, and
 * deviations are compared in 128-bit integers).
 */
#include "domain/oracle.h"
#include "domain/price.h"

#include <string.h>

void td_oracle_symbol_init(td_oracle_symbol *s)
{
    memset(s, 0, sizeof *s);
    s->chosen = -1;
}

void td_oracle_quote(td_oracle_symbol *s, int source, td_dec price, int64_t updated_ms)
{
    if (source < 0 || source >= TD_ORACLE_MAX_SOURCES || updated_ms <= 0 ||
        updated_ms < s->updated_ms[source])
        return;
    s->price[source] = price;
    s->updated_ms[source] = updated_ms;
}

static int fresh(const td_oracle_cfg *cfg, const td_oracle_symbol *s, int i, int64_t now_ms)
{
    return s->updated_ms[i] > 0 && !td_price_stale(now_ms - s->updated_ms[i], cfg->stale_ms);
}

/* Sort a few values in place (at most TD_ORACLE_MAX_SOURCES). */
static void sort_small(td_dec *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            td_dec t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

static td_dec median_of(td_dec *v, int n)
{
    sort_small(v, n);
    if (n % 2)
        return v[n / 2];
    __int128 sum = (__int128)v[n / 2 - 1] + v[n / 2];
    /* Half away from zero, exactly; the mean of two td_dec is a td_dec. */
    return (td_dec)(sum >= 0 ? (sum + 1) / 2 : (sum - 1) / 2);
}

/* |p - m| > m * bp / 10000, in integers. */
static int strays(td_dec p, td_dec m, int64_t bp)
{
    __int128 d = (__int128)p - m;
    if (d < 0)
        d = -d;
    __int128 am = m < 0 ? -(__int128)m : m;
    return d * 10000 > am * bp;
}

static void keep(td_oracle_symbol *s, td_oracle_choice *c)
{
    c->switched = s->chosen != c->source;
    s->chosen = c->source;
    s->last_price = c->price;
    s->last_updated_ms = c->updated_ms;
}

td_oracle_choice td_oracle_choose(const td_oracle_cfg *cfg, td_oracle_symbol *s, int64_t now_ms)
{
    td_oracle_choice c = {.source = -1};
    int n = cfg->nsources < TD_ORACLE_MAX_SOURCES ? cfg->nsources : TD_ORACLE_MAX_SOURCES;

    if (cfg->mode == TD_ORACLE_PRIORITY) {
        for (int i = 0; i < n; i++) {
            if (fresh(cfg, s, i, now_ms)) {
                c.ok = 1;
                c.source = i;
                c.price = s->price[i];
                c.updated_ms = s->updated_ms[i];
                keep(s, &c);
                return c;
            }
        }
    } else {
        td_dec all[TD_ORACLE_MAX_SOURCES], used[TD_ORACLE_MAX_SOURCES];
        int idx[TD_ORACLE_MAX_SOURCES], nf = 0;
        for (int i = 0; i < n; i++)
            if (fresh(cfg, s, i, now_ms)) {
                idx[nf] = i;
                all[nf++] = s->price[i];
            }
        if (nf > 0) {
            td_dec sorted[TD_ORACLE_MAX_SOURCES];
            memcpy(sorted, all, sizeof(td_dec) * (size_t)nf);
            td_dec m = median_of(sorted, nf);
            int nu = 0;
            for (int k = 0; k < nf; k++) {
                /* With two sources neither is "the others": both count. */
                if (nf > 2 && strays(all[k], m, cfg->max_deviation_bp)) {
                    c.outliers |= 1u << idx[k];
                    continue;
                }
                used[nu++] = all[k];
                if (s->updated_ms[idx[k]] > c.updated_ms)
                    c.updated_ms = s->updated_ms[idx[k]];
            }
            if (nu == 0) { /* they disagree in two camps: no majority to trust more */
                c.outliers = 0;
                for (int k = 0; k < nf; k++) {
                    used[nu++] = all[k];
                    if (s->updated_ms[idx[k]] > c.updated_ms)
                        c.updated_ms = s->updated_ms[idx[k]];
                }
            }
            c.ok = 1;
            c.used = nu;
            c.price = median_of(used, nu);
            c.source = -2;
            keep(s, &c);
            return c;
        }
    }

    /* Nothing fresh: the last choice, stale (or nothing at all). */
    if (s->chosen == -1 && s->last_updated_ms == 0) {
        int newest = -1;
        for (int i = 0; i < n; i++)
            if (s->updated_ms[i] > 0 && (newest < 0 || s->updated_ms[i] > s->updated_ms[newest]))
                newest = i;
        if (newest < 0)
            return c; /* ok = 0 */
        c.source = newest;
        c.price = s->price[newest];
        c.updated_ms = s->updated_ms[newest];
    } else {
        c.source = s->chosen;
        c.price = s->last_price;
        c.updated_ms = s->last_updated_ms;
    }
    c.ok = 1;
    c.stale = 1;
    c.switched = 0;
    s->chosen = c.source;
    s->last_price = c.price;
    s->last_updated_ms = c.updated_ms;
    return c;
}
