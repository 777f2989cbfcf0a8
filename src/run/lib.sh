# lib.sh - helpers shared by src/run/stack.sh and its components (sourced).
#
# Messages (die, say), pid files, process checks that read /proc (no procps
# needed), stop_daemon (signals only processes proven ours), wait_until and
# fail_start (a start that does not come up ends with its log), free_port.
# Defines functions only: no settings, nothing runs when it is sourced.
# Uses TIMEOUT (seconds), VAR, RUN and LOG from the driver.
# shellcheck shell=bash

die() {
    echo "stack: $*" >&2
    exit 1
}
say() { echo "stack: $*"; }

# ---------------------------------------------------------------- processes

# Process group of a pid ("" when it does not exist).
pgrp_of() {
    local line
    read -r line 2>/dev/null <"/proc/$1/stat" || return 0
    line=${line##*) }
    # shellcheck disable=SC2086
    set -- $line
    echo "$3"
}

comm_of() { cat "/proc/$1/comm" 2>/dev/null || true; }

# Live (not zombie) pids whose process group is $1 and whose name matches
# the regex $2.
group_members() {
    local want=$1 re=$2 f line pid
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        pid=${f#/proc/}
        pid=${pid%/stat}
        line=${line##*) }
        # shellcheck disable=SC2086
        set -- $line
        if [ "$3" != "$want" ] || [ "$1" = Z ]; then continue; fi
        [[ "$(comm_of "$pid")" =~ $re ]] && echo "$pid"
    done
    return 0
}

# Is pid $1 alive (a zombie is not: a killed daemon stays one until some
# init reaps it) and named like regex $2?
alive_as() {
    local line
    [ -n "$1" ] || return 1
    read -r line 2>/dev/null <"/proc/$1/stat" || return 1
    line=${line##*) }
    [ "${line%% *}" != Z ] && [[ "$(comm_of "$1")" =~ $2 ]]
}

# The pid in pid file $1, "" when there is none (even if it vanishes meanwhile).
read_pid() {
    if [ -s "$1" ]; then head -n1 "$1" 2>/dev/null | tr -dc 0-9; fi
    return 0
}

# stop_daemon PID REGEX SIGNAL SECONDS WHAT: send SIGNAL to the daemon known
# by PID if it is alive and named like REGEX, wait up to SECONDS for it and
# every process of its group with a matching name, then SIGKILL what is left.
# Its group is only used when the daemon leads it (all our daemons call
# setsid), and never when it is our own group.
stop_daemon() {
    local pid=$1 re=$2 sig=$3 wait_s=$4 what=$5 own i left
    [ -n "$pid" ] || return 0
    own=$(pgrp_of $$)
    if alive_as "$pid" "$re"; then
        kill "-$sig" "$pid" 2>/dev/null || true
    fi
    members() {
        if [ "$pid" != "$own" ]; then group_members "$pid" "$re"; fi
        if alive_as "$pid" "$re"; then echo "$pid"; fi
    }
    left=$(members | sort -u)
    [ -n "$left" ] || return 0
    # Orphans of a crashed leader never got the first signal; without a
    # leader to drain them, do not wait long for them either.
    if ! alive_as "$pid" "$re"; then
        # shellcheck disable=SC2086
        kill "-$sig" $left 2>/dev/null || true
        [ "$wait_s" -gt 5 ] && wait_s=5
    fi
    for ((i = 0; i < wait_s * 10; i++)); do
        left=$(members | sort -u)
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    say "$what did not stop within ${wait_s}s; killing ${left//$'\n'/ }"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [ -n "$(members)" ] || return 0
        sleep 0.1
    done
    die "$what (pid $pid) survived SIGKILL"
}

# status_line NAME PID REGEX: one line of `stack.sh status`.
status_line() {
    local name=$1 pid=$2 re=$3
    if alive_as "$pid" "$re"; then
        printf '%-7s running (pid %s)\n' "$name" "$pid"
    else
        printf '%-7s stopped\n' "$name"
    fi
}

# ---------------------------------------------------------------- starting

# fail_start WHAT LOGFILE [LABEL]: report and exit; LABEL names the log.
fail_start() {
    local what=$1 logfile=$2 label=${3:-$2}
    echo "stack: $what did not come up" >&2
    if [ -s "$logfile" ]; then
        echo "stack: last lines of $label:" >&2
        tail -n 25 "$logfile" | sed 's/^/    /' >&2
    fi
    exit 1
}

# wait_until DESCRIPTION LOGFILE COMMAND...: poll COMMAND every 0.1 s for
# TIMEOUT seconds; fail_start with LOGFILE when it never succeeds.
wait_until() {
    local what=$1 logfile=$2 i
    shift 2
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    fail_start "$what (waited ${TIMEOUT}s)" "$logfile"
}

# ---------------------------------------------------------------- ports

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A 127.0.0.1 port nothing answers on now: racy by nature, good enough for
# tests and the benchmark.
free_port() {
    # Below the kernel's ephemeral range, so no outgoing connection (curl,
    # a client's socket) takes the port between this answer and the bind.
    local i p lo=32768
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 21000 ] || lo=32768
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % (lo - 20000)))
        if ! port_in_use "$p"; then
            echo "$p"
            return 0
        fi
    done
    echo "stack: no free port found" >&2
    return 1
}

# ---------------------------------------------------------------- var dir

# The dirs every component writes into; a component makes its own others.
# VAR/run holds every socket: only its owner (postgres when we are root,
# components/pg.sh) writes there, and besides root only nginx's group may
# enter it (to reach api.sock), so no other local user gets near a socket
# (docs/running.md, "Who may connect").
prepare_dirs() {
    mkdir -p "$RUN" "$LOG"
    chmod 755 "$VAR" "$LOG"
    if [ "$AS_ROOT" -eq 1 ]; then
        chgrp "$NGINX_GROUP" "$RUN"
        chmod 710 "$RUN"
    else
        chmod 700 "$RUN"
    fi
}
