/*
 * gate.c - see gate.h.
 *
 * A seat is a pid-sized word: 0 free, else its holder.  Taking is a CAS
 * from 0 to our pid on the first free seat of a range, so two workers can
 * never hold one seat and the number of holders below the limit can never
 * pass it (a global counter would need a second word, and a worker killed
 * between the two updates would skew it for good).  The peak is a CAS max;
 * `changed` is when a seat was last taken or given back.
 */
#include "core/gate.h"
#include "core/clock.h"
#include "core/shm.h"

#include <stdatomic.h>
#include <unistd.h>

struct td_gate {
    int seats;
    _Atomic int limit;
    _Atomic int peak;
    _Atomic int64_t changed_ns;
    _Atomic pid_t seat[]; /* seats of them */
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "gate atomics must be lock-free to be shared");

static int clamp(const td_gate *g, int limit)
{
    return limit < 1 ? 1 : limit > g->seats ? g->seats : limit;
}

static size_t size_of(int seats)
{
    return sizeof(td_gate) + (size_t)seats * sizeof(_Atomic pid_t);
}

td_gate *td_gate_create_seats(int limit, int seats, const char *what)
{
    if (seats < 1)
        seats = 1;
    td_gate *g = td_shm_map(size_of(seats), what);
    if (g) {
        g->seats = seats;
        atomic_store(&g->limit, clamp(g, limit));
    }
    return g;
}

td_gate *td_gate_create(int limit)
{
    return td_gate_create_seats(limit, TD_GATE_MAX, "gate");
}

void td_gate_destroy(td_gate *g)
{
    if (g)
        td_shm_unmap(g, size_of(g->seats));
}

void td_gate_set_limit(td_gate *g, int limit)
{
    if (g)
        atomic_store(&g->limit, clamp(g, limit));
}

int td_gate_in_flight(const td_gate *g)
{
    int n = 0;
    for (int i = 0; g && i < g->seats; i++)
        n += atomic_load_explicit(&((td_gate *)g)->seat[i], memory_order_relaxed) != 0;
    return n;
}

int td_gate_peak(const td_gate *g)
{
    return g ? atomic_load(&((td_gate *)g)->peak) : 0;
}

int td_gate_limit(const td_gate *g)
{
    return g ? atomic_load(&((td_gate *)g)->limit) : 0;
}

int td_gate_seats(const td_gate *g)
{
    return g ? g->seats : 0;
}

int64_t td_gate_changed_ns(const td_gate *g)
{
    return g ? atomic_load(&((td_gate *)g)->changed_ns) : 0;
}

int td_gate_take(td_gate *g, int from, int to)
{
    if (!g)
        return -1;
    pid_t me = getpid();
    if (to > g->seats)
        to = g->seats;
    for (int i = from < 0 ? 0 : from; i < to; i++) {
        pid_t free_seat = 0;
        if (atomic_load_explicit(&g->seat[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&g->seat[i], &free_seat, me)) {
            atomic_store(&g->changed_ns, td_mono_ns());
            return i;
        }
    }
    return -1;
}

int td_gate_enter(td_gate *g)
{
    if (!g)
        return TD_GATE_MAX;
    int i = td_gate_take(g, 0, atomic_load(&g->limit));
    if (i >= 0) {
        int now = td_gate_in_flight(g), peak = atomic_load(&g->peak);
        while (now > peak && !atomic_compare_exchange_weak(&g->peak, &peak, now))
            ;
    }
    return i;
}

void td_gate_leave(td_gate *g, int seat)
{
    if (g && seat >= 0 && seat < g->seats) {
        atomic_store(&g->seat[seat], 0);
        atomic_store(&g->changed_ns, td_mono_ns());
    }
}

void td_gate_forget_pid(td_gate *g, pid_t pid)
{
    for (int i = 0; g && pid > 0 && i < g->seats; i++) {
        pid_t held = pid;
        if (atomic_compare_exchange_strong(&g->seat[i], &held, 0))
            atomic_store(&g->changed_ns, td_mono_ns());
    }
}
