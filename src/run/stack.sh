#!/usr/bin/env bash
# stack.sh - a private PostgreSQL, Redis, nginx and tradedesk-api under one var dir.
#
#   stack.sh [--var DIR] up                 stop leftovers, then start pg, redis, nginx
#   stack.sh [--var DIR] down               stop everything (safe to run twice)
#   stack.sh [--var DIR] start|stop|restart pg|redis|nginx|api|stream|engine ...
#   stack.sh [--var DIR] status             what is running
#   stack.sh [--var DIR] env                export lines for the programs' settings
#   stack.sh [--var DIR] psql [ARGS]        psql on the stack's database
#   stack.sh free-port                      print a free 127.0.0.1 TCP port
#
# VAR is --var DIR, else a trailing directory argument, else $TD_VAR, else ./var.
# Nothing listens on a public interface: PostgreSQL and Redis only on unix
# sockets in VAR/run, nginx on 127.0.0.1:$TRADEDESK_HTTP_PORT (default 8080).
# The system services of the Debian packages are never used or touched.
#
# Layout:  VAR/pg (data)  VAR/run (sockets, pid files)  VAR/log (all logs)
#          VAR/redis (redis dir)  VAR/nginx (nginx temp)  VAR/nginx.conf
#
# Every `start` waits until the server really answers (bounded by
# TD_START_TIMEOUT seconds, default 30) and prints its last log lines when it
# does not.  Every `stop` only signals processes it can prove are ours: the pid
# comes from our pid file and the process name matches.
#
# Settings read: TD_VAR, TD_BIN (default REPO/bin), TD_FAST=1 (fsync off, no
# Redis persistence: tests only), TD_START_TIMEOUT, TD_NGINX_WORKERS (2),
# TRADEDESK_HTTP_PORT (8080), TRADEDESK_WS_PORT (8081), TRADEDESK_DRAIN_TIMEOUT.
# The programs get the caller's environment plus TRADEDESK_DATABASE_URL,
# TRADEDESK_REDIS_URL and TRADEDESK_FCGI_LISTEN pointing at this stack.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin
COMPONENTS=(pg redis nginx api stream engine)

die() {
    echo "stack: $*" >&2
    exit 1
}
say() { echo "stack: $*"; }

# ---------------------------------------------------------------- arguments

VAR_ARG=""
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --var) VAR_ARG=${2:?--var needs a directory}; shift 2 ;;
    --var=*) VAR_ARG=${1#--var=}; shift ;;
    *) ARGS+=("$1"); shift ;;
    esac
done
set -- "${ARGS[@]+"${ARGS[@]}"}"
CMD=${1:-}
[ $# -gt 0 ] && shift

# Needs no var dir: answered before one is chosen or created.
if [ "$CMD" = free-port ]; then
    # A port nothing answers on now: racy by nature, good enough for tests.
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            exit 0
        fi
    done
    echo "stack: no free port found" >&2
    exit 1
fi

is_component() {
    local c
    for c in "${COMPONENTS[@]}" all; do [ "$1" = "$c" ] && return 0; done
    return 1
}

case "$CMD" in
"" | -h | --help | help)
    sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

# A trailing argument that is not a component name is the var dir.
if [ -z "$VAR_ARG" ] && [ $# -gt 0 ] && [ "$CMD" != psql ]; then
    last=${!#}
    if ! is_component "$last"; then
        VAR_ARG=$last
        set -- "${@:1:$(($# - 1))}"
    fi
fi

VAR=${VAR_ARG:-${TD_VAR:-./var}}
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)
case "$VAR" in *[[:space:]]*) die "the var dir must not contain spaces: '$VAR'" ;; esac

RUN=$VAR/run
LOG=$VAR/log
BIN=${TD_BIN:-$ROOT/bin}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
HTTP_PORT=${TRADEDESK_HTTP_PORT:-8080}
WS_PORT=${TRADEDESK_WS_PORT:-8081}
TIMEOUT=${TD_START_TIMEOUT:-30}
FAST=${TD_FAST:-0}

