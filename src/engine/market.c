/*
 * market.c - the engine's market state; see market.h.
 *
 * Candles are built from the oracle's chosen price (so a chart follows the
 * price the API shows) and the chosen source's trades (so volume is not
 * counted once per venue).  Candle time is the venue's event time when it
 * sends one, else the receive time; staleness is always judged on receive
 * time, the engine's own clock.  No I/O.
 */
#include "engine/market.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

#define HASH_SLOTS 512 /* > 2 × TD_MARKET_MAX_SYMBOLS: short probes */
#define CLOSED_MAX 8192
#define TRADES_MAX 4096
/* Venue clocks run a little behind ours: roll candles on the timer only
 * this long after a bar's end, so a late-stamped event still lands in it. */
#define ROLL_GRACE_MS 2000

typedef struct sym {
    char symbol[TD_SYMBOL_STR_MAX];
    td_oracle_symbol o;
    td_oracle_choice last;
    int have_choice;
    int price_dirty;
    td_candle_series c[TD_CANDLE_INTERVALS];
    int candle_dirty[TD_CANDLE_INTERVALS];
    td_book_top book;
    int book_dirty;
    td_market_event kept[TD_MARKET_TRADES_KEPT]; /* ring, newest at kept_head - 1 */
    size_t kept_head, kept_n;
} sym;

struct td_market {
    td_oracle_cfg cfg;
    int n;
    sym *s;
    int16_t slot[HASH_SLOTS]; /* symbol index + 1, 0 empty */
    td_candle_update closed[CLOSED_MAX];
    size_t closed_head, closed_n;
    td_market_event trades[TRADES_MAX];
    size_t trades_head, trades_n;
    td_market_stats stats;
    td_market_price_fn on_price;
    void *on_price_arg;
    td_market_event_fn on_event;
    void *on_event_arg;
};

static int find_slot(const td_market *m, const char *symbol)
{
    uint64_t h = td_hash_str(symbol);
    for (int k = 0; k < HASH_SLOTS; k++) {
        int i = (int)((h + (uint64_t)k) % HASH_SLOTS);
        if (m->slot[i] == 0 || strcmp(m->s[m->slot[i] - 1].symbol, symbol) == 0)
            return i;
    }
    return -1;
}

td_market *td_market_new(const td_oracle_cfg *cfg, const char *const *symbols, int n)
{
    if (n < 1 || n > TD_MARKET_MAX_SYMBOLS)
        return NULL;
    td_market *m = calloc(1, sizeof *m);
    if (!m || !(m->s = calloc((size_t)n, sizeof *m->s))) {
        free(m);
        return NULL;
    }
    m->cfg = *cfg;
    for (int i = 0; i < n; i++) {
        int k = td_symbol_valid(symbols[i]) ? find_slot(m, symbols[i]) : -1;
        if (k < 0 || m->slot[k] != 0) { /* invalid or listed twice */
            td_market_free(m);
            return NULL;
        }
        sym *s = &m->s[i];
        memcpy(s->symbol, symbols[i], strlen(symbols[i]) + 1);
        td_oracle_symbol_init(&s->o);
        for (int c = 0; c < TD_CANDLE_INTERVALS; c++)
            td_candle_series_init(&s->c[c], td_candle_interval_ms[c]);
        s->book.source = -1;
        m->slot[k] = (int16_t)(i + 1);
        m->n = i + 1;
    }
    return m;
}

void td_market_free(td_market *m)
{
    if (!m)
        return;
    free(m->s);
    free(m);
}

int td_market_nsymbols(const td_market *m)
{
    return m->n;
}

const char *td_market_symbol(const td_market *m, int i)
{
    return i >= 0 && i < m->n ? m->s[i].symbol : NULL;
}

int td_market_find(const td_market *m, const char *symbol)
{
    int k = find_slot(m, symbol);
    return k < 0 || m->slot[k] == 0 ? -1 : m->slot[k] - 1;
}

td_status td_market_resume(td_market *m, const char *symbol, int interval, const td_candle *bar)
{
    int i = td_market_find(m, symbol);
    if (i < 0)
        return TD_ENOTFOUND;
    if (interval < 0 || interval >= TD_CANDLE_INTERVALS || bar->close <= 0 ||
        bar->open_ms != td_candle_open_of(td_candle_interval_ms[interval], bar->open_ms))
        return TD_EINVAL;
    td_candle_series *c = &m->s[i].c[interval];
    c->cur = *bar;
    c->has = 1;
    return TD_OK;
}

static void push_closed(td_market *m, const sym *s, int c, const td_candle *bar)
{
    if (m->closed_n == CLOSED_MAX) { /* the publisher is far behind: oldest goes */
        m->closed_head = (m->closed_head + 1) % CLOSED_MAX;
        m->closed_n--;
    }
    td_candle_update *u = &m->closed[(m->closed_head + m->closed_n++) % CLOSED_MAX];
    memcpy(u->symbol, s->symbol, sizeof u->symbol);
    u->interval = c;
    u->bar = *bar;
    u->closed = 1;
}

