-- 018_fill_own_events.sql - the fill transaction's fixed cost
-- (docs/performance.md, "Engine: conditional orders end to end", the fill
-- transaction alone): fill_orders() (sql/008) writes its own orders' event
-- rows and NOTIFYs in one statement instead of sql/010's statement trigger
-- and sql/006's row trigger doing it for its UPDATE; its fills and their
-- outbox rows are one statement; a statement with no rows is not run; and
-- the positions' and accounts' rows are found by index, not by a scan of
-- the table.  Same rows written, same payloads, same NOTIFYs, same rules.
--
-- Why: measured per call (pg_stat_statements, track = all), the batch's
-- orders UPDATE cost three to four times the UPDATE itself: sql/010's
-- trigger (a PL/pgSQL call with the statement's old and new rows as
-- transition tables, their hash join, a second PL/pgSQL function for the
-- INSERT) and sql/006's NOTIFY trigger, a PL/pgSQL call per row.  Every
-- row fill_orders changes is an order leaving active for a final status
-- it chose (filled, rejected, expired), so the event of each is sql/016's
-- short form and its NOTIFY sql/006's payload with op "update": both
-- known without reading the rows back.  And sql/008's generic plans (the
-- batch's arrays estimated at 10 rows) joined the positions and accounts
-- UPDATEs and the open-position lookup to a sequential scan of the whole
-- table, a cost that grew with the number of users.
--
-- How the triggers tell fill_orders' UPDATE from every other writer's:
-- fill_orders sets td.fill_orders (a custom setting, local to the
-- transaction) to its trigger depth while it runs and unsets it before it
-- returns (an error undoes it with the rest), and the two triggers' WHEN
-- skip a statement at that depth while it is set.  What a trigger changes
-- in its turn runs one deeper (sql/006's OCO sibling cancelled inside the
-- orders' UPDATE, a closed position's orders expired inside the
-- positions'), so those keep their event and NOTIFY from the triggers.
-- The order events' ids keep sql/010's order: the cancelled sibling's
-- (inside the UPDATE), the batch's own by order id (right after it), a
-- closed position's expired orders (in the positions' UPDATE), the fills'
-- outbox rows in the batch's order last.  The NOTIFYs, all delivered at
-- commit, come in another order (the sibling's before its filled leg's,
-- the batch's by id): the monitor only drops each order it names.
--
-- The monitor (src/engine/monitor.c) keeps hearing every status change,
-- its own fills' too: it drops a fired order from its index at once, but a
-- resync's page read while the fill is in flight can put it back, and the
-- fill's NOTIFY is what takes it out again.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

-- sql/016's short event of an order in a final status (the relay renders
-- it in full when it publishes it); one definition for its two writers.
-- STABLE as jsonb_build_object is, so that the planner inlines it.
CREATE FUNCTION order_event_final(p_id bigint, p_status text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('type', 'order', 'deferred', true, 'data',
                              jsonb_build_object('id', p_id::text, 'status', p_status))
$$;

CREATE OR REPLACE FUNCTION order_events_write(p_orders conditional_orders[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, key, payload)
    SELECT 'orders', e.user_id::text, e.payload
      FROM (SELECT n.user_id,
                   CASE WHEN n.status IN ('filled', 'cancelled', 'expired', 'rejected')
                        THEN order_event_final(n.id, n.status)
                        ELSE jsonb_build_object('type', 'order', 'data', order_event_data(n)) END
                       AS payload,
                   pg_advisory_xact_lock_shared(1869767781, (n.user_id % 2147483647)::int) AS locked
              FROM unnest(p_orders) AS n) e; -- (in the array's order: unnest reads it out so)
END
$$;

-- sql/006's and sql/010's triggers, but for fill_orders' own UPDATE.
CREATE OR REPLACE TRIGGER conditional_orders_notify_status
    AFTER UPDATE OF status ON conditional_orders
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          AND current_setting('td.fill_orders', true) IS DISTINCT FROM pg_trigger_depth()::text)
    EXECUTE FUNCTION conditional_orders_notify();

CREATE OR REPLACE TRIGGER conditional_orders_events_update
    AFTER UPDATE ON conditional_orders
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT
    WHEN (current_setting('td.fill_orders', true) IS DISTINCT FROM pg_trigger_depth()::text)
    EXECUTE FUNCTION conditional_orders_events_update();

-- sql/008's (its header says how it works), with the writes described above,
-- the marker, the index probes, and the sequences named, not looked up.
CREATE OR REPLACE FUNCTION fill_orders(p_fence bigint, p_orders bigint[], p_prices numeric[],
                                       p_at timestamptz[])
RETURNS TABLE (order_id bigint, fill_id bigint, outcome text)
LANGUAGE plpgsql
-- Plan each statement once per connection: left to choose, the plan cache
-- keeps planning them anew for every batch (custom plans look cheaper for
-- the array sizes at hand), about 1 ms a batch, the cost of a small one.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    fence   bigint;
    nb      int := coalesce(array_length(p_orders, 1), 0);
    -- The batch, in its order (b_*), one entry per element of p_orders.
    b_ok     boolean[];     -- the order exists and is active (as locked)
    b_first  boolean[];     -- first occurrence of its id in the batch
    b_user   bigint[];
    b_symbol text[];
    b_side   text[];
    b_qty    numeric[];
    b_at     timestamptz[];
    b_pos    int[];         -- slot of its position_id (0: none, NULL: not found)
    b_grp    int[];         -- its OCO group (0: none)
    b_acct   int[];         -- its user's account
    b_kclose int[];         -- key of the (user, symbol, side) it closes
    b_kopen  int[];         -- and of the one it opens
    -- Outcomes, per entry.
    r_outcome text[] := array_fill(NULL::text, ARRAY[nb]);
    r_status  text[] := array_fill(NULL::text, ARRAY[nb]); -- the order's new status
    r_fill    bigint[] := array_fill(NULL::bigint, ARRAY[nb]);
    r_fqty    numeric[] := array_fill(NULL::numeric, ARRAY[nb]);
    r_pnl     numeric[] := array_fill(NULL::numeric, ARRAY[nb]);
    r_posid   bigint[] := array_fill(NULL::bigint, ARRAY[nb]);
    -- Positions (slots): the locked ones, then those the batch opens.
    s_id     bigint[];
    s_user   bigint[];
    s_symbol text[];
    s_side   text[];
    s_key    int[];
    s_qty    numeric[];
    s_entry  numeric[];
    s_pnl    numeric[];
    s_open   boolean[];
    s_dirty  boolean[];
    ns       int;
    nlocked  int;
    k_open   int[];         -- per key: the slot of its open position, 0 if none
    -- What the batch's active orders touch.
    o_user   bigint[];
    o_symbol text[];
    o_pos    bigint[];
    -- Accounts, by user.
    a_user   bigint[];
    a_cash   numeric[];
    a_dirty  boolean[];
    g_done   boolean[];     -- per OCO group: a leg left active in this batch
    nkeys    int;
    ngroups  int;
    pos_seq  regclass := 'positions_id_seq'::regclass; -- (bigserial's; looked up: 2 x 11 us)
    fill_seq regclass := 'fills_id_seq'::regclass;
    depth    text;
    i int; s int; a int;
    px numeric; qty numeric; pnl numeric; closing text;
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

    -- Locks, each in one statement and a fixed order: the orders (noting
    -- what the active ones touch), their positions, their users' accounts.
    SELECT array_agg(c.user_id) FILTER (WHERE c.status = 'active'),
           array_agg(c.symbol) FILTER (WHERE c.status = 'active'),
           array_agg(c.position_id) FILTER (WHERE c.status = 'active' AND c.position_id IS NOT NULL)
      INTO o_user, o_symbol, o_pos
      FROM (SELECT x.user_id, x.symbol, x.position_id, x.status FROM conditional_orders x
             WHERE x.id = ANY (p_orders) ORDER BY x.id FOR UPDATE) c;
    -- Their own positions, and every open one of their users and symbols
    -- (what an order without a position closes, adds to or opens beside).
    SELECT array_agg(q.id ORDER BY q.id), array_agg(q.user_id ORDER BY q.id),
           array_agg(q.symbol ORDER BY q.id), array_agg(q.side ORDER BY q.id),
           array_agg(q.quantity ORDER BY q.id), array_agg(q.entry_price ORDER BY q.id),
           array_agg(q.realized_pnl ORDER BY q.id), array_agg(q.status = 'open' ORDER BY q.id)
      INTO s_id, s_user, s_symbol, s_side, s_qty, s_entry, s_pnl, s_open
      FROM (SELECT x.* FROM positions x
             WHERE x.id = ANY (o_pos || ARRAY(
                       SELECT y.id FROM (SELECT DISTINCT w.u, w.sym FROM unnest(o_user, o_symbol) AS w(u, sym)) w,
                              LATERAL (SELECT z.id FROM positions z
                                        WHERE z.user_id = w.u AND z.symbol = w.sym AND z.status = 'open'
                                       OFFSET 0) y)) -- (probes, not a scan of every open one)
             ORDER BY x.id FOR UPDATE) q;
    SELECT array_agg(q.user_id ORDER BY q.user_id), array_agg(q.cash_balance ORDER BY q.user_id)
      INTO a_user, a_cash
      FROM (SELECT x.user_id, x.cash_balance FROM accounts x
             WHERE x.user_id = ANY (o_user) ORDER BY x.user_id FOR UPDATE) q;
    nlocked := coalesce(array_length(s_id, 1), 0);
    ns := nlocked;

    -- The batch with what the fold needs as small integers: keys number the
    -- (user, symbol, side) triples its orders close or open and its
    -- positions hold (one open position per key, positions_one_open).
    WITH b AS (SELECT u.at, u.n, c.user_id, c.symbol, c.side, c.quantity, c.position_id,
                      c.oco_group_id, coalesce(c.status = 'active', false) AS ok,
                      u.n = min(u.n) OVER (PARTITION BY u.id) AS first
                 FROM unnest(p_orders, p_at) WITH ORDINALITY AS u(id, at, n)
                 LEFT JOIN conditional_orders c ON c.id = u.id),
         keys AS (SELECT b.user_id, b.symbol, v.side FROM b, (VALUES ('long'), ('short')) v(side)
                   WHERE b.ok
                  UNION
                  SELECT w.user_id, w.symbol, w.side
                    FROM unnest(s_user, s_symbol, s_side) AS w(user_id, symbol, side)),
         k AS (SELECT keys.*, row_number() OVER (ORDER BY user_id, symbol, side)::int AS key FROM keys)
    SELECT array_agg(b.ok ORDER BY b.n), array_agg(b.first ORDER BY b.n),
           array_agg(b.user_id ORDER BY b.n), array_agg(b.symbol ORDER BY b.n),
           array_agg(b.side ORDER BY b.n), array_agg(b.quantity ORDER BY b.n),
           array_agg(LEAST(b.at, now()) ORDER BY b.n), -- the tick's time (never after the fill's)
           array_agg(CASE WHEN b.position_id IS NULL THEN 0
                          ELSE array_position(s_id, b.position_id) END ORDER BY b.n),
           array_agg(coalesce(g.grp, 0) ORDER BY b.n),
           array_agg(array_position(a_user, b.user_id) ORDER BY b.n),
           array_agg(kc.key ORDER BY b.n), array_agg(ko.key ORDER BY b.n),
           (SELECT array_agg(k.key ORDER BY w.n)
              FROM unnest(s_user, s_symbol, s_side) WITH ORDINALITY AS w(user_id, symbol, side, n)
              JOIN k ON k.user_id = w.user_id AND k.symbol = w.symbol AND k.side = w.side),
           (SELECT count(*) FROM k), max(g.grp)
      INTO b_ok, b_first, b_user, b_symbol, b_side, b_qty, b_at, b_pos, b_grp, b_acct,
           b_kclose, b_kopen, s_key, nkeys, ngroups
      FROM b
      LEFT JOIN (SELECT oco_group_id, dense_rank() OVER (ORDER BY oco_group_id)::int AS grp
                   FROM b WHERE oco_group_id IS NOT NULL GROUP BY oco_group_id) g
             ON g.oco_group_id = b.oco_group_id
      LEFT JOIN k kc ON kc.user_id = b.user_id AND kc.symbol = b.symbol
                    AND kc.side = CASE b.side WHEN 'sell' THEN 'long' ELSE 'short' END
      LEFT JOIN k ko ON ko.user_id = b.user_id AND ko.symbol = b.symbol
                    AND ko.side = CASE b.side WHEN 'buy' THEN 'long' ELSE 'short' END;
    k_open := array_fill(0, ARRAY[greatest(nkeys, 1)]);
    s_dirty := array_fill(false, ARRAY[greatest(nlocked, 1)]);
    FOR s IN 1 .. nlocked LOOP
        IF s_open[s] THEN
            k_open[s_key[s]] := s;
        END IF;
    END LOOP;
    a_dirty := array_fill(false, ARRAY[greatest(coalesce(array_length(a_user, 1), 0), 1)]);
    g_done := array_fill(false, ARRAY[greatest(coalesce(ngroups, 0), 1)]);

    -- The fold: 007's loop, on the arrays.
    FOR i IN 1 .. nb LOOP
        -- Not active (any more): filled, cancelled, expired, or gone.
        IF NOT b_ok[i] OR NOT b_first[i] OR (b_grp[i] > 0 AND g_done[b_grp[i]]) THEN
            r_outcome[i] := 'skipped';
            CONTINUE;
        END IF;
        px := p_prices[i];
        closing := CASE b_side[i] WHEN 'sell' THEN 'long' ELSE 'short' END;
        IF b_pos[i] IS NULL OR b_pos[i] <> 0 THEN
            -- Its own position.  Closed earlier in this batch: then 006's
            -- trigger expires it with the position's other orders when the
            -- positions are written below (and, as in 007, not before).
            -- Gone, closed before or on the wrong side: expired here.
            s := b_pos[i];
            IF s IS NOT NULL AND s_dirty[s] AND NOT s_open[s] THEN
                r_outcome[i] := 'skipped';
                IF b_grp[i] > 0 THEN g_done[b_grp[i]] := true; END IF;
                CONTINUE;
            ELSIF s IS NULL OR NOT s_open[s] OR s_side[s] <> closing THEN
                r_status[i] := 'expired';
                r_outcome[i] := 'skipped';
                IF b_grp[i] > 0 THEN g_done[b_grp[i]] := true; END IF;
                CONTINUE;
            END IF;
        ELSE
            s := k_open[b_kclose[i]];
        END IF;
        a := b_acct[i];

        IF s <> 0 THEN
            qty := LEAST(b_qty[i], s_qty[s]);
            pnl := CASE closing WHEN 'long' THEN (px - s_entry[s]) * qty
                                ELSE (s_entry[s] - px) * qty END;
        ELSE
            qty := b_qty[i];
            pnl := 0;
            IF a IS NULL OR a_cash[a] < px * qty THEN
                r_status[i] := 'rejected';
                r_outcome[i] := 'rejected';
                IF b_grp[i] > 0 THEN g_done[b_grp[i]] := true; END IF;
                CONTINUE;
            END IF;
        END IF;

        r_status[i] := 'filled';
        IF b_grp[i] > 0 THEN g_done[b_grp[i]] := true; END IF;
        IF s <> 0 THEN
            -- Reduce, or close at zero (a closed position keeps its quantity).
            IF s_qty[s] = qty THEN
                s_open[s] := false;
                IF s_key[s] IS NOT NULL AND k_open[s_key[s]] = s THEN
                    k_open[s_key[s]] := 0;
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
            s := k_open[b_kopen[i]];
            IF s <> 0 THEN
                s_entry[s] := round((s_entry[s] * s_qty[s] + px * qty) / (s_qty[s] + qty), 8);
                s_qty[s] := s_qty[s] + qty;
                s_dirty[s] := true;
            ELSE
                ns := ns + 1;
                s := ns;
                s_id[s] := nextval(pos_seq);
                s_user[s] := b_user[i];
                s_symbol[s] := b_symbol[i];
                s_side[s] := CASE b_side[i] WHEN 'buy' THEN 'long' ELSE 'short' END;
                s_key[s] := b_kopen[i];
                s_qty[s] := qty;
                s_entry[s] := round(px, 8);
                s_pnl[s] := 0;
                s_open[s] := true;
                s_dirty[s] := true;
                k_open[b_kopen[i]] := s;
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
         WHERE c.id = v.id AND v.st IS NOT NULL;
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
        UPDATE accounts x SET cash_balance = v.cash, updated_at = now()
          FROM unnest(a_user, a_cash, a_dirty) AS v(user_id, cash, dirty)
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
    RETURN QUERY SELECT * FROM unnest(p_orders, r_fill, r_outcome);
END
$$;
