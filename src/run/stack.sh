#!/usr/bin/env bash
# stack.sh - a private PostgreSQL, Redis, nginx and the tradedesk programs under one var dir.
#
#   stack.sh [--var DIR] up                 stop leftovers, then start pg, redis, nginx
#   stack.sh [--var DIR] down               stop everything (safe to run twice)
#   stack.sh [--var DIR] start|stop|restart pg|redis|nginx|api|stream|engine|all ...
#   stack.sh [--var DIR] status             what is running
#   stack.sh [--var DIR] env                export lines for the programs' settings
#   stack.sh [--var DIR] programs           the table's programs that are built (make run starts them)
#   stack.sh [--var DIR] psql [--as app|owner] [ARGS]
#                                           psql on the stack's database (as the
#                                           superuser, or the app/owner role)
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
# TD_NGINX_CONNECTIONS (1024, worker_connections),
# TRADEDESK_HTTP_PORT (8080), TRADEDESK_WS_PORT (8081), TRADEDESK_DRAIN_TIMEOUT.
# The programs get the caller's environment plus TRADEDESK_DATABASE_URL (as
# the application role), TRADEDESK_REDIS_URL, TRADEDESK_FCGI_LISTEN and
# TRADEDESK_FCGI_GROUP pointing at this stack; `env` prints the CLI's view
# (TRADEDESK_DATABASE_URL as the owner role, for migrate and seed).
#
# This file is only the driver: each component is a file in
# src/run/components/ giving the same hooks (NAME_start, NAME_stop,
# NAME_ready, NAME_status, NAME_env), the helpers they share are in
# src/run/lib.sh, and the table below says which components there are.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=src/run/lib.sh
. "$ROOT/src/run/lib.sh"

# The components, in start order; `down` and `stop all` go in reverse.
#   NAME  FILE (src/run/components/FILE.sh)  and for a program: BINARY (in
#   $BIN) and READINESS, how it says it is ready (components/program.sh:
#   fcgi:PATH, http:URL, file:NAME, alive:SECONDS).
# A new program is one row here.  The stream is ready once its /health
# answers on its port (TRADEDESK_STREAM_LISTEN, 127.0.0.1:$WS_PORT); the
# engine creates its ready file once its loop runs.
COMPONENTS=(
    "pg      pg"
    "redis   redis"
    "nginx   nginx"
    "api     program  tradedesk-api     fcgi:/health"
    "engine  program  tradedesk-engine  file:engine.ready"
    "stream  program  tradedesk-stream  http:http://127.0.0.1:@WS_PORT@/health"
)

# ---------------------------------------------------------------- the table

# Fields of component $1's row into ROW (name file binary readiness); 1 when
# there is none.  `postgres` is another name for pg.
row_of() {
    local want=$1 r
    [ "$want" = postgres ] && want=pg
    for r in "${COMPONENTS[@]}"; do
        read -r -a ROW <<<"$r"
        [ "${ROW[0]}" = "$want" ] && return 0
    done
    return 1
}

names() {
    local r
    for r in "${COMPONENTS[@]}"; do echo "${r%% *}"; done
}

is_component() { [ "$1" = all ] || row_of "$1"; }

# hook HOOK NAME: call FILE_HOOK NAME BINARY READINESS for NAME's row.
hook() {
    local ROW=()
    row_of "$2" || die "unknown component '$2' ($(names | paste -sd, | sed 's/,/, /g'))"
    "${ROW[1]}_$1" "${ROW[0]}" "${ROW[2]:-}" "${ROW[3]:-}"
}

# Servers are every row but the programs; `up` starts them.
servers() {
    local r ROW
    for r in "${COMPONENTS[@]}"; do
        read -r -a ROW <<<"$r"
        if [ "${ROW[1]}" != program ]; then echo "${ROW[0]}"; fi
    done
}

# What `all` means: every server, and the programs that are built.
all_built() {
    local r ROW
    for r in "${COMPONENTS[@]}"; do
        read -r -a ROW <<<"$r"
        if [ "${ROW[1]}" != program ] || [ -x "$BIN/${ROW[2]}" ]; then echo "${ROW[0]}"; fi
    done
}

# The programs of the table that are built, in table order (`make run`
# starts these).
programs_built() {
    local r ROW
    for r in "${COMPONENTS[@]}"; do
        read -r -a ROW <<<"$r"
        if [ "${ROW[1]}" = program ] && [ -x "$BIN/${ROW[2]}" ]; then echo "${ROW[0]}"; fi
    done
}

