#!/usr/bin/env bash
# bench/stream_idle.sh - tradedesk-stream's memory per connection and its
# fan-out rate, in one command.
#
#   bench/stream_idle.sh                 # 2000 idle connections, then 2000 on prices:BTC-USDT
#   N=5000 SECS=10 bench/stream_idle.sh
#
# Builds, starts a private stack (bench/lib.sh), migrates and seeds the demo
# data, starts the engine (the simulator: every symbol moves every
# TRADEDESK_SIM_STEP_MS) and the stream, then twice opens N WebSockets
# straight to the stream's port with bench/stream_idle.py: once idle (no
# subscription), once each subscribed to prices:BTC-USDT.  Reports the
# stream's RSS before and with the sockets open (VmRSS of
# /proc/PID/status), per connection, and the messages the clients
# received per second.  A first measurement, not issue 10's benchmark
# (10,000 clients through nginx, latency percentiles): that is to come.
set -euo pipefail
BENCH_NAME=stream_idle
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${N:-2000}
SECS=${SECS:-5}

make -s -C "$ROOT" all >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bench_stack_up tdstream
"$ROOT/bin/tradedesk" migrate >/dev/null
"$ROOT/bin/tradedesk" seed demo >/dev/null
export TRADEDESK_JWT_SECRET=${TRADEDESK_JWT_SECRET:-$(od -An -vtx1 -N24 /dev/urandom | tr -d ' \n')}
export TRADEDESK_ENGINE_LISTEN=127.0.0.1:$("$STACK" free-port)
"$STACK" --var "$VAR" start engine stream >&2
pid=$(cat "$RUN/stream.pid")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

measure() { # CHANNEL
    local before with fifo out
    before=$(rss)
    fifo=$VAR/idle.in
    rm -f "$fifo"
    mkfifo "$fifo"
    python3 "$BENCH/stream_idle.py" "$TRADEDESK_STREAM_LISTEN" "$N" "$1" "$SECS" <"$fifo" >"$VAR/idle.out" &
    local py=$!
    exec 7>"$fifo"
    until grep -q '^received' "$VAR/idle.out" 2>/dev/null; do
        kill -0 "$py" 2>/dev/null || die "stream_idle.py failed"
        sleep 0.2
    done
    with=$(rss)
    out=$(grep '^received' "$VAR/idle.out")
    echo >&7
    exec 7>&-
    wait "$py" || true
    echo "channel=$1 connections=$N rss_before_kb=$before rss_with_kb=$with" \
        "per_connection_bytes=$(calc "($with - $before) * 1024 / $N" %.0f) $out"
    sleep 1
}
export TRADEDESK_STREAM_LISTEN=127.0.0.1:$TRADEDESK_WS_PORT
measure -
measure prices:BTC-USDT
