-- 011_drawdown.sql - the drawdown guard (engine/guard.c, domain/drawdown.h):
-- each user's guard state, the audit of what it did, and the one function
-- that records an event (audit row + outbox row, and on a trip with the
-- `close` action the user's positions closed through fill_orders()) in the
-- caller's transaction.
--
-- The leading engine snapshots every user's equity (cash + open positions
-- marked at prices_latest, domain/portfolio.h) every
-- TRADEDESK_GUARD_INTERVAL_S into equity_snapshots (001) and upserts the
-- user's row of drawdown_guards in the same transaction; the API shows it
-- (GET /api/v1/guards/drawdown) and refuses new orders while `blocked`.
-- An admin reset (POST /api/v1/admin/guards/{user_id}/reset) clears a trip
-- and moves both peaks down to the last equity, so the loss already taken
-- no longer counts against the trader.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

-- Retention (engine/retention.c) deletes the oldest snapshots by time.
CREATE INDEX equity_snapshots_by_time ON equity_snapshots (taken_at);

CREATE TABLE drawdown_guards (
    user_id            bigint        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    equity             numeric(38,8) NOT NULL,
    peak_equity        numeric(38,8) NOT NULL,
    peak_today         numeric(38,8) NOT NULL,
    peak_day           date          NOT NULL,  -- the UTC day of peak_today
    drawdown_pct       numeric(38,8) NOT NULL CHECK (drawdown_pct >= 0),
    drawdown_today_pct numeric(38,8) NOT NULL CHECK (drawdown_today_pct >= 0),
    level              text          NOT NULL CHECK (level IN ('normal', 'warning', 'critical')),
    -- The thresholds and action the engine judged with (its settings).
    warning_pct        numeric(38,8) NOT NULL CHECK (warning_pct > 0),
    critical_pct       numeric(38,8) NOT NULL CHECK (critical_pct >= warning_pct),
    action             text          NOT NULL CHECK (action IN ('none', 'block', 'close')),
    -- When the level became critical and the action was taken; NULL once
    -- the level fell back below critical or an admin reset it.
    tripped_at         timestamptz,
    -- Tripped with the `block` action: new conditional orders are refused.
    blocked            boolean       NOT NULL DEFAULT false,
    reset_at           timestamptz,
    updated_at         timestamptz   NOT NULL DEFAULT now(), -- the last snapshot (or reset)
    CONSTRAINT drawdown_guards_peaks CHECK (peak_equity >= equity AND peak_today >= equity),
    CONSTRAINT drawdown_guards_blocked_is_tripped CHECK (NOT blocked OR tripped_at IS NOT NULL),
    CONSTRAINT drawdown_guards_tripped_is_critical
        CHECK (tripped_at IS NULL OR level = 'critical')
-- Every run rewrites every row and no changed column is indexed: with room
-- on the page each update is HOT (as positions and accounts, sql/008).
) WITH (fillfactor = 70);

-- The audit: one row per thing the guard did or an admin did to it.
CREATE TABLE guard_events (
    id               bigserial     PRIMARY KEY,
    user_id          bigint        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    guard            text          NOT NULL DEFAULT 'drawdown' CHECK (guard IN ('drawdown')),
    -- level: the level changed; tripped: it became critical, the action
    -- was taken; cleared: it fell back below critical; reset: an admin's.
    kind             text          NOT NULL CHECK (kind IN ('level', 'tripped', 'cleared', 'reset')),
    level            text          NOT NULL CHECK (level IN ('normal', 'warning', 'critical')),
    previous_level   text          CHECK (previous_level IN ('normal', 'warning', 'critical')),
    action           text          NOT NULL CHECK (action IN ('none', 'block', 'close')),
    equity           numeric(38,8) NOT NULL,
    peak_equity      numeric(38,8) NOT NULL,
    drawdown_pct     numeric(38,8) NOT NULL,
    closed_positions integer       CHECK (closed_positions >= 0), -- a trip with `close`
    actor            text          NOT NULL CHECK (actor ~ '^(engine|admin:[0-9]+)$'),
    created_at       timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX guard_events_by_user ON guard_events (user_id, id);

-- The user's open positions with a price closed at that price, as fills
-- of the paper executor (fill_orders(), fenced by p_fence): one closing
-- stop-loss order per position, named after the event (client_order_id
-- guard-<event>-<position>, so the same event can never close twice).
-- Returns how many were filled.  A position without a price stays open.
CREATE FUNCTION drawdown_close(p_fence bigint, p_user bigint, p_event bigint) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ids    bigint[];
    prices numeric[];
    filled integer;
BEGIN
    WITH ins AS (
        INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity,
                                        trigger_price, position_id)
        SELECT p.user_id, 'guard-' || p_event || '-' || p.id, 'stop_loss',
               CASE p.side WHEN 'long' THEN 'sell' ELSE 'buy' END, p.symbol, p.quantity,
               pl.price, p.id
          FROM positions p JOIN prices_latest pl ON pl.symbol = p.symbol
         WHERE p.user_id = p_user AND p.status = 'open'
         ORDER BY p.id
        RETURNING id, trigger_price)
    SELECT array_agg(id ORDER BY id), array_agg(trigger_price ORDER BY id) INTO ids, prices FROM ins;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    SELECT count(*) INTO filled
      FROM fill_orders(p_fence, ids, prices, array_fill(now(), ARRAY[array_length(ids, 1)])) f
     WHERE f.outcome = 'filled';
    RETURN filled;
