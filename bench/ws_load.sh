#!/usr/bin/env bash
# bench/ws_load.sh - the market-data benchmark, in one command.
#
#   bench/ws_load.sh                         # 200 symbols, 3 s warm-up, 10 s measured
#   NSYM=250 DURATION=20 bench/ws_load.sh    # (also: make -C bench ws)
#
# Builds (make all, bench/Makefile), starts a private stack in a fresh
# /tmp/tdws.XXXXXX (PostgreSQL, Redis, nginx; TD_FAST=1), migrates, seeds
# NSYM instruments B000-USDT, B001-USDT, ... (bench/seed_ws.sql) and starts
# bench/ws_pusher, a local Binance: it answers the SUBSCRIBE and pushes
# trade, bookTicker and 24hrMiniTicker messages round-robin over the NSYM
# symbols as fast as the reader takes them (or RATE messages/s).
#
# 1. baseline: bench/ws_count (a libwebsockets client that only counts)
#    reads the pusher for DURATION s: the transport's ceiling here.
# 2. engine: tradedesk-engine with TRADEDESK_FEEDS=binance pointed at the
#    pusher, the stack's PostgreSQL and Redis, for WARMUP + DURATION s.
#    Over the DURATION window it reports, from the engine's /metrics:
#    messages and market events per second (parsed, applied to the oracle
#    and candles, their changes published to Redis), Redis commands, and
#    the receive -> Redis-confirmed latency histogram
#    (tradedesk_engine_publish_latency_seconds: from the moment the
#    engine's loop got a message's bytes from libwebsockets to the moment
#    Redis' reply to the last command of the pipeline carrying its changes
#    was read), p50/p99/p99.9 interpolated within the buckets as Prometheus'
#    histogram_quantile does, plus the exact share under 2 ms.  CPU of the
#    engine, the pusher, redis-server and PostgreSQL from /proc/PID/stat
#    deltas, and the machine's idle share from /proc/stat.
#
# Settings: NSYM (200, at most the engine's 256), DURATION (10), WARMUP (3),
# RATE (0: as fast as read), MODE (batch | frame: see ws_pusher.c),
# SKIP_BASELINE=1, PERF=1 (perf record -g on the engine for the window,
# report in VAR/perf.txt; implies KEEP=1), KEEP=1 (keep the temp dir),
# HOLD (seconds to keep the stack up after the report).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
STACK=$ROOT/src/run/stack.sh
OUT=$ROOT/build/bench

NSYM=${NSYM:-200}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
RATE=${RATE:-0}
MODE=${MODE:-batch}
[ "${PERF:-0}" = 1 ] && KEEP=1

say() { echo "ws-bench: $*" >&2; }
calc() { awk "BEGIN { printf \"${2:-%.6f}\", $1 }"; }
die() {
    say "$*"
    exit 1
}
for t in redis-server curl pkg-config; do
    command -v "$t" >/dev/null || die "$t not found"
done

say "building (make all, bench/Makefile)"
make -s -C "$ROOT" all >&2
make -s -C "$BENCH" OUT="$OUT" all >&2

VAR=$(mktemp -d /tmp/tdws.XXXXXX)
chmod 755 "$VAR"
PUSHER_PID=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -z "${PERF_PID:-}" ] || kill -INT "$PERF_PID" 2>/dev/null || true
    if [ -n "$PUSHER_PID" ] && kill -0 "$PUSHER_PID" 2>/dev/null; then
        kill -TERM "$PUSHER_PID" 2>/dev/null || true
        wait "$PUSHER_PID" 2>/dev/null || true
    fi
    "$STACK" --var "$VAR" down >/dev/null 2>&1 || say "stack down failed; see $VAR"
    if [ "${KEEP:-0}" = 1 ]; then say "kept $VAR"; else rm -rf "$VAR"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TD_VAR=$VAR TD_FAST=1 TD_QUIET_ENV=1
export TRADEDESK_HTTP_PORT TRADEDESK_WS_PORT
TRADEDESK_HTTP_PORT=$("$STACK" free-port)
TRADEDESK_WS_PORT=$("$STACK" free-port)
unset TRADEDESK_ENV_FILE
"$STACK" --var "$VAR" up >&2
eval "$("$STACK" --var "$VAR" env)"
RUN=$VAR/run
"$ROOT/bin/tradedesk" migrate >&2
"$STACK" --var "$VAR" psql -X -q -v ON_ERROR_STOP=1 -v nsym="$NSYM" -f "$BENCH/seed_ws.sql" >&2

# ------------------------------------------------------------------ helpers

