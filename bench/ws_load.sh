#!/usr/bin/env bash
# bench/ws_load.sh - the market-data benchmark, in one command.
#
#   bench/ws_load.sh                         # 200 symbols, 3 s warm-up, 10 s measured
#   NSYM=250 DURATION=20 bench/ws_load.sh    # (also: make -C bench ws)
#
# Two phases, each with a fresh pusher and a fresh engine:
#   max    the pusher writes as fast as the engine reads (TCP flow control
#          is the throttle): the most events/s the engine sustains here;
#   paced  the pusher sends RATE messages/s (105,000) in 1 ms ticks, as a
#          busy venue does: the latency at the bar's rate.
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
# RATE (105000, the paced phase: the bar plus 5% for the tick's jitter),
# PHASES ("max paced"), MODE (batch | frame: see ws_pusher.c),
# RT (bench/lib.sh: 20, the engine, TRADEDESK_RT_PRIORITY, and Redis under
# SCHED_FIFO at that priority where the kernel allows it; RT= the normal
# scheduler; RT_AB=1: every second phase only, an interleaved A/B),
# PIN="0 1 1" (the engine, Redis and the pusher each on its CPU, taskset;
# PIN_AB=1: every second phase only),
# A phase written KIND@DIR (paced@/tmp/old/bin) runs the engine of DIR
# (TD_BIN) instead of bin/: with phases repeated, an interleaved A/B of two
# builds in one run ("paced@/tmp/old/bin paced paced@/tmp/old/bin paced";
# each reported as KIND-N).
# REDIS_CONFIG="appendonly no" (CONFIG SET on the stack's Redis before the
# phases; Redis' latency monitor, at 1 ms, is reported per phase either way),
# REDIS_AB="appendonly no" (the same, for every second phase only: with
# PHASES="paced paced paced paced", an interleaved A/B of a Redis setting),
# SKIP_BASELINE=1, PERF=1 (perf record -g on the engine for the window,
# report in VAR/perf.txt; implies KEEP=1), KEEP=1 (keep the temp dir),
# HOLD (seconds to keep the stack up after the report).
set -euo pipefail

BENCH_NAME=ws-bench
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NSYM=${NSYM:-200}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
RATE=${RATE:-105000}
PHASES=${PHASES:-max paced}
MODE=${MODE:-batch}
[ "${PERF:-0}" = 1 ] && KEEP=1

for t in redis-server curl pkg-config; do
    command -v "$t" >/dev/null || die "$t not found"
done

say "building (make all, bench/Makefile)"
make -s -C "$ROOT" all >&2
make -s -C "$BENCH" OUT="$OUT" all >&2

PUSHER_PID=
stop_pusher() {
    bench_stop "$PUSHER_PID"
    PUSHER_PID=
}

bench_on_exit() {
    [ -z "${PERF_PID:-}" ] || kill -INT "$PERF_PID" 2>/dev/null || true
    stop_pusher
}
bench_stack_up tdws
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

# ------------------------------------------------------------------ a phase

REDIS_PID=$(cat "$RUN/redis.pid")
rcli() { redis-cli -s "$RUN/redis.sock" "$@"; }
rcli config set latency-monitor-threshold 1 >/dev/null
rcli config set slowlog-log-slower-than 1000 slowlog-max-len 128 >/dev/null
if [ -n "${REDIS_CONFIG:-}" ]; then
    # shellcheck disable=SC2086 # "name value ..." as CONFIG SET's words
    rcli config set $REDIS_CONFIG >/dev/null
    say "Redis: CONFIG SET $REDIS_CONFIG"
fi
REDIS_A=
if [ -n "${REDIS_AB:-}" ]; then # the A side: the settings' values now
    for k in $(awk '{for (i = 1; i <= NF; i += 2) print $i}' <<<"$REDIS_AB"); do
        REDIS_A="$REDIS_A $k $(rcli config get "$k" | sed -n 2p)"
    done
fi
H=tradedesk_engine_publish_latency_seconds
metric() { awk -v n="$2" '$1 == n {print $2; f=1} END {if (!f) print 0}' "$1"; }

