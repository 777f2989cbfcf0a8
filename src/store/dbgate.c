/*
 * dbgate.c - dbgate.h on core/gate: the slots are a gate's seats (each
 * holding its taker's pid, given back by pid when the master reaps a
 * worker); what this file adds is the policy: forced seats past the limit
 * for statements inside a transaction, and patience, measured on the
 * gate's last change: a full gate nothing has left for that long is stuck.
 */
#include "store/dbgate.h"
#include "core/clock.h"
#include "core/gate.h"

#include <sched.h>
#include <stdio.h>
#include <unistd.h>

static td_gate *g_gate;

td_status td_dbgate_shared_init(void)
{
    g_gate = td_gate_create_seats(TD_DBGATE_SLOTS, TD_DBGATE_SLOTS, "database gate");
    return g_gate ? TD_OK : TD_ENOMEM;
}

void td_dbgate_forget(pid_t pid)
{
    td_gate_forget_pid(g_gate, pid);
}

int td_dbgate_limit(int workers, int share_pct)
{
    int n = (int)((long)workers * share_pct / 100);
    if (n >= workers)
        n = workers - 1; /* one worker always left for what needs no database */
    return n < 1 ? 1 : n;
}

td_status td_dbgate_enter(int limit, int force, int *slot, char *why, size_t cap)
{
    *slot = -1;
    if (!g_gate || limit <= 0)
        return TD_OK;
    if (limit > TD_DBGATE_SLOTS)
        limit = TD_DBGATE_SLOTS;
    for (int spins = 0;; spins++) {
        if ((*slot = td_gate_take(g_gate, 0, limit)) >= 0)
            return TD_OK;
        if (force && (*slot = td_gate_take(g_gate, limit, TD_DBGATE_SLOTS)) >= 0)
            return TD_OK;
        int64_t quiet = td_mono_ns() - td_gate_changed_ns(g_gate);
        if (quiet >= (int64_t)TD_DBGATE_PATIENCE_MS * 1000000) {
            snprintf(why, cap,
                     "all %d database slots held and none freed for %lld ms: PostgreSQL is "
                     "not answering",
                     limit, (long long)(quiet / 1000000));
            return TD_EUNAVAIL;
        }
        /* Busy, not stuck: a healthy statement ends within a millisecond. */
        if (spins < 20)
            sched_yield();
        else
            usleep(100);
    }
}

void td_dbgate_leave(int slot)
{
    td_gate_leave(g_gate, slot);
}

int td_dbgate_held(void)
{
    return td_gate_in_flight(g_gate);
}
