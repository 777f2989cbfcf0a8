#!/usr/bin/env bash
# run.sh - what `make run` runs after the build: the whole product on this machine.
#
# Starts the private stack under var/ (src/run/stack.sh), migrates, seeds the
# demo data, starts tradedesk-api (and tradedesk-stream / tradedesk-engine once
# they exist, with the simulator feed), prints the URL and demo logins, then
# stays in the foreground showing the programs' logs.  Ctrl-C or SIGTERM stops
# everything it started.  Running it again simply starts over: leftovers of
# an earlier (even crashed) run in the same var dir are stopped first.
#
# Environment: every TRADEDESK_* variable reaches the programs, except the
# stack's own wiring (DATABASE_URL, REDIS_URL, FCGI_LISTEN, FCGI_GROUP),
# which always points at var/.  migrate and seed run as the database's
# owner role (the CLI's view that `stack.sh env` prints), the programs as
# the application role (docs/running.md, "Who may connect").  TRADEDESK_JWT_SECRET defaults to a random secret generated
# once into var/jwt_secret.  TD_VAR moves the var dir; TD_BIN the programs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
STACK=$ROOT/src/run/stack.sh
export TD_VAR=${TD_VAR:-$ROOT/var}
export TD_BIN=${TD_BIN:-$ROOT/bin}
mkdir -p "$TD_VAR"
TD_VAR=$(cd "$TD_VAR" && pwd)

# One `make run` per var dir: a second one would stop the first one's servers.
exec 9>"$TD_VAR/run.lock"
if ! flock -n 9; then
    echo "run: another 'make run' is using $TD_VAR (stop it first, or set TD_VAR)" >&2
    exit 1
fi
# Children must not inherit the lock, or daemons would hold it after we exit.
stack() { "$STACK" "$@" 9>&-; }

if [ -z "${TRADEDESK_JWT_SECRET:-}" ]; then
    secret_file=$TD_VAR/jwt_secret
    if [ ! -s "$secret_file" ]; then
        (umask 077 && od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$secret_file")
    fi
    chmod 600 "$secret_file"
    TRADEDESK_JWT_SECRET=$(cat "$secret_file")
    export TRADEDESK_JWT_SECRET
fi
export TRADEDESK_DEMO_PASSWORD=${TRADEDESK_DEMO_PASSWORD:-tradedesk}
export TRADEDESK_FEEDS=${TRADEDESK_FEEDS:-sim}
export TRADEDESK_SQL_DIR=${TRADEDESK_SQL_DIR:-$ROOT/sql}
PORT=${TRADEDESK_HTTP_PORT:-8080}

tail_pids=()
stopping=0
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    local rc=$?
    trap '' INT TERM
    [ "$stopping" -eq 1 ] && return
    stopping=1
    echo
    echo "run: stopping the stack..."
    stack down || rc=1
    sleep 0.3 # let the tails show the programs' last words
    [ ${#tail_pids[@]} -gt 0 ] && kill "${tail_pids[@]}" 2>/dev/null
    echo "run: stopped"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stack up
eval "$(stack env)"
"$TD_BIN/tradedesk" migrate 9>&-
"$TD_BIN/tradedesk" seed demo 9>&-
# Show each program's log from this start on (the logs accumulate over runs).
# The programs are the stack's table rows that are built (src/run/stack.sh).
mapfile -t progs < <(stack programs)
declare -A log_off
for p in "${progs[@]}"; do
    log_off[$p]=$(($(stat -c %s "$TD_VAR/log/$p.log" 2>/dev/null || echo 0) + 1))
    stack start "$p"
done

URL=http://127.0.0.1:$PORT
PW=$TRADEDESK_DEMO_PASSWORD
cat <<EOF

  tradedesk is running at $URL

  Demo logins (password: $PW):  alice, bob (role user)   admin (role admin)

  Try:
    curl -s $URL/health
    curl -s $URL/api/v1/auth/login -H 'Content-Type: application/json' \\
         -d '{"username":"alice","password":"$PW"}'
    TOKEN=\$(curl -s $URL/api/v1/auth/login -H 'Content-Type: application/json' \\
         -d '{"username":"alice","password":"$PW"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
    curl -s $URL/api/v1/portfolio -H "Authorization: Bearer \$TOKEN"
    curl -s $URL/api/v1/prices -H "Authorization: Bearer \$TOKEN"   # the simulator moves them
    curl -s http://${TRADEDESK_ENGINE_LISTEN:-127.0.0.1:8082}/health     # the engine

  Logs: $TD_VAR/log/   Database: src/run/stack.sh psql   Stop: Ctrl-C

EOF

tail_pids=()
for p in "${progs[@]}"; do
    tail -c "+${log_off[$p]}" -F "$TD_VAR/log/$p.log" 9>&- &
    tail_pids+=($!)
done

# Stay in the foreground until a signal arrives or the api dies.
api_pid=$(cat "$TD_VAR/run/api.pid")
while kill -0 "$api_pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
echo "run: tradedesk-api exited; see $TD_VAR/log/api.log" >&2
exit 1