# Unix socket paths are limited to 107 bytes; keep a margin.
[ ${#RUN} -le 80 ] || die "var dir path too long for unix sockets (${#RUN} > 80 chars): $VAR"

DATABASE_URL="host=$RUN dbname=tradedesk user=postgres"
REDIS_URL="unix:$RUN/redis.sock"
FCGI_LISTEN="$RUN/api.sock"

AS_ROOT=0
[ "$(id -u)" -eq 0 ] && AS_ROOT=1

# PostgreSQL refuses to run as root: run it as the `postgres` user then.
as_pg() {
    if [ "$AS_ROOT" -eq 1 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------- processes

# Process group of a pid ("" when it does not exist).
pgrp_of() {
    local line
    read -r line 2>/dev/null <"/proc/$1/stat" || return 0
    line=${line##*) }
    # shellcheck disable=SC2086
    set -- $line
    echo "$3"
}

comm_of() { cat "/proc/$1/comm" 2>/dev/null || true; }

# Live (not zombie) pids whose process group is $1 and whose name matches
# the regex $2.
group_members() {
    local want=$1 re=$2 f line pid
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        pid=${f#/proc/}
        pid=${pid%/stat}
        line=${line##*) }
        # shellcheck disable=SC2086
        set -- $line
        [ "$3" = "$want" ] && [ "$1" != Z ] || continue
        [[ "$(comm_of "$pid")" =~ $re ]] && echo "$pid"
    done
    return 0
}

# Is pid $1 alive (a zombie is not: a killed daemon stays one until some
# init reaps it) and named like regex $2?
alive_as() {
    local line
    [ -n "$1" ] || return 1
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    line=${line##*) }
    [ "${line%% *}" != Z ] && [[ "$(comm_of "$1")" =~ $2 ]]
}

read_pid() { [ -s "$1" ] && head -n1 "$1" | tr -dc 0-9 || true; }

# Stop a daemon known by pid $1, named like $2: send $3 to it, wait up to $4
# seconds for it and every process of its group with a matching name, then
# SIGKILL what is left.  Its group is only used when the daemon leads it
# (all our daemons call setsid), and never when it is our own group.
stop_daemon() {
    local pid=$1 re=$2 sig=$3 wait_s=$4 what=$5 own i left
    [ -n "$pid" ] || return 0
    own=$(pgrp_of $$)
    if alive_as "$pid" "$re"; then
        kill "-$sig" "$pid" 2>/dev/null || true
    fi
    members() {
        if [ "$pid" != "$own" ]; then group_members "$pid" "$re"; fi
        if alive_as "$pid" "$re"; then echo "$pid"; fi
    }
    left=$(members | sort -u)
    [ -n "$left" ] || return 0
    # Orphans of a crashed leader never got the first signal; without a
    # leader to drain them, do not wait long for them either.
    if ! alive_as "$pid" "$re"; then
        # shellcheck disable=SC2086
        kill "-$sig" $left 2>/dev/null || true
        [ "$wait_s" -gt 5 ] && wait_s=5
    fi
    for ((i = 0; i < wait_s * 10; i++)); do
        left=$(members | sort -u)
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    say "$what did not stop within ${wait_s}s; killing ${left//$'\n'/ }"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [ -n "$(members)" ] || return 0
        sleep 0.1
    done
    die "$what (pid $pid) survived SIGKILL"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# fail_start WHAT LOGFILE [LABEL]: report and exit; LABEL names the log.
fail_start() {
    local what=$1 logfile=$2 label=${3:-$2}
    echo "stack: $what did not come up" >&2
    if [ -s "$logfile" ]; then
        echo "stack: last lines of $label:" >&2
        tail -n 25 "$logfile" | sed 's/^/    /' >&2
    fi
    exit 1
}

# wait_until DESCRIPTION LOGFILE COMMAND...: poll COMMAND every 0.1 s.
wait_until() {
    local what=$1 logfile=$2 i
    shift 2
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    fail_start "$what (waited ${TIMEOUT}s)" "$logfile"
}

prepare_dirs() {
    mkdir -p "$RUN" "$LOG" "$VAR/redis" "$VAR/nginx"
    chmod 755 "$VAR" "$RUN" "$LOG"
    if [ "$AS_ROOT" -eq 1 ]; then
        # postgres creates its socket and lock file in VAR/run; root, nginx
        # (www-data) and the programs only need to reach into it.
        chown postgres: "$RUN"
        local d=$VAR
        while [ "$d" != / ]; do
            if ! runuser -u postgres -- test -x "$d"; then
                die "user postgres cannot enter $d (chmod o+x it, or set TD_VAR to a dir under /tmp)"
            fi
            d=$(dirname "$d")
        done
    fi
}

# ---------------------------------------------------------------- postgres

PGDATA=$VAR/pg
pg_pid() { [ -f "$PGDATA/postmaster.pid" ] && read_pid "$PGDATA/postmaster.pid" || true; }
pg_ready() { "$PGBIN/pg_isready" -q -h "$RUN" -U postgres -d postgres -t 1; }

pg_write_conf() {
    local conf=$PGDATA/tradedesk.conf
    {
        echo "# written by src/run/stack.sh on every start; do not edit"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$RUN'"
        echo "unix_socket_permissions = 0777"
        echo "port = 5432"
        echo "max_connections = 200"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "log_timezone = 'UTC'"
        echo "timezone = 'UTC'"
        if [ "$FAST" = 1 ]; then
            echo "# TD_FAST=1: tests only, a crash loses data"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$conf"
    [ "$AS_ROOT" -eq 1 ] && chown postgres: "$conf"
    grep -q "^include_if_exists = 'tradedesk.conf'" "$PGDATA/postgresql.conf" ||
        echo "include_if_exists = 'tradedesk.conf'" >>"$PGDATA/postgresql.conf"
}

start_pg() {
    [ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL 15 not found in $PGBIN (run src/run/install-deps.sh)"
    prepare_dirs
    local logfile=$LOG/postgres.log
    touch "$logfile"
    [ "$AS_ROOT" -eq 1 ] && chown postgres: "$logfile"
    if pg_ready; then
        say "postgres already running"
    else
        if [ ! -f "$PGDATA/PG_VERSION" ]; then
            # No PG_VERSION: never initialized, or initdb was interrupted.
            rm -rf "$PGDATA"
            mkdir -m 700 "$PGDATA"
            [ "$AS_ROOT" -eq 1 ] && chown postgres: "$PGDATA"
            say "initdb $PGDATA"
            as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -N -E UTF8 --no-locale \
                >"$LOG/initdb.log" 2>&1 || fail_start "initdb" "$LOG/initdb.log"
        fi
        pg_write_conf
        # pg_ctl -w returns once the server accepts connections (or failed).
        if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$logfile" -w -t "$TIMEOUT" -s start; then
            fail_start "postgres" "$logfile"
        fi
    fi
    wait_until "postgres" "$logfile" pg_ready
    local have
    have=$("$PGBIN/psql" -h "$RUN" -U postgres -d postgres -XtAq \
        -c "SELECT 1 FROM pg_database WHERE datname = 'tradedesk'")
    if [ "$have" != 1 ]; then
        "$PGBIN/createdb" -h "$RUN" -U postgres tradedesk
        say "created database tradedesk"
    fi
}

stop_pg() {
    [ -f "$PGDATA/PG_VERSION" ] || return 0
    local pid
    pid=$(pg_pid)
    [ -n "$pid" ] || return 0
    if alive_as "$pid" '^postgres$'; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 15 -s stop >/dev/null 2>&1 || true
    fi
    # Whatever pg_ctl could not stop.
    stop_daemon "$pid" '^postgres$' QUIT 5 postgres
    # Backends of a crashed postmaster lead their own sessions, so no group
    # finds them; they sit in the data dir and keep its shared memory busy.
    local i left
    for ((i = 0; i < 100; i++)); do
        left=$(pg_orphans)
        [ -n "$left" ] || break
        # shellcheck disable=SC2086
        [ $i -eq 50 ] && kill -KILL $left 2>/dev/null
        sleep 0.1
    done
    rm -f "$PGDATA/postmaster.pid"
    # postgres clears a stale socket lock itself, unless its pid is a zombie
    # nobody reaped yet (kill(pid, 0) still succeeds then).
    local lock=$RUN/.s.PGSQL.5432.lock
    if [ -f "$lock" ] && ! alive_as "$(read_pid "$lock")" '^postgres$'; then
        rm -f "$lock"
    fi
}

pg_orphans() {
    local f pid
    for f in /proc/[0-9]*/comm; do
        pid=${f#/proc/}
        pid=${pid%/comm}
        [ "$(cat "$f" 2>/dev/null)" = postgres ] || continue
        [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$PGDATA" ] && echo "$pid"
    done
    return 0
}

# ---------------------------------------------------------------- redis

redis_ready() { [ "$(redis-cli -s "$RUN/redis.sock" ping 2>/dev/null)" = PONG ]; }

start_redis() {
    command -v redis-server >/dev/null || die "redis-server not found (run src/run/install-deps.sh)"
    prepare_dirs
    if redis_ready; then
        say "redis already running"
        return 0
    fi
    local save=(--save "3600 1 300 100 60 10000")
    [ "$FAST" = 1 ] && save=(--save "")
    # redis forks and calls setsid itself (daemonize yes).
    redis-server --port 0 --unixsocket "$RUN/redis.sock" --unixsocketperm 770 \
        --daemonize yes --pidfile "$RUN/redis.pid" --logfile "$LOG/redis.log" \
        --dir "$VAR/redis" "${save[@]}" --appendonly no --protected-mode no \
        || fail_start "redis" "$LOG/redis.log"
    wait_until "redis" "$LOG/redis.log" redis_ready
}

stop_redis() {
    local pid
    pid=$(read_pid "$RUN/redis.pid")
    if alive_as "$pid" '^redis-server$'; then
        # SHUTDOWN saves first when persistence is on.  If saving fails Redis
        # refuses to exit, and it is only a cache: then exit without saving.
        timeout 10 redis-cli -s "$RUN/redis.sock" shutdown >/dev/null 2>&1 ||
            timeout 5 redis-cli -s "$RUN/redis.sock" shutdown nosave >/dev/null 2>&1 || true
    fi
    stop_daemon "$pid" '^redis-server$' TERM 10 redis
    rm -f "$RUN/redis.pid" "$RUN/redis.sock"
}

# ---------------------------------------------------------------- nginx

NGINX_CONF=$VAR/nginx.conf

nginx_write_conf() {
    local tmpl=$ROOT/nginx/local.conf.in user_line=""
    [ -f "$tmpl" ] || die "missing $tmpl"
    [ "$AS_ROOT" -eq 1 ] && user_line="user www-data;"
    # Who may scrape /metrics besides loopback: TRADEDESK_METRICS_ALLOW, a
    # space-separated list of addresses or CIDR networks.
    local metrics_allow="" net
    for net in ${TRADEDESK_METRICS_ALLOW:-}; do
        [[ $net =~ ^[0-9a-fA-F:.]+(/[0-9]{1,3})?$ ]] || die "TRADEDESK_METRICS_ALLOW: '$net' is not an address or CIDR network"
        metrics_allow+="allow $net; "
    done
    sed -e "s|@VAR@|$VAR|g" \
        -e "s|@METRICS_ALLOW@|$metrics_allow|g" \
        -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@WS_PORT@|$WS_PORT|g" \
        -e "s|@API_UPSTREAM@|unix:$FCGI_LISTEN|g" \
        -e "s|@WORKERS@|${TD_NGINX_WORKERS:-2}|g" \
        "$tmpl" >"$NGINX_CONF.tmp"
    cp "$ROOT/nginx/errors.conf" "$VAR/errors.conf" # local.conf.in includes it
    mv "$NGINX_CONF.tmp" "$NGINX_CONF"
}

nginx_answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$HTTP_PORT/") || true
    [ -n "$code" ] && [ "$code" != 000 ]
}

start_nginx() {
    command -v nginx >/dev/null || die "nginx not found (run src/run/install-deps.sh)"
    prepare_dirs
    local pid
    pid=$(read_pid "$RUN/nginx.pid")
    if alive_as "$pid" '^nginx$'; then
        say "nginx already running"
        return 0
    fi
    if port_in_use "$HTTP_PORT"; then
        die "127.0.0.1:$HTTP_PORT is already in use by another program; set TRADEDESK_HTTP_PORT"
    fi
    nginx_write_conf
    local nlog=$LOG/nginx-error.log
    nginx -q -t -p "$VAR/" -e "$nlog" -c "$NGINX_CONF" >>"$nlog" 2>&1 ||
        fail_start "nginx (config test of $NGINX_CONF)" "$nlog"
    nginx -p "$VAR/" -e "$nlog" -c "$NGINX_CONF" >>"$nlog" 2>&1 || fail_start "nginx" "$nlog"
    wait_until "nginx" "$nlog" nginx_answers
}

stop_nginx() {
    stop_daemon "$(read_pid "$RUN/nginx.pid")" '^nginx$' TERM 10 nginx
    rm -f "$RUN/nginx.pid"
}

# ---------------------------------------------------------------- programs

# Export the stack's wiring.  These three always point at this stack: a
# TRADEDESK_DATABASE_URL left in a shell must never make `make run` seed demo
# data into some other database.
export_env() {
    local v
    for v in DATABASE_URL REDIS_URL FCGI_LISTEN; do
        local mine theirs
        eval "mine=\$$v"
        theirs=$(printenv "TRADEDESK_$v" || true)
        if [ -n "$theirs" ] && [ "$theirs" != "$mine" ] && [ "${TD_QUIET_ENV:-0}" != 1 ]; then
            echo "stack: note: TRADEDESK_$v from the environment is replaced by the stack's ($mine)" >&2
        fi
    done
    # `make run` keeps its generated secret here; reuse it so `stack.sh start
    # api` works on its own, and tokens stay valid across restarts.
    if [ -z "${TRADEDESK_JWT_SECRET:-}" ] && [ -s "$VAR/jwt_secret" ]; then
        TRADEDESK_JWT_SECRET=$(cat "$VAR/jwt_secret")
        export TRADEDESK_JWT_SECRET
    fi
    export TRADEDESK_DATABASE_URL=$DATABASE_URL
    export TRADEDESK_REDIS_URL=$REDIS_URL
    export TRADEDESK_FCGI_LISTEN=$FCGI_LISTEN
    export TRADEDESK_HTTP_PORT=$HTTP_PORT
    export TRADEDESK_WS_PORT=$WS_PORT
}

# api answers when nginx gets anything but "cannot reach the upstream" from
# it; without nginx, when its socket exists.
api_answers() {
    local pid=$1 code
    kill -0 "$pid" 2>/dev/null || return 2
    [ -S "$FCGI_LISTEN" ] || return 1
    if alive_as "$(read_pid "$RUN/nginx.pid")" '^nginx$'; then
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            "http://127.0.0.1:$HTTP_PORT/health") || true
        case "$code" in 000 | 502 | 504 | "") return 1 ;; *) return 0 ;; esac
    fi
    return 0
}

start_program() {
    local name=$1 prog=$BIN/tradedesk-$1 logfile=$LOG/$1.log pidfile=$RUN/$1.pid pid i rc
    [ -x "$prog" ] || die "$prog not found (run make first)"
    prepare_dirs
    pid=$(read_pid "$pidfile")
    if alive_as "$pid" "^(tradedesk|td)"; then
        say "$name already running (pid $pid)"
        return 0
    fi
    export_env
    [ "$name" = api ] && rm -f "$FCGI_LISTEN"
    # setsid: its own process group, so Ctrl-C in a terminal reaches run.sh's
    # trap (which drains it) rather than every worker at once, and `stop`
    # can find orphaned workers of a crashed master.
    local off
    off=$(($(stat -c %s "$logfile" 2>/dev/null || echo 0) + 1))
    echo "=== $(date -u +%FT%TZ) starting $prog" >>"$logfile"
    setsid "$prog" </dev/null >>"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        if [ "$name" = api ]; then
            rc=0
            api_answers "$pid" || rc=$?
            [ $rc -eq 0 ] && return 0
            [ $rc -eq 2 ] && break
        else
            # stream/engine: alive for a second counts as started.
            kill -0 "$pid" 2>/dev/null || break
            [ $i -ge 10 ] && return 0
        fi
        sleep 0.1
    done
    # (kill -0, not alive_as: until it execs, our child is still named bash.)
    if kill -0 "$pid" 2>/dev/null; then
        echo "stack: $name is running but does not answer; stopping it" >&2
        stop_program "$name" >&2
    else
        rc=0
        wait "$pid" 2>/dev/null || rc=$?
        echo "stack: $name exited (status $rc)" >&2
    fi
    rm -f "$pidfile"
    tail -c "+$off" "$logfile" >"$logfile.last"
    fail_start "$name" "$logfile.last" "$logfile (this start)"
}

stop_program() {
    local name=$1 drain=${TRADEDESK_DRAIN_TIMEOUT:-10}
    stop_daemon "$(read_pid "$RUN/$name.pid")" "^(tradedesk|td)" TERM $((drain + 5)) "$name"
    rm -f "$RUN/$name.pid"
    [ "$name" = api ] && rm -f "$FCGI_LISTEN"
    return 0
}

# ---------------------------------------------------------------- commands

start_one() {
    case "$1" in
    pg | postgres) start_pg ;;
    redis) start_redis ;;
    nginx) start_nginx ;;
    api | stream | engine) start_program "$1" ;;
    *) die "unknown component '$1' (pg, redis, nginx, api, stream, engine)" ;;
    esac
}

stop_one() {
    case "$1" in
    pg | postgres) stop_pg ;;
    redis) stop_redis ;;
    nginx) stop_nginx ;;
    api | stream | engine) stop_program "$1" ;;
    *) die "unknown component '$1' (pg, redis, nginx, api, stream, engine)" ;;
    esac
}

