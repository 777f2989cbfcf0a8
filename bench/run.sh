#!/usr/bin/env bash
# bench/run.sh - the REST API benchmark, in one command.
#
#   bench/run.sh                          # defaults: 10 s per run, 1 round
#   DURATION=20 ROUNDS=3 bench/run.sh     # longer runs, median of 3 rounds
#
# Builds (make all, bench/Makefile), starts a private stack in a fresh
# /tmp/tdbench.XXXXXX (PostgreSQL, Redis, nginx on a free 127.0.0.1 port,
# TD_FAST=1), migrates, seeds the demo data and bench/seed_bench.sql (10,000
# users, 500,000 positions), inserts sessions and mints tokens for TOKENS
# (1000) distinct users, starts tradedesk-api and bench/hello_fcgi with the
# same number of workers (nproc), adds /fixed and /hello to the stack's
# nginx, warms up, then runs `wrk -t2 -c64 -dDURATION --latency` against:
#
#   fixed      nginx `return 200` (the ceiling of the HTTP layer)
#   hello      hello_fcgi behind the same nginx (the ceiling of any FastCGI program)
#   hello-big  the same answering as many bytes as a positions page (the
#              ceiling for a response of that size: what the payload costs)
#   pos        GET /api/v1/positions, cached, rotating over the tokens
#   pos-nc     the same with Cache-Control: no-cache (BYPASS: PostgreSQL every time)
#   portfolio  GET /api/v1/portfolio, cached
#   hello-own, hello-big-own
#              bench/hello_own (the own transport's dispatcher and codec,
#              the same worker count) behind the second nginx below: the
#              new transport's ceiling
#   pos-own, pos-nc-own, portfolio-own
#              the same three against a second tradedesk-api with
#              TRADEDESK_API_TRANSPORT=own (the master holds nginx's
#              connections) behind a second nginx with the same
#              configuration plus `fastcgi_keep_conn on` and upstream
#              `keepalive 32`, same workers, same data, same run
#   mixed, mixed-own
#              of every 100 requests 90 cached positions reads, 9 uncached,
#              1 write (a conditional order, which also makes that user's
#              cached reads stale), over 900 of the users
#   mixed-stall, mixed-stall-own
#              the same with every PostgreSQL process stopped (SIGSTOP) for
#              STALL seconds (2) in the middle of the run
#
# Beside each mixed run a probe (bench/probe.lua, wrk -t2 -c2) reads the
# cached positions of the other 100 users and times each request by its
# X-Cache outcome: what a cached read costs under the mix, and whether it
# keeps that latency while PostgreSQL is stalled.
#
# and prints req/s, p50, p99, non-200 count and each one's ratio to hello,
# then checks the bars of PRODUCT.md.  It also measures the positions query
# in PostgreSQL alone (EXPLAIN ANALYZE, and pgbench at the API's
# concurrency) to compare with pos-nc.  The stack is stopped and the temp dir
# removed on exit (KEEP=1 keeps the dir for inspection).
#
# Settings: DURATION (10), ROUNDS (1), TOKENS (1000), CONNECTIONS (64), STALL (2),
# THREADS (2), WORKERS (4 × nproc, the API's default), TARGETS (all of the above, in that order),
# API_WORKERS (WORKERS; to try another pool size for the API alone),
# TRADEDESK_LOG_LEVEL (the API's default, info), HOLD (seconds to keep the
# stack up after the report, for profiling), KEEP=1 (keep the temp dir).
set -euo pipefail

BENCH_NAME=bench
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
NTOKENS=${TOKENS:-1000}
CONNS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-$(($(nproc) * 4))}
TARGETS=${TARGETS:-"fixed hello hello-big hello-own hello-big-own pos pos-own pos-nc pos-nc-own portfolio portfolio-own mixed mixed-own mixed-stall mixed-stall-own"}
STALL=${STALL:-2}


