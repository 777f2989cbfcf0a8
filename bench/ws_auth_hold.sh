#!/usr/bin/env bash
# bench/ws_auth_hold.sh - tradedesk-stream's loop while N sockets
# authenticate at once (bench/ws_auth_hold.mjs): how long until every
# auth is answered, and the round trips of one probe socket's pings
# meanwhile (what any other socket waits).
#
#   bench/ws_auth_hold.sh                  # N=1000, Redis healthy, then stalled
#   N=1000 TD_BIN=/path/to/bin bench/ws_auth_hold.sh   # another build's programs
#
# A private stack (bench/lib.sh), migrated and seeded; the stream with
# per-user and per-address limits above N (and the message rate: the
# probe pings back to back); one token of alice's for every
# socket.  Two phases, REPEAT times each: `healthy`, and `stall` (Redis
# stopped with SIGSTOP for STALL_MS as the auths are sent: what a slow or
# frozen Redis costs).  One line per run on stdout.
set -euo pipefail
BENCH_NAME=ws_auth_hold
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${N:-1000}
REPEAT=${REPEAT:-2}
STALL_MS=${STALL_MS:-500}
export TD_BIN=${TD_BIN:-$ROOT/bin}
[ -x "$TD_BIN/tradedesk-stream" ] || make -s -C "$ROOT" all >&2
ulimit -n "$(ulimit -Hn)"
export TRADEDESK_JWT_SECRET
TRADEDESK_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
bench_stack_up tdauth
"$TD_BIN/tradedesk" migrate >/dev/null
"$TD_BIN/tradedesk" seed demo >/dev/null
export TRADEDESK_STREAM_SOCKETS_PER_USER=$((N + 10)) TRADEDESK_STREAM_SOCKETS_PER_ADDRESS=$((N + 10))
export TRADEDESK_STREAM_RATE=100000 # the probe pings back to back
"$STACK" --var "$VAR" start stream >&2
TOKEN=$("$TD_BIN/tradedesk" token alice --ttl 3600)
PORT=$TRADEDESK_WS_PORT
REDIS_PID=$(cat "$RUN/redis.pid")
STALL="kill -STOP $REDIS_PID; (sleep $(calc "$STALL_MS / 1000" %.3f); kill -CONT $REDIS_PID) &"
for i in $(seq "$REPEAT"); do
    echo "healthy $(node "$BENCH/ws_auth_hold.mjs" "ws://127.0.0.1:$PORT/" "$TOKEN" "$N")"
    echo "stall_${STALL_MS}ms $(node "$BENCH/ws_auth_hold.mjs" "ws://127.0.0.1:$PORT/" "$TOKEN" "$N" "$STALL")"
    sleep 2 # the stalled Redis' reconnects settle
done
