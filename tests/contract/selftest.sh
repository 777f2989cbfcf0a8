#!/usr/bin/env bash
# selftest.sh - prove that the contract checkers accept good input and
# reject bad input, so a green contract run means something.
#
#   tests/contract/selftest.sh
#
# REST (validate.mjs against openapi.yaml):
# fixtures/good.jsonl  hand-written exchanges that follow openapi.yaml (every
#                      operation has a 2xx one): must pass, with and without
#                      --no-coverage.
# fixtures/bad.jsonl   one broken exchange per line (a missing field, a float
#                      price, an undocumented status, ...): every line must
#                      fail, each with the messages fixtures/bad.expect lists.
# Also: an empty recording fails, and a recording that leaves operations
# without a 2xx exchange fails unless --no-coverage is given.
#
# WebSocket (validate-ws.mjs against asyncapi.yaml), likewise:
# fixtures/ws-good.jsonl  a session of several sockets with every server
#                         message type: passes, with and without coverage;
# fixtures/ws-bad.jsonl   one broken message per line: each fails with the
#                         messages of fixtures/ws-bad.expect;
# an empty or partial recording; and broken copies of asyncapi.yaml: a
# schema Ajv refuses (exit 2), an example that breaks its schema
# (--examples fails), a copied REST property that drifted from openapi.yaml
# (lint-asyncapi.mjs fails).
#
# The validators' own output goes to a temp dir (shown on failure); this
# script prints one line per case and "selftest: N passed, N failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FIX=$HERE/fixtures
VALIDATE=(node "$HERE/validate.mjs" --spec "$ROOT/openapi.yaml")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    echo "ok   $1"
}
not_ok() {
    failed=$((failed + 1))
    echo "FAIL $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/     | /' "$2"
}

# run NAME EXPECTED_RC ARGS... : run "${VALIDATE[@]}" ARGS, keep its output in $TMP/NAME.out
run() {
    local name=$1 want=$2
    shift 2
    "${VALIDATE[@]}" "$@" >"$TMP/$name.out" 2>&1
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        not_ok "$name: exit $rc, expected $want" "$TMP/$name.out"
        return 1
    fi
    return 0
}

last_line() { tail -n 1 "$1"; }

# expect_line NAME EXPECTED_RC TEXT WHAT ARGS...: run, and a line of the
# output must hold TEXT (a fixed string)
expect_line() {
    local name=$1 want=$2 text=$3 what=$4
    shift 4
    run "$name" "$want" "$@" || return
    if grep -qF -- "$text" "$TMP/$name.out"; then
        ok "$what"
    else
        not_ok "$what: no line with '$text'" "$TMP/$name.out"
    fi
}

# --- the good recording passes --------------------------------------------
ngood=$(grep -c . "$FIX/good.jsonl")
if run good-no-coverage 0 --no-coverage "$FIX/good.jsonl"; then
    if [ "$(last_line "$TMP/good-no-coverage.out")" = "$ngood passed, 0 failed" ]; then
        ok "good.jsonl passes with --no-coverage ($ngood exchanges)"
    else
        not_ok "good.jsonl: unexpected summary" "$TMP/good-no-coverage.out"
    fi
fi
if run good-coverage 0 "$FIX/good.jsonl"; then
    ok "good.jsonl passes with full coverage (every operation but /metrics has a 2xx)"
fi

