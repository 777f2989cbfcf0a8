#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages tradedesk builds and runs with.
#
#   install-deps.sh          what `make` and `make run` need: compilers, the
#                            -dev packages, PostgreSQL, Redis, nginx
#   install-deps.sh test     also what `make test` needs: cmocka, libcurl,
#                            clang with its sanitizer runtime, promtool, wrk,
#                            and Node.js with npm when no npm is on PATH
#
# Idempotent: asks dpkg-query what is already installed and only runs
# `apt-get update` + `apt-get install` when something is missing, so it prints
# nothing when there is nothing to do (`make` calls it every time the build's
# flags are made).  Works as root, or through sudo for a normal user.
#
# Everything is installed with --no-install-recommends: recommends pull in an
# MTA (exim4) whose configuration fails in a minimal root (debootstrap
# minbase, the debian:bookworm image), so each package we need is named here.
#
# The postgresql, redis-server and nginx packages come with system services;
# tradedesk never uses them (src/run/stack.sh runs private servers under var/),
# so while installing we ask invoke-rc.d not to start any service.
set -euo pipefail

PKGS=(build-essential pkg-config ca-certificates curl procps
      libfcgi-dev libpq-dev libhiredis-dev libjson-c-dev libjwt-dev
      libwebsockets-dev libwebsockets-evlib-ev libev-dev libargon2-dev libssl-dev
      postgresql redis-server redis-tools nginx)
if [ "${1:-}" = test ]; then
    PKGS+=(libcmocka-dev libcurl4-openssl-dev clang llvm libclang-rt-14-dev
           prometheus wrk libfcgi-bin)
    command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
elif [ -n "${1:-}" ]; then
    echo "usage: install-deps.sh [test]" >&2
    exit 2
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root or install sudo" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends
     -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# Keep package scripts from starting system PostgreSQL/Redis/nginx services.
# Only add a policy if the machine has none (Docker images ship one already).
POLICY=/usr/sbin/policy-rc.d
policy_added=0
cleanup() {
    if [ "$policy_added" -eq 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# added by tradedesk install-deps.sh while installing\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    policy_added=1
fi

echo "install-deps: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${APT[@]}" install "${missing[@]}"
