#!/usr/bin/env bash
# bench/stream_load.sh - tradedesk-stream's benchmark, in one command
# (issue 10 item 8; also: make -C bench stream).
#
#   bench/stream_load.sh                       # N=10000 clients through nginx
#   N=2000 CHANNELS=1 SECS=5 REPEAT=1 bench/stream_load.sh
#
# Builds (make all, bench/Makefile), raises ulimit -n to its hard limit,
# starts a private stack (bench/lib.sh: PostgreSQL, Redis, nginx on free
# ports) whose nginx has TD_NGINX_CONNECTIONS=2N+256 per worker (a proxied
# WebSocket is a client and an upstream connection; at most the descriptor
# limit less 256), migrates, seeds the
# demo data, and runs bench/ws_clients (one thread, one libwebsockets
# context, N connections to nginx's /ws) in phases, REPEAT times each:
#
#   base-idle   N sockets to bench/ws_fanout on the stream's port (a bare
#   base-sub    libwebsockets fan-out, the same prices every STEP_MS): the
#               transport's ceiling through the same nginx
#   idle        N sockets to tradedesk-stream, connected, no subscription:
#               VmRSS of the stream and of nginx's workers (apart) before
#               and with them open, per connection
#   probe       one socket on every symbol for 10 s: the prices/s per symbol
#               the engine publishes (the offered rate is N*CHANNELS times it)
#   sub         N sockets, each subscribed to CHANNELS prices:SYM channels
#               (spread over the demo symbols) while the engine's simulator
#               ticks: delivered prices/s, tick -> client latency p50/p99/
#               p99.9/max (the price's updated_at, the time the engine took
#               it, to the client's receive time; whole ms)
#
# One line per phase on stdout.  The engine moves every symbol once per
# loop tick (100 ms, TRADEDESK_SIM_STEP_MS=STEP_MS=10 so no tick is
# skipped), so a socket on K channels is offered about 10*K prices/s:
# N=10000, CHANNELS=2 offers ~200,000/s, twice the bar.  CPU of each process
# over the window (from /proc/PID/stat) is in the lines (stream_cpu=,
# nginx_cpu= summed over workers, in % of one core; client_cpu= is
# ws_clients itself).
#
# Settings: N (10000), CHANNELS (2), SECS (10, the window), WARMUP (3),
# REPEAT (2), PHASES ("base-idle base-sub probe idle sub"), STEP_MS (10),
# PARALLEL (256 handshakes in flight), DIRECT=1 (the clients straight on
# the server's port, nginx bypassed: the server's own ceiling; not the
# bar's setup), KEEP=1 (keep the temp dir).
set -euo pipefail
BENCH_NAME=stream_load
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-10000}
CHANNELS=${CHANNELS:-2}
SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
REPEAT=${REPEAT:-2}
PHASES=${PHASES:-base-idle base-sub probe idle sub}
STEP_MS=${STEP_MS:-10}
PARALLEL=${PARALLEL:-256}

say "building (make all, bench/Makefile)"
make -s -C "$ROOT" all >&2
make -s -C "$BENCH" OUT="$OUT" "$OUT/ws_clients" "$OUT/ws_fanout" >&2

ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
[ "$NOFILE" -ge $((N + 256)) ] || die "ulimit -n is $NOFILE: N=$N needs N + 256"
# Per worker: its share of the clients and as many upstream connections,
# so 2N would do for one worker alone; within the descriptors we have.
export TD_NGINX_CONNECTIONS=$((2 * N + 256))
[ "$TD_NGINX_CONNECTIONS" -le $((NOFILE - 256)) ] || TD_NGINX_CONNECTIONS=$((NOFILE - 256))

bench_stack_up tdstream
"$ROOT/bin/tradedesk" migrate >/dev/null
"$ROOT/bin/tradedesk" seed demo >/dev/null
mapfile -t SYMS < <("${PSQL[@]}" -At -c "SELECT symbol FROM instruments WHERE active ORDER BY symbol")
[ "${#SYMS[@]}" -gt 0 ] || die "no active instruments after seed demo"

URL=ws://127.0.0.1:$TRADEDESK_HTTP_PORT/ws
[ "${DIRECT:-0}" = 1 ] && URL=ws://127.0.0.1:$TRADEDESK_WS_PORT/ws # nginx bypassed
say "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1); load $(cut -d' ' -f1-3 /proc/loadavg)"
say "N=$N CHANNELS=$CHANNELS over ${SYMS[*]}; window ${SECS}s after ${WARMUP}s; clients to $URL"

