-- 026_fill_row.sql - the fill a push carries is the row GET /api/v1/fills
-- reads, written by the engine with the API's own fill writer (store/pgjson's
-- td_jw_fill), so the push is what REST answers, field for field.
--
-- sql/025's fill_orders() answered each fill as text built in SQL
-- (outbox_payload_text), which cost a batch of 50 about 10 % more CPU
-- than the same function without it (bench/fill_batch.sh).  Now it
-- answers the fill's columns instead (store/pgjson's TD_FILL_NCOLS, in
-- its order) and the order's trace_id from the locking read; the
-- monitor renders them in C, outside the database and its locks.  The
-- outbox row and the relay are unchanged.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

-- sql/025's (its header, sql/022's, sql/018's and sql/008's say how it
-- works), with the fill's columns in its answer in place of its text.
DROP FUNCTION fill_orders(bigint, bigint[], numeric[], timestamptz[]);
CREATE OR REPLACE FUNCTION fill_orders(p_fence bigint, p_orders bigint[], p_prices numeric[],
                                       p_at timestamptz[])
RETURNS TABLE (order_id bigint, fill_id bigint, outcome text, user_id bigint,
               prev_fill_id bigint, f_id bigint, f_order_id bigint, f_symbol text,
               f_side text, f_quantity numeric, f_price numeric, f_realized_pnl numeric,
               f_position_id bigint, f_created_ms bigint, f_trace_id text)
