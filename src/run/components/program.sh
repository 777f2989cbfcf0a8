# components/program.sh - the tradedesk programs (sourced by src/run/stack.sh).
#
# One set of hooks for every program row of stack.sh's table (name, binary,
# readiness).  A program runs from $BIN in the background in its own session
# (setsid), output appended to VAR/log/NAME.log, pid in VAR/run/NAME.pid, with
# the caller's environment plus the stack's wiring (program_export_env).
#
# Readiness, as the row names it; every kind also needs the process alive:
#   fcgi:PATH   listens for FastCGI on $FCGI_LISTEN (the socket nginx passes
#               to): ready when the socket exists and, if nginx runs, GET PATH
#               through nginx is answered by it (not 502/504/no answer)
#   http:URL    ready when URL answers with any HTTP status but 502/504;
#               @HTTP_PORT@ and @WS_PORT@ in URL are the stack's ports
#   file:NAME   started with TRADEDESK_READY_FILE=VAR/run/NAME, ready once the
#               program has created that file (removed before start, at stop)
#   alive:N     ready when still alive after N seconds (a program with no
#               way to say it is ready yet)
#
# Stop sends SIGTERM, waits TRADEDESK_DRAIN_TIMEOUT (10) + 5 s, then SIGKILLs
# what is left of its process group (orphaned workers of a crashed master
# included), matching names that start with tradedesk or td only.
#
# Hooks: program_start program_stop program_ready program_status program_env,
# each called with the row's NAME BINARY READINESS.
# shellcheck shell=bash

PROGRAM_RE='^(tradedesk|td)'

# The stack's wiring, exported before a program starts.  These always point
# at this stack: a TRADEDESK_DATABASE_URL left in a shell must never make
# `make run` seed demo data into some other database.
# The programs get the program view (TRADEDESK_DATABASE_URL as the
# application role); the CLI view that `eval "$(stack.sh env)"` put in the
# environment is replaced without a note.
program_export_env() {
    local line name mine theirs
    declare -A cli_view=()
    while IFS= read -r line; do
        cli_view[${line%%=*}]=${line#*=}
    done < <(WIRING_FOR=cli stack_wiring)
    while IFS= read -r line; do
        name=${line%%=*}
        mine=${line#*=}
        theirs=$(printenv "$name" || true)
        if [ -n "$theirs" ] && [ "$theirs" != "$mine" ] && [ "$theirs" != "${cli_view[$name]:-}" ] &&
            [ "${TD_QUIET_ENV:-0}" != 1 ]; then
            echo "stack: note: $name from the environment is replaced by the stack's ($mine)" >&2
        fi
        export "$name=$mine"
    done < <(WIRING_FOR=program stack_wiring)
    # `make run` keeps its generated secret here; reuse it so `stack.sh start
    # api` works on its own, and tokens stay valid across restarts.
    if [ -z "${TRADEDESK_JWT_SECRET:-}" ] && [ -s "$VAR/jwt_secret" ]; then
        TRADEDESK_JWT_SECRET=$(cat "$VAR/jwt_secret")
        export TRADEDESK_JWT_SECRET
    fi
    export TRADEDESK_HTTP_PORT=$HTTP_PORT
    export TRADEDESK_WS_PORT=$WS_PORT
    export TRADEDESK_STREAM_LISTEN=127.0.0.1:$WS_PORT # where nginx proxies /ws
    # The disk the detailed health watches: the stack's, PostgreSQL's data in it.
    export TRADEDESK_DATA_DIR=${TRADEDESK_DATA_DIR:-$VAR}
}

# The sockets nginx passes to, and the group nginx's workers run as (only
# the program's user and that group may connect: mode 0660).
program_env() {
    case "$3" in
    fcgi:*)
        echo "TRADEDESK_FCGI_LISTEN=$FCGI_LISTEN"
        echo "TRADEDESK_FCGI_GROUP=$NGINX_GROUP"
        ;;
    esac
    # The stream's /ws for nginx on a unix socket as well (nginx.sh
    # proxies there; its TCP port stays for /health, /metrics, tests).
    case "$1" in
    stream)
        echo "TRADEDESK_STREAM_SOCKET=$RUN/stream.sock"
        echo "TRADEDESK_STREAM_SOCKET_GROUP=$NGINX_GROUP"
        ;;
    esac
}

