-- 007_fills.sql - a fired conditional order is filled exactly once, in one
-- transaction: fill_orders() moves each order active -> filled (triggered
-- at the firing tick's time and price), writes its fill, reduces or closes
-- the position (realized P&L back to cash) or opens/adds to one, and writes
-- an outbox row that the engine's relay publishes to Redis.  The engine's
-- monitor calls it with a batch of the orders one tick fired.
--
-- Exactly once: each order is locked (FOR UPDATE) and filled only while
-- active, and fills.order_id is unique, so a second caller with the same
-- order (a retry after a lost commit, a second engine) fills nothing.
--
-- Fencing: the leading engine holds a token (from Redis, increasing); the
-- highest token seen is engine_fence.  A batch carrying an older token is
-- refused (SQLSTATE TD001) before it touches anything, so an engine that
-- lost its lease while paused cannot fill after its successor has started.
-- A batch holds engine_fence's row FOR SHARE: batches of one leader run side
-- by side, and engine_fence_advance() (the successor's first step) waits for
-- the old leader's in-flight batches to commit.
--
-- Money rules (domain/pnl.h): a position is fully funded; opening one moves
-- entry × quantity out of cash, so reducing returns entry × quantity plus
-- the realized P&L, (price − entry) × quantity for a long, negated for a
-- short.  A fill never takes more than the position holds and never opens
-- the reverse position; an order without a position reduces the user's
-- open position it would close, else opens (or adds to, at the average
-- price) one in its own direction, rejected when cash does not cover it.
--
-- The OCO sibling of a filled leg is cancelled, and a closed position's
-- other orders expire, by sql/006's triggers, in this same transaction.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE TABLE engine_fence (
    name  text   PRIMARY KEY,
    token bigint NOT NULL CHECK (token >= 0)
);
INSERT INTO engine_fence (name, token) VALUES ('monitor', 0);

-- The successor's first step: true when the fence moved to p_token (or was
-- there already), false when a newer leader already holds a higher one.
CREATE FUNCTION engine_fence_advance(p_token bigint) RETURNS boolean
LANGUAGE sql AS $$
    WITH moved AS (
        UPDATE engine_fence SET token = p_token
         WHERE name = 'monitor' AND token <= p_token
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM moved)
$$;

-- Money as the API writes it: at least 2 and at most 8 decimals.
CREATE FUNCTION td_money_text(v numeric) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE WHEN scale(trim_scale(v)) < 2 THEN round(v, 2)::text
                ELSE trim_scale(v)::text END
$$;

