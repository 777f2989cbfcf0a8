#!/usr/bin/env bash
# check-settings.sh - fail when README.md's configuration table and the
# settings table (src/core/config.c, printed by `tradedesk settings`) differ.
#
#   tests/check-settings.sh [BIN_DIR] [README]
#
# Compares the rows' variable, default and programs columns, in order: the
# README may word a meaning differently, but never list another setting, miss
# one or promise another default.  To fix a failure, paste the output of
# `bin/tradedesk settings` into README.md's "Configuration" section.
# `make test` runs this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${1:-bin}
README=${2:-README.md}

# The first three cells of every `| \`TRADEDESK_...\` |` row.
cells() { grep '^| `TRADEDESK_' | awk -F' [|] ' '{ sub(/^[|] /, "", $1); print $1 " | " $2 " | " $3 }'; }

# env -i: what the table says, whatever this shell's environment holds.
table=$(env -i "$BIN/tradedesk" settings | cells)
readme=$(sed -n '/^## Configuration/,/^## /p' "$README" | cells)

if [ -z "$table" ]; then
    echo "check-settings: '$BIN/tradedesk settings' printed no rows" >&2
    exit 1
fi
if ! out=$(diff -u <(echo "$readme") <(echo "$table")); then
    echo "check-settings: $README's configuration table differs from 'tradedesk settings'" \
        "(- README, + table); paste the command's output into the README:" >&2
    echo "$out" | tail -n +3 | sed 's/^/    /' >&2
    exit 1
fi
echo "check-settings: README.md lists the $(echo "$table" | wc -l) settings of the table"
