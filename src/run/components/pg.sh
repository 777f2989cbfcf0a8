# components/pg.sh - the stack's PostgreSQL 15 (sourced by src/run/stack.sh).
#
# Data in VAR/pg (initdb -A trust -N on first use), database `tradedesk`,
# unix socket only in VAR/run.  Uses /usr/lib/postgresql/15/bin, never
# whatever pg_ctl is on PATH.  PostgreSQL refuses to run as root, so as root
# it runs as the `postgres` user (made by the postgresql package), which must
# be able to enter VAR and every parent of it.  TD_FAST=1 (tests only) turns
# fsync, synchronous_commit and full_page_writes off.
#
# Hooks: pg_start pg_stop pg_ready pg_status pg_env; pg_psql for `stack.sh psql`.
# shellcheck shell=bash

PGBIN=/usr/lib/postgresql/15/bin
PGDATA=$VAR/pg

# From /: the caller's directory (a checkout under /root, say) may be closed
# to postgres, and every path we pass is absolute.
as_pg() {
    if [ "$AS_ROOT" -eq 1 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_pid() { read_pid "$PGDATA/postmaster.pid"; }

pg_ready() { "$PGBIN/pg_isready" -q -h "$RUN" -U postgres -d postgres -t 1; }

pg_status() { status_line postgres "$(pg_pid)" '^postgres$'; }

pg_env() { echo "TRADEDESK_DATABASE_URL=host=$RUN dbname=tradedesk user=postgres"; }

pg_psql() { exec "$PGBIN/psql" -h "$RUN" -U postgres -d tradedesk "$@"; }

# postgres creates its socket and lock file in VAR/run; root, nginx
# (www-data) and the programs only need to reach into it.
pg_prepare_dirs() {
    prepare_dirs
    [ "$AS_ROOT" -eq 1 ] || return 0
    chown postgres: "$RUN"
    local d=$VAR
    while [ "$d" != / ]; do
        if ! runuser -u postgres -- test -x "$d"; then
            die "user postgres cannot enter $d (chmod o+x it, or set TD_VAR to a dir under /tmp)"
        fi
        d=$(dirname "$d")
    done
}

pg_write_conf() {
    local conf=$PGDATA/tradedesk.conf
    {
        echo "# written by src/run/components/pg.sh on every start; do not edit"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$RUN'"
        echo "unix_socket_permissions = 0777"
        echo "port = 5432"
        echo "max_connections = 200"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "log_timezone = 'UTC'"
        echo "timezone = 'UTC'"
        if [ "$FAST" = 1 ]; then
            echo "# TD_FAST=1: tests only, a crash loses data"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$conf"
    [ "$AS_ROOT" -eq 1 ] && chown postgres: "$conf"
    grep -q "^include_if_exists = 'tradedesk.conf'" "$PGDATA/postgresql.conf" ||
        echo "include_if_exists = 'tradedesk.conf'" >>"$PGDATA/postgresql.conf"
}

pg_start() {
    [ -x "$PGBIN/pg_ctl" ] || die "PostgreSQL 15 not found in $PGBIN (run src/run/install-deps.sh)"
    pg_prepare_dirs
    local logfile=$LOG/postgres.log
    touch "$logfile"
    [ "$AS_ROOT" -eq 1 ] && chown postgres: "$logfile"
    if pg_ready; then
        say "postgres already running"
    else
        if [ ! -f "$PGDATA/PG_VERSION" ]; then
            # No PG_VERSION: never initialized, or initdb was interrupted.
            rm -rf "$PGDATA"
            mkdir -m 700 "$PGDATA"
            [ "$AS_ROOT" -eq 1 ] && chown postgres: "$PGDATA"
            say "initdb $PGDATA"
            as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -N -E UTF8 --no-locale \
                >"$LOG/initdb.log" 2>&1 || fail_start "initdb" "$LOG/initdb.log"
        fi
        pg_write_conf
        # pg_ctl -w returns once the server accepts connections (or failed).
        if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$logfile" -w -t "$TIMEOUT" -s start; then
            fail_start "postgres" "$logfile"
        fi
    fi
    wait_until "postgres" "$logfile" pg_ready
    local have
    have=$("$PGBIN/psql" -h "$RUN" -U postgres -d postgres -XtAq \
        -c "SELECT 1 FROM pg_database WHERE datname = 'tradedesk'")
    if [ "$have" != 1 ]; then
        "$PGBIN/createdb" -h "$RUN" -U postgres tradedesk
        say "created database tradedesk"
    fi
}

# Backends of a crashed postmaster lead their own sessions, so no group
# finds them; they sit in the data dir and keep its shared memory busy.
pg_orphans() {
    local f pid
    for f in /proc/[0-9]*/comm; do
        pid=${f#/proc/}
        pid=${pid%/comm}
        [ "$(cat "$f" 2>/dev/null)" = postgres ] || continue
        [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$PGDATA" ] && echo "$pid"
    done
    return 0
}

pg_stop() {
    [ -f "$PGDATA/PG_VERSION" ] || return 0
    local pid
    pid=$(pg_pid)
    [ -n "$pid" ] || return 0
    if alive_as "$pid" '^postgres$'; then
        as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 15 -s stop >/dev/null 2>&1 || true
    fi
    # Whatever pg_ctl could not stop.
    stop_daemon "$pid" '^postgres$' QUIT 5 postgres
    local i left
    for ((i = 0; i < 100; i++)); do
        left=$(pg_orphans)
        [ -n "$left" ] || break
        # shellcheck disable=SC2086
        [ $i -eq 50 ] && kill -KILL $left 2>/dev/null
        sleep 0.1
    done
    rm -f "$PGDATA/postmaster.pid"
    # postgres clears a stale socket lock itself, unless its pid is a zombie
    # nobody reaped yet (kill(pid, 0) still succeeds then).
    local lock=$RUN/.s.PGSQL.5432.lock
    if [ -f "$lock" ] && ! alive_as "$(read_pid "$lock")" '^postgres$'; then
        rm -f "$lock"
    fi
}
