#!/usr/bin/env bash
# selftest.sh - prove that validate.mjs accepts a good recording and rejects
# bad ones, so a green contract run means something.
#
#   tests/contract/selftest.sh
#
# fixtures/good.jsonl  hand-written exchanges that follow openapi.yaml (every
#                      operation has a 2xx one): must pass, with and without
#                      --no-coverage.
# fixtures/bad.jsonl   one broken exchange per line (a missing field, a float
#                      price, an undocumented status, ...): every line must
#                      fail, each with the messages fixtures/bad.expect lists.
# Also: an empty recording fails, and a recording that leaves operations
# without a 2xx exchange fails unless --no-coverage is given.
#
# The validator's own output goes to a temp dir (shown on failure); this
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

# run NAME EXPECTED_RC ARGS... : run the validator, keep its output in $TMP/NAME.out
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

# --- every bad exchange fails, for the expected reasons --------------------
nbad=$(grep -c . "$FIX/bad.jsonl")
if run bad 1 --no-coverage "$FIX/bad.jsonl"; then
    out=$TMP/bad.out
    problems=()
    [ "$(last_line "$out")" = "0 passed, $nbad failed" ] ||
        problems+=("summary is '$(last_line "$out")', expected '0 passed, $nbad failed'")
    for ((i = 1; i <= nbad; i++)); do
        grep -q "bad.jsonl:$i: " "$out" || problems+=("line $i was not reported")
    done
    while IFS=$'\t' read -r line text; do
        case "$line" in '' | \#*) continue ;; esac
        grep "bad.jsonl:$line: " "$out" | grep -qF -- "$text" ||
            problems+=("line $line: no failure mentioning: $text")
    done <"$FIX/bad.expect"
    if [ ${#problems[@]} -eq 0 ]; then
        ok "bad.jsonl: all $nbad exchanges fail with the expected messages"
    else
        for p in "${problems[@]}"; do echo "     $p"; done
        not_ok "bad.jsonl: failures differ from bad.expect" "$out"
    fi
fi

# --- a recording with nothing in it fails ---------------------------------
printf '\n' >"$TMP/empty.jsonl"
if run empty 1 --no-coverage "$TMP/empty.jsonl"; then
    if grep -q 'holds no exchange' "$TMP/empty.out"; then
        ok "an empty recording fails"
    else
        not_ok "empty recording: no 'holds no exchange' line" "$TMP/empty.out"
    fi
fi

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

echo "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
