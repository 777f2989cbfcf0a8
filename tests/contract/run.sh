#!/usr/bin/env bash
# run.sh - the contract checks that need no running server:
#
#   1. install the pinned npm tools (npm ci) when node_modules is missing or
#      older than package-lock.json;
#   2. lint openapi.yaml with Redocly (redocly.yaml: recommended ruleset);
#   3. lint asyncapi.yaml with @asyncapi/parser, and its copies of REST
#      schemas against openapi.yaml (lint-asyncapi.mjs); its examples
#      against its own schemas (validate-ws.mjs --examples);
#   4. tests/contract/selftest.sh (validate.mjs and validate-ws.mjs against
#      hand-written good and bad recordings);
#   5. error-codes.mjs: openapi.yaml's error codes against the error table
#      of src/core/errors.h, as `tradedesk-api --print-error-codes` prints it
#      (TD_BIN names the programs' dir, default bin/; make contract builds it).
#
# The integration tests record real exchanges and check them with
#   node tests/contract/validate.mjs RECORDING.jsonl
#   node tests/contract/validate-ws.mjs RECORDING.jsonl  (WebSocket messages)
# (see the headers of validate.mjs and validate-ws.mjs for the line formats).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

# Redocly: no update check, no notices, no usage data (redocly.yaml also
# says telemetry: off).
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true
export REDOCLY_TELEMETRY=off NO_UPDATE_NOTIFIER=1

command -v node >/dev/null && command -v npm >/dev/null || {
    echo "contract: node and npm are required (apt-get install nodejs npm)" >&2
    exit 1
}

# npm ci when node_modules is absent or stale: npm writes
# node_modules/.package-lock.json on every install, so it is newer than
# package-lock.json unless the lock changed since.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
    echo "contract: npm ci"
    if ! npm ci --no-audit --no-fund --loglevel=error >"$LOG/npm-ci.log" 2>&1; then
        cat "$LOG/npm-ci.log" >&2
        exit 1
    fi
fi

echo "contract: redocly lint openapi.yaml"
# The CLI prints a Node-version banner on Node 20; keep the lint report only.
if ! npx --no-install redocly lint openapi.yaml --format=stylish >"$LOG/lint.log" 2>&1; then
    grep -v '[║╔╚]' "$LOG/lint.log" >&2
    echo "contract: openapi.yaml does not pass redocly lint" >&2
    exit 1
fi
grep -v '[║╔╚]' "$LOG/lint.log" | grep -v '^\s*$' || true

echo "contract: asyncapi.yaml (@asyncapi/parser, REST schemas, examples)"
if ! node tests/contract/lint-asyncapi.mjs >"$LOG/asyncapi.log" 2>&1; then
    cat "$LOG/asyncapi.log" >&2
    echo "contract: asyncapi.yaml does not pass its lint" >&2
    exit 1
fi
tail -n 1 "$LOG/asyncapi.log"
if ! node tests/contract/validate-ws.mjs --examples >"$LOG/examples.log" 2>&1; then
    cat "$LOG/examples.log" >&2
    echo "contract: asyncapi.yaml's examples do not follow its schemas" >&2
    exit 1
fi
echo "asyncapi.yaml examples: $(tail -n 1 "$LOG/examples.log")"

echo "contract: selftest"
bash tests/contract/selftest.sh

echo "contract: error codes (openapi.yaml vs src/core/errors.h)"
api=${TD_BIN:-$ROOT/bin}/tradedesk-api
[ -x "$api" ] || {
    echo "contract: $api not found (run make first)" >&2
    exit 1
}
"$api" --print-error-codes >"$LOG/codes.txt"
node tests/contract/error-codes.mjs <"$LOG/codes.txt"
