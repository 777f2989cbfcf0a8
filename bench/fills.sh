#!/usr/bin/env bash
# bench/fills.sh - conditional orders end to end through the real stack, in
# one command: a local Binance (tests/integration/fake_exchange.mjs, prices
# set exactly), tradedesk-engine following it, PostgreSQL and Redis.
#
#   bench/fills.sh                 # 10,000 orders over 100 users, two phases
#   ORDERS_PER_USER=50 bench/fills.sh
#   DURABLE=1 bench/fills.sh       # commits flushed (fsync, synchronous_commit on)
#   PHASES=stepped bench/fills.sh  # one phase only (default "stepped burst")
#   PHASES=spread bench/fills.sh   # every order at its own price, one fill a tick
#   PG_CONFIG="log_lock_waits=on deadlock_timeout=1ms" KEEP=1 bench/fills.sh
#   PGSS=1 bench/fills.sh          # and each phase's statements by time (pg_stat_statements)
#   bench/fills_ladder.sh          # the stepped phase at 1, 10, 50, 100 fills a tick
#
# Each phase seeds USERS users with ORDERS_PER_USER buy stop orders each on
# BNB-USDT (triggers 600.01 + k for the k-th order of every user), starts
# the engine, waits until its monitor holds them all, then moves the price:
#
#   stepped  up by 1.00 every STEP_MS ms from 600 (each tick fires USERS
#            orders, one per user), the way a market moves: the local
#            venue steps and pushes the price on its own clock;
#   burst    straight from 600 past the last trigger (one tick fires every order);
#   spread   every order at a price of its own, 0.01 apart, the users'
#            interleaved, and the price up by 0.01 every SPREAD_STEP_MS (5)
#            ms: each tick fires one order, of the next user.
#
# and reports: fills per second (PostgreSQL's count over the wall time from
# the first tick to the last fill), the engine's tick -> fill latency
# (tradedesk_engine_tick_to_fill_seconds: from the tick that fired an order
# to PostgreSQL's answer to the batch that filled it; p50/p99 are bucket
# bounds; the whole histogram is printed too), and the CPU each process used.  Checks that every
# order filled exactly once.  KEEP=1 keeps the temp dir.
#
# With the stream (SOCKETS=1, the default; 0 leaves it out) tradedesk-stream
# runs too, and bench/ws_fills.mjs holds one WebSocket per user through
# nginx, subscribed to its fills and orders: each phase also reports tick ->
# fill-on-socket (from the order's triggered_at, the firing tick's time, to
# the fill's push read by the client; PRODUCT.md's bar: p99 under 10 ms),
# and checks that every fill reached its user's socket once.
set -euo pipefail

BENCH_NAME=fills
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
USERS=${USERS:-100}
PER=${ORDERS_PER_USER:-100}
STEP_MS=${STEP_MS:-50}
SPREAD_STEP_MS=${SPREAD_STEP_MS:-5}
N=$((USERS * PER))


for t in node curl nginx redis-server; do
    command -v "$t" >/dev/null || die "$t not found"
done
say "building"
make -s -C "$ROOT" all node_modules >&2

SOCKETS=${SOCKETS:-1}
FAKE_PID= WSF_PID=
bench_on_exit() {
    [ -z "$FAKE_PID" ] || kill "$FAKE_PID" 2>/dev/null || true
    [ -z "$WSF_PID" ] || kill "$WSF_PID" 2>/dev/null || true
}
export TRADEDESK_ENGINE_LISTEN TRADEDESK_JWT_SECRET
TRADEDESK_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export TRADEDESK_LOG_LEVEL=${TRADEDESK_LOG_LEVEL:-warn}
# One socket per user, all from 127.0.0.1.
export TRADEDESK_STREAM_SOCKETS_PER_ADDRESS=$((USERS + 100))
bench_stack_up tdfills
# DURABLE=1: PostgreSQL as in production, every commit flushed to disk
# before it answers (the stack's TD_FAST=1 turns that off for tests).
if [ "${DURABLE:-0}" = 1 ]; then
    "${PSQL[@]}" -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
        -c "ALTER SYSTEM SET full_page_writes = on" -c "SELECT pg_reload_conf()" >/dev/null
fi
# PG_CONFIG="name=value ...": more server settings for the run (ALTER
# SYSTEM, reloaded), e.g. "log_lock_waits=on deadlock_timeout=1ms" to log
# every lock wait over a millisecond (KEEP=1 keeps the log).  Each is
# reloaded before the next, so that a module one preloads
# (session_preload_libraries=auto_explain) can be set by the next.
for kv in ${PG_CONFIG:-}; do
    "${PSQL[@]}" -c "ALTER SYSTEM SET ${kv%%=*} = '${kv#*=}'" -c "SELECT pg_reload_conf()" >/dev/null