for t in wrk nginx redis-server curl pkg-config; do
    command -v "$t" >/dev/null || die "$t not found (apt-get install wrk nginx redis-server curl pkg-config)"
done
[ -x "$PGBIN/psql" ] || die "PostgreSQL 15 not found in $PGBIN"

T0=$(date +%s)

# ------------------------------------------------------------------ build

say "building (make all, bench/Makefile)"
make -s -C "$ROOT" all >&2
make -s -C "$BENCH" OUT="$OUT" all >&2

# ------------------------------------------------------------------ stack

HELLO_PIDS=()
bench_on_exit() {
    local p
    pg_signal CONT
    [ -s "${RUN:-/nonexistent}/nginx-own.pid" ] && kill -QUIT "$(cat "$RUN/nginx-own.pid")" 2>/dev/null || true
    for p in "${HELLO_PIDS[@]+"${HELLO_PIDS[@]}"}"; do
        kill -0 "$p" 2>/dev/null || continue
        kill -TERM "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
}

export TRADEDESK_JWT_SECRET
TRADEDESK_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRADEDESK_WORKERS=${API_WORKERS:-$WORKERS}
unset TRADEDESK_JWT_ISSUER TRADEDESK_JWT_AUDIENCE
# Every request still goes through the per-user and per-address limits (one
# Redis round trip each, the cost measured here), set where none refuses.
export TRADEDESK_READ_RATE=${TRADEDESK_READ_RATE:-60000} TRADEDESK_READ_BURST=${TRADEDESK_READ_BURST:-10000000}
export TRADEDESK_WRITE_RATE=${TRADEDESK_WRITE_RATE:-60000} TRADEDESK_WRITE_BURST=${TRADEDESK_WRITE_BURST:-10000000}
export TRADEDESK_ADDRESS_RATE=${TRADEDESK_ADDRESS_RATE:-60000} TRADEDESK_ADDRESS_BURST=${TRADEDESK_ADDRESS_BURST:-10000000}
export TRADEDESK_MARKET_RATE=${TRADEDESK_MARKET_RATE:-60000} TRADEDESK_MARKET_BURST=${TRADEDESK_MARKET_BURST:-1000000}
# No engine runs here: the seeded prices, stamped now below, stay the
# latest for the whole run, and the mixed runs' orders are judged by them.
export TRADEDESK_PRICE_STALE_MS=86400000
# The stack's API and nginx are the libfcgi baseline (no kept-alive
# FastCGI connections); the own transport's pair is made from them below.
export TRADEDESK_API_TRANSPORT=libfcgi
bench_stack_up tdbench
# Also where stack.sh looks for it, so `stack.sh start api` by hand (HOLD)
# signs with the same secret as the tokens.
(umask 077 && printf '%s\n' "$TRADEDESK_JWT_SECRET" >"$VAR/jwt_secret")
say "stack in $VAR, nginx on 127.0.0.1:$TRADEDESK_HTTP_PORT, $TRADEDESK_WORKERS API workers, $WORKERS hello_fcgi workers"
BASE=http://127.0.0.1:$TRADEDESK_HTTP_PORT

# pg_signal STOP|CONT: every process of the stack's PostgreSQL (the
# postmaster first on STOP, so it forks nothing meanwhile; last on CONT).
pg_signal() {
    local pm
    pm=$(head -n1 "${VAR:-/nonexistent}/pg/postmaster.pid" 2>/dev/null) || return 0
    [ -n "$pm" ] || return 0
    [ "$1" = STOP ] && kill -STOP "$pm" 2>/dev/null
    pkill "-$1" -P "$pm" 2>/dev/null || true
    [ "$1" = CONT ] && kill -CONT "$pm" 2>/dev/null
    return 0
}

# ------------------------------------------------------------------ data

