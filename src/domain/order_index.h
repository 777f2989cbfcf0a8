/*
 * order_index.h - the active conditional orders of one symbol, indexed so
 * that a tick costs O(log n + fired) instead of a pass over every order.
 * The engine's monitor holds one per symbol; nothing here does I/O or
 * allocates on a tick (arrays grow geometrically on add).
 *
 * The rules are trigger.h's and only trigger.h's: every "does it fire",
 * "does it arm" and "what is the new extreme" is a call to it, and the
 * trailing trigger is td_trailing_trigger().  The structures below only
 * decide which orders are worth asking, using the rules' monotonicity (a
 * sell stop-loss that does not fire at p does not fire for any lower
 * trigger, a trailing trigger never rises with the callback rate...).
 *
 * Structures, per index:
 *   down     stop-loss sells and take-profit buys (fire at price <= trigger):
 *            a binary max-heap on the trigger; a tick pops while the top fires.
 *   up       stop-loss buys and take-profit sells (price >= trigger): min-heap.
 *   pending  unarmed trailing stops, one heap per side on the activation
 *            price (sell: min-heap, arms at price >= it; buy: max-heap;
 *            no activation price arms on the first tick).
 *   armed    per side, levels: a level is a set of armed trailing stops
 *            that share one extreme (sell: the highest price since arming).
 *            After a tick at p every sell extreme is max(extreme, p), so all
 *            levels below p collapse into one level at p.  A level's orders
 *            are a pairing heap on the callback rate (the smallest rate has
 *            the highest sell trigger: it fires first), so a collapse is an
 *            O(1) meld.  Two binary heaps over the levels: one on the
 *            extreme (the levels a new high collapses are on top) and one on
 *            the level's best trigger, td_trailing_trigger(extreme, smallest
 *            rate) (the level that fires first is on top).  Buys mirror it.
 *
 * A tick at p: collapse the levels p passes (each level is made once, by
 * an add, an arming tick or a collapse, and collapsed once: amortized
 * O(log n) a tick), pop the trailing, pending and fixed heaps while their
 * top fires or arms (O(log n) each).  So a tick costs amortized
 * O((1 + fired + armed) log n); one that fires and arms nothing costs one
 * collapse at most and a look at the top of each heap.  Memory: 150-180 bytes
 * an order (bench/monitor).
 *
 * Order of events on one tick: armed trailing stops update their extreme
 * and fire; then unarmed ones whose activation p reaches arm, with extreme
 * p; then stop-loss and take-profit orders fire.  An order that arms on a
 * tick never fires on that same tick (Binance: "the first trade that meets
 * this condition sets the highest price"; the retrace is measured from
 * there), only on a later one.
 *
 * The ids fired by one tick come out in ascending id order (ids are
 * serial, so the order placed first is filled first).
 *
 * Removal of an armed trailing stop is lazy (the pairing heap has no path
 * from an order to its level): the order is forgotten at once (counts,
 * remove, add of the same id again), its node is dropped when it reaches
 * the top of its level, and the levels are rebuilt without the dropped
 * nodes once those outnumber the live ones by 64 (amortized O(1) a
 * removal; that one remove call costs O(n)).
 */
#ifndef TD_DOMAIN_ORDER_INDEX_H
#define TD_DOMAIN_ORDER_INDEX_H

#include "domain/decimal.h"
#include "domain/trigger.h"

typedef struct td_oidx td_oidx;

/* One active order as the index takes it (and as PostgreSQL holds it). */
typedef struct td_oidx_order {
    int64_t id;
    td_order_type type;
    td_side side;            /* TD_SIDE_BUY or TD_SIDE_SELL */
    td_dec trigger_price;    /* stop-loss, take-profit: > 0 */
    td_dec callback_rate;    /* trailing: percent, in (0, 100) (the API keeps 0.1-10) */
    td_dec activation_price; /* trailing: 0 arms on the first tick */
    int armed;               /* trailing: persisted state, so a restart resumes it */
    td_dec extreme;          /* trailing, armed: highest (sell) / lowest (buy) price since arming */
} td_oidx_order;

