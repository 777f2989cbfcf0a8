#!/usr/bin/env bash
# bench/cpu_split.sh - where the CPU goes during one wrk run, per request.
#
#   bench/cpu_split.sh URL [TOKENS [nocache]]     (DURATION, default 5 s)
#
# Snapshots user and system CPU time of every process on the machine (by
# name) before and after `wrk -t2 -c64 -dDURATION -s bench/tokens.lua URL --
# TOKENS ...`, and prints each name's share in microseconds per request,
# plus wrk's own and the machine's total and idle time.  Use it against a
# stack kept up by `HOLD=600 bench/run.sh` (. VAR/env gives TD_BENCH_URL
# and TD_BENCH_TOKENS).  Only 127.0.0.1 URLs are accepted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URL=${1:?usage: cpu_split.sh URL [TOKENS [nocache]]}
shift
case "$URL" in http://127.0.0.1:*) ;; *) echo "cpu_split: only http://127.0.0.1 URLs" >&2; exit 2 ;; esac
ARGS=("${@:-"-"}")
DURATION=${DURATION:-5}
TMP=$(mktemp -d /tmp/cpusplit.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# "name utime stime" (clock ticks) summed over processes of that name.
snap() {
    local f line comm rest
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        comm=${line#*(}
        comm=${comm%%)*}
        comm=${comm// /_}
        case "$comm" in kworker*) comm=kworker ;; esac # named after their current job
        rest=${line##*) }
        # shellcheck disable=SC2086
        set -- $rest
        echo "$comm ${12} ${13}"
    done | awk '{u[$1] += $2; s[$1] += $3} END {for (k in u) print k, u[k], s[k]}' | sort
}

snap >"$TMP/before"
read -r -a cpu0 < <(grep '^cpu ' /proc/stat)
TIMEFORMAT='%U %S'
{ time timeout $((DURATION + 30)) wrk -t2 -c64 -d"${DURATION}s" -s "$ROOT/bench/tokens.lua" \
    "$URL" -- "${ARGS[@]}" >"$TMP/wrk.txt"; } 2>"$TMP/wrk.time"
read -r -a cpu1 < <(grep '^cpu ' /proc/stat)
snap >"$TMP/after"

grep -E '^(RESULT|statuses|x-cache|WARNING)' "$TMP/wrk.txt"
REQ=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$TMP/wrk.txt")
[ -n "$REQ" ] && [ "$REQ" -gt 0 ] || { echo "cpu_split: no requests" >&2; exit 1; }
HZ=$(getconf CLK_TCK)

echo "CPU per request over $REQ requests (user + system):"
join -a2 "$TMP/before" "$TMP/after" | awk -v req="$REQ" -v hz="$HZ" '{
    if (NF == 5) { du = $4 - $2; ds = $5 - $3 } else { du = $2; ds = $3 }
    t = du + ds
    if (t > 0) printf "  %-28s %7.1f us  (user %5.1f, sys %5.1f)\n", $1, t * 1e6 / hz / req,
        du * 1e6 / hz / req, ds * 1e6 / hz / req
}' | sort -k2 -rn | head -15
read -r wu ws <"$TMP/wrk.time"
awk -v u="$wu" -v s="$ws" -v req="$REQ" 'BEGIN {
    printf "  %-28s %7.1f us  (user %5.1f, sys %5.1f)\n", "wrk (client)", (u + s) * 1e6 / req,
        u * 1e6 / req, s * 1e6 / req }'
# /proc/stat cpu line: user nice system idle iowait irq softirq steal ...
busy=0
for i in 1 2 3 6 7 8; do busy=$((busy + cpu1[i] - cpu0[i])); done
idle=$((cpu1[4] - cpu0[4] + cpu1[5] - cpu0[5]))
awk -v b="$busy" -v i="$idle" -v req="$REQ" -v hz="$HZ" 'BEGIN {
    printf "  machine: %.1f us busy per request; idle %.0f%% of the run\n",
        b * 1e6 / hz / req, 100 * i / (b + i) }'
