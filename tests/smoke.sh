#!/usr/bin/env bash
# smoke.sh - what a new user does first: `make run`, see it answer, Ctrl-C.
#
#   tests/smoke.sh            (from anywhere; runs in the repository)
#
# Starts `make run` in the background on a free port and a throw-away var
# dir, waits (TD_SMOKE_TIMEOUT seconds, default 600: the first run installs
# packages and builds) for GET /health and a demo login through nginx, stops
# it with SIGINT as Ctrl-C would, and fails if anything it started is still
# running afterwards (a PostgreSQL, Redis, nginx or tradedesk process that
# this make run started: other stacks on a shared machine do not count).
# .ci/run and tests/fresh/run.sh call it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TIMEOUT=${TD_SMOKE_TIMEOUT:-600}
NAMES='^(postgres|redis-server|nginx|tradedesk.*)$'

say() { echo "smoke: $*"; }

var=$(mktemp -d /tmp/td-smoke.XXXXXX)
chmod 755 "$var"

# Started by this make run: TD_VAR=$var/var in its environment (run.sh
# exports it to all it starts), $var in its command line (nginx writes its
# title over its environment), or a child of such a process.
started_here() {
    local pid=$1 depth line
    for ((depth = 0; depth < 4; depth++)); do
        if tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "TD_VAR=$var/var" ||
            tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$var/"; then
            return 0
        fi
        read -r line 2>/dev/null <"/proc/$pid/stat" || return 1
        line=${line##*) }
        pid=${line#* }
        pid=${pid%% *}
        [ "$pid" -gt 1 ] || return 1
    done
    return 1
}

# From /proc, not ps: on a fresh machine procps arrives only with make run.
ours() {
    local f pid
    for f in /proc/[0-9]*/comm; do
        pid=${f#/proc/}
        pid=${pid%/comm}
        if [[ "$(cat "$f" 2>/dev/null)" =~ $NAMES ]] && started_here "$pid"; then echo "$pid"; fi
    done
}
port=$(src/run/stack.sh free-port 2>/dev/null || echo 18080)
eport=$(src/run/stack.sh free-port 2>/dev/null || echo 18082)
log=$var/make-run.log
url=http://127.0.0.1:$port
say "make run on $url (var $var, log $log)"

# Job control gives make a process group of its own with SIGINT not ignored
# (a script's background jobs otherwise ignore it), as a terminal would: the
# SIGINT below goes to the whole group, like Ctrl-C.
set -m
TD_VAR="$var/var" TRADEDESK_HTTP_PORT="$port" TRADEDESK_ENGINE_LISTEN="127.0.0.1:$eport" make run >"$log" 2>&1 </dev/null &
pid=$!
set +m

fail() {
    say "FAIL: $*"
    tail -n 60 "$log" | sed 's/^/  | /'
    kill -INT -- -"$pid" 2>/dev/null || true
    sleep 5
    kill -KILL -- -"$pid" 2>/dev/null || true
    src/run/stack.sh --var "$var/var" down >/dev/null 2>&1 || true
    exit 1
}

deadline=$((SECONDS + TIMEOUT))
until curl -fsS -m 2 "$url/health" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "make run exited before /health answered"
    [ $SECONDS -lt $deadline ] || fail "no /health within ${TIMEOUT}s"
    sleep 1
done
health=$(curl -sS -m 5 "$url/health")
say "health: $health"
case $health in *'"status":"ok"'*) ;; *) fail "health is not ok" ;; esac

login=$(curl -sS -m 10 -H 'Content-Type: application/json' \
    -d '{"username":"alice","password":"tradedesk"}' "$url/api/v1/auth/login")
case $login in *'"access_token":"'*) say "demo login: ok" ;; *) fail "demo login: $login" ;; esac

# The engine is part of `make run`: its simulator's prices reach the API.
# `make run` starts it after the API, so it may answer a moment later.
engine=""
until case $engine in *'"source":"sim"'*) true ;; *) false ;; esac; do
    [ $SECONDS -lt $deadline ] || fail "engine health: $engine"
    sleep 0.5
    engine=$(curl -sS -m 5 "http://127.0.0.1:$eport/health" 2>/dev/null || true)
done
say "engine: ok"

kill -INT -- -"$pid"
for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
done
kill -0 "$pid" 2>/dev/null && fail "make run still running 30 s after SIGINT"
wait "$pid" || true
grep -q 'run: stopped' "$log" || fail "make run did not say it stopped"

sleep 0.5
left=$(ours)
if [ -n "$left" ]; then
    for p in $left; do
        echo "  left: $p $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")"
    done
    fail "processes left running after make run stopped"
fi
rm -rf "$var"
say "ok: make run served /health and a login, and stopped everything it started"
