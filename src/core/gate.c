/*
 * gate.c - see gate.h.
 *
 * A seat is a pid-sized word: 0 free, else its holder.  Entering is a CAS
 * from 0 to our pid on the first free seat below the limit, so two workers
 * can never hold one seat and the number of holders can never pass the
 * limit (a global counter would need a second word, and a worker killed
 * between the two updates would skew it for good).  The peak is a CAS max.
 */
#include "core/gate.h"
#include "core/shm.h"

#include <stdatomic.h>
#include <unistd.h>

struct td_gate {
    _Atomic int limit;
    _Atomic int peak;
    _Atomic pid_t seat[TD_GATE_MAX];
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "gate atomics must be lock-free to be shared");

static int clamp(int limit)
{
    return limit < 1 ? 1 : limit > TD_GATE_MAX ? TD_GATE_MAX : limit;
}

td_gate *td_gate_create(int limit)
{
    td_gate *g = td_shm_map(sizeof *g, "gate");
    if (g)
        atomic_store(&g->limit, clamp(limit));
    return g;
}

void td_gate_destroy(td_gate *g)
{
    td_shm_unmap(g, sizeof *g);
}

void td_gate_set_limit(td_gate *g, int limit)
{
    if (g)
        atomic_store(&g->limit, clamp(limit));
}

int td_gate_in_flight(const td_gate *g)
{
    int n = 0;
    for (int i = 0; g && i < TD_GATE_MAX; i++)
        n += atomic_load(&((td_gate *)g)->seat[i]) != 0;
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

int td_gate_enter(td_gate *g)
{
    if (!g)
        return TD_GATE_MAX;
    pid_t me = getpid();
    int limit = atomic_load(&g->limit);
    for (int i = 0; i < limit; i++) {
        pid_t free_seat = 0;
        if (!atomic_compare_exchange_strong(&g->seat[i], &free_seat, me))
            continue;
        int now = td_gate_in_flight(g), peak = atomic_load(&g->peak);
        while (now > peak && !atomic_compare_exchange_weak(&g->peak, &peak, now))
            ;
        return i;
    }
    return -1;
}

void td_gate_leave(td_gate *g, int seat)
{
    if (g && seat >= 0 && seat < TD_GATE_MAX)
        atomic_store(&g->seat[seat], 0);
}

void td_gate_forget_pid(td_gate *g, pid_t pid)
{
    for (int i = 0; g && pid > 0 && i < TD_GATE_MAX; i++) {
        pid_t held = pid;
        atomic_compare_exchange_strong(&g->seat[i], &held, 0);
    }
}
