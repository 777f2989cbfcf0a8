-- 006_conditional_order_rules.sql - what the conditional-order API (and,
-- later, the engine's monitor and fill transaction) rely on the database to
-- do, for every writer alike: OCO groups, why an order ended, remembered
-- Idempotency-Keys, and three triggers.
--
--   conditional_orders_follow_position  (on positions) when a position
--        closes (status open -> closed, by a fill, psql or anything else),
--        its remaining active orders become 'expired' with cancel_reason
--        'position_closed', in the same transaction.
--   conditional_orders_oco              (on conditional_orders) when an OCO
--        leg leaves 'active' (triggered, filled, cancelled, rejected,
--        expired), its still active sibling becomes 'cancelled' with
--        cancel_reason 'oco', in the same transaction: the engine's fill
--        transaction moves one leg and gets the other cancelled for free.
--   conditional_orders_notify           (on conditional_orders) NOTIFY on
--        channel td_orders (src/store/pgchannels.h) for every insert and
--        every status change, delivered at commit, so the engine's monitor
--        can keep its in-memory index in step.  Payload (JSON):
--        {"id":"..","user_id":"..","symbol":"..","status":"..","op":"insert|update"}.
--
-- And a guard: an active order inserted with a position_id must name an
-- open position of the same symbol on the closing side (a long closes with
-- sell, a short with buy); the API refuses those first with clear codes,
-- this is the backstop for every other writer.
--
-- Runs inside `tradedesk migrate`'s transaction (no BEGIN/COMMIT here).
-- Tables created here get the app role's row privileges from the default
-- privileges of 003_app_role.sql.

-- ------------------------------------------------------------- OCO groups

-- One row per bracket (POST /api/v1/orders/oco): the group's id is what
-- both legs carry as oco_group_id.
CREATE TABLE oco_groups (
    id         bigserial   PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Target of the legs' composite foreign key: a leg's group is its user's.
    UNIQUE (id, user_id)
);

ALTER TABLE conditional_orders
    ADD COLUMN oco_group_id bigint,
    ADD FOREIGN KEY (oco_group_id, user_id) REFERENCES oco_groups (id, user_id),
    -- Why an order ended without filling: 'user' (DELETE), 'oco' (its
    -- sibling left active), 'position_closed' (expired with its position),
    -- 'expired' (good-till time passed), 'rejected' (the executor could not
    -- fill it).  NULL while active, triggered or filled.
    ADD COLUMN cancel_reason text
        CHECK (cancel_reason IN ('user', 'oco', 'position_closed', 'expired', 'rejected')),
    ADD CONSTRAINT conditional_orders_cancel_reason_when_ended
        CHECK (cancel_reason IS NULL OR status IN ('cancelled', 'expired', 'rejected'));

-- The orders that ended before this migration: the demo's and any others.
UPDATE conditional_orders SET cancel_reason = 'user' WHERE status = 'cancelled';

-- An OCO group has exactly two legs; finding a leg's sibling is this index.
CREATE INDEX conditional_orders_by_oco_group ON conditional_orders (oco_group_id)
    WHERE oco_group_id IS NOT NULL;

-- ------------------------------------------------------ Idempotency-Keys

-- A POST with an Idempotency-Key: the key, a SHA-256 of the request
-- (method, path and the canonical body) and the answer it got.  The row is
-- inserted first in the creating transaction, so a concurrent duplicate
-- waits on the primary key and then reads the committed answer: however
-- many arrive at once, one order (or OCO group) is created.  Only
-- successes are remembered (a refused request rolls back and leaves
-- nothing).  conditional_orders.idempotency_key (001) stays NULL: keys live
-- here, where an OCO group's one key has one row too.
CREATE TABLE idempotency_keys (
    user_id         bigint      NOT NULL REFERENCES users (id),
    key             text        NOT NULL CHECK (key ~ '^[\x21-\x7e]{1,255}$'),
    request_hash    text        NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
    response_status smallint    CHECK (response_status BETWEEN 200 AND 299),
    response_body   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key),
    CONSTRAINT idempotency_keys_answer_whole
        CHECK ((response_status IS NULL) = (response_body IS NULL))
);
-- Lets a cleanup job drop old keys without a full scan.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- -------------------------------------------------- orders follow positions

CREATE FUNCTION conditional_orders_expire_with_position() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conditional_orders
    SET status = 'expired', cancel_reason = 'position_closed', updated_at = now()
    WHERE position_id = NEW.id AND status = 'active';
    RETURN NULL;
END
$$;

CREATE TRIGGER conditional_orders_follow_position
    AFTER UPDATE OF status ON positions
    FOR EACH ROW
    WHEN (OLD.status = 'open' AND NEW.status = 'closed')
    EXECUTE FUNCTION conditional_orders_expire_with_position();

-- ----------------------------------------------------- one cancels the other

CREATE FUNCTION conditional_orders_cancel_oco_sibling() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conditional_orders
    SET status = 'cancelled', cancel_reason = 'oco', cancelled_at = now(), updated_at = now()
    WHERE oco_group_id = NEW.oco_group_id AND id <> NEW.id AND status = 'active';
    RETURN NULL;
END
$$;

CREATE TRIGGER conditional_orders_oco
    AFTER UPDATE OF status ON conditional_orders
    FOR EACH ROW
    WHEN (OLD.status = 'active' AND NEW.status <> 'active' AND NEW.oco_group_id IS NOT NULL)
    EXECUTE FUNCTION conditional_orders_cancel_oco_sibling();

-- ------------------------------------------------------------- the backstop

CREATE FUNCTION conditional_orders_check_position() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    p positions%ROWTYPE;
BEGIN
    -- FOR SHARE: a concurrent close waits for this insert to commit, so
    -- conditional_orders_follow_position then sees (and expires) it.
    SELECT * INTO p FROM positions
    WHERE id = NEW.position_id AND user_id = NEW.user_id FOR SHARE;
    IF NOT FOUND THEN
        RETURN NEW; -- the foreign key reports it
    END IF;
    IF p.status <> 'open' OR p.symbol <> NEW.symbol
       OR (p.side = 'long') <> (NEW.side = 'sell') THEN
        RAISE EXCEPTION 'an active order must close an open position of its symbol'
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'conditional_orders_closes_open_position';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER conditional_orders_position_guard
    BEFORE INSERT ON conditional_orders
    FOR EACH ROW
    WHEN (NEW.position_id IS NOT NULL AND NEW.status = 'active')
    EXECUTE FUNCTION conditional_orders_check_position();

-- ------------------------------------------------------------------ NOTIFY

CREATE FUNCTION conditional_orders_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('td_orders', json_build_object(
        'id', NEW.id::text, 'user_id', NEW.user_id::text, 'symbol', NEW.symbol,
        'status', NEW.status, 'op', lower(TG_OP))::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER conditional_orders_notify_insert
    AFTER INSERT ON conditional_orders
    FOR EACH ROW EXECUTE FUNCTION conditional_orders_notify();

CREATE TRIGGER conditional_orders_notify_status
    AFTER UPDATE OF status ON conditional_orders
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION conditional_orders_notify();
