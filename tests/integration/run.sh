#!/usr/bin/env bash
# run.sh - run integration test binaries against a private, throw-away stack.
#
#   tests/integration/run.sh build/release/tests/test_health build/release/tests/test_auth ...
#
# Starts PostgreSQL, Redis, nginx (on a free 127.0.0.1 port) and tradedesk-api
# in a fresh temp dir, migrates and seeds the demo data, then runs every test
# binary given (continuing after a failure).  Between binaries every server
# is started again, in case a test stopped one and failed before restarting it.
# On exit the stack is stopped and the temp dir removed; when something
# failed the dir is kept and the api log's tail printed.
#
# Tests get: TD_TEST_URL (http://127.0.0.1:PORT), TD_TEST_VAR (the var dir),
# TD_TEST_STACK (src/run/stack.sh, absolute), TD_TEST_BIN (the programs' dir)
# and the TRADEDESK_* settings below.  The caller's TRADEDESK_* variables are
# dropped (except TRADEDESK_LOG_LEVEL and TRADEDESK_API_TRANSPORT) so results do not depend on a shell.
# TD_BIN picks the programs (default bin/), TD_TEST_TIMEOUT bounds each
# binary (default 300 s).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ $# -gt 0 ] || {
    echo "usage: $0 TEST_BINARY..." >&2
    exit 2
}

tests=()
for t in "$@"; do
    [ -x "$t" ] || {
        echo "itest: $t is not an executable" >&2
        exit 2
    }
    tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")")
done

# Hermetic settings: forget whatever TRADEDESK_* the caller's shell has.
log_level=${TRADEDESK_LOG_LEVEL:-info}
transport=${TRADEDESK_API_TRANSPORT:-} # the whole suite runs on either (README)
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^TRADEDESK_' || true)

BIN=${TD_BIN:-$ROOT/bin}
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
STACK=$ROOT/src/run/stack.sh

# Short path: unix socket paths must stay under ~100 bytes.
VAR=$(mktemp -d /tmp/tdit.XXXXXX)
chmod 755 "$VAR"


export TD_VAR=$VAR TD_BIN=$BIN TD_FAST=1 TD_QUIET_ENV=1
export TRADEDESK_HTTP_PORT
TRADEDESK_HTTP_PORT=$("$STACK" free-port)
export TRADEDESK_WS_PORT
TRADEDESK_WS_PORT=$("$STACK" free-port)
export TRADEDESK_JWT_SECRET
TRADEDESK_JWT_SECRET=$(od -An -vtx1 -N24 /dev/urandom | tr -d ' \n') # 48 chars
export TRADEDESK_LOGIN_RATE=6 TRADEDESK_LOGIN_BURST=2 TRADEDESK_WORKERS=2
export TRADEDESK_LOGIN_USER_RATE=12 TRADEDESK_LOGIN_USER_BURST=5
# A test sends a user's requests far faster than a person (a hundred
# refused orders in a second): the per-user and per-address limits are set
# where the suite never meets them; test_rate_limits sets its own.
export TRADEDESK_READ_BURST=${TRADEDESK_READ_BURST:-5000} TRADEDESK_WRITE_BURST=${TRADEDESK_WRITE_BURST:-5000}
export TRADEDESK_ADDRESS_BURST=${TRADEDESK_ADDRESS_BURST:-50000}
export TRADEDESK_DEMO_PASSWORD=tradedesk TRADEDESK_LOG_LEVEL=$log_level
[ -z "$transport" ] || export TRADEDESK_API_TRANSPORT=$transport
export TRADEDESK_SQL_DIR=$ROOT/sql # bin/tradedesk finds it next to bin/ only
export TD_TEST_URL=http://127.0.0.1:$TRADEDESK_HTTP_PORT
export TD_TEST_VAR=$VAR TD_TEST_STACK=$STACK TD_TEST_BIN=$BIN
# Every exchange is recorded and checked against openapi.yaml at the end.
export TD_TEST_RECORD=$VAR/exchanges.jsonl
# Every WebSocket message the tests send and receive (tests/integration/wsclient.c).
export TD_WS_RECORD=${TD_WS_RECORD:-$VAR/ws.jsonl}