nginx_workers() { ps -o pid= --ppid "$(cat "$RUN/nginx.pid")" | tr -d ' ' | sort -n | paste -sd,; }
# Fresh nginx workers (SIGHUP: new ones, the old exit once idle), so each
# run's RSS before/with is not the previous run's high-water mark.
nginx_fresh() {
    local old new
    old=$(nginx_workers)
    kill -HUP "$(cat "$RUN/nginx.pid")"
    for _ in $(seq 100); do
        new=$(nginx_workers)
        if [ -n "$new" ] && [ "$(echo "$new" | tr ',' '\n' | wc -l)" -eq "${TD_NGINX_WORKERS:-2}" ] &&
            ! grep -qxF -f <(echo "$old" | tr ',' '\n') <(echo "$new" | tr ',' '\n'); then
            WORKERS=$new
            return 0
        fi
        sleep 0.1
    done
    die "nginx workers did not renew (still $new)"
}

# The server behind /ws, (re)started fresh for each run: SERVER=NAME, PID.
FANOUT_PID=
stop_fanout() {
    bench_stop "$FANOUT_PID"
    FANOUT_PID=
}
bench_on_exit() { stop_fanout; }
fanout_fresh() {
    stop_fanout
    # On the stream's TCP port and its unix socket (nginx's /ws upstream).
    "$OUT/ws_fanout" "$TRADEDESK_WS_PORT" 100 "$RUN/stream.sock" >"$VAR/fanout.log" 2>&1 &
    FANOUT_PID=$!
    for _ in $(seq 50); do
        [ -S "$RUN/stream.sock" ] && (: <>"/dev/tcp/127.0.0.1/$TRADEDESK_WS_PORT") 2>/dev/null &&
            break # listening
        sleep 0.1
    done
    kill -0 "$FANOUT_PID" 2>/dev/null || die "ws_fanout did not start: $(cat "$VAR/fanout.log")"
    SERVER=fanout PID=$FANOUT_PID
}
stream_fresh() {
    "$STACK" --var "$VAR" restart stream >&2
    SERVER=stream PID=$(cat "$RUN/stream.pid")
}

# The stream's own counts over its (fresh) life: what it wrote, and the
# market messages it replaced by a newer one for a client behind.
stream_counters() {
    [ "$SERVER" = stream ] || return 0
    curl -s --max-time 5 "http://127.0.0.1:$TRADEDESK_WS_PORT/metrics" |
        awk '$1 == "tradedesk_stream_messages_out_total" {o = $2}
             $1 == "tradedesk_stream_conflated_total" {c = $2}
             $1 == "tradedesk_stream_dropped_total" {d = $2}
             END {printf " stream_out=%d stream_conflated=%d stream_dropped=%d", o, c, d}'
}

# run PHASE FRESH [-c K]: REPEAT times, a fresh server (FRESH) and fresh
# nginx workers, then ws_clients through nginx watching both; its line,
# prefixed with the phase, on stdout.
run() {
    local phase=$1 fresh=$2 i line
    shift 2
    for i in $(seq "$REPEAT"); do
        "$fresh"
        nginx_fresh
        sleep 1
        say "$phase #$i: $N clients to $SERVER (load $(cut -d' ' -f1-3 /proc/loadavg))"
        line=$("$OUT/ws_clients" -n "$N" -p "$PARALLEL" -w "$WARMUP" -s "$SECS" "$@" \
            -m "$SERVER=$PID" -m "nginx=$WORKERS" "$URL" "${SYMS[@]}") || say "$phase #$i: ws_clients failed"
        echo "phase=$phase run=$i load=$(cut -d' ' -f1 /proc/loadavg) $line$(stream_counters)"
    done
}

phase_wanted() { [[ " $PHASES " == *" $1 "* ]]; }

! phase_wanted base-idle || run base-idle fanout_fresh -c 0
! phase_wanted base-sub || run base-sub fanout_fresh -c "$CHANNELS"
stop_fanout

if phase_wanted idle || phase_wanted sub; then
    export TRADEDESK_JWT_SECRET=${TRADEDESK_JWT_SECRET:-$(od -An -vtx1 -N24 /dev/urandom | tr -d ' \n')}
    TRADEDESK_ENGINE_LISTEN=127.0.0.1:$("$STACK" free-port)
    export TRADEDESK_ENGINE_LISTEN
    export TRADEDESK_SIM_STEP_MS=$STEP_MS TRADEDESK_LOG_LEVEL=${TRADEDESK_LOG_LEVEL:-warn}
    # Every client comes from 127.0.0.1 (nginx's X-Real-IP).
    export TRADEDESK_STREAM_SOCKETS_PER_ADDRESS=$((N + 100))
    "$STACK" --var "$VAR" start engine >&2
    if phase_wanted probe; then # the engine's price rate: one client on every symbol
        stream_fresh
        line=$("$OUT/ws_clients" -n 1 -w 2 -s 10 -c "${#SYMS[@]}" "$URL" "${SYMS[@]}") || say "probe failed"
        echo "phase=probe run=1 load=$(cut -d' ' -f1 /proc/loadavg) $line"
    fi
    ! phase_wanted idle || run idle stream_fresh -c 0
    ! phase_wanted sub || run sub stream_fresh -c "$CHANNELS"
fi
