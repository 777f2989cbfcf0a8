# bench/lib.sh - what every benchmark script does the same way: a private
# stack (PostgreSQL, Redis, nginx on free 127.0.0.1 ports, TD_FAST=1) in a
# fresh temp dir, stopped and removed on exit (KEEP=1 keeps the dir).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_on_exit() { ...; }     # optional: stop the script's own processes
#   bench_stack_up tdfills       # VAR, RUN, PSQL, stack env; ports exported
#
# Also RT (the stack's scheduling), say/die/calc and bench_stop, with the
# script's name (BENCH_NAME) in messages.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
STACK=$ROOT/src/run/stack.sh
PGBIN=/usr/lib/postgresql/15/bin
OUT=$ROOT/build/bench

say() { echo "${BENCH_NAME:-bench}: $*" >&2; }
die() {
    say "$*"
    exit 1
}
# RT: the stack's TRADEDESK_RT_PRIORITY (the engine, the stream and Redis
# under SCHED_FIFO at that priority, docs/running.md): 20 where the kernel
# allows it, as production should run them; RT= the normal scheduler.
if [ -z "${RT+set}" ]; then
    RT=20
    chrt -f "$RT" true 2>/dev/null || RT=
fi

# calc EXPR [FORMAT]: floating point arithmetic without bc.
calc() { awk "BEGIN { printf \"${2:-%.6f}\", $1 }"; }

# bench_stop PID: TERM a helper the script started in the background, and
# reap it (nothing when PID is empty or gone).
bench_stop() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
    "$STACK" --var "$VAR" down >/dev/null 2>&1 || say "stack down failed; see $VAR"
    if [ "${KEEP:-0}" = 1 ]; then say "kept $VAR"; else rm -rf "$VAR"; fi
    exit $rc
}

# bench_stack_up PREFIX: the stack in /tmp/PREFIX.XXXXXX, up.
bench_stack_up() {
    VAR=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$VAR"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    export TD_VAR=$VAR TD_FAST=1 TD_QUIET_ENV=1
    export TRADEDESK_HTTP_PORT TRADEDESK_WS_PORT
    TRADEDESK_HTTP_PORT=$("$STACK" free-port)
    TRADEDESK_WS_PORT=$("$STACK" free-port)
    unset TRADEDESK_ENV_FILE
    export TRADEDESK_RT_PRIORITY=${RT:-0}
    local sched="the normal scheduler (RT=)"
    [ -z "$RT" ] || sched="SCHED_FIFO $RT for the engine, the stream and Redis"
    "$STACK" --var "$VAR" up >&2
    # PG_RT=PRIO (an experiment, not a recommendation: docs/running.md):
    # PostgreSQL's processes, and the backends forked later, under SCHED_FIFO.
    if [ -n "${PG_RT:-}" ]; then
        local pm
        pm=$(head -n1 "$VAR/pg/postmaster.pid")
        for p in $pm $(ps -o pid= --ppid "$pm"); do chrt -a -f -p "$PG_RT" "$p"; done
        sched="$sched; PostgreSQL SCHED_FIFO $PG_RT"
    fi
    say "scheduling: $sched"
    eval "$("$STACK" --var "$VAR" env)"
    RUN=$VAR/run
    PSQL=("$PGBIN/psql" -h "$RUN" -U postgres -d tradedesk -X -q -v ON_ERROR_STOP=1)
}