passed=0
failed=0
bad_binaries=()
setup_ok=0

finish() {
    local rc=$?
    trap '' INT TERM
    "$STACK" down >/dev/null 2>&1 || "$STACK" down || true
    if [ "$setup_ok" -eq 1 ] && [ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]; then
        rm -rf "$VAR"
    else
        echo
        echo "itest: kept $VAR for inspection (logs in $VAR/log)"
        # What CI shows of a run is its end: the logs that say why an
        # upstream was not there (nginx's 502s, a program that died) last.
        local f n
        for f in api:30 engine:20 stream:20 nginx-error:20; do
            n=${f#*:}
            f=$VAR/log/${f%%:*}.log
            [ -s "$f" ] || continue
            echo "itest: last $n lines of $f:"
            tail -n "$n" "$f" | cut -c1-600 | sed 's/^/    /'
        done
        [ "$rc" -eq 0 ] && rc=1
    fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "itest: stack in $VAR, nginx on $TD_TEST_URL"
"$STACK" up >/dev/null
eval "$("$STACK" env)"
"$BIN/tradedesk" migrate
"$BIN/tradedesk" seed demo
"$STACK" start api >/dev/null
setup_ok=1

for t in "${tests[@]}"; do
    name=$(basename "$t")
    out=$VAR/log/$name.out
    echo "== $name"
    # cmocka writes its summary to stderr: keep both, in order.
    set +e
    timeout --foreground --kill-after=10 "${TD_TEST_TIMEOUT:-300}" "$t" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    set -e
    np=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    nf=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
        # Crashed, timed out or failed outside a test: count the binary.
        [ "$rc" -eq 124 ] && echo "itest: $name timed out"
        echo "itest: $name exited with status $rc"
        nf=1
    fi
    if [ "$np" -eq 0 ] && [ "$nf" -eq 0 ]; then
        np=1 # not a cmocka binary: count it as one test
    fi
    passed=$((passed + np))
    failed=$((failed + nf))
    [ "$nf" -gt 0 ] && bad_binaries+=("$name")

    # The api must survive every test; a dead master is a failure.
    st=$("$STACK" status)
    if ! grep -q '^api .*running' <<<"$st"; then
        echo "itest: tradedesk-api is not running after $name"
        failed=$((failed + 1))
        bad_binaries+=("$name (api died)")
    fi
    # Restore whatever a failed test left stopped.
    "$STACK" start pg redis nginx api >/dev/null
done

# A sanitizer build of the programs reports into their logs; a worker that
# hit one may have been respawned without any test noticing.
"$STACK" down >/dev/null
for f in "$VAR"/log/api.log "$VAR"/log/stream.log "$VAR"/log/engine.log; do
    [ -f "$f" ] || continue
    if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$f"; then
        echo "itest: sanitizer report in $f:"
        grep -E -m 20 -A 12 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$f" | sed 's/^/    /'
        failed=$((failed + 1))
        bad_binaries+=("$(basename "$f") (sanitizer)")
    fi
done

# The contract: every recorded response matches openapi.yaml, and every
# documented operation was exercised.  Skipped only when a subset of the
# test binaries runs (TD_CONTRACT=0), since coverage is then partial.
if [ "${TD_CONTRACT:-1}" = 1 ]; then
    echo "== contract (openapi.yaml vs $(wc -l <"$TD_TEST_RECORD") recorded exchanges)"
    if node "$ROOT/tests/contract/validate.mjs" "$TD_TEST_RECORD"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        bad_binaries+=("contract")
    fi
    # And every WebSocket message the tests sent and received against
    # asyncapi.yaml (the stream's tests record them in TD_WS_RECORD).
    if [ -s "$TD_WS_RECORD" ]; then
        echo "== contract (asyncapi.yaml vs $(wc -l <"$TD_WS_RECORD") recorded WebSocket messages)"
        if node "$ROOT/tests/contract/validate-ws.mjs" "$TD_WS_RECORD"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            bad_binaries+=("ws contract")
        fi
    fi
fi

echo
[ ${#bad_binaries[@]} -gt 0 ] && echo "itest: failures in: ${bad_binaries[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