# The stack's wiring as NAME=VALUE lines, from every component's env hook.
# WIRING_FOR says for whom: `cli` (default: `stack.sh env`, bin/tradedesk,
# a shell) or `program` (what program_export_env hands the programs); only
# the database URL differs (the owner role vs the application role).
stack_wiring() {
    local n
    for n in $(names); do hook env "$n"; done
}

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

case "$CMD" in
# Needs no var dir: answered before one is chosen or created.
free-port) free_port; exit ;;
"" | -h | --help | help)
    # This file's header comment, up to the paragraph about the driver.
    awk 'NR == 1 { next } !/^#/ || /^# This file is only/ { exit } { sub(/^# ?/, ""); print }' "$0" | sed '$d'
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

# These settings are read by lib.sh and the component files.
RUN=$VAR/run
LOG=$VAR/log
BIN=${TD_BIN:-$ROOT/bin}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
HTTP_PORT=${TRADEDESK_HTTP_PORT:-8080}
WS_PORT=${TRADEDESK_WS_PORT:-8081}
TIMEOUT=${TD_START_TIMEOUT:-30}
# shellcheck disable=SC2034 # (components/pg.sh, redis.sh)
FAST=${TD_FAST:-0}
# The one FastCGI socket: nginx passes to it, the fcgi program listens on it.
# shellcheck disable=SC2034 # (components/nginx.sh, program.sh)
FCGI_LISTEN=$RUN/api.sock
AS_ROOT=0
# shellcheck disable=SC2034 # (components/pg.sh, nginx.sh)
[ "$(id -u)" -eq 0 ] && AS_ROOT=1
# Who nginx's workers run as: www-data when we are root, else ourselves.
# Its group alone (besides the api's user) may connect to the api's socket
# (TRADEDESK_FCGI_GROUP) and enter VAR/run.
# shellcheck disable=SC2034 # (lib.sh, components/nginx.sh, program.sh)
if [ "$AS_ROOT" -eq 1 ]; then
    NGINX_USER=www-data NGINX_GROUP=www-data
else
    NGINX_USER="" NGINX_GROUP=""
fi

# Unix socket paths are limited to 107 bytes; keep a margin.
[ ${#RUN} -le 80 ] || die "var dir path too long for unix sockets (${#RUN} > 80 chars): $VAR"

# Each component file once; they read the settings above when sourced.
declare -A sourced=()
for r in "${COMPONENTS[@]}"; do
    read -r -a ROW <<<"$r"
    [ -z "${sourced[${ROW[1]}]:-}" ] || continue
    # shellcheck source=/dev/null
    . "$ROOT/src/run/components/${ROW[1]}.sh"
    sourced[${ROW[1]}]=1
done

# ---------------------------------------------------------------- commands

down() {
    local n
    # Programs first (the table's reverse) so they drain while their
    # servers are still up.
    for n in $(names | tac); do hook stop "$n"; done
}

print_env() {
    local line
    echo "export TD_VAR='$VAR'"
    while IFS= read -r line; do
        echo "export ${line%%=*}='${line#*=}'"
    done < <(stack_wiring)
    echo "export TRADEDESK_HTTP_PORT='$HTTP_PORT'"
    echo "export TRADEDESK_WS_PORT='$WS_PORT'"
    if [ -z "${TRADEDESK_JWT_SECRET:-}" ] && [ -s "$VAR/jwt_secret" ]; then
        echo "export TRADEDESK_JWT_SECRET='$(cat "$VAR/jwt_secret")'"
    fi
}

case "$CMD" in
up)
    down
    for n in $(servers); do hook start "$n"; done
    say "up: postgres + redis in $RUN, nginx on http://127.0.0.1:$HTTP_PORT"
    ;;
down) down ;;
start | stop | restart)
    [ $# -gt 0 ] || die "usage: stack.sh $CMD $(names | paste -sd'|')|all ..."
    if [[ " $* " == *" all "* ]]; then
        case "$CMD" in
        start) mapfile -t list < <(all_built) ;;
        *) mapfile -t list < <(all_built | tac) ;;
        esac
        set -- "${list[@]}"
    fi
    for c in "$@"; do
        case "$CMD" in
        start) hook start "$c" ;;
        stop) hook stop "$c" ;;
        restart) hook stop "$c"; hook start "$c" ;;
        esac
    done
    ;;
status)
    echo "var: $VAR"
    for n in $(names); do hook status "$n"; done
    ;;
env) print_env ;;
programs) programs_built ;;
psql) pg_psql "$@" ;;
*) die "unknown command '$CMD' (up, down, start, stop, restart, status, env, programs, psql, free-port)" ;;
esac