# utime+stime in clock ticks of the given pids, summed.
ticks() {
    local p line rest sum=0
    for p in "$@"; do
        read -r line 2>/dev/null <"/proc/$p/stat" || continue
        rest=${line##*) }
        # shellcheck disable=SC2086
        set -- $rest
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}
machine() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; } # busy idle
pg_pids() {
    local master
    master=$(head -n1 "$VAR/pg/postmaster.pid")
    echo "$master" $(ps -o pid= --ppid "$master")
}
HZ=$(getconf CLK_TCK)
now() { date +%s.%N; }
pct() { calc "100 * $1 / $HZ / $2" %.0f; } # pct TICKS SECONDS -> % of one core

# ------------------------------------------------------------------ pusher

PORT=$("$STACK" free-port)
"$OUT/ws_pusher" "$PORT" "$NSYM" "$RATE" "$MODE" >"$VAR/log/pusher.log" 2>&1 &
PUSHER_PID=$!
for _ in $(seq 50); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done
kill -0 "$PUSHER_PID" || die "ws_pusher did not start: $(cat "$VAR/log/pusher.log")"
pushed() { tail -n1 "$VAR/log/pusher.log" | sed -n 's/.*sent=\([0-9]*\).*/\1/p'; }

BASE_LINE=
if [ "${SKIP_BASELINE:-0}" != 1 ]; then
    say "baseline: ws_count reads the pusher (${WARMUP}s + ${DURATION}s)"
    sleep 1.1
    p0=$(ticks "$PUSHER_PID")
    BASE_LINE=$("$OUT/ws_count" "ws://127.0.0.1:$PORT/ws" "$WARMUP" "$DURATION")
    p1=$(ticks "$PUSHER_PID")
    BASE_PUSHER_PCT=$(pct $((p1 - p0)) "$(calc "$WARMUP + $DURATION")")
fi

# ------------------------------------------------------------------ engine

EPORT=$("$STACK" free-port)
export TRADEDESK_FEEDS=binance TRADEDESK_BINANCE_WS_URL=ws://127.0.0.1:$PORT/ws
export TRADEDESK_ENGINE_LISTEN=127.0.0.1:$EPORT TRADEDESK_LOG_LEVEL=${TRADEDESK_LOG_LEVEL:-warn}
say "engine: $NSYM instruments from the pusher on :$PORT, metrics on :$EPORT"
"$STACK" --var "$VAR" start engine >&2
ENGINE_PID=$(cat "$RUN/engine.pid")
REDIS_PID=$(cat "$RUN/redis.pid")
metrics() { curl -s --max-time 5 "http://127.0.0.1:$EPORT/metrics"; }
metric() { awk -v n="$2" '$1 == n {print $2; f=1} END {if (!f) print 0}' "$1"; }

for _ in $(seq 100); do
    metrics >"$VAR/m0.txt" || true
    [ "$(metric "$VAR/m0.txt" tradedesk_engine_events_total)" != 0 ] && break
    sleep 0.1
done
sleep "$WARMUP"

PG=$(pg_pids)
metrics >"$VAR/m1.txt"
t1=$(now)
read -r mb1 mi1 < <(machine)
e1=$(ticks "$ENGINE_PID"); r1=$(ticks "$REDIS_PID"); u1=$(ticks "$PUSHER_PID"); g1=$(ticks $PG)
s1=$(pushed)
if [ "${PERF:-0}" = 1 ]; then
    perf record ${PERF_ARGS:--g} -o "$VAR/perf.data" -p "$ENGINE_PID" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
    wait "$PERF_PID" || true
    PERF_PID=
else
    sleep "$DURATION"
fi
metrics >"$VAR/m2.txt"
t2=$(now)
read -r mb2 mi2 < <(machine)
e2=$(ticks "$ENGINE_PID"); r2=$(ticks "$REDIS_PID"); u2=$(ticks "$PUSHER_PID"); g2=$(ticks $PG)
s2=$(pushed)
SECS=$(calc "$t2 - $t1")

delta() { calc "$(metric "$VAR/m2.txt" "$1") - $(metric "$VAR/m1.txt" "$1")" %.0f; }
MSGS=$(delta 'tradedesk_engine_feed_messages_total{source="binance"}')
EVENTS=$(delta tradedesk_engine_events_total)
ERRS=$(delta 'tradedesk_engine_feed_parse_errors_total{source="binance"}')
RCMDS=$(delta tradedesk_engine_redis_commands_total)
RPIPES=$(delta tradedesk_engine_redis_pipelines_total)
RFAIL=$(delta tradedesk_engine_redis_failures_total)
DBW=$(delta tradedesk_engine_db_writes_total)