/*
 * When take_moved() reports a trailing stop's extreme, so the engine can
 * persist it without a write per tick: when it has moved at least step_bp
 * basis points (of the value last reported) since it was last reported,
 * or moved at all and that report is max_age_ms old.  A restart therefore
 * resumes a sell stop with a high at most step_bp below the true one (it
 * fires a little later, never earlier).  Arming is always reported.
 * Zero fields take the defaults: 10 bp (0.1 %) and 60 s.
 */
typedef struct td_oidx_cfg {
    int64_t step_bp;
    int64_t max_age_ms;
} td_oidx_cfg;

#define TD_OIDX_STEP_BP_DEFAULT 10
#define TD_OIDX_MAX_AGE_MS_DEFAULT 60000

typedef struct td_oidx_moved {
    int64_t id;
    td_dec extreme; /* the order is armed, with this extreme */
} td_oidx_moved;

typedef struct td_oidx_counts {
    size_t stop_loss, take_profit;
    size_t trailing_unarmed, trailing_armed;
    size_t total;
} td_oidx_counts;

/* Orders one index holds at most (its links are 32-bit). */
#define TD_OIDX_MAX_ORDERS (UINT32_C(1) << 30)

/* NULL cfg: the defaults.  NULL when out of memory.  Free with td_oidx_free. */
td_oidx *td_oidx_new(const td_oidx_cfg *cfg);
void td_oidx_free(td_oidx *x);

/*
 * Adds an order (a copy).  TD_EINVAL for a bad type, side, trigger (<= 0),
 * callback rate (outside (0, 100)), activation (< 0) or armed extreme
 * (<= 0); TD_ECONFLICT when the id is already in; TD_ENOMEM (out of
 * memory or TD_OIDX_MAX_ORDERS; the index is unchanged).  The only call that allocates.
 */
td_status td_oidx_add(td_oidx *x, const td_oidx_order *o);

/* Cancel, expiry, a fill decided elsewhere: TD_ENOTFOUND when not in. */
td_status td_oidx_remove(td_oidx *x, int64_t id);

/*
 * One tick of the symbol at price (> 0, else TD_EINVAL and nothing
 * changes): updates trailing extremes, arms, and removes and returns the
 * orders that fire, ascending ids in *fired (n of them).  *fired points
 * into the index and stays valid until the next call on it.
 */
td_status td_oidx_on_price(td_oidx *x, td_dec price, const int64_t **fired, size_t *n);

/*
 * The safety net (the engine runs it once a second in place of one
 * on_price): on_price(price), then a brute-force pass over every order
 * left, with trigger.h, for any order that should have fired or armed at
 * price and did not, or whose extreme was not moved to price.  Those are
 * repaired (fired and included in *fired, armed, or moved) and counted in
 * *missed, which is 0 unless the index is wrong.  O(n).
 */
td_status td_oidx_sweep(td_oidx *x, td_dec price, const int64_t **fired, size_t *n, size_t *missed);

/*
 * The same brute-force look, a slice at a time and changing nothing: walks
 * about budget slots of the index's pools (an order or a trailing level
 * each; free ones too) from *cursor (0 starts a round) and returns how many
 * of them the index should have fired, armed or moved at the last tick's
 * price and did not (an order added since that tick and due at its price
 * counts too).  *cursor is where the next slice goes on; *done is set when
 * this slice ended the round (*cursor is 0 again).  An order in the index
 * for the whole round is looked at in it.  The engine walks a slice every
 * few milliseconds and runs td_oidx_sweep, which repairs, only when one
 * finds something, so no single call is O(n).
 */
size_t td_oidx_check(td_oidx *x, uint32_t *cursor, uint32_t budget, int *done);

/* The budget that ends a round of td_oidx_check in parts calls (the pools'
 * slots as they are now, split in parts). */
uint32_t td_oidx_check_budget(const td_oidx *x, uint32_t parts);

/*
 * Writes up to cap armed trailing stops whose extreme is due to be
 * persisted (see td_oidx_cfg) and marks them reported at now_ms; returns
 * how many.  When it returns cap, call again: the rest are still due.
 * Walks the levels that may hold one (a level whose orders all reported
 * within the step and the age is skipped whole): call it on a timer (the
 * engine: with the sweep), not on every tick.
 */
size_t td_oidx_take_moved(td_oidx *x, int64_t now_ms, td_oidx_moved *out, size_t cap);

void td_oidx_count(const td_oidx *x, td_oidx_counts *out);

#endif