say "migrate, seed demo, seed bench data"
"$ROOT/bin/tradedesk" migrate >&2
"$ROOT/bin/tradedesk" seed demo >&2
t=$(date +%s.%N)
"${PSQL[@]}" -1 -f "$BENCH/seed_bench.sql"
"${PSQL[@]}" -c "UPDATE prices_latest SET updated_at = now()"
say "bench data loaded in $(calc "$(date +%s.%N) - $t" %.1f) s: $("${PSQL[@]}" -At -c \
    "SELECT count(*) || ' users, ' || (SELECT count(*) FROM positions) || ' positions' FROM users")"

# One session per user for NTOKENS users spread over the table, created in
# SQL (no logins, no Argon2), then signed by bench/mint.c.
TOKFILE=$VAR/tokens.txt
"${PSQL[@]}" -At -F ' ' -c "
    INSERT INTO sessions (id, user_id, expires_at, user_agent)
    SELECT md5(random()::text || u.id), u.id, now() + interval '1 hour', 'bench'
    FROM (SELECT id FROM users WHERE username LIKE 'bench%' ORDER BY random() LIMIT $NTOKENS) u
    RETURNING user_id, id" >"$VAR/sessions.txt"
"$OUT/mint" 3600 <"$VAR/sessions.txt" >"$TOKFILE" 2>"$VAR/mint.log" || die "mint failed: $(cat "$VAR/mint.log")"
[ "$(sort -u "$TOKFILE" | wc -l)" -ge "$NTOKENS" ] || die "expected $NTOKENS distinct tokens"
# The mixed runs write as 90% of the users; the probe reads as the rest.
MIXFILE=$VAR/tokens-mixed.txt PROBEFILE=$VAR/tokens-probe.txt
NPROBE=$((NTOKENS / 10 > 0 ? NTOKENS / 10 : 1))
head -n $((NTOKENS - NPROBE)) "$TOKFILE" >"$MIXFILE"
tail -n "$NPROBE" "$TOKFILE" >"$PROBEFILE"
say "$(wc -l <"$TOKFILE") tokens for distinct users"

# ------------------------------------------------------------------ programs

"$STACK" --var "$VAR" start api >&2

