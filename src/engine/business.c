/*
 * business.c - what the fills add up to, for operators' dashboards: fills,
 * filled notional (price × quantity) and realized P&L per symbol as
 * Prometheus counters (P&L as two, profit and loss, since a counter only
 * grows: net = profit - loss), counted by the outbox relay as it delivers each
 * fill (relay.c; a fill Redis already held is not counted again), and
 * conditional orders by state and the outbox backlog as gauges, read from
 * PostgreSQL by the relay's jobs thread every BUSINESS_EVERY_MS while
 * this engine leads.
 *
 * Money is summed in fixed point (1e-8 units, domain/decimal) in 128 bits,
 * so a counter never overflows or rounds; it is rendered as decimal text.
 * Sums of several engines' counters are Prometheus' to make (each engine
 * counts the fills it relayed).  The relay's two threads write, the
 * loop's HTTP thread reads: one mutex.
 */
#include "engine/engine.h"
#include "core/jsonr.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define MAX_SYMBOLS 1024

typedef struct per_symbol {
    char symbol[TD_SYMBOL_STR_MAX];
    unsigned long long fills;
    __int128 notional, profit, loss; /* 1e-8 units; loss as a positive amount */
} per_symbol;

static struct {
    pthread_mutex_t mu;
    per_symbol s[MAX_SYMBOLS];
    int n;
    long long orders[TD_ORDER_STATES];
    long long backlog;
    int gauges_known;
    td_jr jr;
    int jr_ready;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

const char *const td_order_state_names[TD_ORDER_STATES] = {"active",    "triggered", "filled",
                                                           "cancelled", "rejected",  "expired"};

/* A decimal member of the fill payload. */
static int dec_of(const td_jr *jr, const char *key, td_dec *out)
{
    size_t n;
    const char *s = td_jr_text(jr, td_jr_member(jr, 0, key), &n);
    return s && td_dec_parse(s, n, out) == TD_OK;
}

void td_business_fill(const char *payload, size_t len)
{
    pthread_mutex_lock(&g.mu);
    if (!g.jr_ready) {
        td_jr_init(&g.jr, 4, 256);
        g.jr_ready = 1;
    }
    size_t sn;
    const char *sym;
    td_dec price, qty, pnl;
    if (td_jr_parse(&g.jr, payload, len) != TD_OK ||
        !(sym = td_jr_text(&g.jr, td_jr_member(&g.jr, 0, "symbol"), &sn)) ||
        sn >= TD_SYMBOL_STR_MAX || !dec_of(&g.jr, "price", &price) ||
        !dec_of(&g.jr, "quantity", &qty) || !dec_of(&g.jr, "realized_pnl", &pnl)) {
        pthread_mutex_unlock(&g.mu); /* not a fill this knows how to count */
        return;
    }
    int k = 0;
    while (k < g.n && (strlen(g.s[k].symbol) != sn || memcmp(g.s[k].symbol, sym, sn) != 0))
        k++;
    if (k == g.n && g.n < MAX_SYMBOLS) {
        memcpy(g.s[k].symbol, sym, sn);
        g.s[k].symbol[sn] = '\0';
        g.n++;
    }
    if (k < g.n) {
        per_symbol *p = &g.s[k];
        p->fills++;
        /* price and quantity are 1e-8 units each: their product is 1e-16. */
        p->notional += (__int128)price * qty / TD_DEC_SCALE;
        if (pnl > 0)
            p->profit += pnl;
        else
            p->loss -= pnl;
    }
    pthread_mutex_unlock(&g.mu);
}

void td_business_gauges(const long long orders[TD_ORDER_STATES], long long backlog)
{
    pthread_mutex_lock(&g.mu);
    memcpy(g.orders, orders, sizeof g.orders);
    g.backlog = backlog;
    g.gauges_known = 1;
    pthread_mutex_unlock(&g.mu);
}

/* v (1e-8 units, 128 bits) as decimal text. */
static const char *money(__int128 v, char *buf, size_t cap)
{
    char digits[48];
    int n = 0, neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-v) : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u && n < (int)sizeof digits);
    while (n < 9) /* at least one digit before the point */
        digits[n++] = '0';
    size_t w = 0;
    if (neg)
        buf[w++] = '-';
    for (int i = n - 1; i >= 0 && w + 2 < cap; i--) {
        buf[w++] = digits[i];
        if (i == 8)
            buf[w++] = '.';
    }
    buf[w] = '\0';
    return buf;
}

void td_business_render(td_arena *a, td_buf *b)
{
    char line[512], m[64];
#define LINE(...) td_buf_add(a, b, line, (size_t)snprintf(line, sizeof line, __VA_ARGS__))
    pthread_mutex_lock(&g.mu);
    LINE("# HELP tradedesk_fills_total Fills delivered, by symbol.\n"
         "# TYPE tradedesk_fills_total counter\n");
    for (int i = 0; i < g.n; i++)
        LINE("tradedesk_fills_total{symbol=\"%s\"} %llu\n", g.s[i].symbol, g.s[i].fills);
    static const struct {
        const char *name, *help;
        size_t at; /* the __int128 amount in per_symbol */
    } money_families[] = {
        {"tradedesk_filled_notional_total",
         "Price times quantity of the fills delivered, in the quote currency, by symbol.",
         offsetof(per_symbol, notional)},
        {"tradedesk_realized_profit_total",
         "Realized P&L of the fills that gained, in the quote currency, by symbol.",
         offsetof(per_symbol, profit)},
        {"tradedesk_realized_loss_total",
         "Realized P&L of the fills that lost, as a positive amount in the quote currency, by "
         "symbol.",
         offsetof(per_symbol, loss)},
    };
    for (size_t f = 0; f < sizeof money_families / sizeof money_families[0]; f++) {
        LINE("# HELP %s %s\n# TYPE %s counter\n", money_families[f].name, money_families[f].help,
             money_families[f].name);
        for (int i = 0; i < g.n; i++) {
            __int128 v;
            memcpy(&v, (const char *)&g.s[i] + money_families[f].at, sizeof v);
            LINE("%s{symbol=\"%s\"} %s\n", money_families[f].name, g.s[i].symbol,
                 money(v, m, sizeof m));
        }
    }
    if (g.gauges_known) {
        LINE("# HELP tradedesk_orders Conditional orders by state (PostgreSQL, read by the "
             "leader).\n"
             "# TYPE tradedesk_orders gauge\n");
        for (int i = 0; i < TD_ORDER_STATES; i++)
            LINE("tradedesk_orders{state=\"%s\"} %lld\n", td_order_state_names[i], g.orders[i]);
        LINE("# HELP tradedesk_outbox_backlog Outbox rows not yet delivered to Redis.\n"
             "# TYPE tradedesk_outbox_backlog gauge\n"
             "tradedesk_outbox_backlog %lld\n",
             g.backlog);
    }
    pthread_mutex_unlock(&g.mu);
#undef LINE
}

long long td_business_backlog(int *known)
{
    pthread_mutex_lock(&g.mu);
    long long n = g.backlog;
    *known = g.gauges_known;
    pthread_mutex_unlock(&g.mu);
    return n;
}