static void roll(td_market *m, sym *s, int64_t t_ms)
{
    for (int c = 0; c < TD_CANDLE_INTERVALS; c++) {
        td_candle done;
        int guard = 0;
        /* A long silence (the engine was down for a day) would roll one
         * bar per minute; past a day of bars, start the series afresh. */
        while (td_candle_roll(&s->c[c], t_ms, &done)) {
            push_closed(m, s, c, &done);
            s->candle_dirty[c] = 1;
            if (++guard == 1440) {
                td_candle_series_init(&s->c[c], td_candle_interval_ms[c]);
                break;
            }
        }
    }
}

static void candles(td_market *m, sym *s, int64_t t_ms, td_dec price, td_dec qty, int trade)
{
    roll(m, s, t_ms);
    for (int c = 0; c < TD_CANDLE_INTERVALS; c++) {
        int64_t late = s->c[c].late;
        if (td_candle_apply(&s->c[c], t_ms, price, qty, trade) == TD_OK && s->c[c].late == late)
            s->candle_dirty[c] = 1;
        else if (s->c[c].late != late)
            m->stats.late++;
    }
}

/* Ask the oracle; remember whether anything a reader sees changed. */
static void decide(td_market *m, sym *s, int64_t now_ms, int64_t t_ms)
{
    td_oracle_choice c = td_oracle_choose(&m->cfg, &s->o, now_ms);
    if (!c.ok)
        return;
    int price_moved = !s->have_choice || c.price != s->last.price;
    if (!s->have_choice || price_moved || c.source != s->last.source || c.stale != s->last.stale) {
        s->price_dirty = 1;
        if (s->have_choice && c.switched)
            m->stats.switches++;
    }
    s->last = c;
    s->have_choice = 1;
    if (price_moved && !c.stale) {
        candles(m, s, t_ms, c.price, 0, 0);
        if (m->on_price)
            m->on_price(m->on_price_arg, (int)(s - m->s), c.price, now_ms);
    }
}

static void keep_trade(td_market *m, sym *s, const td_market_event *e)
{
    s->kept[s->kept_head] = *e;
    s->kept_head = (s->kept_head + 1) % TD_MARKET_TRADES_KEPT;
    if (s->kept_n < TD_MARKET_TRADES_KEPT)
        s->kept_n++;
    if (m->trades_n == TRADES_MAX) {
        m->trades_head = (m->trades_head + 1) % TRADES_MAX;
        m->trades_n--;
    }
    m->trades[(m->trades_head + m->trades_n++) % TRADES_MAX] = *e;
}

td_status td_market_apply(td_market *m, int source, const td_market_event *e, int64_t now_ms)
{
    if (source < 0 || source >= m->cfg.nsources || source >= TD_ORACLE_MAX_SOURCES)
        return TD_EINVAL;
    int i = td_market_find(m, e->symbol);
    if (i < 0) {
        m->stats.unknown_symbol++;
        return TD_ENOTFOUND;
    }
    m->stats.events++;
    sym *s = &m->s[i];
    int64_t t = e->event_ms > 0 ? e->event_ms : now_ms;
    /* The chosen source before this event: books and trades follow it. */
    int chosen = s->have_choice ? s->last.source : source;
    int follows = chosen == source || chosen == -2 || s->last.stale;

    if (e->has_book && (follows || s->book.updated_ms == 0)) {
        s->book.bid = e->bid;
        s->book.bid_qty = e->bid_qty;
        s->book.ask = e->ask;
        s->book.ask_qty = e->ask_qty;
        s->book.source = source;
        s->book.updated_ms = now_ms;
        s->book_dirty = 1;
    }
    switch (e->kind) {
    case TD_MKT_TICKER:
    case TD_MKT_TRADE:
        td_oracle_quote(&s->o, source, e->price, now_ms);
        break;
    case TD_MKT_CANDLE:
        td_oracle_quote(&s->o, source, e->close, now_ms);
        break;
    case TD_MKT_BOOK:
        if (m->on_event)
            m->on_event(m->on_event_arg, i, e, now_ms);
        return TD_OK;
    }
    decide(m, s, now_ms, t);
    if (e->kind == TD_MKT_TRADE && follows) {
        candles(m, s, t, s->last.price, e->qty, 1);
        td_market_event kept = *e;
        kept.recv_ms = now_ms;
        kept.source = source;
        keep_trade(m, s, &kept);
    }
    if (m->on_event)
        m->on_event(m->on_event_arg, i, e, now_ms);
    return TD_OK;
}

