/*
 * order_index.c - the conditional orders of one symbol, indexed for ticks;
 * see order_index.h for the design and its costs.  No I/O; memory is
 * taken on add only (every array a tick may fill is reserved there).
 */
#include "domain/order_index.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

enum { SELL = 0, BUY = 1 };
enum { W_FREE = 0, W_DOWN, W_UP, W_PENDING, W_ARMED };

/* An order.  Armed trailing stops use child/next/prev as pairing-heap
 * links; a free node uses next for the free list.  A pending trailing
 * stop keeps its activation price in key and its callback rate in rep
 * until it arms. */
typedef struct node {
    int64_t id;
    td_dec key;        /* trigger price, activation price or callback rate */
    td_dec rep;        /* armed: extreme last reported (rep_none(): never) */
    int64_t rep_ms;    /* when it was reported */
    uint64_t arm_tick; /* the tick it armed on (0: before any tick) */
    uint32_t child, next, prev;
    uint8_t type, side, where, dead;
} node;

/* A set of armed trailing stops of one side sharing an extreme. */
typedef struct level {
    td_dec extreme;
    td_dec rep_lo;  /* the reported extreme furthest behind (sell: lowest) */
    int64_t rep_ms; /* the oldest report among its orders */
    uint32_t root;  /* pairing heap on (callback rate, id); free list link */
    uint8_t side;
} level;

typedef struct hent {
    int64_t key;
    uint32_t ref;
} hent;

/* A binary heap of refs (nodes or levels) keeping each ref's position in
 * (*pos)[ref], so any entry can be removed or re-keyed. */
typedef struct heap {
    hent *e;
    uint32_t n, cap;
    int max;
    uint32_t **pos;
} heap;

typedef struct trail {
    heap by_extreme; /* sell: min-heap (a new high collapses the top); buy: max */
    heap by_trigger; /* sell: max-heap on the best trigger; buy: min */
    uint32_t nodes;  /* trailing nodes of this side, pending or in levels (live or dead):
                        bounds its levels */
} trail;

struct td_oidx {
    td_oidx_cfg cfg;
    node *nodes;
    uint32_t *node_pos; /* a node's place in its binary heap */
    uint32_t ncap, nfree;
    level *levels;
    uint32_t *lvl_pos_ext, *lvl_pos_trig;
    uint32_t lcap, lfree;

    /* id -> node, open addressing with linear probing (load <= 1/2) */
    int64_t *hkey;
    uint32_t *hval;
    uint32_t hcap, hcount;

    heap down, up;   /* fixed triggers: fire at price <= key / price >= key */
    heap pending[2]; /* unarmed trailing stops by activation price */
    trail armed[2];

    int64_t *out; /* a tick's fired ids (capacity ncap) */
    size_t nout;
    uint32_t *stk; /* scratch list for walks (capacity ncap) */
    uint64_t tick;
    td_dec last; /* the last tick's price (0: none yet) */
    size_t dead, n_sl, n_tp, n_unarmed, n_armed;
};

static int side_ix(td_side s)
{
    return s == TD_SIDE_BUY ? BUY : SELL;
}
static td_side ix_side(int i)
{
    return i == BUY ? TD_SIDE_BUY : TD_SIDE_SELL;
}
/* "Never reported": behind every extreme (below any sell high, above any buy low). */
static td_dec rep_none(int side)
{
    return side == SELL ? 0 : INT64_MAX;
}

/* ---- binary heap ---- */

static int hbetter(const heap *h, int64_t a, int64_t b)
{
    return h->max ? a > b : a < b;
}

static void hset(heap *h, uint32_t i, hent e)
{
    h->e[i] = e;
    (*h->pos)[e.ref] = i;
}

static void hup(heap *h, uint32_t i)
{
    hent e = h->e[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!hbetter(h, e.key, h->e[p].key))
            break;
        hset(h, i, h->e[p]);
        i = p;
    }
    hset(h, i, e);
}

static void hdown(heap *h, uint32_t i)
{
    hent e = h->e[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && hbetter(h, h->e[c + 1].key, h->e[c].key))
            c++;
        if (!hbetter(h, h->e[c].key, e.key))
            break;
        hset(h, i, h->e[c]);
        i = c;
    }
    hset(h, i, e);
}

static td_status hreserve(heap *h, uint32_t want)
{
    if (want <= h->cap)
        return TD_OK;
    uint32_t cap = h->cap ? h->cap : 16;
    while (cap < want)
        cap *= 2;
    hent *e = realloc(h->e, (size_t)cap * sizeof *e);
    if (!e)
        return TD_ENOMEM;
    h->e = e;
    h->cap = cap;
    return TD_OK;
}