END
$$;

-- One event of p_user's guard as its row now stands (the caller has just
-- written it): the audit row and, in the same transaction, the outbox row
-- the relay pushes on the user's `orders` channel (topic 'orders', key the
-- user id, payload {"type":"guard","data":{...}}, asyncapi.yaml's guard
-- message).  A 'tripped' event of the `close` action first closes the
-- user's positions (drawdown_close, fenced by p_fence).  Returns the
-- event's id; NULL when the user has no guard row.
CREATE FUNCTION drawdown_guard_event(p_user bigint, p_kind text, p_previous text, p_actor text,
                                     p_fence bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    g      drawdown_guards%ROWTYPE;
    ev     bigint;
    closed integer;
BEGIN
    SELECT * INTO g FROM drawdown_guards WHERE user_id = p_user;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO guard_events (user_id, kind, level, previous_level, action, equity, peak_equity,
                              drawdown_pct, actor)
    VALUES (p_user, p_kind, g.level, p_previous, g.action, g.equity, g.peak_equity,
            g.drawdown_pct, p_actor)
    RETURNING id INTO ev;
    IF p_kind = 'tripped' AND g.action = 'close' THEN
        closed := drawdown_close(p_fence, p_user, ev);
        UPDATE guard_events SET closed_positions = closed WHERE id = ev;
    END IF;
    INSERT INTO outbox (topic, key, payload)
    VALUES ('orders', p_user::text, jsonb_build_object('type', 'guard', 'data', jsonb_build_object(
        'id', ev::text, 'guard', 'drawdown', 'event', p_kind, 'level', g.level,
        'previous_level', p_previous, 'action', g.action,
        'equity', td_money_text(g.equity), 'peak', td_money_text(g.peak_equity),
        'peak_today', td_money_text(g.peak_today),
        'drawdown_pct', td_money_text(g.drawdown_pct),
        'warning_pct', td_money_text(g.warning_pct), 'critical_pct', td_money_text(g.critical_pct),
        'blocked', g.blocked, 'tripped_at', td_time_text(g.tripped_at),
        'closed_positions', closed, 'actor', p_actor, 'created_at', td_time_text(now()))));
    RETURN ev;
END
$$;

-- An admin's reset: the trip cleared (orders accepted again) and both
-- peaks moved down to the last equity (drawdown 0, level normal), with its
-- event.  NULL when the user has no guard row yet.
CREATE FUNCTION drawdown_guard_reset(p_user bigint, p_admin bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    prev text;
BEGIN
    SELECT level INTO prev FROM drawdown_guards WHERE user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE drawdown_guards
       SET peak_equity = equity, peak_today = equity, drawdown_pct = 0, drawdown_today_pct = 0,
           level = 'normal', tripped_at = NULL, blocked = false, reset_at = now(),
           updated_at = now()
     WHERE user_id = p_user;
    RETURN drawdown_guard_event(p_user, 'reset', prev, 'admin:' || p_admin, NULL);
END
$$;
