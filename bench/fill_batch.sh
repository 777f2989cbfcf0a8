#!/usr/bin/env bash
# bench/fill_batch.sh - the fill transaction alone, as a lane sends it: one
# PostgreSQL session fills batches of BATCH orders (one order per user,
# each batch its own transaction), alternating batch by batch between the
# fill_orders() a migration defined before and the one migrated, and
# reports per variant the backend's CPU time per batch (/proc/self/schedstat
# read by the backend before and after each batch and its commit:
# nanoseconds, and what neighbours on a shared machine cost in wall time
# but not in CPU) beside the wall time:
#
#   new   as migrated
#   old   the fill_orders() of sql/OLD_*.sql (default 018), installed
#         beside it as fill_orders_old, under the same schema and triggers
#         (sql/018's WHEN lets sql/006's NOTIFY and sql/010's events fire
#         for an UPDATE of sql/008's, the work they did before sql/018)
#
#   bench/fill_batch.sh                 # ROUNDS=100 batches of BATCH=50 each
#   BATCH=1 ROUNDS=400 bench/fill_batch.sh
#   OLD=008 BATCH=1 bench/fill_batch.sh       # against sql/008's
#   SQL=try.sql BATCH=1 bench/fill_batch.sh   # a schema change tried first
#   GAP_MS=45 bench/fill_batch.sh       # the session idle 45 ms after each batch,
#                                       # as a lane between the stepped phase's ticks
#
# Seeds BATCH * 2 users (the batches take the even ones; the odd ones stay
# as a second lane's would) with 2 * ROUNDS BNB-USDT buy stops each, like
# bench/fills.sh; the k-th batch fills every even user's k-th order, the
# batches taken in pairs, one of each variant (which first varies), so both
# add to the same positions.  The first pair (the positions opened) is left
# out of the figures.  Per batch, schedstat's CPU time moves by clock ticks:
# its mean over many batches is the figure, its median is not.  A schema
# change (SQL=) applies to both variants: compare runs with and without it,
# interleaved, by their ratio to the old variant of the same run.
set -euo pipefail

BENCH_NAME=fill_batch
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BATCH=${BATCH:-50}
ROUNDS=${ROUNDS:-100}
GAP_MS=${GAP_MS:-0}
USERS=$((BATCH * 2))

say "building"
make -s -C "$ROOT" bin/tradedesk >&2
bench_stack_up tdfillbatch
PSQL+=(-At)
"$ROOT/bin/tradedesk" migrate >/dev/null
"$ROOT/bin/tradedesk" seed demo >/dev/null # (the instruments; its orders are cancelled below)
# SQL=FILE: run after the migrations, e.g. a schema change tried (the
# same command without it, in turns, is what it is measured against).
[ -z "${SQL:-}" ] || "${PSQL[@]}" -v ON_ERROR_STOP=1 -f "$SQL" >/dev/null

# The older fill_orders as fill_orders_old.
OLD=${OLD:-018}
old=$(sed -n '/^CREATE OR REPLACE FUNCTION fill_orders(/,/^\$\$;/p' "$ROOT"/sql/"$OLD"_*.sql |
    sed 's/^CREATE OR REPLACE FUNCTION fill_orders(/CREATE FUNCTION fill_orders_old(/')
[ -n "$old" ] || die "no fill_orders in sql/${OLD}_*.sql"
"${PSQL[@]}" -c "$old" >/dev/null

"${PSQL[@]}" -c "UPDATE conditional_orders SET status = 'cancelled', cancel_reason = 'user',
                 cancelled_at = now() WHERE status = 'active'" >/dev/null