# phase NAME PUSHER_RATE: pusher, baseline, engine, measurement; the
# report's lines for it into VAR/NAME.report.
phase() {
    local name=$1 rate=$2 bin=${3:-} dir=$VAR/$1 redis_set= pinned=
    mkdir -p "$dir"
    if [ -n "${REDIS_AB:-}" ]; then
        redis_set=$REDIS_A
        [ $((i % 2)) = 1 ] || redis_set=$REDIS_AB
        # shellcheck disable=SC2086
        rcli config set $redis_set >/dev/null
    fi
    local port eport
    port=$("$STACK" free-port)
    "$OUT/ws_pusher" "$port" "$NSYM" "$rate" "$MODE" >"$dir/pusher.log" 2>&1 &
    PUSHER_PID=$!
    for _ in $(seq 50); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    kill -0 "$PUSHER_PID" || die "ws_pusher did not start: $(cat "$dir/pusher.log")"
    pushed() { tail -n1 "$dir/pusher.log" | sed -n 's/.*sent=\([0-9]*\).*/\1/p'; }

    local base_line="" base_pct=""
    if [ "${SKIP_BASELINE:-0}" != 1 ]; then
        say "$name: baseline, ws_count reads the pusher (${WARMUP}s + ${DURATION}s)"
        local p0 p1
        p0=$(ticks "$PUSHER_PID")
        base_line=$("$OUT/ws_count" "ws://127.0.0.1:$port/ws" "$WARMUP" "$DURATION")
        p1=$(ticks "$PUSHER_PID")
        base_pct=$(pct $((p1 - p0)) "$(calc "$WARMUP + $DURATION")")
    fi

    eport=$("$STACK" free-port)
    export TRADEDESK_FEEDS=binance TRADEDESK_BINANCE_WS_URL=ws://127.0.0.1:$port/ws
    export TRADEDESK_ENGINE_LISTEN=127.0.0.1:$eport TRADEDESK_LOG_LEVEL=${TRADEDESK_LOG_LEVEL:-warn}
    say "$name: engine, $NSYM instruments from the pusher on :$port, metrics on :$eport"
    # RT=PRIO: the engine (TRADEDESK_RT_PRIORITY) and Redis (chrt, as the
    # stack does at its start) under SCHED_FIFO; with RT_AB=1 every second
    # phase only, the others under the normal scheduler: an interleaved A/B.
    local rt=$RT
    [ -z "${RT_AB:-}" ] || [ $((i % 2)) = 0 ] || rt=
    if [ -n "$rt" ]; then
        chrt -a -f -R -p "$rt" "$REDIS_PID" >/dev/null
    else
        chrt -a -o -p 0 "$REDIS_PID" >/dev/null
    fi
    TRADEDESK_RT_PRIORITY=${rt:-0} TD_BIN=${bin:-$ROOT/bin} "$STACK" --var "$VAR" start engine >&2
    local engine_pid
    engine_pid=$(cat "$RUN/engine.pid")
    # PIN="E R P": the engine's, Redis' and the pusher's CPUs (with PIN_AB=1,
    # every second phase only: an interleaved A/B of the pinning)
    if [ -n "${PIN:-}" ] && { [ -z "${PIN_AB:-}" ] || [ $((i % 2)) = 0 ]; }; then
        read -r pe pr pp <<<"$PIN"
        taskset -a -pc "$pe" "$engine_pid" >/dev/null
        taskset -a -pc "$pr" "$REDIS_PID" >/dev/null
        taskset -a -pc "$pp" "$PUSHER_PID" >/dev/null
        say "$name: pinned engine to CPU $pe, redis to $pr, pusher to $pp"
        pinned=$PIN
    elif [ -n "${PIN:-}" ]; then # the A side: Redis (kept across phases) free again
        taskset -a -pc "0-$(($(nproc) - 1))" "$REDIS_PID" >/dev/null
    fi
    metrics() { curl -s --max-time 5 "http://127.0.0.1:$eport/metrics"; }
    for _ in $(seq 100); do
        metrics >"$dir/m0.txt" || true
        [ "$(metric "$dir/m0.txt" tradedesk_engine_events_total)" != 0 ] && break
        sleep 0.1
    done
    sleep "$WARMUP"
    local applied # what the engine reports, not what was asked
    applied=$(metric "$dir/m0.txt" tradedesk_engine_realtime_priority)
    [ "$applied" = 0 ] || pinned="${pinned:+$pinned; }engine and Redis under SCHED_FIFO $applied"

    local pg t1 t2 mb1 mi1 mb2 mi2 e1 e2 r1 r2 u1 u2 g1 g2 s1 s2 secs
    pg=$(pg_pids)
    metrics >"$dir/m1.txt"
    t1=$(now)
    read -r mb1 mi1 < <(machine)
    e1=$(ticks "$engine_pid"); r1=$(ticks "$REDIS_PID"); u1=$(ticks "$PUSHER_PID"); g1=$(ticks $pg)
    s1=$(pushed)
    rcli latency reset >/dev/null
    rcli slowlog reset >/dev/null
    if [ "${PERF:-0}" = 1 ]; then
        perf record ${PERF_ARGS:--g} -o "$dir/perf.data" -p "$engine_pid" -- sleep "$DURATION" \
            >/dev/null 2>&1 &
        PERF_PID=$!
        wait "$PERF_PID" || true
        PERF_PID=
        perf report -i "$dir/perf.data" --no-children --percent-limit 1 --stdio 2>/dev/null |
            grep -v '^$' | head -120 >"$dir/perf.txt" || true
    else
        sleep "$DURATION"
    fi
    metrics >"$dir/m2.txt"
    t2=$(now)
    read -r mb2 mi2 < <(machine)
    e2=$(ticks "$engine_pid"); r2=$(ticks "$REDIS_PID"); u2=$(ticks "$PUSHER_PID"); g2=$(ticks $pg)
    s2=$(pushed)
    # Redis' own stalls over 1 ms in the window: event, count, worst (ms).
    local rstalls rslow
    # The commands that took Redis over 1 ms (its slow log, which times the
    # command alone): name, count and the longest in microseconds.
    rslow=$(rcli --csv slowlog get 128 2>/dev/null | tr -d '"' | awk -F, '
        { for (i = 1; i + 3 <= NF; i++) if ($i ~ /^[0-9]+$/ && $(i+1) ~ /^[0-9]+$/ && $(i+2) ~ /^[0-9]+$/) {
              us = $(i+2); cmd = toupper($(i+3)); c[cmd]++; if (us > m[cmd]) m[cmd] = us; i += 3 } }
        END { for (k in c) printf "%s%s x%d (max %d us)", (sep++ ? ", " : ""), k, c[k], m[k]; if (!sep) printf "none" }')
    rstalls=$(rcli latency latest | paste - - - - | awk '{printf "%s%s (latest %s ms, worst %s ms)", (NR > 1 ? ", " : ""), $1, $3, $4} END {if (!NR) printf "none"}')
    secs=$(calc "$t2 - $t1")
    "$STACK" --var "$VAR" stop engine >&2
    stop_pusher

    delta() { calc "$(metric "$dir/m2.txt" "$1") - $(metric "$dir/m1.txt" "$1")" %.0f; }
    local msgs events errs rcmds rpipes rfail dbw
    msgs=$(delta 'tradedesk_engine_feed_messages_total{source="binance"}')
    events=$(delta tradedesk_engine_events_total)
    errs=$(delta 'tradedesk_engine_feed_parse_errors_total{source="binance"}')
    rcmds=$(delta tradedesk_engine_redis_commands_total)
    rpipes=$(delta tradedesk_engine_redis_pipelines_total)
    rfail=$(delta tradedesk_engine_redis_errors_total)
    dbw=$(delta tradedesk_engine_db_writes_total)
    # Latency: bucket deltas, then quantiles interpolated within a bucket
    # (histogram_quantile's rule).  hist NAME FILE: NAME's bucket deltas.
    hist() {
        join <(grep "^${1}_bucket" "$dir/m1.txt" | sed 's/.*le="\([^"]*\)"} /\1 /' | sort) \
            <(grep "^${1}_bucket" "$dir/m2.txt" | sed 's/.*le="\([^"]*\)"} /\1 /' | sort) |
            awk '{print ($1 == "+Inf" ? 1e9 : $1), $3 - $2}' | sort -g >"$2"
    }
    hist "$H" "$dir/hist.txt"
    hist tradedesk_engine_publish_wait_seconds "$dir/wait.txt"
    hist tradedesk_engine_redis_round_trip_seconds "$dir/rtt.txt"
    hist tradedesk_engine_tick_seconds "$dir/tick.txt"
    hist tradedesk_engine_tick_cpu_seconds "$dir/tick_cpu.txt"
    quantile() { # quantile Q [FILE]
        awk -v q="$1" '{le[NR] = $1; c[NR] = $2} END {
            if (!NR || c[NR] == 0) { print "n/a"; exit }
            want = q * c[NR]; lo = 0; prev = 0
            for (i = 1; i <= NR; i++) {
                if (c[i] >= want) {
                    if (le[i] >= 1e9) { printf "> %.3f", lo * 1000; exit }
                    printf "%.3f", (lo + (le[i] - lo) * (want - prev) / (c[i] - prev + 1e-12)) * 1000; exit
                }
                lo = le[i]; prev = c[i]
            } }' "${2:-$dir/hist.txt}"
    }
    under() { # under BOUND [FILE]
        awk -v b="$1" '{c[$1] = $2; t = $2} END {if (t) printf "%.2f", 100 * c[b] / t; else print "n/a"}' \
            "${2:-$dir/hist.txt}"
    }
    local ours busy idle
    ours=$((e2 - e1 + u2 - u1 + r2 - r1 + g2 - g1))
    busy=$((mb2 - mb1))
    idle=$((mi2 - mi1))
    {
        if [ "$rate" = 0 ]; then
            echo "[$name] the pusher as fast as read; ${WARMUP}s warm-up, ${secs%.*}s measured"
        else
            echo "[$name] the pusher at $rate messages/s; ${WARMUP}s warm-up, ${secs%.*}s measured"
        fi
        [ -z "$bin" ] || echo "  engine of $bin"
        [ -z "$redis_set" ] || echo "  Redis: CONFIG SET ${redis_set# }"
        [ -z "$pinned" ] || echo "  pinned / scheduled: $pinned"
        if [ -n "$base_line" ]; then
            printf '  baseline  ws_count (counts only): %9.0f messages/s; ws_pusher %s%% of a core\n' \
                "$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$base_line")" "$base_pct"
        fi
        printf '  engine    messages received:      %9.0f /s (%s parse errors); pusher sent %.0f /s\n' \
            "$(calc "$msgs / $secs")" "$errs" "$(calc "($s2 - $s1) / $secs")"
        printf '            market events applied:  %9.0f /s\n' "$(calc "$events / $secs")"
        printf '            Redis commands:         %9.0f /s in %.0f pipelines/s (%s errors)\n' \
            "$(calc "$rcmds / $secs")" "$(calc "$rpipes / $secs")" "$rfail"
        printf '            PostgreSQL statements:  %9.0f /s\n' "$(calc "$dbw / $secs")"
        printf '  latency   receive -> Redis reply: p50 %s ms, p99 %s ms, p99.9 %s ms (%s messages)\n' \
            "$(quantile 0.5)" "$(quantile 0.99)" "$(quantile 0.999)" "$(delta "${H}_count")"
        printf '            under 1 ms: %s%%, under 2 ms: %s%%\n' "$(under 0.001)" "$(under 0.002)"
        printf '            cumulative: %s\n' "$(awk '{le[NR] = $1; c[NR] = $2} END {
            for (i = 1; i <= NR; i++) if (c[NR] && le[i] >= 0.0005 && le[i] <= 0.1)
                printf "%s<=%gms %.1f%%", (i > 1 ? " " : ""), le[i] * 1000, 100 * c[i] / c[NR] }' \
            "$dir/hist.txt")"
        # Where the time goes: in the engine until the pipeline is sent,
        # then Redis' round trip; and the loop's 100 ms timer.
        printf '            of which receive -> sent: p50 %s ms, p99 %s ms, under 2 ms %s%%\n' \
            "$(quantile 0.5 "$dir/wait.txt")" "$(quantile 0.99 "$dir/wait.txt")" \
            "$(under 0.002 "$dir/wait.txt")"
        printf '            pipeline sent -> reply:   p50 %s ms, p99 %s ms, under 2 ms %s%% (%s pipelines)\n' \
            "$(quantile 0.5 "$dir/rtt.txt")" "$(quantile 0.99 "$dir/rtt.txt")" \
            "$(under 0.002 "$dir/rtt.txt")" "$(delta tradedesk_engine_redis_round_trip_seconds_count)"
        printf '            Redis latency monitor (events over 1 ms): %s\n' "$rstalls"
        printf '            Redis slow log (commands over 1 ms): %s\n' "$rslow"
        printf '  loop      100 ms timer callback: p50 %s ms, p99 %s ms, max bucket %s\n' \
            "$(quantile 0.5 "$dir/tick.txt")" "$(quantile 0.99 "$dir/tick.txt")" \
            "$(awk '$2 > p {m = $1; p = $2} END {print (m >= 1e9 ? "+Inf" : m * 1000 " ms")}' "$dir/tick.txt")"
        printf '            its CPU time:          p50 %s ms, p99 %s ms, max bucket %s\n' \
            "$(quantile 0.5 "$dir/tick_cpu.txt")" "$(quantile 0.99 "$dir/tick_cpu.txt")" \
            "$(awk '$2 > p {m = $1; p = $2} END {print (m >= 1e9 ? "+Inf" : m * 1000 " ms")}' "$dir/tick_cpu.txt")"
        printf '  CPU       %% of one core: engine %s, pusher %s, redis-server %s, postgres %s,\n' \
            "$(pct $((e2 - e1)) "$secs")" "$(pct $((u2 - u1)) "$secs")" "$(pct $((r2 - r1)) "$secs")" \
            "$(pct $((g2 - g1)) "$secs")"
        printf '            everything else %s; machine idle %s%%\n' \
            "$(calc "100 * ($busy - $ours) / ($busy + $idle) * $(nproc)" %.0f)" \
            "$(calc "100 * $idle / ($busy + $idle)" %.0f)"
        printf '            engine CPU per message: %.2f us\n' \
            "$(calc "($e2 - $e1) * 1e6 / $HZ / ($msgs + 0.000001)")"
        [ ! -s "$dir/perf.txt" ] || echo "  perf report: $dir/perf.txt"
        echo "$name $(calc "$events / $secs" %.0f) $(quantile 0.99) $(under 0.002)" >"$dir/bars"
    } >"$dir/report"
}

