#!/usr/bin/env bash
# check-includes-selftest.sh - show that tests/check-includes.sh fails on
# each kind of wrong include and passes a tree that follows the layers.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tree() { # tree NAME FILE INCLUDE: a minimal good tree plus one file
    rm -rf "${tmp:?}/src"
    mkdir -p "$tmp/src"/{domain,core,store,api,cli,engine}
    echo '#include <stdint.h>' >"$tmp/src/domain/td.h"
    echo '#include "domain/td.h"' >"$tmp/src/core/log.h"
    echo '#include "core/log.h"' >"$tmp/src/store/db.h"
    printf '#include "store/db.h"\n#include <libpq-fe.h>\n' >"$tmp/src/api/app.h"
    [ -n "${2:-}" ] && mkdir -p "$tmp/src/$(dirname "$2")" && printf '%s\n' "$3" >"$tmp/src/$2"
    return 0
}

fails=0
expect() { # expect ok|fail WHAT
    local got=ok
    "$HERE/check-includes.sh" "$tmp" >/dev/null 2>&1 || got=fail
    if [ "$got" = "$1" ]; then
        echo "ok   $2"
    else
        echo "FAIL $2 (expected $1, got $got)"
        fails=$((fails + 1))
    fi
}

tree; expect ok "a tree that follows the layers"
tree x domain/bad.c '#include "core/log.h"'; expect fail "domain includes core"
tree x domain/bad.c '#include <unistd.h>'; expect fail "domain includes a POSIX header"
tree x domain/bad.c '#include <libpq-fe.h>'; expect fail "domain includes a library"
tree x core/bad.c '#include "store/db.h"'; expect fail "core includes store"
tree x core/bad.c '#include "api/app.h"'; expect fail "shared code includes a program"
tree x store/bad.c '#include "cli/cli.h"'; expect fail "store includes a program"
tree x engine/bad.c '#include "api/app.h"'; expect fail "one program includes another"
tree x api/bad.c '#include "db.h"'; expect fail "an include without its folder"
tree x stuff/bad.c '#include "core/log.h"'; expect fail "a folder that is no layer"
tree x cli/ok.c '#include "store/db.h"'; expect ok "a program includes store"
tree x cli/ok.c '#include "ws/venue.h"'; expect ok "the cli includes ws (the venue client)"
tree x ws/bad.c '#include "engine/engine.h"'; expect fail "ws includes a program"

echo "check-includes selftest: $((13 - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