-- RFC 3339 UTC with milliseconds, as the API writes times.
CREATE FUNCTION td_time_text(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- p_orders[i] fired at p_prices[i] on the tick of time p_at[i].
-- outcome: 'filled' (fill_id set), 'rejected' (cash did not cover opening
-- it), 'skipped' (not active any more: filled, cancelled, expired).
CREATE FUNCTION fill_orders(p_fence bigint, p_orders bigint[], p_prices numeric[],
                            p_at timestamptz[])
RETURNS TABLE (order_id bigint, fill_id bigint, outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    fence   bigint;
    i       int;
    o       conditional_orders%ROWTYPE;
    p       positions%ROWTYPE;
    px      numeric;
    qty     numeric;
    pnl     numeric;
    cash    numeric;
    pos_id  bigint;
    closing text;  -- the side of position this order closes
    opening text;  -- the side it opens
    fid     bigint;
    at      timestamptz;
BEGIN
    SELECT token INTO fence FROM engine_fence WHERE name = 'monitor' FOR SHARE;
    IF p_fence < fence THEN
        RAISE EXCEPTION 'stale fencing token % (the fence is at %)', p_fence, fence
            USING ERRCODE = 'TD001';
    END IF;
    IF coalesce(array_length(p_orders, 1), 0) <> coalesce(array_length(p_prices, 1), 0)
       OR coalesce(array_length(p_orders, 1), 0) <> coalesce(array_length(p_at, 1), 0) THEN
        RAISE EXCEPTION 'fill_orders: % orders, % prices, % times',
            array_length(p_orders, 1), array_length(p_prices, 1), array_length(p_at, 1);
    END IF;

    FOR i IN 1 .. coalesce(array_length(p_orders, 1), 0) LOOP
        order_id := p_orders[i];
        fill_id := NULL;
        px := p_prices[i];
        at := LEAST(p_at[i], now()); -- the tick's time (never after the fill's)
        SELECT * INTO o FROM conditional_orders c WHERE c.id = p_orders[i] FOR UPDATE;
        IF NOT FOUND OR o.status <> 'active' THEN
            outcome := 'skipped';
            RETURN NEXT;
            CONTINUE;
        END IF;
        closing := CASE o.side WHEN 'sell' THEN 'long' ELSE 'short' END;
        opening := CASE o.side WHEN 'buy' THEN 'long' ELSE 'short' END;

        -- The position it reduces: its own, or the user's open one it closes.
        p := NULL;
        IF o.position_id IS NOT NULL THEN
            SELECT * INTO p FROM positions WHERE id = o.position_id FOR UPDATE;
            IF p.id IS NULL OR p.status <> 'open' OR p.side <> closing THEN
                UPDATE conditional_orders
                   SET status = 'expired', cancel_reason = 'position_closed', updated_at = now()
                 WHERE id = o.id;
                outcome := 'skipped';
                RETURN NEXT;
                CONTINUE;
            END IF;
        ELSE
            SELECT * INTO p FROM positions
             WHERE user_id = o.user_id AND symbol = o.symbol AND side = closing
               AND status = 'open'
             FOR UPDATE;
        END IF;
        SELECT cash_balance INTO cash FROM accounts WHERE user_id = o.user_id FOR UPDATE;

        IF p.id IS NOT NULL THEN
            qty := LEAST(o.quantity, p.quantity);
            pnl := CASE closing WHEN 'long' THEN (px - p.entry_price) * qty
                                ELSE (p.entry_price - px) * qty END;
        ELSE
            qty := o.quantity;
            pnl := 0;
            IF cash IS NULL OR cash < px * qty THEN
                UPDATE conditional_orders
                   SET status = 'rejected', cancel_reason = 'rejected', updated_at = now()
                 WHERE id = o.id;
                outcome := 'rejected';
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;

        -- active -> triggered -> filled, first: whatever reacts to the order
        -- leaving active (its OCO sibling) sees it filled, and closing the
        -- position below expires only the position's other orders.
        UPDATE conditional_orders
           SET status = 'filled', triggered_at = at, triggered_price = px,
               filled_at = now(), updated_at = now()
         WHERE id = o.id;

        IF p.id IS NOT NULL THEN
            UPDATE positions
               SET quantity = CASE WHEN p.quantity = qty THEN p.quantity
                                   ELSE p.quantity - qty END,
                   realized_pnl = realized_pnl + pnl,
                   status = CASE WHEN p.quantity = qty THEN 'closed' ELSE 'open' END,
                   closed_at = CASE WHEN p.quantity = qty THEN now() END,
                   updated_at = now()
             WHERE id = p.id;
            UPDATE accounts SET cash_balance = cash_balance + p.entry_price * qty + pnl,
                                updated_at = now()
             WHERE user_id = o.user_id;
            pos_id := p.id;
        ELSE
            -- Opens (or adds to, at the average price) one in its own direction.
            UPDATE accounts SET cash_balance = cash_balance - px * qty, updated_at = now()
             WHERE user_id = o.user_id;
            pos_id := NULL;
            UPDATE positions
               SET entry_price = round((entry_price * quantity + px * qty) / (quantity + qty), 8),
                   quantity = quantity + qty, updated_at = now()
             WHERE user_id = o.user_id AND symbol = o.symbol AND side = opening
               AND status = 'open'
            RETURNING id INTO pos_id;
            IF pos_id IS NULL THEN
                INSERT INTO positions (user_id, symbol, side, quantity, entry_price)
                VALUES (o.user_id, o.symbol, opening, qty, px)
                RETURNING id INTO pos_id;
            END IF;
        END IF;

        INSERT INTO fills (order_id, user_id, symbol, side, quantity, price, realized_pnl,
                           position_id)
        VALUES (o.id, o.user_id, o.symbol, o.side, qty, px, pnl, pos_id)
        RETURNING id INTO fid;
        -- The payload is the fill as GET /api/v1/fills shows it (openapi's
        -- Fill), so the stream pushes what REST answers; the key says whose.
        INSERT INTO outbox (topic, key, payload)
        VALUES ('fills', o.user_id::text, jsonb_build_object(
            'id', fid::text, 'order_id', o.id::text, 'symbol', o.symbol, 'side', o.side,
            'quantity', td_money_text(qty), 'price', td_money_text(px),
            'realized_pnl', td_money_text(pnl), 'position_id', pos_id::text,
            'created_at', td_time_text(now())));
        fill_id := fid;
        outcome := 'filled';
        RETURN NEXT;
    END LOOP;
END
$$;