LABELS=
i=0
repeated=$(tr ' ' '\n' <<<"$PHASES" | sed '/^$/d; s/@.*//' | sort | uniq -d)
for ph in $PHASES; do
    i=$((i + 1))
    kind=${ph%%@*} bin=
    [ "$kind" = "$ph" ] || bin=${ph#*@}
    label=$kind
    [ -z "$repeated" ] && [ -z "$bin" ] || label=$kind-$i
    case "$kind" in
    max) phase "$label" 0 "$bin" ;;
    paced) phase "$label" "$RATE" "$bin" ;;
    *) die "PHASES: '$ph' is not max or paced (or KIND@DIR)" ;;
    esac
    LABELS="$LABELS $label"
done

# ------------------------------------------------------------------ report

{
    echo
    echo "tradedesk market-data benchmark: $(date -u +%FT%TZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
    echo "$NSYM symbols (trade, bookTicker, 24hrMiniTicker in turn), pusher mode $MODE"
    for ph in $LABELS; do cat "$VAR/$ph/report"; done
    verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
    echo "Bars (PRODUCT.md):"
    for ph in $LABELS; do
        read -r _ ev p99 u2 <"$VAR/$ph/bars"
        printf '    [%s] >= 100,000 events/s: %s;' "$ph" "$(verdict "$(calc "($ev >= 100000)" %d)")"
        if [ "$u2" = n/a ]; then
            echo " p99: no latency histogram"
        else
            printf ' p99 < 2 ms: %s (p99 %s ms)\n' "$(verdict "$(calc "($u2 >= 99)" %d)")" "$p99"
        fi
    done
} | tee "$VAR/report.txt"

if [ "${HOLD:-0}" -gt 0 ]; then
    say "holding the stack for ${HOLD}s (VAR $VAR)"
    sleep "$HOLD" &
    wait $! || true
fi
