#!/usr/bin/env bash
# bench/ab.sh - compare builds or settings of tradedesk-api on a held stack.
#
#   HOLD=900 bench/run.sh &          # a stack with data and tokens, kept up
#   bench/ab.sh VAR "label BIN_DIR WORKERS LOG_LEVEL [PATH] [nocache]" ...
#
# For each spec: restart the stack's api from BIN_DIR (TD_BIN) with
# TRADEDESK_WORKERS and TRADEDESK_LOG_LEVEL, warm up 2 s, run wrk -t2 -c64
# for DURATION (5) seconds over the stack's tokens on PATH
# (/api/v1/positions), and print req/s, p50, p99 and the non-200 count.
# Build a variant with e.g. `make B=/tmp/v/build BIN=/tmp/v/bin all` in a
# copy of the tree.  Interleave specs (A B A B) when the machine is noisy.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${1:?usage: ab.sh VAR "label BIN_DIR WORKERS LOG_LEVEL [PATH] [nocache]" ...}
shift
[ -f "$VAR/env" ] || { echo "ab: $VAR/env missing (is a HOLD=... bench/run.sh running?)" >&2; exit 2; }
# shellcheck disable=SC1091
. "$VAR/env"
TRADEDESK_JWT_SECRET=$(cat "$VAR/jwt_secret")
export TRADEDESK_JWT_SECRET TD_VAR=$VAR TD_QUIET_ENV=1
D=${DURATION:-5}

for spec in "$@"; do
    # shellcheck disable=SC2086
    set -- $spec
    label=$1 bin=$2 w=$3 lvl=$4 path=${5:-/api/v1/positions} extra=${6:-}
    if ! TD_BIN=$bin TRADEDESK_LOG_LEVEL=$lvl TRADEDESK_WORKERS=$w \
        "$ROOT/src/run/stack.sh" --var "$VAR" restart api >"$VAR/ab-start.log" 2>&1; then
        echo "$label: api did not start (see $VAR/ab-start.log)"
        continue
    fi
    # shellcheck disable=SC2086
    wrk -t2 -c64 -d2s -s "$ROOT/bench/tokens.lua" "$TD_BENCH_URL$path" -- "$TD_BENCH_TOKENS" $extra >/dev/null
    # shellcheck disable=SC2086
    r=$(timeout $((D + 30)) wrk -t2 -c64 -d"${D}s" -s "$ROOT/bench/tokens.lua" "$TD_BENCH_URL$path" -- \
        "$TD_BENCH_TOKENS" $extra | grep '^RESULT')
    echo "$r" | awk -v l="$label" '{
        for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
        printf "%-28s %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  non-200 %d\n", l, v["rps"],
            v["p50_us"] / 1000, v["p99_us"] / 1000, v["non200"] }'
done