wait_200() {
    local i code
    for ((i = 0; i < 100; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    die "$* does not answer 200 (last: $code)"
}
TOKEN1=$(head -n1 "$TOKFILE")
wait_200 -H "Authorization: Bearer $TOKEN1" "$BASE/api/v1/positions"
# hello-big answers a body as large as a real positions page.
BIG=$(curl -s --max-time 5 -H "Authorization: Bearer $TOKEN1" "$BASE/api/v1/positions" | wc -c)

setsid "$OUT/hello_fcgi" "$RUN/hello.sock" "$WORKERS" >"$VAR/log/hello.log" 2>&1 </dev/null &
HELLO_PIDS+=($!)
setsid "$OUT/hello_fcgi" "$RUN/hello-big.sock" "$WORKERS" "$BIG" >"$VAR/log/hello-big.log" 2>&1 </dev/null &
HELLO_PIDS+=($!)

# /fixed, /hello and /hello-big in the stack's own nginx, before /api/.
CONF=$VAR/nginx.conf
grep -q 'location /api/ {' "$CONF" || die "no 'location /api/ {' in $CONF to anchor on"
sed -i "0,/^\( *\)location \/api\/ {/s||\1location = /fixed { return 200 '{\"ok\":true}\\\\n'; }\n\1location = /hello { fastcgi_pass unix:$RUN/hello.sock; }\n\1location = /hello-big { fastcgi_pass unix:$RUN/hello-big.sock; }\n&|" "$CONF"
nginx -q -t -p "$VAR/" -e "$VAR/log/nginx-error.log" -c "$CONF" || die "nginx rejects the edited $CONF"
nginx -p "$VAR/" -e "$VAR/log/nginx-error.log" -c "$CONF" -s reload
wait_200 "$BASE/fixed"
wait_200 "$BASE/hello"
wait_200 "$BASE/hello-big"
say "checked: /fixed, /hello, /hello-big ($BIG bytes) and /api/v1/positions answer 200"

# The own transport: a second API with the first one's environment but its
# own socket, behind a second nginx made from the first one's configuration
# with persistent FastCGI connections.
OWN_PORT=$("$STACK" free-port)
API_PID=$(cat "$RUN/api.pid" 2>/dev/null || true)
[ -n "$API_PID" ] || die "cannot find the running tradedesk-api's pid"
mapfile -d '' API_ENV <"/proc/$API_PID/environ"
env -i "${API_ENV[@]}" TRADEDESK_FCGI_LISTEN="$RUN/api-own.sock" TRADEDESK_API_TRANSPORT=own \
    setsid "$ROOT/bin/tradedesk-api" >"$VAR/log/api-own.log" 2>&1 </dev/null &
HELLO_PIDS+=($!)
setsid "$OUT/hello_own" "$RUN/hello-own.sock" "$WORKERS" >"$VAR/log/hello-own.log" 2>&1 </dev/null &
HELLO_PIDS+=($!)
setsid "$OUT/hello_own" "$RUN/hello-big-own.sock" "$WORKERS" "$BIG" >"$VAR/log/hello-big-own.log" 2>&1 </dev/null &
HELLO_PIDS+=($!)
OWN_CONF=$VAR/nginx-own.conf
sed -e "s|listen 127.0.0.1:$TRADEDESK_HTTP_PORT;|listen 127.0.0.1:$OWN_PORT;|" \
    -e "s|^pid .*|pid $RUN/nginx-own.pid;|" \
    -e "s|server unix:$RUN/api.sock;|server unix:$RUN/api-own.sock; keepalive 32;|" \
    -e "s|fastcgi_pass unix:$RUN/hello.sock;|fastcgi_pass hello_own;|" \
    -e "s|fastcgi_pass unix:$RUN/hello-big.sock;|fastcgi_pass hello_big_own;|" \
    -e "s|^\( *\)upstream tradedesk_api {|\1upstream hello_own { server unix:$RUN/hello-own.sock; keepalive 32; }\n\1upstream hello_big_own { server unix:$RUN/hello-big-own.sock; keepalive 32; }\n&|" \
    -e "s|^\( *\)fastcgi_param HTTP_X_REQUEST_ID .*|&\n\1fastcgi_keep_conn on;|" "$CONF" >"$OWN_CONF"
grep -q "api-own.sock; keepalive 32;" "$OWN_CONF" && grep -q "fastcgi_keep_conn on;" "$OWN_CONF" ||
    die "could not make $OWN_CONF from $CONF"
nginx -q -t -p "$VAR/" -e "$VAR/log/nginx-error.log" -c "$OWN_CONF" || die "nginx rejects $OWN_CONF"
nginx -p "$VAR/" -e "$VAR/log/nginx-error.log" -c "$OWN_CONF"
OWN_BASE=http://127.0.0.1:$OWN_PORT
wait_200 -H "Authorization: Bearer $TOKEN1" "$OWN_BASE/api/v1/positions"
wait_200 "$OWN_BASE/hello"
wait_200 "$OWN_BASE/hello-big"
say "checked: the own transport's /api/v1/positions, /hello and /hello-big answer 200 (nginx on $OWN_PORT)"

# ------------------------------------------------------------------ load

url_of() {
    case "$1" in
    fixed) echo "$BASE/fixed" ;;
    hello) echo "$BASE/hello" ;;
    hello-big) echo "$BASE/hello-big" ;;
    hello-own) echo "$OWN_BASE/hello" ;;
    hello-big-own) echo "$OWN_BASE/hello-big" ;;
    pos | pos-nc | mixed | mixed-stall) echo "$BASE/api/v1/positions" ;;
    portfolio) echo "$BASE/api/v1/portfolio" ;;
    pos-own | pos-nc-own | mixed-own | mixed-stall-own) echo "$OWN_BASE/api/v1/positions" ;;
    portfolio-own) echo "$OWN_BASE/api/v1/portfolio" ;;
    esac
}
args_of() {
    case "$1" in
    fixed | hello | hello-big | hello-own | hello-big-own) echo "-" ;;
    pos | portfolio | pos-own | portfolio-own) echo "$TOKFILE" ;;
    pos-nc | pos-nc-own) echo "$TOKFILE nocache" ;;
    mixed*) echo "$MIXFILE mixed" ;;
    esac
}