void td_market_tick(td_market *m, int64_t now_ms)
{
    for (int i = 0; i < m->n; i++) {
        decide(m, &m->s[i], now_ms, now_ms);
        roll(m, &m->s[i], now_ms - ROLL_GRACE_MS);
    }
}

size_t td_market_take_prices(td_market *m, td_price_update *out, size_t cap)
{
    size_t k = 0;
    for (int i = 0; i < m->n && k < cap; i++) {
        sym *s = &m->s[i];
        if (!s->price_dirty)
            continue;
        s->price_dirty = 0;
        td_price_update *u = &out[k++];
        memcpy(u->symbol, s->symbol, sizeof u->symbol);
        u->price = s->last.price;
        u->source = s->last.source;
        u->updated_ms = s->last.updated_ms;
        u->stale = s->last.stale;
        u->switched = s->last.switched;
    }
    return k;
}

size_t td_market_take_candles_from(td_market *m, int *cursor, td_candle_update *out, size_t cap)
{
    size_t k = 0;
    while (k < cap && m->closed_n > 0) {
        out[k++] = m->closed[m->closed_head];
        m->closed_head = (m->closed_head + 1) % CLOSED_MAX;
        m->closed_n--;
    }
    int at = *cursor < 0 ? m->n * TD_CANDLE_INTERVALS : *cursor;
    for (; at < m->n * TD_CANDLE_INTERVALS && k < cap; at++) {
        sym *s = &m->s[at / TD_CANDLE_INTERVALS];
        int c = at % TD_CANDLE_INTERVALS;
        if (!s->candle_dirty[c] || !s->c[c].has)
            continue;
        s->candle_dirty[c] = 0;
        td_candle_update *u = &out[k++];
        memcpy(u->symbol, s->symbol, sizeof u->symbol);
        u->interval = c;
        u->bar = s->c[c].cur;
        u->closed = 0;
    }
    *cursor = at < m->n * TD_CANDLE_INTERVALS ? at : -1;
    return k;
}

size_t td_market_take_candles(td_market *m, td_candle_update *out, size_t cap)
{
    int cursor = 0;
    return td_market_take_candles_from(m, &cursor, out, cap);
}

size_t td_market_take_trades(td_market *m, td_market_event *out, size_t cap)
{
    size_t k = 0;
    while (k < cap && m->trades_n > 0) {
        out[k++] = m->trades[m->trades_head];
        m->trades_head = (m->trades_head + 1) % TRADES_MAX;
        m->trades_n--;
    }
    return k;
}

void td_market_set_oracle(td_market *m, int64_t stale_ms, int64_t max_deviation_bp)
{
    m->cfg.stale_ms = stale_ms;
    m->cfg.max_deviation_bp = max_deviation_bp;
}

void td_market_on_price(td_market *m, td_market_price_fn fn, void *arg)
{
    m->on_price = fn;
    m->on_price_arg = arg;
}

void td_market_on_event(td_market *m, td_market_event_fn fn, void *arg)
{
    m->on_event = fn;
    m->on_event_arg = arg;
}

const td_oracle_symbol *td_market_quotes(const td_market *m, int i)
{
    return i >= 0 && i < m->n ? &m->s[i].o : NULL;
}

const td_oracle_cfg *td_market_oracle_cfg(const td_market *m)
{
    return &m->cfg;
}

size_t td_market_take_books(td_market *m, int *out, size_t cap)
{
    size_t k = 0;
    for (int i = 0; i < m->n && k < cap; i++)
        if (m->s[i].book_dirty) {
            m->s[i].book_dirty = 0;
            out[k++] = i;
        }
    return k;
}

int td_market_price(const td_market *m, int i, td_price_update *out)
{
    if (i < 0 || i >= m->n || !m->s[i].have_choice)
        return 0;
    const sym *s = &m->s[i];
    memcpy(out->symbol, s->symbol, sizeof out->symbol);
    out->price = s->last.price;
    out->source = s->last.source;
    out->updated_ms = s->last.updated_ms;
    out->stale = s->last.stale;
    out->switched = 0;
    return 1;
}

const td_book_top *td_market_book(const td_market *m, int i)
{
    return i >= 0 && i < m->n ? &m->s[i].book : NULL;
}

size_t td_market_recent_trades(const td_market *m, int i, td_market_event *out, size_t cap)
{
    if (i < 0 || i >= m->n)
        return 0;
    const sym *s = &m->s[i];
    size_t k = 0;
    for (; k < s->kept_n && k < cap; k++)
        out[k] = s->kept[(s->kept_head + TD_MARKET_TRADES_KEPT - 1 - k) % TD_MARKET_TRADES_KEPT];
    return k;
}

td_market_stats td_market_stats_get(const td_market *m)
{
    return m->stats;
}
