# components/pg.sh - the stack's PostgreSQL 15 (sourced by src/run/stack.sh).
#
# Data in VAR/pg (initdb -N on first use), database `tradedesk`, unix
# socket only in VAR/run.  Uses /usr/lib/postgresql/15/bin, never whatever
# pg_ctl is on PATH.  PostgreSQL refuses to run as root, so as root it runs
# as the `postgres` user (made by the postgresql package), which must be able
# to enter VAR and every parent of it.  TD_FAST=1 (tests only) turns fsync,
# synchronous_commit and full_page_writes off.
#
# Least privilege (docs/running.md, "Who may connect"): the socket is mode
# 0700 (postgres's, or ours when not root) and pg_hba.conf allows only peer
# logins of the user running the stack (root or you) and postgres, so no
# other local user reaches the server.  Two roles besides the superuser:
# tradedesk_owner owns the database and every table and runs the CLI
# (migrate, seed); tradedesk_app, what the programs log in as, owns nothing
# and gets only what sql/003_app_role.sql grants.  pg_start creates both
# (and adopts tables an older stack made as postgres); `env` hands the CLI
# the owner's URL, the programs the app's (WIRING_FOR).
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

PG_OWNER=tradedesk_owner
PG_APP=tradedesk_app

pg_url() { echo "host=$RUN dbname=tradedesk user=$1"; }

# The CLI (and a shell) logs in as the owner, the programs as the app role;
# TD_APP_DATABASE_URL (no setting: a name for tests and shells) is the
# programs' URL.
pg_env() {
    if [ "${WIRING_FOR:-cli}" = program ]; then
        echo "TRADEDESK_DATABASE_URL=$(pg_url "$PG_APP")"
    else
        echo "TRADEDESK_DATABASE_URL=$(pg_url "$PG_OWNER")"
        echo "TD_APP_DATABASE_URL=$(pg_url "$PG_APP")"
    fi
}

# psql as the superuser, or with --as app|owner as one of the two roles.
pg_psql() {
    local role=postgres
    case "${1:-}" in
    --as)
        case "${2:-}" in
        app) role=$PG_APP ;;
        owner) role=$PG_OWNER ;;
        *) die "psql --as app|owner" ;;
        esac
        shift 2
        ;;
    esac
    exec "$PGBIN/psql" -h "$RUN" -U "$role" -d tradedesk "$@"
}

# postgres creates its socket and lock file in VAR/run (lib.sh's
# prepare_dirs gives it nginx's group and mode 0710); root and the programs
# only need to reach into it.
pg_prepare_dirs() {
    prepare_dirs
    [ "$AS_ROOT" -eq 1 ] || return 0
    chown postgres "$RUN"
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
        echo "unix_socket_permissions = 0700"
        echo "hba_file = '$PGDATA/tradedesk_hba.conf'"
        echo "ident_file = '$PGDATA/tradedesk_ident.conf'"
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
    # Peer logins only, of the stack's user (as any of the three roles)
    # and of postgres itself.
    local me
    me=$(id -un)
    {
        echo "# written by src/run/components/pg.sh on every start; do not edit"
        echo "local all all peer map=tradedesk"
    } >"$PGDATA/tradedesk_hba.conf"
    {
        echo "# written by src/run/components/pg.sh on every start; do not edit"
        echo "tradedesk postgres postgres"
        echo "tradedesk $me postgres"
        echo "tradedesk $me $PG_OWNER"
        echo "tradedesk $me $PG_APP"
    } >"$PGDATA/tradedesk_ident.conf"
    if [ "$AS_ROOT" -eq 1 ]; then
        chown postgres: "$conf" "$PGDATA/tradedesk_hba.conf" "$PGDATA/tradedesk_ident.conf"
    fi
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
            as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A peer -N -E UTF8 --no-locale \
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
    pg_roles
}

# The owner and the app role, made or corrected on every start (cheap and
# idempotent).  Neither may do more than a table owner: no superuser, no
# CREATEDB/CREATEROLE.  The app role may connect and nothing else here;
# sql/003_app_role.sql (run by migrate, as the owner) grants it the tables.
pg_roles() {
    "$PGBIN/psql" -h "$RUN" -U postgres -d postgres -XqAt -v ON_ERROR_STOP=1 >/dev/null <<SQL ||
SET client_min_messages = warning;
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_OWNER') THEN
        CREATE ROLE $PG_OWNER LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP') THEN
        CREATE ROLE $PG_APP LOGIN;
    END IF;
END
\$\$;
ALTER ROLE $PG_OWNER LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE $PG_APP LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER DATABASE tradedesk OWNER TO $PG_OWNER;
REVOKE ALL ON DATABASE tradedesk FROM PUBLIC;
GRANT CONNECT ON DATABASE tradedesk TO $PG_APP;
SQL
        die "could not create the roles $PG_OWNER and $PG_APP (see $LOG/postgres.log)"
    # Tables an older stack created as postgres (before the roles existed)
    # pass to the owner, or its grants in 003_app_role.sql would not apply.
    "$PGBIN/psql" -h "$RUN" -U postgres -d tradedesk -XqAt -v ON_ERROR_STOP=1 >/dev/null <<SQL ||
SET client_min_messages = warning;
DO \$\$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
               AND c.relowner <> '$PG_OWNER'::regrole
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO $PG_OWNER', r.rel);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proowner <> '$PG_OWNER'::regrole
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO $PG_OWNER', r.fn);
    END LOOP;
END
\$\$;
SQL
        die "could not give the tables of database tradedesk to $PG_OWNER"
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