"${PSQL[@]}" -v tag=fb -v users="$USERS" -v per=$((ROUNDS * 2)) -v spread=0 -f "$BENCH/fills_seed.sql" >/dev/null
"${PSQL[@]}" -c "VACUUM ANALYZE conditional_orders" -c "VACUUM ANALYZE outbox" -c "
    CREATE TABLE bench_batches AS
    SELECT row_number() OVER (ORDER BY o.trigger_price) AS k, array_agg(o.id ORDER BY o.id) AS ids
      FROM conditional_orders o JOIN users u ON u.id = o.user_id
     WHERE u.username LIKE 'fb%' AND o.status = 'active' AND o.user_id % 2 = 0
     GROUP BY o.trigger_price" -c "
    CREATE TABLE bench_times (variant text, k bigint, cpu_ns bigint, wall_ns bigint)" >/dev/null

# "IDLE TOTAL": the machine's idle and total CPU time so far (/proc/stat).
idle_total() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $5 + $6, t }' /proc/stat; }

say "$ROUNDS batches of $BATCH a variant, alternating; machine: $(nproc) cores"
load0=$(cut -d' ' -f1 /proc/loadavg)
i0=$(idle_total)
"${PSQL[@]}" -v gap="$GAP_MS" <<'SQL' >/dev/null
SET bench.gap_ms = :'gap';
-- A fill of nothing first, with each: the session's statements planned.
SELECT count(*) FROM fill_orders(9000000000, '{0}', '{1}', ARRAY[now()]);
SELECT count(*) FROM fill_orders_old(9000000000, '{0}', '{1}', ARRAY[now()]);
DO $$
DECLARE
    b record; v text; c0 bigint; t0 timestamptz; n int;
BEGIN
    FOR b IN SELECT * FROM bench_batches ORDER BY k LOOP
        -- One of each pair of batches each, in an order that varies from
        -- pair to pair (a fixed one beats with the clock tick that
        -- schedstat's CPU time moves by).
        v := CASE WHEN (b.k % 2 = 1) = (hashint8((b.k + 1) / 2) % 2 = 0) THEN 'old' ELSE 'new' END;
        n := cardinality(b.ids);
        c0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
        t0 := clock_timestamp();
        IF v = 'old' THEN
            PERFORM fill_orders_old(9000000000, b.ids, array_fill(700::numeric, ARRAY[n]),
                                    array_fill(now(), ARRAY[n]));
        ELSE
            PERFORM fill_orders(9000000000, b.ids, array_fill(700::numeric, ARRAY[n]),
                                array_fill(now(), ARRAY[n]));
        END IF;
        COMMIT;
        INSERT INTO bench_times
        VALUES (v, b.k, split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - c0,
                (extract(epoch FROM clock_timestamp() - t0) * 1e9)::bigint);
        COMMIT;
        PERFORM pg_sleep(current_setting('bench.gap_ms')::int / 1000.0);
    END LOOP;
END $$;
SQL
i1=$(idle_total)
filled=$("${PSQL[@]}" -c "SELECT count(*) FROM fills f JOIN users u ON u.id = f.user_id WHERE u.username LIKE 'fb%'")
[ "$filled" = $((BATCH * ROUNDS * 2)) ] || die "$filled of $((BATCH * ROUNDS * 2)) filled"

"${PSQL[@]}" -F ' ' -c "
    SELECT variant, count(*), round(avg(cpu_ns) / 1e6, 3), round(avg(cpu_ns) / 1e3 / $BATCH),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_ns) / 1e6)::numeric, 3),
           round((percentile_cont(0.99) WITHIN GROUP (ORDER BY wall_ns) / 1e6)::numeric, 3)
      FROM bench_times WHERE k > 2 GROUP BY variant ORDER BY variant" |
    while read -r v n mean per wall50 wall99; do
        [ "$v" = old ] && v="old (sql/$OLD)" || v="new (as migrated)"
        printf '%-17s  %d batches of %d: CPU %7.3f ms a batch (%4d us an order), wall p50 %7.3f ms, p99 %7.3f ms\n' \
            "$v" "$n" "$BATCH" "$mean" "$per" "$wall50" "$wall99"
    done
say "load $load0 -> $(cut -d' ' -f1 /proc/loadavg); machine idle $(calc "100 * (${i1% *} - ${i0% *}) / (${i1#* } - ${i0#* })" %.0f) % during the batches (of $(nproc) cores; the session keeps one busy)"
