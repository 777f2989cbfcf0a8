/*
 * dbgate.c - the slots of dbgate.h in memory shared by the master's
 * workers.
 *
 * A slot is one word holding its holder's pid (0: free), taken with a
 * compare-and-swap, so a worker scans the first `limit` words and no
 * counter can drift: a worker killed while holding one (the master reaps
 * it and calls td_dbgate_forget) gives it back by pid.  `progress` is the
 * last time any slot was taken or given back; a full gate whose progress is
 * older than the patience is stuck.
 */
#include "store/dbgate.h"
#include "core/clock.h"
#include "core/shm.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

typedef struct gate {
    _Atomic int64_t progress_ns; /* td_mono_ns(): CLOCK_MONOTONIC is system-wide */
    _Atomic pid_t holder[TD_DBGATE_SLOTS];
} gate;

static gate *g_gate;
static pid_t g_pid; /* the taker, set per enter: workers are forked after the map */

td_status td_dbgate_shared_init(void)
{
    g_gate = td_shm_map(sizeof *g_gate, "database gate");
    return g_gate ? TD_OK : TD_ENOMEM;
}

void td_dbgate_forget(pid_t pid)
{
    if (!g_gate || pid <= 0)
        return;
    for (int i = 0; i < TD_DBGATE_SLOTS; i++) {
        pid_t p = pid;
        if (atomic_compare_exchange_strong(&g_gate->holder[i], &p, 0))
            atomic_store(&g_gate->progress_ns, td_mono_ns());
    }
}

int td_dbgate_limit(int workers, int share_pct)
{
    int n = (int)((long)workers * share_pct / 100);
    if (n >= workers)
        n = workers - 1; /* one worker always left for what needs no database */
    return n < 1 ? 1 : n;
}

static int take(int from, int to)
{
    for (int i = from; i < to; i++) {
        pid_t free_ = 0;
        if (atomic_load_explicit(&g_gate->holder[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&g_gate->holder[i], &free_, g_pid)) {
            atomic_store(&g_gate->progress_ns, td_mono_ns());
            return i;
        }
    }
    return -1;
}

td_status td_dbgate_enter(int limit, int force, int *slot, char *why, size_t cap)
{
    *slot = -1;
    if (!g_gate || limit <= 0)
        return TD_OK;
    if (limit > TD_DBGATE_SLOTS)
        limit = TD_DBGATE_SLOTS;
    g_pid = getpid(); /* one system call, next to a database round trip */
    for (int spins = 0;; spins++) {
        if ((*slot = take(0, limit)) >= 0)
            return TD_OK;
        if (force && (*slot = take(limit, TD_DBGATE_SLOTS)) >= 0)
            return TD_OK;
        int64_t quiet = td_mono_ns() - atomic_load(&g_gate->progress_ns);
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
    if (!g_gate || slot < 0 || slot >= TD_DBGATE_SLOTS)
        return;
    atomic_store(&g_gate->holder[slot], 0);
    atomic_store(&g_gate->progress_ns, td_mono_ns());
}

int td_dbgate_held(void)
{
    if (!g_gate)
        return 0;
    int n = 0;
    for (int i = 0; i < TD_DBGATE_SLOTS; i++)
        n += atomic_load_explicit(&g_gate->holder[i], memory_order_relaxed) != 0;
    return n;
}
