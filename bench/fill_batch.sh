#!/usr/bin/env bash
# bench/fill_batch.sh - the fill transaction alone, as a lane sends it: one
# PostgreSQL session fills ROUNDS batches of BATCH orders (one order per
# user, each batch its own transaction) and reports the backend's CPU time
# per batch (/proc/<pid>/stat: what neighbours on a shared machine cost in
# wall time but not in CPU) beside the wall time.  The fill path's
# definitions compared alternately in one private stack:
#
#   018   as migrated (sql/018: fill_orders writes its orders' events and
#         NOTIFYs itself, its fills and their outbox rows in one statement)
#   017   as sql/017 left them: sql/008's fill_orders, sql/016's
#         order_events_write, sql/006's and sql/010's triggers for every
#         UPDATE (re-created from those files for the run)
#
#   bench/fill_batch.sh                 # 017 and 018, three times each
#   PAIRS=5 BATCH=100 bench/fill_batch.sh
#
# Seeds BATCH * 2 users (the batches take the even ones; the odd ones stay
# as a second lane's would) with ROUNDS BNB-USDT buy stops each, like
# bench/fills.sh, anew for every run.
set -euo pipefail

BENCH_NAME=fill_batch
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BATCH=${BATCH:-50}
ROUNDS=${ROUNDS:-100}
PAIRS=${PAIRS:-3}
USERS=$((BATCH * 2))

say "building"
make -s -C "$ROOT" bin/tradedesk >&2
bench_stack_up tdfillbatch
PSQL+=(-At)
"$ROOT/bin/tradedesk" migrate >/dev/null
"$ROOT/bin/tradedesk" seed demo >/dev/null # (the instruments; its orders are cancelled below)

# def FILE KIND NAME: the definition of the FUNCTION or TRIGGER NAME in
# FILE, as CREATE OR REPLACE (a function through its closing $$;, a
# trigger through its first line ending in ;).
def() {
    grep -Eq "^CREATE (OR REPLACE )?$2 $3([ (]|$)" "$1" || die "$2 $3 not in $1"
    awk -v head="^CREATE (OR REPLACE )?$2 $3([ (]|\$)" -v fn="$([ "$2" = FUNCTION ] && echo 1)" '
        !on && $0 ~ head { on = 1; sub(/^CREATE (OR REPLACE )?/, "CREATE OR REPLACE ") }
        on { print; if ((fn && /^\$\$;/) || (!fn && /;[ ]*$/)) on = 0 }' "$1"
}
S=$ROOT/sql
BEFORE=$(def "$S/008_fills_set_based.sql" FUNCTION fill_orders
    def "$S/016_order_events_deferred.sql" FUNCTION order_events_write
    def "$S/006_conditional_order_rules.sql" TRIGGER conditional_orders_notify_status
    def "$S/010_order_events.sql" TRIGGER conditional_orders_events_update)
AFTER=$(for d in "FUNCTION fill_orders" "FUNCTION order_events_write" \
    "TRIGGER conditional_orders_notify_status" "TRIGGER conditional_orders_events_update"; do
    def "$S/018_fill_own_events.sql" $d
done)

run() {
    local variant=$1 tag=$2
    "${PSQL[@]}" -c "UPDATE conditional_orders SET status = 'cancelled', cancel_reason = 'user',
                     cancelled_at = now() WHERE status = 'active'" >/dev/null
    "${PSQL[@]}" -v tag="$tag" -v users="$USERS" -v per="$ROUNDS" -f "$BENCH/fills_seed.sql" >/dev/null
    if [ "$variant" = 017 ]; then "${PSQL[@]}" -c "$BEFORE" >/dev/null; else "${PSQL[@]}" -c "$AFTER" >/dev/null; fi
    "${PSQL[@]}" -c "VACUUM ANALYZE conditional_orders" -c "VACUUM ANALYZE outbox" >/dev/null
    "${PSQL[@]}" -c "DROP TABLE IF EXISTS bench_batches" -c "
        CREATE TABLE bench_batches AS
        SELECT row_number() OVER (ORDER BY o.trigger_price) AS k, array_agg(o.id ORDER BY o.id) AS ids
          FROM conditional_orders o JOIN users u ON u.id = o.user_id
         WHERE u.username LIKE '$tag%' AND o.status = 'active' AND o.user_id % 2 = 0
         GROUP BY o.trigger_price" >/dev/null
    local load pid c0 c1 t0 t1 line
    load=$(cut -d' ' -f1 /proc/loadavg)
    coproc SESSION { "${PSQL[@]}"; }
    echo "SELECT pg_backend_pid();" >&"${SESSION[1]}"
    read -r pid <&"${SESSION[0]}"
    # A fill of nothing first: the session's statements planned.
    echo "SELECT count(*) FROM fill_orders(9000000000, '{0}', '{1}', ARRAY[now()]);" >&"${SESSION[1]}"
    read -r line <&"${SESSION[0]}"
    c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    t0=$(date +%s%N)
    cat >&"${SESSION[1]}" <<SQL
DO \$\$ DECLARE b record; BEGIN
    FOR b IN SELECT * FROM bench_batches ORDER BY k LOOP
        PERFORM fill_orders(9000000000, b.ids, array_fill(700::numeric, ARRAY[cardinality(b.ids)]),
                            array_fill(now(), ARRAY[cardinality(b.ids)]));
        COMMIT;
    END LOOP;
END \$\$;
SELECT 'done';
SQL
    read -r line <&"${SESSION[0]}"
    c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    t1=$(date +%s%N)
    echo '\q' >&"${SESSION[1]}"
    wait "$SESSION_PID" 2>/dev/null || true
    local filled
    filled=$("${PSQL[@]}" -c "SELECT count(*) FROM fills f JOIN users u ON u.id = f.user_id
                              WHERE u.username LIKE '$tag%'")
    [ "$filled" = $((BATCH * ROUNDS)) ] || die "$variant: $filled of $((BATCH * ROUNDS)) filled"
    local hz
    hz=$(getconf CLK_TCK)
    printf '%-4s %d batches of %d: CPU %6.2f ms a batch (%4.0f us an order), wall %6.2f ms a batch; load %s -> %s\n' \
        "$variant" "$ROUNDS" "$BATCH" "$(calc "($c1 - $c0) * 1000 / $hz / $ROUNDS" %.2f)" \
        "$(calc "($c1 - $c0) * 1000000 / $hz / $ROUNDS / $BATCH" %.0f)" \
        "$(calc "($t1 - $t0) / 1000000 / $ROUNDS" %.2f)" "$load" "$(cut -d' ' -f1 /proc/loadavg)"
}

say "$PAIRS pairs; machine: $(nproc) cores"
for p in $(seq 1 "$PAIRS"); do
    run 017 "fa${p}x"
    run 018 "fb${p}x"
done