# run_wrk NAME SECONDS CONNS LOGFILE [THREADS]
run_wrk() {
    local name=$1 secs=$2 conns=$3 log=$4 threads=${5:-$THREADS}
    # shellcheck disable=SC2046
    timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency \
        -s "$BENCH/tokens.lua" "$(url_of "$name")" -- $(args_of "$name") >"$log" 2>&1 ||
        die "wrk $name failed: $(tail -n 5 "$log")"
}

say "warming up (every token once through the session and response caches)"
for name in $TARGETS; do
    run_wrk "$name" 2 "$CONNS" "$VAR/warm-$name.txt"
done

RES=$VAR/results
mkdir -p "$RES"
for ((round = 1; round <= ROUNDS; round++)); do
    for name in $TARGETS; do
        say "round $round/$ROUNDS: $name (${DURATION}s, -t$THREADS -c$CONNS)"
        side=()
        if [[ $name == mixed* ]]; then
            timeout $((DURATION + 30)) wrk -t2 -c2 -d"${DURATION}s" --timeout 10s \
                -s "$BENCH/probe.lua" "$(url_of "$name")" -- "$PROBEFILE" \
                >"$RES/probe-$name.$round.txt" 2>&1 &
            side+=($!)
        fi
        if [[ $name == mixed-stall* ]]; then
            (
                sleep "$(calc "$DURATION / 2 - $STALL / 2" %.1f)"
                pg_signal STOP
                sleep "$STALL"
                pg_signal CONT
            ) &
            side+=($!)
        fi
        run_wrk "$name" "$DURATION" "$CONNS" "$RES/$name.$round.txt"
        for p in "${side[@]+"${side[@]}"}"; do wait "$p" || die "a side job of $name failed"; done
        grep -E '^(RESULT|statuses|x-cache|WARNING)' "$RES/$name.$round.txt" | sed 's/^/    /' >&2
        [ -s "$RES/probe-$name.$round.txt" ] && grep '^PROBE' "$RES/probe-$name.$round.txt" | sed 's/^/    /' >&2
    done
done

# One connection, uncached: the latency of one request with no queueing,
# to hold against the query's own latency (PRODUCT.md: "never worse than
# the same query in psql plus 1 ms").
C1_SECS=$((DURATION < 5 ? DURATION : 5))
if [[ " $TARGETS " == *" pos-nc "* ]]; then
    say "pos-nc at 1 connection (${C1_SECS}s, -t1 -c1)"
    run_wrk pos-nc "$C1_SECS" 1 "$VAR/pos-nc-c1.txt" 1
    grep -E '^(RESULT|WARNING)' "$VAR/pos-nc-c1.txt" | sed 's/^/    /' >&2
fi

# ------------------------------------------------------------------ PostgreSQL alone