program_status() { status_line "$1" "$(read_pid "$RUN/$1.pid")" "$PROGRAM_RE"; }

# Nothing but 000 (no answer), 502 and 504 (nginx cannot reach its upstream)
# says a server is not there yet.
http_answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") || true
    case "$code" in 000 | 502 | 504 | "") return 1 ;; *) return 0 ;; esac
}

# program_check NAME READINESS TENTHS: is the (alive) program ready, TENTHS
# tenths of a second after its start (empty: long ago)?
program_check() {
    local name=$1 spec=$2 tenths=${3:-}
    case "$spec" in
    fcgi:*)
        [ -S "$FCGI_LISTEN" ] || return 1
        if alive_as "$(read_pid "$RUN/nginx.pid")" '^nginx$'; then
            http_answers "http://127.0.0.1:$HTTP_PORT${spec#fcgi:}" || return 1
        fi
        ;;
    http:*)
        local url=${spec#http:}
        url=${url//@HTTP_PORT@/$HTTP_PORT}
        url=${url//@WS_PORT@/$WS_PORT}
        http_answers "$url"
        ;;
    file:*) [ -e "$RUN/${spec#file:}" ] ;;
    alive:*) [ -z "$tenths" ] || [ "$tenths" -ge $((${spec#alive:} * 10)) ] ;;
    *) die "$name: unknown readiness '$spec' (fcgi:PATH, http:URL, file:NAME, alive:SECONDS)" ;;
    esac
}

program_ready() {
    alive_as "$(read_pid "$RUN/$1.pid")" "$PROGRAM_RE" && program_check "$1" "$3"
}

# Files a start must not find from an earlier run: its socket, its ready file.
program_clean() {
    case "$2" in
    fcgi:*) rm -f "$FCGI_LISTEN" ;;
    file:*) rm -f "$RUN/${2#file:}" ;;
    esac
}

program_start() {
    local name=$1 prog=$BIN/$2 spec=$3 logfile=$LOG/$1.log pidfile=$RUN/$1.pid pid i rc
    [ -x "$prog" ] || die "$prog not found (run make first)"
    prepare_dirs
    pid=$(read_pid "$pidfile")
    if alive_as "$pid" "$PROGRAM_RE"; then
        say "$name already running (pid $pid)"
        return 0
    fi
    program_export_env
    program_clean "$name" "$spec"
    local ready_file=""
    case "$spec" in file:*) ready_file=$RUN/${spec#file:} ;; esac
    # setsid: its own process group, so Ctrl-C in a terminal reaches run.sh's
    # trap (which drains it) rather than every worker at once, and `stop`
    # can find orphaned workers of a crashed master.
    local off
    off=$(($(stat -c %s "$logfile" 2>/dev/null || echo 0) + 1))
    echo "=== $(date -u +%FT%TZ) starting $prog" >>"$logfile"
    # (exec: the pid we record is the program's.)
    (
        [ -z "$ready_file" ] || export TRADEDESK_READY_FILE=$ready_file
        exec setsid "$prog"
    ) </dev/null >>"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        # (kill -0, not alive_as: until it execs, our child is still named bash.)
        kill -0 "$pid" 2>/dev/null || break
        program_check "$name" "$spec" "$i" && return 0
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "stack: $name is running but does not answer; stopping it" >&2
        program_stop "$name" "$2" "$spec" >&2
    else
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        echo "stack: $name exited (status $rc)" >&2
    fi
    rm -f "$pidfile"
    tail -c "+$off" "$logfile" >"$logfile.last"
    fail_start "$name" "$logfile.last" "$logfile (this start)"
}

program_stop() {
    local name=$1 drain=${TRADEDESK_DRAIN_TIMEOUT:-10}
    stop_daemon "$(read_pid "$RUN/$name.pid")" "$PROGRAM_RE" TERM $((drain + 5)) "$name"
    rm -f "$RUN/$name.pid"
    program_clean "$name" "$3"
    return 0
}
