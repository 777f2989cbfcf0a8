#!/usr/bin/env bash
# check-includes.sh - fail when an #include points the wrong way.
#
# The layers, lowest first (docs/architecture.md):
#   domain  pure rules: includes only domain/ and C standard headers
#   core    shared infrastructure: domain/, core/
#   store   PostgreSQL and Redis: domain/, core/, store/
#   ws      libwebsockets glue: domain/, core/, store/, ws/
#   api engine stream cli   programs: the layers above and their own folder,
#                           never another program's (the cli includes ws for
#                           `tradedesk feed test`, the engine's venue client)
# Programs talk to each other only through PostgreSQL and Redis.
# `make test` runs this (and tests/check-includes-selftest.sh, which shows it
# catches each kind of wrong include); it prints every offending line.
#
#   tests/check-includes.sh [ROOT]     ROOT holds src/ (default: this repo)
set -euo pipefail
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}"

declare -A allowed=(
    [domain]="domain"
    [core]="domain core"
    [store]="domain core store"
    [ws]="domain core store ws"
    [api]="domain core store ws api"
    [engine]="domain core store ws engine"
    [stream]="domain core store ws stream"
    [cli]="domain core store ws cli"
)
# What "libc only" means for the domain: the C standard library's headers.
std_headers=" assert.h ctype.h errno.h inttypes.h limits.h stdarg.h stdbool.h stddef.h
    stdint.h stdio.h stdlib.h string.h "
std_headers=" $(echo $std_headers) "

bad=0
report() {
    echo "check-includes: $1: $2" >&2
    bad=1
}

while IFS= read -r f; do
    rel=${f#src/}
    layer=${rel%%/*}
    if [ -z "${allowed[$layer]+x}" ]; then
        report "$f" "is in src/$layer/, which is not a known layer (add it to tests/check-includes.sh)"
        continue
    fi
    while IFS= read -r line; do
        n=${line%%:*}
        inc=${line#*:}
        if [[ $inc =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
            target=${BASH_REMATCH[1]}
            tl=${target%%/*}
            [ "$tl" = "$target" ] && { report "$f:$n" "\"$target\" must name its folder (\"$layer/$target\")"; continue; }
            case " ${allowed[$layer]} " in
            *" $tl "*) ;;
            *) report "$f:$n" "src/$layer may not include \"$target\" (allowed: ${allowed[$layer]})" ;;
            esac
        elif [[ $inc =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
            target=${BASH_REMATCH[1]}
            if [ "$layer" = domain ] && [[ $std_headers != *" $target "* ]]; then
                report "$f:$n" "the domain uses the C standard library only, not <$target>"
            fi
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done < <(find src -name '*.[ch]' | sort)

if [ "$bad" -ne 0 ]; then
    echo "check-includes: FAIL (see the layer rules at the top of tests/check-includes.sh)" >&2
    exit 1
fi
echo "check-includes: ok ($(find src -name '*.[ch]' | wc -l) files)"