down() {
    # Programs first so they drain while their servers are still up.
    stop_program engine
    stop_program stream
    stop_program api
    stop_nginx
    stop_redis
    stop_pg
}

status_line() {
    local name=$1 pid=$2 re=$3
    if alive_as "$pid" "$re"; then
        printf '%-7s running (pid %s)\n' "$name" "$pid"
    else
        printf '%-7s stopped\n' "$name"
    fi
}

status() {
    echo "var: $VAR"
    status_line postgres "$(pg_pid)" '^postgres$'
    status_line redis "$(read_pid "$RUN/redis.pid")" '^redis-server$'
    status_line nginx "$(read_pid "$RUN/nginx.pid")" '^nginx$'
    local p
    for p in api stream engine; do
        status_line "$p" "$(read_pid "$RUN/$p.pid")" "^(tradedesk|td)"
    done
}

print_env() {
    echo "export TD_VAR='$VAR'"
    echo "export TRADEDESK_DATABASE_URL='$DATABASE_URL'"
    echo "export TRADEDESK_REDIS_URL='$REDIS_URL'"
    echo "export TRADEDESK_FCGI_LISTEN='$FCGI_LISTEN'"
    echo "export TRADEDESK_HTTP_PORT='$HTTP_PORT'"
    echo "export TRADEDESK_WS_PORT='$WS_PORT'"
    if [ -z "${TRADEDESK_JWT_SECRET:-}" ] && [ -s "$VAR/jwt_secret" ]; then
        echo "export TRADEDESK_JWT_SECRET='$(cat "$VAR/jwt_secret")'"
    fi
}

case "$CMD" in
up)
    down
    start_pg
    start_redis
    start_nginx
    say "up: postgres + redis in $RUN, nginx on http://127.0.0.1:$HTTP_PORT"
    ;;
down) down ;;
start | stop | restart)
    [ $# -gt 0 ] || die "usage: stack.sh $CMD pg|redis|nginx|api|stream|engine ..."
    if [[ " $* " == *" all "* ]]; then
        case "$CMD" in
        start) set -- pg redis nginx api ;;
        *) set -- api nginx redis pg ;;
        esac
    fi
    for c in "$@"; do
        case "$CMD" in
        start) start_one "$c" ;;
        stop) stop_one "$c" ;;
        restart) stop_one "$c"; start_one "$c" ;;
        esac
    done
    ;;
status) status ;;
env) print_env ;;
psql) exec "$PGBIN/psql" -h "$RUN" -U postgres -d tradedesk "$@" ;;
*) die "unknown command '$CMD' (up, down, start, stop, restart, status, env, psql, free-port)" ;;
esac
