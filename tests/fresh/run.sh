#!/usr/bin/env bash
# fresh/run.sh - `make run` on a minimal Debian 12 root, as a new user would.
#
#   tests/fresh/run.sh        (make test-fresh; as root; a few minutes)
#
# Proves that on a machine with nothing but git and make, `make run` installs
# what it needs (src/run/install-deps.sh, from the Makefile's build/pkg.mk
# rule) and works on the first try.  Steps:
#
#   1. a `debootstrap --variant=minbase bookworm` root, plus git and make,
#      cached as build/fresh/root.tar.gz (a second run only unpacks it;
#      TD_FRESH_REBUILD=1 makes it again);
#   2. a copy of this working tree (tracked and untracked files that git does
#      not ignore, uncommitted changes included) in /root/tradedesk;
#   3. the host's /etc/resolv.conf, so apt inside can resolve the mirror;
#   4. tests/smoke.sh of the copy inside the chroot: make run, /health and a
#      demo login through nginx, SIGINT, nothing left running.
#
# The chroot runs in its own PID and mount namespaces (unshare): /proc inside
# shows only the root's processes, so smoke.sh's "nothing left running" check
# is not confused by other stacks on a shared machine, and ending the
# namespace ends every process in it.  /dev, /dev/pts, /dev/shm and /sys are
# bind-mounted in that mount namespace; the EXIT trap still kills whatever
# runs in the root and unmounts whatever is mounted under it, on failure too.
#
# The mirror is the first Debian one in /etc/apt/sources.list(.d), else
# deb.debian.org; TD_FRESH_MIRROR overrides it.  TD_SMOKE_TIMEOUT reaches
# smoke.sh (default here 1200 s: the first run installs and builds everything).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
WORK=$ROOT/build/fresh
R=$WORK/root
CACHE=$WORK/root.tar.gz
SUITE=bookworm
T0=$SECONDS

say() { echo "fresh: $*"; }
die() {
    echo "fresh: $*" >&2
    exit 1
}
phase() { say "$1 ($((SECONDS - T0)) s so far)"; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"

# Mount points under the root, deepest first, as the host sees them.
mounts_under() {
    awk -v r="$R" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Processes whose root directory is the chroot (the namespace's, seen from here).
procs_in_root() {
    local f pid
    for f in /proc/[0-9]*/root; do
        pid=${f#/proc/}
        pid=${pid%/root}
        [ "$(readlink "$f" 2>/dev/null)" = "$R" ] && echo "$pid"
    done
    return 0
}

ns_pid="" # unshare (and the namespace's processes), while it runs
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    local rc=$? pids m i
    trap '' INT TERM
    # --kill-child: the namespace's first process dies with unshare, and
    # every other process in it with that one.
    [ -z "$ns_pid" ] || kill -KILL "$ns_pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        pids=$(procs_in_root)
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        sleep 0.1
    done
    for m in $(mounts_under); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "fresh: cannot unmount $m" >&2
    done
    if [ "$rc" -eq 0 ]; then
        say "ok in $((SECONDS - T0)) s"
    else
        say "FAILED (status $rc) after $((SECONDS - T0)) s; the root is kept in $R"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The first plain Debian mirror the host uses (one-line or deb822 format).
mirror() {
    local m
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
    [ -n "$m" ] || m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '$1 == "URIs:" && $2 !~ /security/ && $2 ~ /debian\/?$/ { print $2; exit }')
    echo "${m:-http://deb.debian.org/debian}"
}

in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# A root left by an earlier run is thrown away, but never with anything
# still mounted in it (rm would reach into the host's /dev).
[ -z "$(mounts_under)" ] || die "something is still mounted under $R: $(mounts_under | tr '\n' ' ')"
rm -rf --one-file-system "$R"
mkdir -p "$WORK"

# ---------------------------------------------------------------- the root
if [ ! -s "$CACHE" ] || [ "${TD_FRESH_REBUILD:-0}" = 1 ]; then
    if ! command -v debootstrap >/dev/null; then
        say "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
    fi
    MIRROR=${TD_FRESH_MIRROR:-$(mirror)}
    phase "debootstrap --variant=minbase $SUITE from $MIRROR"
    rm -rf --one-file-system "$R.new"
    debootstrap --variant=minbase "$SUITE" "$R.new" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
    mv "$R.new" "$R"
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    phase "adding git and make"
    if ! { in_root apt-get update -q && in_root apt-get install -y -q --no-install-recommends git make; } \
        >"$WORK/apt.log" 2>&1; then
        tail -n 30 "$WORK/apt.log" >&2
        die "installing git and make failed (log: $WORK/apt.log)"
    fi
    # The package lists are stale by the next run; install-deps.sh updates them.
    in_root apt-get clean
    rm -rf "$R"/var/lib/apt/lists/*
    tar -C "$R" --numeric-owner -czf "$CACHE.tmp" . && mv "$CACHE.tmp" "$CACHE"
    say "cached the root in $CACHE ($(du -h "$CACHE" | cut -f1))"
else
    phase "unpacking the cached root $CACHE"
    mkdir -p "$R"
    tar -C "$R" --numeric-owner -xzf "$CACHE"
fi
cp /etc/resolv.conf "$R/etc/resolv.conf"

# ---------------------------------------------------------------- the project
phase "copying the working tree to /root/tradedesk"
mkdir -p "$R/root/tradedesk"
git ls-files -z -co --exclude-standard --deduplicate |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -C "$ROOT" --null -T - -cf - | tar -C "$R/root/tradedesk" -xf -

# ---------------------------------------------------------------- the run
phase "tests/smoke.sh in the root"
# Inside the new namespaces: mount what a booted machine has, then chroot.
# The mounts live and die with the mount namespace.  A background job so
# that a signal to this script runs the EXIT trap at once, started with job
# control on: a non-interactive shell's plain background job ignores SIGINT,
# every process below would inherit that, and smoke.sh's Ctrl-C would not
# stop make run.
# shellcheck disable=SC2016 # expanded by the inner bash
inner='set -e
mount -t proc proc "$1/proc"
mount --bind /dev "$1/dev"
mount --bind /dev/pts "$1/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$1/dev/shm"
mount --rbind /sys "$1/sys"
shift
chroot "$@"'
set -m
unshare --mount --pid --fork --kill-child --propagation private \
    bash -c "$inner" inner "$R" "$R" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb TD_SMOKE_TIMEOUT="${TD_SMOKE_TIMEOUT:-1200}" \
    bash -c 'cd /root/tradedesk && tests/smoke.sh' &
ns_pid=$!
set +m
rc=0
wait "$ns_pid" || rc=$?
ns_pid=""
[ "$rc" -eq 0 ] || die "smoke test failed in the fresh root (status $rc)"