UID1=$(awk 'NR==1 {print $1}' "$VAR/sessions.txt")
POS_SQL="SELECT p.id, p.symbol, p.side, p.quantity, p.entry_price, p.realized_pnl, p.status,
  to_char(p.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
  to_char(p.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), pl.price
  FROM positions p LEFT JOIN prices_latest pl ON pl.symbol = p.symbol
  WHERE p.user_id = \$1 AND (\$2::text IS NULL OR p.status = \$2)
  AND (\$3::text IS NULL OR p.symbol = \$3) AND p.id > \$4 ORDER BY p.id LIMIT \$5"
{
    echo "PREPARE position_list(bigint, text, text, bigint, int) AS $POS_SQL;"
    for _ in 1 2 3 4 5 6 7; do echo "EXECUTE position_list($UID1, NULL, NULL, 0, 51);"; done
    echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE position_list($UID1, NULL, NULL, 0, 51);"
} | "${PSQL[@]}" -At -f - 2>&1 | grep -v '^[0-9]' >"$VAR/explain.txt" || true
# pgbench turns every ":word" into a parameter, even inside a string
# literal, so the to_char formats spell their colons as chr(58) (folded to
# the same constant at plan time).  Users are drawn from all bench users.
read -r UID_LO UID_HI <<<"$("${PSQL[@]}" -At -F ' ' -c "SELECT min(id), max(id) FROM users WHERE username LIKE 'bench%'")"
cat >"$VAR/pgbench.sql" <<'SQL'
\set uid random(UID_LO, UID_HI)
SELECT p.id, p.symbol, p.side, p.quantity, p.entry_price, p.realized_pnl, p.status, to_char(p.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS"Z"'), to_char(p.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS"Z"'), pl.price FROM positions p LEFT JOIN prices_latest pl ON pl.symbol = p.symbol WHERE p.user_id = :uid AND (NULL::text IS NULL OR p.status = NULL) AND (NULL::text IS NULL OR p.symbol = NULL) AND p.id > 0 ORDER BY p.id LIMIT 51;
SQL
sed -i "s/UID_LO/$UID_LO/; s/UID_HI/$UID_HI/" "$VAR/pgbench.sql"
PGB_SECS=$((DURATION < 5 ? DURATION : 5))
pgb() { # pgb CLIENTS -> "tps latency_ms"
    "$PGBIN/pgbench" -h "$RUN" -U postgres -n -M prepared -c "$1" -j "$1" -T "$PGB_SECS" \
        -f "$VAR/pgbench.sql" tradedesk 2>&1 |
        awk '/^latency average/ {l=$4} /^tps/ {t=$3} END {printf "%.0f %.3f\n", t, l}'
}
say "pgbench: the positions query alone, ${PGB_SECS}s at 1 and at $WORKERS clients"
read -r PGB1_TPS PGB1_LAT <<<"$(pgb 1)"
read -r PGBN_TPS PGBN_LAT <<<"$(pgb "$WORKERS")"

# ------------------------------------------------------------------ report

# The RESULT fields (rps, p50_us, ...) of every round of NAME, one a line.
fields_of() {
    { cat "$RES/$1".*.txt 2>/dev/null || true; } | awk -v f="$2" '/^RESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }'
}
# Median over rounds of field F of NAME (0 when NAME did not run).
stat_of() {
    fields_of "$1" "$2" | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'
}
sum_of() { fields_of "$1" "$2" | awk '{s+=$1} END {print s+0}'; }
cache_of() {
    { cat "$RES/$1".*.txt 2>/dev/null || true; } | awk '/^x-cache:/ {print $2}' | tr ',' '\n' |
        awk -F: '{c[$1]+=$2; t+=$2} END {for (k in c) if (k != "-") printf "%s %.1f%% ", k, 100*c[k]/t}'
}
ran() { [[ " $TARGETS " == *" $1 "* ]]; }
# Median over rounds of field F of the probe's XCACHE STATUS line for NAME.
probe_of() {
    { cat "$RES/probe-$1".*.txt 2>/dev/null || true; } |
        awk -v k="xcache=$2" -v s="status=$3" -v f="$4" '$1 == "PROBE" && $2 == k && $3 == s {
            for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' |
        sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'
}

HELLO_RPS=$(stat_of hello rps)
{
    echo
    echo "tradedesk REST benchmark: $(date -u +%FT%TZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
    echo "wrk -t$THREADS -c$CONNS -d${DURATION}s --latency, $ROUNDS round(s) (median), $TRADEDESK_WORKERS API / $WORKERS hello_fcgi workers, $(wc -l <"$TOKFILE") users' tokens"
    echo
    printf '%-15s %10s %9s %9s %9s %8s %8s  %s\n' target "req/s" "p50 ms" "p99 ms" "max ms" non-2xx "vs hello" "x-cache"
    for name in $TARGETS; do
        rps=$(stat_of "$name" rps)
        vs=-
        ran hello && vs="$(calc "100 * $rps / ($HELLO_RPS + 0.000001)" %.0f)%"
        printf '%-15s %10.0f %9.2f %9.2f %9.2f %8d %8s  %s\n' "$name" "$rps" \
            "$(calc "$(stat_of "$name" p50_us) / 1000")" \
            "$(calc "$(stat_of "$name" p99_us) / 1000")" \
            "$(calc "$(stat_of "$name" max_us) / 1000")" \
            "$(($(sum_of "$name" non200) + $(sum_of "$name" sockerr)))" \
            "$vs" "$(cache_of "$name")"
    done
    mixed_ran=0
    for name in mixed mixed-own mixed-stall mixed-stall-own; do ran "$name" && mixed_ran=1; done
    if [ "$mixed_ran" = 1 ]; then
        echo
        echo "Mixed runs (90% cached, 9% uncached, 1% writes), statuses over all rounds, and the probe's"
        echo "cached reads of other users timed by X-Cache (wrk -t2 -c2 beside the load; median over rounds):"
        for name in mixed mixed-own mixed-stall mixed-stall-own; do
            ran "$name" || continue
            printf '    %-16s statuses %s\n' "$name" "$({ cat "$RES/$name".*.txt 2>/dev/null || true; } |
                awk '/^statuses:/ {n=split($2, a, ","); for (i = 1; i <= n; i++) {split(a[i], kv, ":"); c[kv[1]] += kv[2]}}
                     END {for (k in c) printf "%s:%d ", k, c[k]}')"
            { cat "$RES/probe-$name".*.txt 2>/dev/null || true; } | awk '$1 == "PROBE" {print $2, $3}' | sort -u |
                while read -r xc st; do
                    xc=${xc#xcache=} st=${st#status=}
                    printf '    %-16s probe %-6s %s: n %6d, p50 %7.2f ms, p99 %7.2f ms, max %7.2f ms\n' "" "$xc" "$st" \
                        "$(probe_of "$name" "$xc" "$st" n)" "$(calc "$(probe_of "$name" "$xc" "$st" p50_us) / 1000")" \
                        "$(calc "$(probe_of "$name" "$xc" "$st" p99_us) / 1000")" "$(calc "$(probe_of "$name" "$xc" "$st" max_us) / 1000")"
                done
        done
    fi
    echo
    echo "PostgreSQL alone, the positions query (50 rows of 500,000; user $UID1):"
    sed 's/^/    /' "$VAR/explain.txt"
    printf '    pgbench -M prepared, 1 client:   %6s tps, %s ms average latency\n' "$PGB1_TPS" "$PGB1_LAT"
    printf '    pgbench -M prepared, %d clients:  %6s tps, %s ms average latency\n' "$WORKERS" "$PGBN_TPS" "$PGBN_LAT"
    echo
    pos_rps=$(stat_of pos rps)
    pos_p99=$(stat_of pos p99_us)
    nc_rps=$(stat_of pos-nc rps)
    verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
    echo "Bars (PRODUCT.md):"
    ran hello && ran pos && printf '    cached positions >= 80%% of hello req/s:   %6.0f%%   %s\n' \
        "$(calc "100 * $pos_rps / ($HELLO_RPS + 0.000001)")" \
        "$(verdict "$(calc "($pos_rps >= 0.8 * $HELLO_RPS)" %d)")"
    ran pos && printf '    cached positions p99 < 5 ms at %d conns:   %6.2f ms %s\n' "$CONNS" \
        "$(calc "$pos_p99 / 1000")" "$(verdict "$(calc "($pos_p99 < 5000)" %d)")"
    ran pos-nc && printf '    uncached positions >= 14000 req/s:          %6.0f    %s\n' "$nc_rps" \
        "$(verdict "$(calc "($nc_rps >= 14000)" %d)")"
    ran pos-nc && printf '    uncached vs the query alone (pgbench, %d clients): %.0f%% of its tps\n' "$WORKERS" \
        "$(calc "100 * $nc_rps / ($PGBN_TPS + 0.000001)")"
    ran pos-own && ran hello-big-own && printf '    own: cached positions >= 80%% of hello-big-own req/s (issue 12): %.0f%%   %s\n' \
        "$(calc "100 * $(stat_of pos-own rps) / ($(stat_of hello-big-own rps) + 0.000001)")" \
        "$(verdict "$(calc "($(stat_of pos-own rps) >= 0.8 * $(stat_of hello-big-own rps))" %d)")"
    ran pos-own && printf '    own: cached positions p99 < 5 ms at %d conns (issue 12):  %6.2f ms %s\n' "$CONNS" \
        "$(calc "$(stat_of pos-own p99_us) / 1000")" "$(verdict "$(calc "($(stat_of pos-own p99_us) < 5000)" %d)")"
    for pair in mixed:mixed-stall mixed-own:mixed-stall-own; do
        a=${pair%%:*} b=${pair#*:}
        ran "$a" && ran "$b" && printf '    %-10s cached reads (probe HIT) with PostgreSQL stalled %ss: p99 %.2f ms vs %.2f ms without, max %.2f vs %.2f ms\n' \
            "$a:" "$STALL" "$(calc "$(probe_of "$b" HIT 200 p99_us) / 1000")" "$(calc "$(probe_of "$a" HIT 200 p99_us) / 1000")" \
            "$(calc "$(probe_of "$b" HIT 200 max_us) / 1000")" "$(calc "$(probe_of "$a" HIT 200 max_us) / 1000")"
    done
    for pair in hello:hello-own hello-big:hello-big-own pos:pos-own pos-nc:pos-nc-own portfolio:portfolio-own; do
        a=${pair%%:*} b=${pair#*:}
        ran "$a" && ran "$b" && printf '    own transport vs libfcgi, %-10s %6.0f vs %6.0f req/s (%.2fx), p99 %.2f vs %.2f ms\n' \
            "$a:" "$(stat_of "$b" rps)" "$(stat_of "$a" rps)" \
            "$(calc "$(stat_of "$b" rps) / ($(stat_of "$a" rps) + 0.000001)")" \
            "$(calc "$(stat_of "$b" p99_us) / 1000")" "$(calc "$(stat_of "$a" p99_us) / 1000")"
    done
    if [ -s "$VAR/pos-nc-c1.txt" ]; then
        c1=$(grep '^RESULT' "$VAR/pos-nc-c1.txt" | tr ' ' '\n' | grep '^p50_us=' | cut -d= -f2)
        printf '    uncached at 1 conn, p50 %.3f ms <= query alone (%.3f ms) + 1 ms:  %s\n' \
            "$(calc "$c1 / 1000")" "$PGB1_LAT" "$(verdict "$(calc "($c1 / 1000 <= $PGB1_LAT + 1)" %d)")"
    fi
    echo
    echo "total wall time: $(($(date +%s) - T0)) s (raw wrk output: $RES, kept with KEEP=1)"
} | tee "$VAR/report.txt"

# HOLD=SECONDS keeps the stack up that long after the report (for profiling
# by hand: the settings are in VAR/env); Ctrl-C ends it early.
if [ "${HOLD:-0}" -gt 0 ]; then
    "$STACK" --var "$VAR" env >"$VAR/env"
    echo "export TD_BENCH_URL=$BASE TD_BENCH_TOKENS=$TOKFILE" >>"$VAR/env"
    say "holding the stack for ${HOLD}s: . $VAR/env"
    sleep "$HOLD" &
    wait $! || true
fi