LANGUAGE plpgsql
-- Plan each statement once per connection: left to choose, the plan cache
-- keeps planning them anew for every batch (custom plans look cheaper for
-- the array sizes at hand), about 1 ms a batch, the cost of a small one.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fence   bigint;
    nb      int := coalesce(array_length(p_orders, 1), 0);
    -- The batch's orders as locked (l_*), in id order, each once.
    l_id     bigint[];
    l_ok     boolean[];     -- active
    l_user   bigint[];
    l_symbol text[];
    l_side   text[];
    l_qty    numeric[];
    l_pos    bigint[];
    l_grp    bigint[];
    l_trace  text[];
    -- Per entry of p_orders, set for the entries the fold decides.
    b_user   bigint[] := array_fill(NULL::bigint, ARRAY[nb]);
    b_symbol text[] := array_fill(NULL::text, ARRAY[nb]);
    b_side   text[] := array_fill(NULL::text, ARRAY[nb]);
    b_at     timestamptz[] := array_fill(NULL::timestamptz, ARRAY[nb]);
    -- Outcomes, per entry.
    r_outcome text[] := array_fill('skipped'::text, ARRAY[nb]);
    r_status  text[] := array_fill(NULL::text, ARRAY[nb]); -- the order's new status
    r_fill    bigint[] := array_fill(NULL::bigint, ARRAY[nb]);
    r_fqty    numeric[] := array_fill(NULL::numeric, ARRAY[nb]);
    r_pnl     numeric[] := array_fill(NULL::numeric, ARRAY[nb]);
    r_posid   bigint[] := array_fill(NULL::bigint, ARRAY[nb]);
    r_prev    bigint[] := array_fill(NULL::bigint, ARRAY[nb]); -- the user's fill before this one
    -- Positions (slots): the locked ones, then those the batch opens.
    s_id     bigint[];
    s_user   bigint[];
    s_symbol text[];
    s_side   text[];
    s_key    text[];        -- its (user, symbol, side)
    s_qty    numeric[];
    s_entry  numeric[];
    s_pnl    numeric[];
    s_open   boolean[];
    s_dirty  boolean[];
    ns       int;
    nlocked  int;
    -- The open position of each (user, symbol, side) the batch has seen:
    -- k_slot[n] is the slot of k_key[n]'s, 0 once it closed.
    k_key    text[] := '{}';
    k_slot   int[] := '{}';
    -- Accounts, by user.
    a_user   bigint[];
    a_cash   numeric[];
    a_dirty  boolean[];
    a_last   bigint[];      -- the user's newest fill (accounts.last_fill_id), as the batch moves it
    g_done   bigint[] := '{}'; -- OCO groups with a leg decided in this batch
    pos_seq  regclass := 'positions_id_seq'::regclass; -- (bigserial's; looked up: 2 x 11 us)
    fill_seq regclass := 'fills_id_seq'::regclass;
    depth    text;
    i int; j int; s int; a int; n int;
    grp bigint; px numeric; qty numeric; pnl numeric; closing text; opening text;
BEGIN
    SELECT token INTO fence FROM engine_fence WHERE name = 'monitor' FOR SHARE;
    IF p_fence < fence THEN
        RAISE EXCEPTION 'stale fencing token % (the fence is at %)', p_fence, fence
            USING ERRCODE = 'TD001';
    END IF;
    IF nb <> coalesce(array_length(p_prices, 1), 0) OR nb <> coalesce(array_length(p_at, 1), 0) THEN
        RAISE EXCEPTION 'fill_orders: % orders, % prices, % times',
            array_length(p_orders, 1), array_length(p_prices, 1), array_length(p_at, 1);
    END IF;
    IF nb = 0 THEN
        RETURN;
    END IF;
    -- The orders' UPDATE below is this call's only statement on orders at
    -- this trigger depth: sql/006's NOTIFY and sql/010's event trigger
    -- leave its rows to what follows it here.  What a trigger changes in
    -- its turn (an OCO sibling, a closed position's orders) runs deeper and
    -- is theirs.  Unset before returning (an error undoes it with the rest).
    depth := set_config('td.fill_orders', pg_trigger_depth()::text, true);

    -- Locks, each in one statement and a fixed order: the orders, their
    -- positions, their users' accounts.  Each aggregate reads its
    -- subquery's rows in the subquery's order (no join above it), so the
    -- arrays of one statement line up, in id order.
    SELECT array_agg(c.id), array_agg(c.status = 'active'), array_agg(c.user_id),
           array_agg(c.symbol), array_agg(c.side), array_agg(c.quantity),
           array_agg(c.position_id), array_agg(c.oco_group_id), array_agg(c.trace_id)
      INTO l_id, l_ok, l_user, l_symbol, l_side, l_qty, l_pos, l_grp, l_trace
      FROM (SELECT x.id, x.status, x.user_id, x.symbol, x.side, x.quantity, x.position_id,
                   x.oco_group_id, x.trace_id
              FROM conditional_orders x
             WHERE x.id = ANY (p_orders) ORDER BY x.id FOR UPDATE) c;
    -- The active ones' own positions, and every open one of their users
    -- and symbols (what an order without a position closes, adds to or
    -- opens beside).
    SELECT array_agg(q.id), array_agg(q.user_id), array_agg(q.symbol), array_agg(q.side),
           array_agg(q.quantity), array_agg(q.entry_price), array_agg(q.realized_pnl),
           array_agg(q.status = 'open')
      INTO s_id, s_user, s_symbol, s_side, s_qty, s_entry, s_pnl, s_open
      FROM (SELECT x.* FROM positions x
             WHERE x.id = ANY (ARRAY(SELECT w.pos FROM unnest(l_pos, l_ok) AS w(pos, ok)
                                      WHERE w.ok AND w.pos IS NOT NULL) || ARRAY(
                       SELECT y.id
                         FROM (SELECT DISTINCT w.u, w.sym FROM unnest(l_user, l_symbol, l_ok) AS w(u, sym, ok)
                                WHERE w.ok) w,
                              LATERAL (SELECT z.id FROM positions z
                                        WHERE z.user_id = w.u AND z.symbol = w.sym AND z.status = 'open'
                                       OFFSET 0) y)) -- (probes, not a scan of every open one)
             ORDER BY x.id FOR UPDATE) q;
    SELECT array_agg(q.user_id), array_agg(q.cash_balance), array_agg(q.last_fill_id)
      INTO a_user, a_cash, a_last
      FROM (SELECT x.user_id, x.cash_balance, x.last_fill_id FROM accounts x
             WHERE x.user_id = ANY (ARRAY(SELECT w.u FROM unnest(l_user, l_ok) AS w(u, ok) WHERE w.ok))
             ORDER BY x.user_id FOR UPDATE) q;
    nlocked := coalesce(array_length(s_id, 1), 0);
    ns := nlocked;
    s_key := array_fill(NULL::text, ARRAY[greatest(nlocked, 1)]);
    s_dirty := array_fill(false, ARRAY[greatest(nlocked, 1)]);
    FOR s IN 1 .. nlocked LOOP
        s_key[s] := s_user[s] || ' ' || s_symbol[s] || ' ' || s_side[s];
        IF s_open[s] THEN -- (one a key: positions_one_open)
            k_key := k_key || s_key[s];
            k_slot := k_slot || s;
        END IF;
    END LOOP;
    a_dirty := array_fill(false, ARRAY[greatest(coalesce(array_length(a_user, 1), 0), 1)]);

    -- The fold: 007's loop, on the arrays.
    FOR i IN 1 .. nb LOOP
        -- Not active (any more): filled, cancelled, expired, or gone; or
        -- named earlier in the batch, or its OCO group already decided.
        j := array_position(l_id, p_orders[i]);
        IF j IS NULL OR NOT l_ok[j] OR array_position(p_orders, p_orders[i]) < i THEN
            CONTINUE;
        END IF;
        grp := l_grp[j];
        IF grp = ANY (g_done) THEN
            CONTINUE;
        END IF;
        b_user[i] := l_user[j];
        b_symbol[i] := l_symbol[j];
        b_side[i] := l_side[j];
        b_at[i] := LEAST(p_at[i], now()); -- the tick's time (never after the fill's)
        IF grp IS NOT NULL THEN -- (every path below decides the group's leg)
            g_done := g_done || grp;
        END IF;
        px := p_prices[i];
        closing := CASE l_side[j] WHEN 'sell' THEN 'long' ELSE 'short' END;
        IF l_pos[j] IS NOT NULL THEN
            -- Its own position.  Closed earlier in this batch: then 006's
            -- trigger expires it with the position's other orders when the
            -- positions are written below (and, as in 007, not before).
            -- Gone, closed before or on the wrong side: expired here.
            s := array_position(s_id, l_pos[j]);
            IF s IS NOT NULL AND s_dirty[s] AND NOT s_open[s] THEN
                CONTINUE;
            ELSIF s IS NULL OR NOT s_open[s] OR s_side[s] <> closing THEN
                r_status[i] := 'expired';
                CONTINUE;
            END IF;
        ELSE
            s := coalesce(k_slot[array_position(k_key, l_user[j] || ' ' || l_symbol[j] || ' ' || closing)], 0);
        END IF;
        a := array_position(a_user, l_user[j]);

        IF s <> 0 THEN
            qty := LEAST(l_qty[j], s_qty[s]);
            pnl := CASE closing WHEN 'long' THEN (px - s_entry[s]) * qty
                                ELSE (s_entry[s] - px) * qty END;
        ELSE
            qty := l_qty[j];
            pnl := 0;
            IF a IS NULL OR a_cash[a] < px * qty THEN
                r_status[i] := 'rejected';
                r_outcome[i] := 'rejected';
                CONTINUE;
            END IF;
        END IF;

        r_status[i] := 'filled';
        IF s <> 0 THEN
            -- Reduce, or close at zero (a closed position keeps its quantity).
            IF s_qty[s] = qty THEN
                s_open[s] := false;
                n := array_position(k_key, s_key[s]);
                IF k_slot[n] = s THEN
                    k_slot[n] := 0;
                END IF;
            ELSE
                s_qty[s] := s_qty[s] - qty;
            END IF;
            s_pnl[s] := round(s_pnl[s] + pnl, 8);
            s_dirty[s] := true;
            IF a IS NOT NULL THEN -- (no account: 007's UPDATE changed nothing)
                a_cash[a] := round(a_cash[a] + s_entry[s] * qty + pnl, 8);
            END IF;
        ELSE
            -- Opens (or adds to, at the average price) one in its own direction.
            a_cash[a] := round(a_cash[a] - px * qty, 8);
            opening := CASE l_side[j] WHEN 'buy' THEN 'long' ELSE 'short' END;
            n := array_position(k_key, l_user[j] || ' ' || l_symbol[j] || ' ' || opening);
            s := coalesce(k_slot[n], 0);
            IF s <> 0 THEN
                s_entry[s] := round((s_entry[s] * s_qty[s] + px * qty) / (s_qty[s] + qty), 8);
                s_qty[s] := s_qty[s] + qty;
                s_dirty[s] := true;
            ELSE
                ns := ns + 1;
                s := ns;
                s_id[s] := nextval(pos_seq);
                s_user[s] := l_user[j];
                s_symbol[s] := l_symbol[j];
                s_side[s] := opening;
                s_key[s] := l_user[j] || ' ' || l_symbol[j] || ' ' || opening;
                s_qty[s] := qty;
                s_entry[s] := round(px, 8);
                s_pnl[s] := 0;
                s_open[s] := true;
                s_dirty[s] := true;
                IF n IS NULL THEN
                    k_key := k_key || s_key[s];
                    k_slot := k_slot || s;
                ELSE
                    k_slot[n] := s;
                END IF;
            END IF;
        END IF;
        IF a IS NOT NULL THEN
            IF a_cash[a] < 0 THEN -- where 007's UPDATE of the account failed
                RAISE EXCEPTION 'new row for relation "accounts" violates check constraint "accounts_cash_balance_check"'
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_cash_balance_check';
            END IF;
            a_dirty[a] := true;
        END IF;
        r_fill[i] := nextval(fill_seq);
        IF a IS NOT NULL THEN -- (the account's row is locked: the user's fills are numbered in turn)
            r_prev[i] := a_last[a];
            a_last[a] := r_fill[i];
        END IF;
        r_fqty[i] := qty;
        r_pnl[i] := pnl;
        r_posid[i] := s_id[s];
        r_outcome[i] := 'filled';
    END LOOP;

    -- The writes, each only when it has rows.  Orders first: what reacts to
    -- an order leaving active (its OCO sibling) sees it filled, and the
    -- positions closed next expire only their other orders.
    IF cardinality(array_remove(r_status, NULL)) > 0 THEN
        UPDATE conditional_orders c
           SET status = v.st,
               cancel_reason = CASE v.st WHEN 'rejected' THEN 'rejected'
                                         WHEN 'expired' THEN 'position_closed' END,
               triggered_at = CASE WHEN v.st = 'filled' THEN v.at ELSE c.triggered_at END,
               triggered_price = CASE WHEN v.st = 'filled' THEN v.px ELSE c.triggered_price END,
               filled_at = CASE WHEN v.st = 'filled' THEN now() ELSE c.filled_at END,
               updated_at = now()
          FROM unnest(p_orders, r_status, p_prices, b_at) AS v(id, st, px, at)
         WHERE c.id = v.id AND v.st IS NOT NULL AND c.id = ANY (p_orders); -- (by index, whatever the table's size)
        -- What the two triggers skipped for that UPDATE: each changed
        -- order's event (sql/016's short form: every status written here is
        -- final), in order id order under its user's shared lock, as
        -- order_events_write writes them; and its NOTIFY, sql/006's payload.
        -- The lock and the NOTIFY are taken row by row in the subquery, in
        -- id order, before the INSERT draws that row's id.
        INSERT INTO outbox (topic, key, payload)
        SELECT 'orders', e.user_id::text, order_event_final(e.id, e.st)
          FROM (SELECT v.id, v.user_id, v.st,
                       pg_advisory_xact_lock_shared(1869767781, (v.user_id % 2147483647)::int) AS locked,
                       pg_notify('td_orders', json_build_object(
                           'id', v.id::text, 'user_id', v.user_id::text, 'symbol', v.symbol,
                           'status', v.st, 'op', 'update')::text) AS notified
                  FROM unnest(p_orders, b_user, b_symbol, r_status) AS v(id, user_id, symbol, st)
                 WHERE v.st IS NOT NULL
                 ORDER BY v.id) e;
    END IF;

    -- The positions the batch changed and its users' cash, in one
    -- statement (sql/006's trigger expires a closed position's orders at
    -- its end, as at the end of the positions' own UPDATE before), then the
    -- positions it opened.
    IF true = ANY (s_dirty[1:nlocked]) OR true = ANY (a_dirty) THEN
        WITH changed AS (
            UPDATE positions p
               SET quantity = v.qty, entry_price = v.entry, realized_pnl = v.pnl,
                   status = CASE WHEN v.open THEN 'open' ELSE 'closed' END,
                   closed_at = CASE WHEN v.open THEN p.closed_at ELSE now() END,
                   updated_at = now()
              FROM unnest(s_id[1:nlocked], s_qty[1:nlocked], s_entry[1:nlocked], s_pnl[1:nlocked],
                          s_open[1:nlocked], s_dirty[1:nlocked]) AS v(id, qty, entry, pnl, open, dirty)
             WHERE p.id = v.id AND v.dirty AND p.id = ANY (s_id[1:nlocked])
            RETURNING p.id)
        UPDATE accounts x SET cash_balance = v.cash, last_fill_id = v.last, updated_at = now()
          FROM unnest(a_user, a_cash, a_dirty, a_last) AS v(user_id, cash, dirty, last)
         WHERE x.user_id = v.user_id AND v.dirty AND x.user_id = ANY (a_user);
    END IF;
    IF ns > nlocked THEN
        INSERT INTO positions (id, user_id, symbol, side, quantity, entry_price, realized_pnl,
                               status, closed_at)
        SELECT v.id, v.user_id, v.symbol, v.side, v.qty, v.entry, v.pnl,
               CASE WHEN v.open THEN 'open' ELSE 'closed' END,
               CASE WHEN v.open THEN NULL ELSE now() END
          FROM unnest(s_id[nlocked + 1:ns], s_user[nlocked + 1:ns], s_symbol[nlocked + 1:ns],
                      s_side[nlocked + 1:ns], s_qty[nlocked + 1:ns], s_entry[nlocked + 1:ns],
                      s_pnl[nlocked + 1:ns], s_open[nlocked + 1:ns])
               WITH ORDINALITY AS v(id, user_id, symbol, side, qty, entry, pnl, open, n)
         ORDER BY v.n;
    END IF;

    -- The fills and their outbox rows, in the batch's order (fill ids were
    -- drawn in it), in one statement.  The payload is the fill as GET
    -- /api/v1/fills shows it (openapi's Fill), so the stream pushes what
    -- REST answers; the key says whose.  Amounts at the columns' scale, as
    -- stored (an averaged entry price gives P&L past 8 decimals, which the
    -- column rounds): the inserted row's.
    IF cardinality(array_remove(r_fill, NULL)) > 0 THEN
        WITH f AS (
            INSERT INTO fills (id, order_id, user_id, symbol, side, quantity, price, realized_pnl,
                               position_id)
            SELECT v.fid, v.oid, v.user_id, v.symbol, v.side, v.qty, v.px, v.pnl, v.pos
              FROM unnest(r_fill, p_orders, b_user, b_symbol, b_side, r_fqty, p_prices, r_pnl, r_posid)
                   WITH ORDINALITY AS v(fid, oid, user_id, symbol, side, qty, px, pnl, pos, n)
             WHERE v.fid IS NOT NULL
             ORDER BY v.n
            RETURNING fills.*)
        INSERT INTO outbox (topic, key, payload)
        SELECT 'fills', f.user_id::text, jsonb_build_object(
                   'id', f.id::text, 'order_id', f.order_id::text, 'symbol', f.symbol,
                   'side', f.side, 'quantity', td_money_text(f.quantity),
                   'price', td_money_text(f.price), 'realized_pnl', td_money_text(f.realized_pnl),
                   'position_id', f.position_id::text, 'created_at', td_time_text(now()))
          FROM f
         ORDER BY f.id;
    END IF;

    depth := set_config('td.fill_orders', '', true);
    -- Each entry's outcome; a fill's with its user, the user's fill before
    -- it and the fill's row as GET /api/v1/fills reads it (store/pgjson's
    -- columns, its order's trace_id), for the engine to push at once
    -- (engine/monitor.c).  The row by its key, each on its own (a plan
    -- that scanned the table would grow with it).
    RETURN QUERY
    SELECT v.oid, v.fid, v.outcome, CASE WHEN v.fid IS NOT NULL THEN v.user_id END, v.prev,
           f.id, f.order_id, f.symbol::text, f.side::text, f.quantity::numeric, f.price::numeric,
           f.realized_pnl::numeric, f.position_id, (EXTRACT(EPOCH FROM f.created_at) * 1000)::bigint,
           CASE WHEN f.id IS NOT NULL THEN l_trace[array_position(l_id, v.oid)] END
      FROM unnest(p_orders, r_fill, r_outcome, b_user, r_prev)
           WITH ORDINALITY AS v(oid, fid, outcome, user_id, prev, n)
      LEFT JOIN LATERAL (SELECT x.* FROM fills x WHERE x.id = v.fid OFFSET 0) f ON true
     ORDER BY v.n;
END
$$;
