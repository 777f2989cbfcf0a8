/*
 * login_gate.h - how many password verifications (Argon2id: tens of ms of
 * CPU and ~19 MiB each) may run at once across all workers of this master.
 *
 * A flood of logins (unknown users from many addresses pass every per-user
 * limit) would otherwise keep every core hashing and slow every other
 * request; past TRADEDESK_LOGIN_VERIFY_MAX a login is answered 503 with
 * Retry-After without verifying anything.  One core/gate.h gate, made by
 * the master before it forks.
 */
#ifndef TD_API_LOGIN_GATE_H
#define TD_API_LOGIN_GATE_H

#include "core/arena.h"
#include "domain/td.h"

#include <sys/types.h>

/* Master, once, before forking.  TD_ENOMEM when shared memory is missing:
 * verifications are then unbounded, as before the gate existed. */
td_status td_login_gate_init(int limit);
/* Master, on SIGHUP. */
void td_login_gate_set_limit(int limit);
/* Master, after reaping a worker: seats it held are free again. */
void td_login_gate_reaped(pid_t pid);

/* Worker: a seat to verify in, or -1 when the gate is full. */
int td_login_gate_enter(void);
void td_login_gate_leave(int seat);

/* The gate's gauges in the Prometheus text format (for GET /metrics), an
 * arena string; "" when there is no gate. */
const char *td_login_gate_metrics(td_arena *a);

#endif
