#!/usr/bin/env bash
# bench/fills_ladder.sh - tick -> committed fill and tick -> fill on the
# user's socket against the load: bench/fills.sh's stepped phase (a tick
# every STEP_MS, each firing one order of every user) once per rung of
# LADDER, the number of users and so of fills a tick, each with a fresh
# stack, then one table.  PRODUCT.md's bars: both p99 under 10 ms.
#
#   bench/fills_ladder.sh                        # LADDER="1 10 50 100", 100 ticks each
#   LADDER="1 5" ORDERS_PER_USER=200 bench/fills_ladder.sh
#
# Settings: LADDER, ORDERS_PER_USER (ticks per rung, 100), STEP_MS (50),
# DURABLE, RT (as bench/fills.sh; RT= for the normal scheduler).  Each
# rung's whole report is kept in $OUT/fills-ladder-<users>.txt (OUT:
# build/bench by default).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE/../build/bench}
mkdir -p "$OUT"
LADDER=${LADDER:-1 10 50 100}
export ORDERS_PER_USER=${ORDERS_PER_USER:-100} STEP_MS=${STEP_MS:-50}

rows=()
for u in $LADDER; do
    rep=$OUT/fills-ladder-$u.txt
    USERS=$u PHASES=stepped SOCKETS=1 "$HERE/fills.sh" >"$rep" 2>&1 ||
        { echo "fills_ladder: $u users failed, see $rep" >&2; tail -5 "$rep" >&2; exit 1; }
    line=$(grep '^stepped' "$rep")
    sock=$(grep "on the user's socket" "$rep")
    idle=$(grep -o 'machine idle during the phase: [0-9]* %' "$rep" | grep -o '[0-9]*')
    rate=$(echo "$line" | grep -o '[0-9]* fills/s' | grep -o '[0-9]*')
    commit=$(echo "$line" | sed -E 's/.*tick -> fill p50 <= ([0-9.]+) ms, p99 <= ([0-9.inf]+) ms.*/\1 \2/')
    socket=$(echo "$sock" | sed -E 's/.*: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms, max ([0-9.]+) ms.*/\1 \2 \3/')
    rows+=("$u $rate $commit $socket $idle")
    sched=$(grep -o 'scheduling: .*' "$rep" | head -n1)
done
echo
echo "fills_ladder: ${sched:-scheduling: not reported}"
echo "fills_ladder: stepped phase, a tick every ${STEP_MS} ms, $ORDERS_PER_USER ticks a rung (tick -> commit: the engine's histogram, bucket bounds)"
printf '%10s %8s %24s %30s %6s\n' "fills/tick" "fills/s" "tick->commit p50/p99 ms" "tick->socket p50/p99/max ms" "idle%"
for r in "${rows[@]}"; do
    set -- $r
    printf '%10s %8s %24s %30s %6s\n' "$1" "$2" "<= $3 / <= $4" "$5 / $6 / $7" "$8"
done
