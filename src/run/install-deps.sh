#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages tradedesk builds and runs with.
#
# Idempotent: asks dpkg-query what is already installed and only runs
# `apt-get update` + `apt-get install` when something is missing, so it prints
# nothing when there is nothing to do (`make run` calls it every time).
# Works as root, or through sudo for a normal user.
#
# The postgresql, redis-server and nginx packages come with system services;
# tradedesk never uses them (src/run/stack.sh runs private servers under var/),
# so while installing we ask invoke-rc.d not to start any service.
set -euo pipefail

PKGS=(build-essential pkg-config clang libclang-rt-14-dev
      libfcgi-dev libpq-dev libhiredis-dev libjson-c-dev libjwt-dev
      libwebsockets-dev libcmocka-dev libargon2-dev libcurl4-openssl-dev
      postgresql redis-server nginx wrk curl)
# prometheus pulls in dozens of recommends we do not need (we only use promtool).
PKGS_NO_RECOMMENDS=(prometheus)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
missing_norec=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${PKGS_NO_RECOMMENDS[@]}"; do installed "$p" || missing_norec+=("$p"); done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_norec[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    echo "install-deps: missing packages: ${missing[*]} ${missing_norec[*]}" >&2
    echo "install-deps: run this script as root or install sudo" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
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

echo "install-deps: installing ${missing[*]} ${missing_norec[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
    "${APT[@]}" install "${missing[@]}"
fi
if [ ${#missing_norec[@]} -gt 0 ]; then
    "${APT[@]}" install --no-install-recommends "${missing_norec[@]}"
fi
