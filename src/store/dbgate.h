/*
 * dbgate.h - a bounded share of a master's workers for PostgreSQL work.
 *
 * A prefork worker that sends a statement waits until PostgreSQL answers.
 * When PostgreSQL stalls (stopped, a network black hole, a lock pile-up)
 * every worker that tries joins the wait, and requests that need no
 * database at all (cached reads, /health, /metrics) queue behind them.
 * The gate keeps that from happening: before a blocking statement a worker
 * takes one of `limit` slots in memory shared by the master's workers, and
 * gives it back when the statement is answered (or its deadline passes,
 * store/db.c).  When every slot is held it waits briefly for one, but only
 * while the holders make progress: once no slot has been taken or given
 * back for TD_DBGATE_PATIENCE_MS, PostgreSQL is not answering, and the
 * worker is refused at once (TD_EUNAVAIL: the API answers 503 with
 * Retry-After) instead of becoming one more waiter.  So at least
 * workers - limit workers are always free for work that needs no database.
 *
 * Without td_dbgate_shared_init (the CLI, unit tests) every enter succeeds.
 */
#ifndef TD_STORE_DBGATE_H
#define TD_STORE_DBGATE_H

#include "domain/td.h"

#include <stddef.h>
#include <sys/types.h>

/* Slots across every generation of workers (SIGHUP keeps old ones alive
 * while they drain), so a forced entry always finds one. */
#define TD_DBGATE_SLOTS 1024
/* No slot taken or given back for this long while all are held: the
 * holders are stuck.  Far above a healthy statement here (about 0.1 to
 * 2 ms), far below the statement deadline. */
#define TD_DBGATE_PATIENCE_MS 100

/* The master, once, before forking workers.  TD_ENOMEM when the mapping
 * fails (the gate then admits everything, as before it existed). */
td_status td_dbgate_shared_init(void);

/* The master, after reaping pid: slots a worker held when it died (killed
 * inside a statement) are given back. */
void td_dbgate_forget(pid_t pid);

/* The share of `workers` allowed to wait on PostgreSQL at once: at least
 * one slot, and at least one worker left free when there are two or more. */
int td_dbgate_limit(int workers, int share_pct);

/* Take a slot among the first `limit` (limit <= 0: no gate, always TD_OK
 * with *slot = -1).  force: take one even past the limit, for a statement
 * inside a transaction (refusing COMMIT or ROLLBACK would leave the
 * transaction open).  TD_OK with *slot to give back, or TD_EUNAVAIL with
 * why (cap bytes) saying how long the holders have been stuck. */
td_status td_dbgate_enter(int limit, int force, int *slot, char *why, size_t cap);
/* Give a slot back (slot < 0: nothing was taken). */
void td_dbgate_leave(int slot);

/* Slots held right now, across all workers (0 without the shared map). */
int td_dbgate_held(void);

#endif
