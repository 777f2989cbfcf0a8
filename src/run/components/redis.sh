# components/redis.sh - the stack's Redis (sourced by src/run/stack.sh).
#
# redis-server on a unix socket only (VAR/run/redis.sock, --port 0),
# daemonized, working dir VAR/redis.  RDB snapshots there unless TD_FAST=1,
# and an append-only file always (fsync every second): the users' fill
# Streams (td:fills:<user>, the WebSocket replay log) outlive a restart.
# The socket is mode 0700: only the user running the stack (and root)
# may connect; nginx's group, which may enter VAR/run, may not.
# Everything else in Redis is a cache: deleting VAR/redis loses no data
# (the fills stay in PostgreSQL), which is why a stop that cannot save
# exits without saving.
#
# With TRADEDESK_RT_PRIORITY set, Redis runs under SCHED_FIFO (redis_realtime).
# TD_REDIS_ARGS: more redis-server arguments, split on spaces (tests: a
# slow load, "--key-load-delay 500").
#
# Hooks: redis_start redis_stop redis_ready redis_status redis_env.
# shellcheck shell=bash

REDIS_SOCK=$RUN/redis.sock

redis_ready() { [ "$(redis-cli -s "$REDIS_SOCK" ping 2>/dev/null)" = PONG ]; }

redis_status() { status_line redis "$(read_pid "$RUN/redis.pid")" '^redis-server$'; }

redis_env() { echo "TRADEDESK_REDIS_URL=unix:$REDIS_SOCK"; }

redis_start() {
    command -v redis-server >/dev/null || die "redis-server not found (run src/run/install-deps.sh)"
    prepare_dirs
    mkdir -p "$VAR/redis"
    if redis_ready; then
        say "redis already running"
        redis_realtime
        return 0
    fi
    local save=(--save "3600 1 300 100 60 10000")
    [ "$FAST" = 1 ] && save=(--save "")
    # redis forks and calls setsid itself (daemonize yes).
    redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
        --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" \
        --dir "$VAR/redis" "${save[@]}" --appendonly yes --appendfsync everysec \
        --protected-mode no ${TD_REDIS_ARGS:-} ||
        fail_start "redis" "$LOG/redis.log"
    wait_until "redis" "$LOG/redis.log" redis_ready
    redis_realtime
}

# TRADEDESK_RT_PRIORITY: Redis is on the engine's and the stream's path, so
# it runs under SCHED_FIFO at their priority too (its own children, an AOF
# rewrite or a snapshot, under the normal scheduler: --reset-on-fork).
redis_realtime() {
    local prio=${TRADEDESK_RT_PRIORITY:-0}
    [ "$prio" -gt 0 ] 2>/dev/null || return 0
    chrt --all-tasks --reset-on-fork --fifo --pid "$prio" "$(read_pid "$RUN/redis.pid")" 2>/dev/null ||
        say "warning: TRADEDESK_RT_PRIORITY=$prio refused for redis: it runs under the normal scheduler"
}

redis_stop() {
    local pid
    pid=$(read_pid "$RUN/redis.pid")
    if alive_as "$pid" '^redis-server$'; then
        # SHUTDOWN saves first when persistence is on.  If saving fails Redis
        # refuses to exit: then exit without saving.
        timeout 10 redis-cli -s "$REDIS_SOCK" shutdown >/dev/null 2>&1 ||
            timeout 5 redis-cli -s "$REDIS_SOCK" shutdown nosave >/dev/null 2>&1 || true
    fi
    stop_daemon "$pid" '^redis-server$' TERM 10 redis
    rm -f "$RUN/redis.pid" "$REDIS_SOCK"
}