# check_bad NAME FILE EXPECT: every line of FILE fails, with EXPECT's texts
check_bad() {
    local name=$1 file=$2 expect=$3 base
    base=$(basename "$file")
    local nbad
    nbad=$(grep -c . "$file")
    run "$name" 1 --no-coverage "$file" || return
    local out=$TMP/$name.out
    local problems=()
    [ "$(last_line "$out")" = "0 passed, $nbad failed" ] ||
        problems+=("summary is '$(last_line "$out")', expected '0 passed, $nbad failed'")
    for ((i = 1; i <= nbad; i++)); do
        grep -q "$base:$i: " "$out" || problems+=("line $i was not reported")
    done
    while IFS=$'\t' read -r line text; do
        case "$line" in '' | \#*) continue ;; esac
        grep "$base:$line: " "$out" | grep -qF -- "$text" ||
            problems+=("line $line: no failure mentioning: $text")
    done <"$expect"
    if [ ${#problems[@]} -eq 0 ]; then
        ok "$base: all $nbad lines fail with the expected messages"
    else
        for p in "${problems[@]}"; do echo "     $p"; done
        not_ok "$base: failures differ from $(basename "$expect")" "$out"
    fi
}

# --- every bad exchange fails, for the expected reasons --------------------
check_bad bad "$FIX/bad.jsonl" "$FIX/bad.expect"

# --- a recording with nothing in it fails ---------------------------------
printf '\n' >"$TMP/empty.jsonl"
expect_line empty 1 'holds no exchange' "an empty recording fails" --no-coverage "$TMP/empty.jsonl"

# --- coverage: operations without a 2xx exchange fail the run --------------
grep -E '"path":"/health"|"path":"/api/v1/auth/login"' "$FIX/good.jsonl" >"$TMP/partial.jsonl"
if run partial-no-coverage 0 --no-coverage "$TMP/partial.jsonl"; then
    ok "a partial recording passes with --no-coverage"
fi
if run partial 1 "$TMP/partial.jsonl"; then
    out=$TMP/partial.out
    if grep -q 'FAIL coverage: GET /api/v1/prices (listPrices)' "$out" &&
        grep -q 'FAIL coverage: GET /api/v1/monitoring/health' "$out" &&
        ! grep -q 'coverage: GET /metrics' "$out" &&
        ! grep -q 'coverage: GET /health ' "$out" &&
        ! grep -q 'coverage: POST /api/v1/auth/login ' "$out"; then
        ok "a partial recording fails coverage (and /metrics is exempt)"
    else
        not_ok "partial recording: unexpected coverage report" "$out"
    fi
fi

# --- usage errors are not silent passes ------------------------------------
if run missing-file 2 "$TMP/does-not-exist.jsonl"; then
    ok "a missing recording is a usage error (exit 2)"
fi

# === WebSocket: validate-ws.mjs against asyncapi.yaml ======================
VALIDATE=(node "$HERE/validate-ws.mjs" --spec "$ROOT/asyncapi.yaml")

nws=$(grep -c . "$FIX/ws-good.jsonl")
if run ws-good-no-coverage 0 --no-coverage "$FIX/ws-good.jsonl"; then
    if [ "$(last_line "$TMP/ws-good-no-coverage.out")" = "$nws passed, 0 failed" ]; then
        ok "ws-good.jsonl passes with --no-coverage ($nws messages)"
    else
        not_ok "ws-good.jsonl: unexpected summary" "$TMP/ws-good-no-coverage.out"
    fi
fi
if run ws-good-coverage 0 "$FIX/ws-good.jsonl"; then
    ok "ws-good.jsonl passes with full coverage (every server message type)"
fi

check_bad ws-bad "$FIX/ws-bad.jsonl" "$FIX/ws-bad.expect"

printf '\n\n' >"$TMP/ws-empty.jsonl"
expect_line ws-empty 1 'holds no message' "an empty WebSocket recording fails" --no-coverage "$TMP/ws-empty.jsonl"

grep -E '"type":"(pong|subscribed)"|"op":"ping"' "$FIX/ws-good.jsonl" >"$TMP/ws-partial.jsonl"
if run ws-partial-no-coverage 0 --no-coverage "$TMP/ws-partial.jsonl"; then
    ok "a partial WebSocket recording passes with --no-coverage"
fi
if run ws-partial 1 "$TMP/ws-partial.jsonl"; then
    out=$TMP/ws-partial.out
    if grep -q 'FAIL coverage: server message "price"' "$out" &&
        grep -q 'FAIL coverage: server message "error"' "$out" &&
        ! grep -q 'coverage: server message "pong"' "$out" &&
        ! grep -q 'coverage: server message "subscribed"' "$out"; then
        ok "a partial WebSocket recording fails coverage"
    else
        not_ok "partial WebSocket recording: unexpected coverage report" "$out"
    fi
fi

if run ws-missing-file 2 "$TMP/does-not-exist.jsonl"; then
    ok "a missing WebSocket recording is a usage error (exit 2)"
fi

# Broken copies of the spec, beside a copy of openapi.yaml (its refs are relative).
mkdir -p "$TMP/spec"
cp "$ROOT/openapi.yaml" "$TMP/spec/openapi.yaml"
if run ws-examples 0 --examples; then
    ok "asyncapi.yaml's examples follow its schemas"
fi
sed '0,/minLength: 1$/s//minLenght: 1/' "$ROOT/asyncapi.yaml" >"$TMP/spec/typo.yaml"
VALIDATE=(node "$HERE/validate-ws.mjs" --spec "$TMP/spec/typo.yaml")
expect_line ws-typo 2 'unknown keyword: "minLenght"' "a spec with a schema Ajv refuses is an error (exit 2)" "$FIX/ws-good.jsonl"

sed 's/^            user_id: 1$/            user_id: "1"/' "$ROOT/asyncapi.yaml" >"$TMP/spec/example.yaml"
VALIDATE=(node "$HERE/validate-ws.mjs" --spec "$TMP/spec/example.yaml")
expect_line ws-bad-example 1 'message authed example authed: message/user_id must be integer' \
    "an example that breaks its schema fails --examples" --examples

sed "s#Trade/properties/side'#Trade/properties/source'#" "$ROOT/asyncapi.yaml" >"$TMP/spec/drift.yaml"
VALIDATE=(node "$HERE/lint-asyncapi.mjs" --spec "$TMP/spec/drift.yaml")
expect_line ws-drift 1 'TradeData.properties.side must be' "a copied REST property that drifted from openapi.yaml fails the lint"

echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
