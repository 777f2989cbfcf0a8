/*
 * oracle.h - one trusted price per symbol from several sources.
 *
 * Two rules, chosen by configuration (TRADEDESK_ORACLE):
 *   priority  the first fresh source in the configured order; when it goes
 *             stale the next fresh one, and back to the better one as soon
 *             as it is fresh again;
 *   median    the median of the fresh sources, after dropping any that
 *             strays more than max_deviation_bp from the median of all of
 *             them (reported in `outliers`).
 * With no fresh source the last choice is kept and marked stale.  Pure: no
 * I/O, no clock (the caller passes now), no allocation; staleness is
 * domain/price.h's rule.
 */
#ifndef TD_DOMAIN_ORACLE_H
#define TD_DOMAIN_ORACLE_H

#include <stdint.h>

#include "domain/decimal.h"

#define TD_ORACLE_MAX_SOURCES 8

typedef enum td_oracle_mode { TD_ORACLE_PRIORITY = 0, TD_ORACLE_MEDIAN = 1 } td_oracle_mode;

typedef struct td_oracle_cfg {
    td_oracle_mode mode;
    int nsources;             /* sources in priority order, at most TD_ORACLE_MAX_SOURCES */
    int64_t stale_ms;         /* a quote older than this is not fresh */
    int64_t max_deviation_bp; /* median mode: basis points (100 = 1%) */
} td_oracle_cfg;

/* The latest quote of each source for one symbol, and the last choice. */
typedef struct td_oracle_symbol {
    td_dec price[TD_ORACLE_MAX_SOURCES];
    int64_t updated_ms[TD_ORACLE_MAX_SOURCES]; /* 0: never quoted */
    int chosen;                                /* last source chosen, -1 none, -2 median */
    td_dec last_price;
    int64_t last_updated_ms;
} td_oracle_symbol;

typedef struct td_oracle_choice {
    int ok; /* 0: no source ever quoted this symbol */
    td_dec price;
    int source;         /* index of the source, or -2 for a median */
    int64_t updated_ms; /* when the chosen quote was made (median: the newest used) */
    int stale;          /* no fresh source: the last choice, kept */
    int switched;       /* the source differs from the previous choice */
    uint32_t outliers;  /* median: bit i set when source i was dropped */
    int used;           /* median: how many sources made the price */
} td_oracle_choice;

void td_oracle_symbol_init(td_oracle_symbol *s);

/* Record source i's quote (ignored when older than the one held). */
void td_oracle_quote(td_oracle_symbol *s, int source, td_dec price, int64_t updated_ms);

/* Choose now; remembers the choice in s (for `switched` and staleness). */
td_oracle_choice td_oracle_choose(const td_oracle_cfg *cfg, td_oracle_symbol *s, int64_t now_ms);

#endif