done
# PGSS=1: pg_stat_statements loaded (a restart), every statement counted,
# those inside the functions too (track = all); each phase prints its
# statements by total time (pgss_top).
if [ "${PGSS:-0}" = 1 ]; then
    "${PSQL[@]}" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    "$STACK" --var "$VAR" restart postgres >&2
    "${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
        -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
fi
pgss_top() {
    "${PSQL[@]}" -At -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 1) AS ms,
                                  round((total_exec_time / calls * 1000)::numeric, 1) AS us_each,
                                  left(regexp_replace(query, '\s+', ' ', 'g'), 110)
                                  FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${PGSS_TOP:-25}" |
        sed 's/^/           /'
}
EPORT=$("$STACK" free-port)
FPORT=$("$STACK" free-port)
while [ "$FPORT" = "$EPORT" ]; do FPORT=$("$STACK" free-port); done
TRADEDESK_ENGINE_LISTEN=127.0.0.1:$EPORT
export TRADEDESK_FEEDS=binance TRADEDESK_BINANCE_WS_URL=ws://127.0.0.1:$FPORT/ws
PSQL+=(-At)
"$ROOT/bin/tradedesk" migrate >/dev/null
"$ROOT/bin/tradedesk" seed demo >/dev/null
if [ "$SOCKETS" = 1 ]; then
    make -s -C "$BENCH" OUT="$OUT" "$OUT/mint" >&2
    "$STACK" --var "$VAR" start stream >&2
fi
# Demo orders would fire too: only the bench's orders here.
"${PSQL[@]}" -c "UPDATE conditional_orders SET status = 'cancelled', cancelled_at = now()
                 WHERE status = 'active'" >/dev/null || true

node "$ROOT/tests/integration/fake_exchange.mjs" binance "$FPORT" >"$VAR/log/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$FPORT/control/stats" >/dev/null && break; sleep 0.1; done
price() { curl -sf "http://127.0.0.1:$FPORT/control/price?s=BNBUSDT&p=$1&fixed=1" >/dev/null; }
metric() { curl -sf "http://$TRADEDESK_ENGINE_LISTEN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# The bucket bound holding quantile q of the engine's histogram h (ms;
# default the tick -> fill one).
quantile() {
    local h=${2:-tradedesk_engine_tick_to_fill_seconds}
    curl -sf "http://$TRADEDESK_ENGINE_LISTEN/metrics" | awk -v q="$1" -v h="$h" '
        index($0, h "_bucket") == 1 {
            match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
            n++; bound[n] = le; cum[n] = $2 }
        index($0, h "_count ") == 1 { total = $2 }
        END { rank = q * total; for (i = 1; i <= n; i++) if (cum[i] >= rank) {
                  if (bound[i] == "+Inf") print "inf"; else printf "%.2f\n", bound[i] * 1000; exit } }'
}
# The histogram itself, one "<= bound ms: count" per non-empty bucket.
buckets() {
    curl -sf "http://$TRADEDESK_ENGINE_LISTEN/metrics" | awk '
        /^tradedesk_engine_tick_to_fill_seconds_bucket/ {
            match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
            if ($2 > prev) {
                printf "%s%s: %d", sep, le == "+Inf" ? "inf" : sprintf("%g", le * 1000), $2 - prev
                sep = ", " }
            prev = $2 }
        END { print "" }'
}
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Every PostgreSQL process' CPU (jiffies, as cpu_of): ps' cputimes counts
# whole seconds, and each backend uses less than one in a phase.
cpu_pg() {
    local p
    for p in $(pgrep -x postgres); do cpu_of "$p"; done | awk '{ s += $1 } END { print s + 0 }'
}
# Each PostgreSQL process' CPU, "pid jiffies" a line, and the phase's
# share of it by role: application_name (the engine's lanes, its relay,
# the API) or backend_type (walwriter, checkpointer, autovacuum), for the
# processes that lived through the phase.
cpu_pg_each() { local p; for p in $(pgrep -x postgres); do echo "$p $(cpu_of "$p")"; done; }
cpu_pg_roles() {
    local hz=$1 before=$2
    "${PSQL[@]}" -F ' ' -c "SELECT pid, replace(coalesce(nullif(application_name, ''), backend_type), ' ', '_')
                            FROM pg_stat_activity" |
        awk -v hz="$hz" -v before="$before" '
            BEGIN { while ((getline l < before) > 0) { split(l, f, " "); b[f[1]] = f[2] } }
            NR == FNR { role[$1] = $2; next }
            { if ($1 in b && $1 in role) use[role[$1]] += $2 - b[$1] }
            END { for (r in use) if (use[r] > 0) printf "%s %.2f s, ", r, use[r] / hz; print "" }' \
            - <(cpu_pg_each)
}
# The machine's CPU time so far, "idle total" in jiffies (/proc/stat's
# cpu line: idle and iowait against everything), for the idle share of a
# phase: what the other engineers' work left of the two cores.
machine_cpu() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $5 + $6, t; exit }' /proc/stat; }

