/*
 * gate.h - at most N holders at once across the processes of one master:
 * a non-blocking counting semaphore in shared memory (core/shm.h) whose
 * seats remember their holder's pid.
 *
 * Made by the master before fork; every worker enters and leaves with
 * lock-free compare-and-swap, and never waits: a full gate answers "no" at
 * once (the caller turns that into 503).  A worker that dies holding a
 * seat (killed mid-request) would keep it forever, so the master gives
 * back a reaped pid's seats with td_gate_forget_pid.  No I/O after create.
 */
#ifndef TD_CORE_GATE_H
#define TD_CORE_GATE_H

#include <sys/types.h>

#include <stdint.h>

#define TD_GATE_MAX 256 /* seats of td_gate_create's gates */

typedef struct td_gate td_gate;

/* Master, before fork: a gate of limit seats (clamped to 1..TD_GATE_MAX),
 * or NULL when shared memory is unavailable (logged). */
td_gate *td_gate_create(int limit);
/* The same with `seats` seats (limit clamped to 1..seats); what names the
 * mapping in the log. */
td_gate *td_gate_create_seats(int limit, int seats, const char *what);
/* Tests: unmap.  Other processes keep their mapping. */
void td_gate_destroy(td_gate *g);

/* A new limit (SIGHUP).  Seats past it already held are left to finish, so
 * for that while up to the old limit may be in. */
void td_gate_set_limit(td_gate *g, int limit);

/* Take a seat for this process: its index, or -1 when all are taken.  A
 * NULL gate (no shared memory) admits everybody with seat TD_GATE_MAX. */
int td_gate_enter(td_gate *g);
/* Take the first free seat in [from, to) for this process, whatever the
 * limit (td_gate_enter is this over [0, limit) plus the peak): its index,
 * or -1.  For callers with their own policy (store/dbgate's forced seats
 * past the limit). */
int td_gate_take(td_gate *g, int from, int to);
/* Give back the seat td_gate_enter or td_gate_take returned. */
void td_gate_leave(td_gate *g, int seat);

/* Master, after reaping pid: free every seat it still held. */
void td_gate_forget_pid(td_gate *g, pid_t pid);

/* Seats held now; the most held at once since create (by td_gate_enter);
 * the limit; the seat count; when a seat was last taken or given back
 * (td_mono_ns, 0 never). */
int td_gate_in_flight(const td_gate *g);
int td_gate_peak(const td_gate *g);
int td_gate_limit(const td_gate *g);
int td_gate_seats(const td_gate *g);
int64_t td_gate_changed_ns(const td_gate *g);

#endif