# Latency: bucket deltas of the histogram, then quantiles interpolated
# within a bucket (histogram_quantile's rule).
H=tradedesk_engine_publish_latency_seconds
hist() {
    join <(grep "^${H}_bucket" "$VAR/m1.txt" | sed 's/.*le="\([^"]*\)"} /\1 /' | sort) \
        <(grep "^${H}_bucket" "$VAR/m2.txt" | sed 's/.*le="\([^"]*\)"} /\1 /' | sort) |
        awk '{print ($1 == "+Inf" ? 1e9 : $1), $3 - $2}' | sort -g
}
hist >"$VAR/hist.txt"
quantile() {
    awk -v q="$1" '{le[NR] = $1; c[NR] = $2} END {
        if (!NR || c[NR] == 0) { print "n/a"; exit }
        want = q * c[NR]; lo = 0; prev = 0
        for (i = 1; i <= NR; i++) {
            if (c[i] >= want) {
                if (le[i] >= 1e9) { printf "> %.3f", lo * 1000; exit }
                printf "%.3f", (lo + (le[i] - lo) * (want - prev) / (c[i] - prev + 1e-12)) * 1000; exit
            }
            lo = le[i]; prev = c[i]
        } }' "$VAR/hist.txt"
}
under() {
    awk -v b="$1" '{c[$1] = $2; t = $2} END {if (t) printf "%.3f", 100 * c[b] / t; else print "n/a"}' \
        "$VAR/hist.txt"
}
HCOUNT=$(delta "${H}_count")

if [ "${PERF:-0}" = 1 ] && [ -s "$VAR/perf.data" ]; then
    perf report -i "$VAR/perf.data" --no-children --percent-limit 1 --stdio 2>/dev/null |
        grep -v '^$' | head -120 >"$VAR/perf.txt" || true
fi

# ------------------------------------------------------------------ report

{
    echo
    echo "tradedesk market-data benchmark: $(date -u +%FT%TZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
    echo "$NSYM symbols, pusher mode $MODE, rate ${RATE:-0} (0: as fast as read), ${WARMUP}s warm-up, ${SECS%.*}s measured"
    if [ -n "$BASE_LINE" ]; then
        base_rate=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$BASE_LINE")
        printf 'baseline  ws_count (counts only):  %9.0f messages/s; ws_pusher %s%% of a core\n' \
            "$base_rate" "$BASE_PUSHER_PCT"
    fi
    printf 'engine    messages received:        %9.0f /s  (%s parse errors)\n' "$(calc "$MSGS / $SECS")" "$ERRS"
    printf '          market events applied:    %9.0f /s\n' "$(calc "$EVENTS / $SECS")"
    printf '          pusher sent:              %9.0f /s\n' "$(calc "($s2 - $s1) / $SECS")"
    printf '          Redis commands:           %9.0f /s in %.0f pipelines/s (%s failures)\n' \
        "$(calc "$RCMDS / $SECS")" "$(calc "$RPIPES / $SECS")" "$RFAIL"
    printf '          PostgreSQL writes:        %9.0f /s\n' "$(calc "$DBW / $SECS")"
    printf 'latency   receive -> Redis reply:   p50 %s ms, p99 %s ms, p99.9 %s ms over %s messages\n' \
        "$(quantile 0.5)" "$(quantile 0.99)" "$(quantile 0.999)" "$HCOUNT"
    printf '          share under 1 ms: %s%%, under 2 ms: %s%%\n' "$(under 0.001)" "$(under 0.002)"
    ours=$((e2 - e1 + u2 - u1 + r2 - r1 + g2 - g1))
    printf 'CPU       %% of one core: engine %s, pusher %s, redis-server %s, postgres %s, everything else %s; machine idle %s%%\n' \
        "$(pct $((e2 - e1)) "$SECS")" "$(pct $((u2 - u1)) "$SECS")" "$(pct $((r2 - r1)) "$SECS")" \
        "$(pct $((g2 - g1)) "$SECS")" "$(calc "100 * ($mb2 - $mb1 - $ours) / ($mb2 - $mb1 + $mi2 - $mi1) * $(nproc)" %.0f)" \
        "$(calc "100 * ($mi2 - $mi1) / ($mb2 - $mb1 + $mi2 - $mi1)" %.0f)"
    printf '          engine CPU per message:   %9.2f us (user + system)\n' \
        "$(calc "($e2 - $e1) * 1e6 / $HZ / ($MSGS + 0.000001)")"
    ev=$(calc "$EVENTS / $SECS" %.0f)
    p99=$(quantile 0.99)
    u2ms=$(under 0.002)
    verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
    echo "Bars (PRODUCT.md):"
    printf '    >= 100,000 events/s sustained:  %s\n' "$(verdict "$(calc "($ev >= 100000)" %d)")"
    if [ "$u2ms" = n/a ]; then
        echo "    p99 < 2 ms: no latency histogram in /metrics"
    else
        printf '    p99 < 2 ms (>= 99%% under 2 ms): %s\n' "$(verdict "$(calc "($u2ms >= 99)" %d)")"
    fi
    [ -s "$VAR/perf.txt" ] && echo "perf report: $VAR/perf.txt"
} | tee "$VAR/report.txt"

if [ "${HOLD:-0}" -gt 0 ]; then
    say "holding the stack for ${HOLD}s (engine metrics on :$EPORT, VAR $VAR)"
    sleep "$HOLD" &
    wait $! || true
fi