phase() {
    local name=$1 tag=$2 spread=0
    [ "$name" != spread ] || spread=1
    "${PSQL[@]}" -v tag="$tag" -v users="$USERS" -v per="$PER" -v spread="$spread" -f "$BENCH/fills_seed.sql" >/dev/null
    price 600
    "$STACK" --var "$VAR" start engine >&2
    local epid
    epid=$(cat "$VAR/run/engine.pid")
    for _ in $(seq 600); do
        [ "$(metric tradedesk_engine_orders_active)" = "$N" ] && break
        sleep 0.1
    done
    [ "$(metric tradedesk_engine_orders_active)" = "$N" ] || die "$name: the monitor did not load $N orders"
    # A second to settle: the load's last page, the lanes' warm-up (a
    # connection's first fill_orders plans its statements, 10-40 ms).
    sleep 1
    # The users' sockets: a session and a token each, all subscribed first.
    local wsf_out=$VAR/ws_fills-$name.txt
    if [ "$SOCKETS" = 1 ]; then
        "${PSQL[@]}" -F ' ' -c "INSERT INTO sessions (id, user_id, expires_at, user_agent)
            SELECT md5(random()::text || u.id), u.id, now() + interval '1 hour', 'bench'
              FROM users u WHERE u.username LIKE '$tag%' RETURNING user_id, id" >"$VAR/sessions-$name.txt"
        "$OUT/mint" 3600 <"$VAR/sessions-$name.txt" >"$VAR/tokens-$name.txt" || die "mint failed"
        node "$BENCH/ws_fills.mjs" "ws://127.0.0.1:$TRADEDESK_HTTP_PORT/ws" "$VAR/tokens-$name.txt" \
            "$N" 300 >"$wsf_out" 2>"$VAR/log/ws_fills-$name.log" &
        WSF_PID=$!
        for _ in $(seq 300); do grep -q '^ready' "$wsf_out" 2>/dev/null && break; sleep 0.1; done
        grep -q '^ready' "$wsf_out" || die "$name: the users' sockets did not subscribe: $(tail -3 "$VAR/log/ws_fills-$name.log")"
    fi
    local pg_pid redis_pid cpu_e0 cpu_p0 cpu_r0 t0 t1
    redis_pid=$(cat "$VAR/run/redis.pid")
    cpu_e0=$(cpu_of "$epid")
    cpu_r0=$(cpu_of "$redis_pid")
    cpu_p0=$(cpu_pg)
    cpu_pg_each >"$VAR/pg-cpu-$name.txt"
    [ "${PGSS:-0}" != 1 ] || "${PSQL[@]}" -c "SELECT pg_stat_statements_reset()" >/dev/null
    local idle0 idle1 fill0
    fill0=$("${PSQL[@]}" -At -c "SELECT coalesce(max(id), 0) FROM fills")
    idle0=$(machine_cpu)
    if [ "$name" = stepped ]; then
        # The venue moves the price itself, a step every STEP_MS pushed at
        # once: no process started per tick beside what is measured.
        curl -sf "http://127.0.0.1:$FPORT/control/ramp?s=BNBUSDT&from=600&step=1&count=$PER&every=$STEP_MS" >/dev/null
        t0=$(calc "$(date +%s.%N) + $STEP_MS / 1000" %.6f)
    elif [ "$name" = spread ]; then
        curl -sf "http://127.0.0.1:$FPORT/control/ramp?s=BNBUSDT&from=600&step=0.01&count=$N&every=$SPREAD_STEP_MS" >/dev/null
        t0=$(calc "$(date +%s.%N) + $SPREAD_STEP_MS / 1000" %.6f)
    else
        t0=$(date +%s.%N)
        price "$((600 + PER + 1))"
    fi
    # Until every order filled: one session counting the phase's fills
    # every 50 ms (\watch), not a psql and a backend started each time,
    # which took a tenth of the two cores from what is measured.  The
    # deadline: the price path's own length and a minute.
    local filled=0 line deadline=$((SECONDS + 60 + (spread ? N * SPREAD_STEP_MS : PER * STEP_MS) / 1000))
    coproc WATCH { printf 'SELECT count(*) FROM fills WHERE id > %s \\watch 0.05\n' "$fill0" |
                   "${PSQL[@]}" -At 2>/dev/null; }
    while [ "$SECONDS" -lt "$deadline" ] && read -r -t 10 line <&"${WATCH[0]}"; do
        [[ $line =~ ^[0-9]+$ ]] || continue
        filled=$line
        [ "$filled" -lt "$N" ] || break
    done
    t1=$(date +%s.%N)
    kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    idle1=$(machine_cpu)
    [ "$filled" = "$N" ] || die "$name: $filled of $N orders filled"
    local twice
    twice=$("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT order_id FROM fills GROUP BY order_id
                             HAVING count(*) > 1) d")
    [ "$twice" = 0 ] || die "$name: $twice orders filled more than once"
    local hz secs
    hz=$(getconf CLK_TCK)
    secs=$(calc "$t1 - $t0")
    printf '%-8s %6d fills in %6.2f s (first tick -> last fill): %7.0f fills/s;' \
        "$name" "$N" "$secs" "$(calc "$N / $secs" %.0f)"
    printf ' tick -> fill p50 <= %s ms, p99 <= %s ms;' "$(quantile 0.5)" "$(quantile 0.99)"
    printf ' CPU s: engine %.2f, redis %.2f, postgres %.2f\n' \
        "$(calc "($(cpu_of "$epid") - $cpu_e0) / $hz")" \
        "$(calc "($(cpu_of "$redis_pid") - $cpu_r0) / $hz")" \
        "$(calc "($(cpu_pg) - $cpu_p0) / $hz")"
    echo "         PostgreSQL's CPU by role: $(cpu_pg_roles "$hz" "$VAR/pg-cpu-$name.txt")"
    echo "         tick -> fill by bucket (upper bound ms: orders): $(buckets)"
    local rw=tradedesk_engine_relay_wake_to_published_seconds pm=tradedesk_engine_fills_pushed_total
    echo "         fills pushed to Redis from their commit (sql/025): $(metric "$pm{result=\"pushed\"}"), left to the relay $(metric "$pm{result=\"relay\"}"), failed $(metric "$pm{result=\"failed\"}") (this phase's)"
    echo "         the relay's batches, from the commit that woke it to Redis' answer: p50 <= $(quantile 0.5 $rw) ms, p99 <= $(quantile 0.99 $rw) ms"
    if [ "${PGSS:-0}" = 1 ]; then
        echo "         statements by total time (calls | ms | us each | query):"
        pgss_top
    fi
    echo "         machine idle during the phase: $(echo "$idle0 $idle1" | awk '{ printf "%.0f %%", 100 * ($3 - $1) / ($4 - $2) }'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$SOCKETS" = 1 ]; then
        wait "$WSF_PID" || die "$name: not every fill reached its socket: $(grep '^SOCKET' "$wsf_out")"
        WSF_PID=
        local sl
        sl=$(grep '^SOCKET' "$wsf_out")
        field() { echo "$sl" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
        [ "$(field dup)" = 0 ] || die "$name: $(field dup) fills reached a socket twice"
        [ "$(field matched)" = "$N" ] || die "$name: only $(field matched) of $N fills matched their order's push"
        echo "         tick -> fill on the user's socket (pushed from the commit or by the relay, Redis, the stream and nginx): p50 $(field p50_ms) ms, p99 $(field p99_ms) ms, max $(field max_ms) ms ($N fills, each once); from the fill transaction's start: p50 $(field tx_p50_ms) ms, p99 $(field tx_p99_ms) ms"
    fi
    "$STACK" --var "$VAR" stop engine >&2
}

say "$N orders over $USERS users per phase; synchronous_commit $("${PSQL[@]}" -c 'SHOW synchronous_commit'), fsync $("${PSQL[@]}" -c 'SHOW fsync'); machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
for p in ${PHASES:-stepped burst}; do
    case $p in
    stepped) phase stepped fs ;;
    burst) phase burst fb ;;
    spread) phase spread fp ;;
    *) die "unknown phase $p (stepped, burst, spread)" ;;
    esac
done