/* The caller has reserved room. */
static void hpush(heap *h, int64_t key, uint32_t ref)
{
    h->e[h->n] = (hent){key, ref};
    hup(h, h->n++);
}

static void hremove(heap *h, uint32_t i)
{
    hent last = h->e[--h->n];
    if (i < h->n) {
        hset(h, i, last);
        hup(h, i);
        hdown(h, (*h->pos)[last.ref]);
    }
}

static void hrekey(heap *h, uint32_t i, int64_t key)
{
    uint32_t ref = h->e[i].ref;
    h->e[i].key = key;
    hup(h, i);
    hdown(h, (*h->pos)[ref]);
}

/* ---- id -> node ---- */

static uint32_t hslot(int64_t id, uint32_t cap)
{
    uint64_t z = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);
    z ^= z >> 31;
    return (uint32_t)(z & (cap - 1));
}

static uint32_t map_find(const td_oidx *x, int64_t id)
{
    if (!x->hcap)
        return NIL;
    for (uint32_t i = hslot(id, x->hcap);; i = (i + 1) & (x->hcap - 1)) {
        if (x->hval[i] == NIL)
            return NIL;
        if (x->hkey[i] == id)
            return x->hval[i];
    }
}

static void map_put(td_oidx *x, int64_t id, uint32_t v)
{
    uint32_t i = hslot(id, x->hcap);
    while (x->hval[i] != NIL)
        i = (i + 1) & (x->hcap - 1);
    x->hkey[i] = id;
    x->hval[i] = v;
    x->hcount++;
}

