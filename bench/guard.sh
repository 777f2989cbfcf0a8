#!/usr/bin/env bash
# bench/guard.sh - the drawdown guard's run (engine/guard.c) at scale, in one
# command: a private stack, USERS users (10,000) each with an account and
# POSITIONS open positions (3) across the demo's symbols, the engine taking
# a snapshot every second; reports how long the leader's runs take
# (tradedesk_guard_run_seconds_total / runs, tradedesk_guard_last_run_seconds:
# read every account and open position, sum each user's portfolio, step their
# guard, write every snapshot and guard row in one transaction) and the
# engine's CPU over RUNS runs (10; PostgreSQL's is not told apart from other
# stacks' on a shared machine).  KEEP=1 keeps the dir.
#
#   bench/guard.sh
#   USERS=1000 POSITIONS=1 bench/guard.sh
set -euo pipefail

BENCH_NAME=guard
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
USERS=${USERS:-10000}
POS=${POSITIONS:-3}
RUNS=${RUNS:-10}

say "building"
make -s -C "$ROOT" all >&2
export TRADEDESK_ENGINE_LISTEN TRADEDESK_JWT_SECRET
TRADEDESK_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRADEDESK_LOG_LEVEL=${TRADEDESK_LOG_LEVEL:-warn}
export TRADEDESK_GUARD_INTERVAL_S=1 TRADEDESK_GUARD_ACTION=none
bench_stack_up tdguard
TRADEDESK_ENGINE_LISTEN=127.0.0.1:$("$STACK" free-port)
PSQL+=(-At)
"$ROOT/bin/tradedesk" migrate >/dev/null
"$ROOT/bin/tradedesk" seed demo >/dev/null

say "seeding $USERS users x $POS positions"
"${PSQL[@]}" -c "
    INSERT INTO users (username, password_hash)
    SELECT 'gb' || k, password_hash FROM users, generate_series(1, $USERS) k
    WHERE username = 'alice';
    INSERT INTO accounts (user_id, cash_balance)
    SELECT id, 100000 FROM users WHERE username LIKE 'gb%';
    INSERT INTO positions (user_id, symbol, side, quantity, entry_price)
    SELECT u.id, s.symbol, CASE WHEN (u.id + s.n) % 2 = 0 THEN 'long' ELSE 'short' END,
           0.5, pl.price * 0.99
    FROM users u
    CROSS JOIN LATERAL (SELECT symbol, row_number() OVER (ORDER BY symbol) AS n
                        FROM instruments WHERE active ORDER BY symbol LIMIT $POS) s
    JOIN prices_latest pl ON pl.symbol = s.symbol
    WHERE u.username LIKE 'gb%';
    ANALYZE;" >/dev/null
metric() { curl -sf "http://$TRADEDESK_ENGINE_LISTEN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

"$STACK" --var "$VAR" start engine >&2
epid=$(cat "$VAR/run/engine.pid")
# The first run (a whole interval after the lease) plans the statements.
for _ in $(seq 300); do
    [ "$(metric tradedesk_guard_runs_total || echo 0)" -ge 1 ] 2>/dev/null && break
    sleep 0.1
done
hz=$(getconf CLK_TCK)
r0=$(metric tradedesk_guard_runs_total)
s0=$(metric tradedesk_guard_run_seconds_total)
e0=$(cpu_of "$epid")
for _ in $(seq $((RUNS * 30))); do
    [ "$(metric tradedesk_guard_runs_total)" -ge $((r0 + RUNS)) ] && break
    sleep 0.1
done
r1=$(metric tradedesk_guard_runs_total)
s1=$(metric tradedesk_guard_run_seconds_total)
[ "$r1" -ge $((r0 + RUNS)) ] || die "only $((r1 - r0)) runs"
n=$("${PSQL[@]}" -c "SELECT count(*) FROM accounts")
printf '%d accounts, %d open positions: %d runs, %.1f ms a run (last %.1f ms); engine CPU s per run (whole process) %.3f; failures %s\n' \
    "$n" "$("${PSQL[@]}" -c "SELECT count(*) FROM positions WHERE status = 'open'")" \
    $((r1 - r0)) "$(calc "($s1 - $s0) * 1000 / ($r1 - $r0)")" \
    "$(calc "$(metric tradedesk_guard_last_run_seconds) * 1000")" \
    "$(calc "($(cpu_of "$epid") - $e0) / $hz / ($r1 - $r0)")" \
    "$(metric tradedesk_guard_failures_total)"
"$STACK" --var "$VAR" stop engine >&2