static td_status map_reserve(td_oidx *x, uint32_t count)
{
    if ((uint64_t)count * 2 <= x->hcap)
        return TD_OK;
    uint32_t cap = x->hcap ? x->hcap : 64;
    while ((uint64_t)count * 2 > cap)
        cap *= 2;
    int64_t *k = malloc((size_t)cap * sizeof *k);
    uint32_t *v = malloc((size_t)cap * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return TD_ENOMEM;
    }
    memset(v, 0xff, (size_t)cap * sizeof *v);
    int64_t *ok = x->hkey;
    uint32_t *ov = x->hval, ocap = x->hcap;
    x->hkey = k;
    x->hval = v;
    x->hcap = cap;
    x->hcount = 0;
    for (uint32_t i = 0; i < ocap; i++)
        if (ov[i] != NIL)
            map_put(x, ok[i], ov[i]);
    free(ok);
    free(ov);
    return TD_OK;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void map_del(td_oidx *x, int64_t id)
{
    uint32_t m = x->hcap - 1, i = hslot(id, x->hcap);
    while (x->hval[i] != NIL && x->hkey[i] != id)
        i = (i + 1) & m;
    if (x->hval[i] == NIL)
        return;
    x->hcount--;
    for (uint32_t j = (i + 1) & m;; j = (j + 1) & m) {
        if (x->hval[j] == NIL)
            break;
        uint32_t home = hslot(x->hkey[j], x->hcap);
        /* j's entry may move to i when i lies cyclically in [home, j). */
        if (((j - home) & m) >= ((j - i) & m)) {
            x->hkey[i] = x->hkey[j];
            x->hval[i] = x->hval[j];
            i = j;
        }
    }
    x->hval[i] = NIL;
}

/* ---- pools ---- */

static td_status grow(void **p, size_t elem, uint32_t cap)
{
    void *q = realloc(*p, (size_t)cap * elem);
    if (!q)
        return TD_ENOMEM;
    *p = q;
    return TD_OK;
}

/* Room for one more node (and the out and scratch lists that may hold every node). */
static td_status node_reserve(td_oidx *x)
{
    if (x->nfree != NIL)
        return TD_OK;
    if (x->ncap >= TD_OIDX_MAX_ORDERS)
        return TD_ENOMEM; /* the 32-bit links and the map's size stay in range */
    uint32_t cap = x->ncap ? x->ncap * 2 : 64;
    if (grow((void **)&x->nodes, sizeof *x->nodes, cap) ||
        grow((void **)&x->node_pos, sizeof *x->node_pos, cap) ||
        grow((void **)&x->out, sizeof *x->out, cap) || grow((void **)&x->stk, sizeof *x->stk, cap))
        return TD_ENOMEM;
    for (uint32_t i = cap; i-- > x->ncap;) {
        x->nodes[i] = (node){.where = W_FREE, .next = x->nfree};
        x->nfree = i;
    }
    x->ncap = cap;
    return TD_OK;
}

static uint32_t node_take(td_oidx *x)
{
    uint32_t i = x->nfree;
    x->nfree = x->nodes[i].next;
    return i;
}

static void node_put(td_oidx *x, uint32_t i)
{
    x->nodes[i] = (node){.where = W_FREE, .next = x->nfree};
    x->nfree = i;
}

/* A level for every trailing node a side may hold, reserved on add. */
static td_status level_reserve(td_oidx *x, int side)
{
    trail *t = &x->armed[side];
    uint32_t want = x->armed[SELL].nodes + x->armed[BUY].nodes + 1;
    if (hreserve(&t->by_extreme, t->nodes + 1) || hreserve(&t->by_trigger, t->nodes + 1))
        return TD_ENOMEM;
    if (want <= x->lcap)
        return TD_OK;
    uint32_t cap = x->lcap ? x->lcap * 2 : 16;
    while (cap < want)
        cap *= 2;
    if (grow((void **)&x->levels, sizeof *x->levels, cap) ||
        grow((void **)&x->lvl_pos_ext, sizeof *x->lvl_pos_ext, cap) ||
        grow((void **)&x->lvl_pos_trig, sizeof *x->lvl_pos_trig, cap))
        return TD_ENOMEM;
    for (uint32_t i = cap; i-- > x->lcap;) {
        x->levels[i].root = x->lfree;
        x->lfree = i;
        x->lvl_pos_ext[i] = UINT32_MAX; /* never listed (level_listed) */
    }
    x->lcap = cap;
    return TD_OK;
}

/* ---- pairing heap of one level, on (callback rate, id) ---- */

static int pless(const td_oidx *x, uint32_t a, uint32_t b)
{
    const node *na = &x->nodes[a], *nb = &x->nodes[b];
    return na->key < nb->key || (na->key == nb->key && na->id < nb->id);
}

/* a and b are roots (no prev, no next). */
static uint32_t pmeld(td_oidx *x, uint32_t a, uint32_t b)
{
    if (a == NIL)
        return b;
    if (b == NIL)
        return a;
    if (pless(x, b, a)) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    node *na = &x->nodes[a], *nb = &x->nodes[b];
    nb->prev = a;
    nb->next = na->child;
    if (na->child != NIL)
        x->nodes[na->child].prev = b;
    na->child = b;
    return a;
}

/* Removes the root; returns the new root (two-pass pairing). */
static uint32_t ppop(td_oidx *x, uint32_t root)
{
    uint32_t c = x->nodes[root].child, pairs = NIL;
    x->nodes[root].child = NIL;
    while (c != NIL) {
        uint32_t a = c, b = x->nodes[a].next, rest = b == NIL ? NIL : x->nodes[b].next;
        x->nodes[a].prev = x->nodes[a].next = NIL;
        if (b != NIL)
            x->nodes[b].prev = x->nodes[b].next = NIL;
        uint32_t m = pmeld(x, a, b);
        x->nodes[m].next = pairs; /* a stack of the pairs, last on top */
        pairs = m;
        c = rest;
    }
    uint32_t r = NIL;
    while (pairs != NIL) {
        uint32_t m = pairs;
        pairs = x->nodes[m].next;
        x->nodes[m].next = NIL;
        r = pmeld(x, r, m);
    }
    return r;
}

/* ---- levels ---- */

/* The level's best trigger as a heap key: the rule's own value, or, when
 * td_trailing_trigger refuses (then td_trailing_fires never fires), a key
 * behind every other. */
static int64_t level_key(const td_oidx *x, const level *l)
{
    td_dec t;
    if (td_trailing_trigger(ix_side(l->side), l->extreme, x->nodes[l->root].key, &t) != TD_OK)
        return l->side == SELL ? INT64_MIN : INT64_MAX;
    return t;
}

static int rep_behind(int side, td_dec a, td_dec b)
{
    return side == SELL ? a < b : a > b;
}

static uint32_t level_new(td_oidx *x, int side, td_dec extreme, uint32_t root, td_dec rep_lo,
                          int64_t rep_ms)
{
    uint32_t li = x->lfree;
    level *l = &x->levels[li];
    x->lfree = l->root;
    *l = (level){.extreme = extreme,
                 .rep_lo = rep_lo,
                 .rep_ms = rep_ms,
                 .root = root,
                 .side = (uint8_t)side};
    trail *t = &x->armed[side];
    hpush(&t->by_extreme, extreme, li);
    hpush(&t->by_trigger, level_key(x, l), li);
    return li;
}

static void level_free(td_oidx *x, uint32_t li)
{
    x->levels[li].root = x->lfree;
    x->lfree = li;
}

/* Takes level li out of its side's heaps (its record stays taken). */
static void level_unlist(td_oidx *x, uint32_t li)
{
    trail *t = &x->armed[x->levels[li].side];
    hremove(&t->by_extreme, x->lvl_pos_ext[li]);
    hremove(&t->by_trigger, x->lvl_pos_trig[li]);
}

static void level_drop(td_oidx *x, uint32_t li)
{
    level_unlist(x, li);
    level_free(x, li);
}

/* Level dst takes the orders of a pairing heap (root), whose reports
 * go back to rep_lo at rep_ms at the oldest. */
static void level_absorb(td_oidx *x, level *dst, uint32_t root, td_dec rep_lo, int64_t rep_ms)
{
    dst->root = pmeld(x, dst->root, root);
    if (rep_behind(dst->side, rep_lo, dst->rep_lo))
        dst->rep_lo = rep_lo;
    if (rep_ms < dst->rep_ms)
        dst->rep_ms = rep_ms;
}

/* Pops dead nodes off the top of level li; drops it when that empties
 * it, else re-keys it. */
static void level_settle(td_oidx *x, uint32_t li)
{
    level *l = &x->levels[li];
    while (l->root != NIL && x->nodes[l->root].dead) {
        uint32_t r = l->root;
        l->root = ppop(x, r);
        node_put(x, r);
        x->armed[l->side].nodes--;
        x->dead--;
    }
    if (l->root == NIL)
        level_drop(x, li);
    else
        hrekey(&x->armed[l->side].by_trigger, x->lvl_pos_trig[li], level_key(x, l));
}

/* Joins node ni (armed, extreme e) to the side's level at e when that is
 * the top of by_extreme (on an arming tick the levels p passed have just
 * collapsed into one at p, the top), else to a new level. */
static void armed_insert(td_oidx *x, uint32_t ni, td_dec e)
{
    node *n = &x->nodes[ni];
    int side = n->side;
    trail *t = &x->armed[side];
    n->where = W_ARMED;
    n->child = n->next = n->prev = NIL;
    if (t->by_extreme.n && x->levels[t->by_extreme.e[0].ref].extreme == e) {
        uint32_t li = t->by_extreme.e[0].ref;
        level *l = &x->levels[li];
        level_absorb(x, l, ni, n->rep, n->rep_ms);
        hrekey(&t->by_trigger, x->lvl_pos_trig[li], level_key(x, l));
    } else {
        level_new(x, side, e, ni, n->rep, n->rep_ms);
    }
}

/* ---- new, free, add, remove ---- */

td_oidx *td_oidx_new(const td_oidx_cfg *cfg)
{
    td_oidx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->cfg.step_bp = cfg && cfg->step_bp > 0 ? cfg->step_bp : TD_OIDX_STEP_BP_DEFAULT;
    x->cfg.max_age_ms = cfg && cfg->max_age_ms > 0 ? cfg->max_age_ms : TD_OIDX_MAX_AGE_MS_DEFAULT;
    x->nfree = x->lfree = NIL;
    x->down = (heap){.max = 1, .pos = &x->node_pos};
    x->up = (heap){.max = 0, .pos = &x->node_pos};
    x->pending[SELL] = (heap){.max = 0, .pos = &x->node_pos};
    x->pending[BUY] = (heap){.max = 1, .pos = &x->node_pos};
    for (int s = 0; s < 2; s++) {
        x->armed[s].by_extreme = (heap){.max = s == BUY, .pos = &x->lvl_pos_ext};
        x->armed[s].by_trigger = (heap){.max = s == SELL, .pos = &x->lvl_pos_trig};
    }
    return x;
}

void td_oidx_free(td_oidx *x)
{
    if (!x)
        return;
    heap *hs[] = {&x->down,
                  &x->up,
                  &x->pending[0],
                  &x->pending[1],
                  &x->armed[0].by_extreme,
                  &x->armed[0].by_trigger,
                  &x->armed[1].by_extreme,
                  &x->armed[1].by_trigger};
    for (size_t i = 0; i < TD_ARRAY_LEN(hs); i++)
        free(hs[i]->e);
    free(x->nodes);
    free(x->node_pos);
    free(x->levels);
    free(x->lvl_pos_ext);
    free(x->lvl_pos_trig);
    free(x->hkey);
    free(x->hval);
    free(x->out);
    free(x->stk);
    free(x);
}

/* The fixed-trigger heap an order of this type and side sits in. */
static heap *fixed_heap(td_oidx *x, td_order_type t, td_side s)
{
    int down = (t == TD_ORDER_STOP_LOSS) == (s == TD_SIDE_SELL);
    return down ? &x->down : &x->up;
}

/* The pending heap's key: the activation price; none arms first. */
static int64_t pending_key(int side, td_dec act)
{
    return act > 0 ? act : side == SELL ? 0 : INT64_MAX;
}

td_status td_oidx_add(td_oidx *x, const td_oidx_order *o)
{
    if (o->side != TD_SIDE_BUY && o->side != TD_SIDE_SELL)
        return TD_EINVAL;
    int trailing = o->type == TD_ORDER_TRAILING_STOP;
    if (trailing) {
        if (o->callback_rate <= 0 || o->callback_rate >= 100 * TD_DEC_SCALE ||
            o->activation_price < 0 || (o->armed && o->extreme <= 0))
            return TD_EINVAL;
    } else if ((o->type != TD_ORDER_STOP_LOSS && o->type != TD_ORDER_TAKE_PROFIT) ||
               o->trigger_price <= 0) {
        return TD_EINVAL;
    }
    if (map_find(x, o->id) != NIL)
        return TD_ECONFLICT;
    /* Everything this order may need later, a tick included, is taken now. */
    int side = side_ix(o->side);
    heap *h = !trailing ? fixed_heap(x, o->type, o->side) : o->armed ? NULL : &x->pending[side];
    if (map_reserve(x, x->hcount + 1) || node_reserve(x) || (h && hreserve(h, h->n + 1)) ||
        (trailing && level_reserve(x, side)))
        return TD_ENOMEM;

    uint32_t ni = node_take(x);
    node *n = &x->nodes[ni];
    *n = (node){.id = o->id,
                .type = (uint8_t)o->type,
                .side = (uint8_t)side,
                .child = NIL,
                .next = NIL,
                .prev = NIL};
    map_put(x, o->id, ni);
    if (!trailing) {
        n->key = o->trigger_price;
        n->where = h == &x->down ? W_DOWN : W_UP;
        hpush(h, n->key, ni);
        if (o->type == TD_ORDER_STOP_LOSS)
            x->n_sl++;
        else
            x->n_tp++;
        return TD_OK;
    }
    x->armed[side].nodes++;
    if (o->armed) {
        n->key = o->callback_rate;
        n->rep = o->extreme; /* it was persisted with this extreme */
        armed_insert(x, ni, o->extreme);
        x->n_armed++;
    } else {
        /* Pending: key is the activation price until it arms, then the rate. */
        n->key = o->activation_price;
        n->rep = o->callback_rate; /* parked here until arming */
        n->where = W_PENDING;
        hpush(h, pending_key(side, o->activation_price), ni);
        x->n_unarmed++;
    }
    return TD_OK;
}

/* Collects level li's nodes into x->stk; returns how many. */
static uint32_t level_nodes(td_oidx *x, uint32_t li)
{
    uint32_t cnt = 0;
    x->stk[cnt++] = x->levels[li].root;
    for (uint32_t i = 0; i < cnt; i++) {
        const node *n = &x->nodes[x->stk[i]];
        if (n->child != NIL)
            x->stk[cnt++] = n->child;
        if (n->next != NIL)
            x->stk[cnt++] = n->next;
    }
    return cnt;
}

/* Rebuilds every level without its dead nodes, then both level heaps of
 * each side without the levels that emptied (filtered and heapified in
 * place: removing entries one by one while walking the heap would move
 * unvisited ones behind the walk). */
static void compact(td_oidx *x)
{
    for (int s = 0; s < 2; s++) {
        heap *he = &x->armed[s].by_extreme, *ht = &x->armed[s].by_trigger;
        for (uint32_t k = 0; k < he->n; k++) {
            level *l = &x->levels[he->e[k].ref];
            uint32_t cnt = level_nodes(x, he->e[k].ref), root = NIL;
            for (uint32_t i = 0; i < cnt; i++) {
                uint32_t ni = x->stk[i];
                node *n = &x->nodes[ni];
                if (n->dead) {
                    node_put(x, ni);
                    x->armed[s].nodes--;
                    x->dead--;
                    continue;
                }
                n->child = n->next = n->prev = NIL;
                root = pmeld(x, root, ni);
            }
            l->root = root;
        }
        /* by_trigger first: the by_extreme pass frees the emptied records. */
        heap *hs[2] = {ht, he};
        for (int j = 0; j < 2; j++) {
            heap *h = hs[j];
            uint32_t w = 0;
            for (uint32_t i = 0; i < h->n; i++) {
                uint32_t li = h->e[i].ref;
                level *l = &x->levels[li];
                if (l->root == NIL) {
                    if (h == he)
                        level_free(x, li);
                    continue;
                }
                h->e[w] = (hent){h == he ? l->extreme : level_key(x, l), li};
                (*h->pos)[li] = w++;
            }
            h->n = w;
            for (uint32_t i = w / 2; i-- > 0;)
                hdown(h, i);
        }
    }
}

/* Takes node ni out of the index (not of the id map). */
static void detach(td_oidx *x, uint32_t ni)
{
    node *n = &x->nodes[ni];
    switch (n->where) {
    case W_DOWN:
    case W_UP:
        hremove(n->where == W_DOWN ? &x->down : &x->up, x->node_pos[ni]);
        if (n->type == TD_ORDER_STOP_LOSS)
            x->n_sl--;
        else
            x->n_tp--;
        node_put(x, ni);
        break;
    case W_PENDING:
        hremove(&x->pending[n->side], x->node_pos[ni]);
        x->armed[n->side].nodes--;
        x->n_unarmed--;
        node_put(x, ni);
        break;
    case W_ARMED:
        n->dead = 1; /* dropped when it surfaces, or by compact() */
        x->dead++;
        x->n_armed--;
        break;
    }
}

td_status td_oidx_remove(td_oidx *x, int64_t id)
{
    uint32_t ni = map_find(x, id);
    if (ni == NIL)
        return TD_ENOTFOUND;
    map_del(x, id);
    detach(x, ni);
    if (x->dead > x->n_armed + 64)
        compact(x);
    return TD_OK;
}

/* ---- the tick ---- */

static void fire(td_oidx *x, uint32_t ni)
{
    x->out[x->nout++] = x->nodes[ni].id;
    map_del(x, x->nodes[ni].id);
}

static void sift_ids(int64_t *a, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (a[c] <= a[i])
            return;
        int64_t t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

/* Ascending ids, in place, without allocating (heapsort). */
static void sort_ids(int64_t *a, size_t n)
{
    for (size_t k = n / 2; k-- > 0;)
        sift_ids(a, k, n);
    for (size_t m = n; m > 1; m--) {
        int64_t t = a[0];
        a[0] = a[m - 1];
        a[m - 1] = t;
        sift_ids(a, 0, m - 1);
    }
}

/* Every level of the side whose extreme p moves collapses into one at p. */
static void collapse(td_oidx *x, int side, td_dec p)
{
    trail *t = &x->armed[side];
    td_side s = ix_side(side);
    uint32_t merged = NIL;
    while (t->by_extreme.n) {
        uint32_t li = t->by_extreme.e[0].ref;
        level *l = &x->levels[li];
        if (td_trailing_extreme(s, l->extreme, p) == l->extreme)
            break;
        level_unlist(x, li);
        if (merged == NIL) {
            merged = li; /* the first keeps its record, put back at p below */
            continue;
        }
        level_absorb(x, &x->levels[merged], l->root, l->rep_lo, l->rep_ms);
        level_free(x, li);
    }
    if (merged == NIL)
        return;
    level *m = &x->levels[merged];
    if (t->by_extreme.n && x->levels[t->by_extreme.e[0].ref].extreme == p) {
        /* A level already at p (from an add): one level for one extreme. */
        uint32_t li = t->by_extreme.e[0].ref;
        level *l = &x->levels[li];
        level_absorb(x, l, m->root, m->rep_lo, m->rep_ms);
        hrekey(&t->by_trigger, x->lvl_pos_trig[li], level_key(x, l));
        level_free(x, merged);
        return;
    }
    m->extreme = p;
    hpush(&t->by_extreme, p, merged);
    hpush(&t->by_trigger, level_key(x, m), merged);
}

static void fire_trailing(td_oidx *x, int side, td_dec p)
{
    trail *t = &x->armed[side];
    td_side s = ix_side(side);
    while (t->by_trigger.n) {
        uint32_t li = t->by_trigger.e[0].ref;
        level *l = &x->levels[li];
        if (!td_trailing_fires(s, l->extreme, x->nodes[l->root].key, p))
            break;
        uint32_t r = l->root;
        l->root = ppop(x, r);
        if (x->nodes[r].dead) {
            x->dead--;
        } else {
            fire(x, r);
            x->n_armed--;
        }
        node_put(x, r);
        t->nodes--;
        level_settle(x, li);
    }
}

/* Node ni, out of its pending heap, arms at p: extreme p, due to be reported. */
static void arm(td_oidx *x, uint32_t ni, td_dec p)
{
    node *n = &x->nodes[ni];
    n->key = n->rep; /* the callback rate from now on */
    n->rep = rep_none(n->side);
    n->rep_ms = 0;
    n->arm_tick = x->tick;
    armed_insert(x, ni, p);
    x->n_unarmed--;
    x->n_armed++;
}

static void arm_pending(td_oidx *x, int side, td_dec p)
{
    heap *h = &x->pending[side];
    td_side s = ix_side(side);
    while (h->n) {
        uint32_t ni = h->e[0].ref;
        node *n = &x->nodes[ni];
        if (!td_trailing_arms(s, n->key, p))
            break;
        hremove(h, 0);
        arm(x, ni, p);
    }
}

static void fire_fixed(td_oidx *x, heap *h, td_dec p)
{
    while (h->n) {
        uint32_t ni = h->e[0].ref;
        node *n = &x->nodes[ni];
        if (!td_trigger_fires((td_order_type)n->type, ix_side(n->side), n->key, p))
            break;
        hremove(h, 0);
        fire(x, ni);
        if (n->type == TD_ORDER_STOP_LOSS)
            x->n_sl--;
        else
            x->n_tp--;
        node_put(x, ni);
    }
}

static void tick(td_oidx *x, td_dec p)
{
    x->tick++;
    x->last = p;
    x->nout = 0;
    for (int s = 0; s < 2; s++) {
        collapse(x, s, p);
        fire_trailing(x, s, p);
    }
    for (int s = 0; s < 2; s++)
        arm_pending(x, s, p);
    fire_fixed(x, &x->down, p);
    fire_fixed(x, &x->up, p);
}

td_status td_oidx_on_price(td_oidx *x, td_dec price, const int64_t **fired, size_t *n)
{
    if (price <= 0)
        return TD_EINVAL;
    tick(x, price);
    sort_ids(x->out, x->nout);
    *fired = x->out;
    *n = x->nout;
    return TD_OK;
}

/* ---- the safety net ---- */

/* What the safety net asks of each order at price p, the index's own
 * rules restated with trigger.h's: a fixed trigger that fires, an unarmed
 * trailing stop that arms. */
static int fixed_due(const node *o, td_dec p)
{
    return td_trigger_fires((td_order_type)o->type, ix_side(o->side), o->key, p);
}

static int pending_due(const node *o, td_dec p)
{
    return td_trailing_arms(ix_side(o->side), o->key, p);
}

/* Armed level li of side s at p: 1 if its extreme should have moved to p,
 * plus its live orders that fire (save those armed on this tick, which
 * fire from the next one), their ids appended to out when it is not NULL.
 * *visited counts the orders walked. */
static size_t level_due(td_oidx *x, int s, uint32_t li, td_dec p, int64_t *out, size_t *nout,
                        uint32_t *visited)
{
    const level *l = &x->levels[li];
    td_dec e = td_trailing_extreme(ix_side(s), l->extreme, p);
    size_t due = e != l->extreme;
    uint32_t cnt = level_nodes(x, li);
    *visited += cnt;
    for (uint32_t i = 0; i < cnt; i++) {
        const node *o = &x->nodes[x->stk[i]];
        if (o->dead || o->arm_tick == x->tick || !td_trailing_fires(ix_side(s), e, o->key, p))
            continue;
        due++;
        if (out)
            out[(*nout)++] = o->id;
    }
    return due;
}

/* Whether level record li is one of side s's armed levels now. */
static int level_listed(const td_oidx *x, int s, uint32_t li)
{
    const heap *he = &x->armed[s].by_extreme;
    uint32_t pos = x->lvl_pos_ext[li];
    return pos < he->n && he->e[pos].ref == li;
}

td_status td_oidx_sweep(td_oidx *x, td_dec price, const int64_t **fired, size_t *n, size_t *missed)
{
    if (price <= 0)
        return TD_EINVAL;
    tick(x, price);
    size_t miss = 0, first = x->nout;
    /* Stop-loss and take-profit orders still in that fire at price. */
    heap *fx[] = {&x->down, &x->up};
    for (int k = 0; k < 2; k++)
        for (uint32_t i = 0; i < fx[k]->n; i++) {
            const node *o = &x->nodes[fx[k]->e[i].ref];
            if (fixed_due(o, price))
                x->out[x->nout++] = o->id;
        }
    /* Unarmed trailing stops that arm at price. */
    for (int s = 0; s < 2; s++) {
        heap *h = &x->pending[s];
        for (uint32_t i = 0; i < h->n;) {
            uint32_t ni = h->e[i].ref;
            if (!pending_due(&x->nodes[ni], price)) {
                i++;
                continue;
            }
            miss++;
            hremove(h, i);
            arm(x, ni, price);
            i = 0; /* the heap moved under us: rare, start over */
        }
    }
    /* Armed trailing stops: extremes at price, and none that fires.  A
     * level p passed and left counts once; the collapse below repairs it. */
    for (int s = 0; s < 2; s++) {
        heap *he = &x->armed[s].by_extreme;
        uint32_t visited = 0;
        for (uint32_t k = 0; k < he->n; k++) {
            size_t before = x->nout;
            size_t due = level_due(x, s, he->e[k].ref, price, x->out, &x->nout, &visited);
            miss += due - (x->nout - before); /* the fired are counted below */
        }
        collapse(x, s, price);
    }
    /* Fire what the index missed (listed above, then taken out). */
    for (size_t i = first; i < x->nout; i++) {
        uint32_t ni = map_find(x, x->out[i]);
        map_del(x, x->out[i]);
        detach(x, ni);
        miss++;
    }
    sort_ids(x->out, x->nout);
    *fired = x->out;
    *n = x->nout;
    *missed = miss;
    return TD_OK;
}

size_t td_oidx_check(td_oidx *x, uint32_t *cursor, uint32_t budget, int *done)
{
    td_dec p = x->last;
    size_t due = 0;
    uint32_t visited = 0, c = *cursor;
    *done = 0;
    if (p <= 0) { /* no tick yet: nothing the index should have done */
        *cursor = 0;
        *done = 1;
        return 0;
    }
    /* Slots [0, ncap) are the orders (the armed ones walked with their
     * levels), [ncap, ncap + lcap) the level records: both pools keep
     * their slots in place, so a round spread over calls misses no order
     * that stayed in for the whole round. */
    while (visited < budget) {
        if (c < x->ncap) {
            const node *o = &x->nodes[c];
            if (!o->dead && (o->where == W_DOWN || o->where == W_UP))
                due += fixed_due(o, p);
            else if (!o->dead && o->where == W_PENDING)
                due += pending_due(o, p);
            visited++;
        } else if (c - x->ncap < x->lcap) {
            uint32_t li = c - x->ncap;
            for (int s = 0; s < 2; s++) /* (a free record's side is not to be read) */
                if (level_listed(x, s, li))
                    due += level_due(x, s, li, p, NULL, NULL, &visited);
            visited++;
        } else {
            c = 0;
            *done = 1;
            break;
        }
        c++;
    }
    *cursor = c;
    return due;
}

uint32_t td_oidx_check_budget(const td_oidx *x, uint32_t parts)
{
    uint64_t slots = (uint64_t)x->ncap + x->lcap;
    if (!parts)
        parts = 1;
    return (uint32_t)((slots + parts - 1) / parts) + 1;
}

/* ---- persistence of trailing extremes ---- */

/* Whether an extreme e last reported as rep at rep_ms is due at now. */
static int due(const td_oidx *x, int side, td_dec rep, int64_t rep_ms, td_dec e, int64_t now)
{
    if (e == rep)
        return 0;
    if (rep == rep_none(side))
        return 1;
    __int128 d = (__int128)e - rep;
    if (d < 0)
        d = -d;
    if (d * 10000 >= (__int128)rep * x->cfg.step_bp)
        return 1;
    return now - rep_ms >= x->cfg.max_age_ms;
}

size_t td_oidx_take_moved(td_oidx *x, int64_t now_ms, td_oidx_moved *out, size_t cap)
{
    size_t k = 0;
    if (!cap)
        return 0;
    for (int s = 0; s < 2; s++) {
        heap *he = &x->armed[s].by_extreme;
        for (uint32_t j = 0; j < he->n; j++) {
            uint32_t li = he->e[j].ref;
            level *l = &x->levels[li];
            /* rep_lo is the furthest behind: when it is not due, none is. */
            if (!due(x, s, l->rep_lo, l->rep_ms, l->extreme, now_ms))
                continue;
            uint32_t cnt = level_nodes(x, li);
            td_dec lo = l->extreme;
            int64_t oldest = INT64_MAX;
            for (uint32_t i = 0; i < cnt; i++) {
                node *o = &x->nodes[x->stk[i]];
                if (o->dead)
                    continue;
                if (k < cap && due(x, s, o->rep, o->rep_ms, l->extreme, now_ms)) {
                    out[k++] = (td_oidx_moved){o->id, l->extreme};
                    o->rep = l->extreme;
                    o->rep_ms = now_ms;
                }
                if (rep_behind(s, o->rep, lo))
                    lo = o->rep;
                if (o->rep_ms < oldest)
                    oldest = o->rep_ms;
            }
            l->rep_lo = lo;
            l->rep_ms = oldest;
            if (k == cap)
                return k;
        }
    }
    return k;
}

void td_oidx_count(const td_oidx *x, td_oidx_counts *out)
{
    *out = (td_oidx_counts){.stop_loss = x->n_sl,
                            .take_profit = x->n_tp,
                            .trailing_unarmed = x->n_unarmed,
                            .trailing_armed = x->n_armed};
    out->total = x->n_sl + x->n_tp + x->n_unarmed + x->n_armed;
}
