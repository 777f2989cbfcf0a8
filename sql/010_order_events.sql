-- 010_order_events.sql - every state change of a conditional order is an
-- event in the outbox, written in the transaction that made it, whoever
-- made it (the order API, fill_orders(), sql/006's OCO and expiry
-- triggers, psql): the engine's relay puts it in the user's Stream
-- td:orders:<user> and on td:orders, and the stream pushes it on the
-- user's `orders` channel (asyncapi.yaml).
--
--   topic 'orders', key the user id, payload
--   {"type":"order","data":<the order as GET /api/v1/orders/conditional/{id}
--   answers it>}; the event id is the outbox row's id.
--
-- What is an event: an insert, and an update that changes status,
-- cancel_reason or armed (a trailing stop arming).  The monitor's
-- write-back of a trailing stop's extreme price once a second is not one
-- (GET shows the newest).
--
-- Set-based: one statement-level trigger per kind of statement, reading
-- the statement's transition tables, so a fill batch of n orders costs one
-- INSERT of n rows, not n trigger calls (docs/performance.md).
--
-- Order per user.  The relay hands a user's events on in event id order,
-- and a reader drops an id at or below the last it got, so an event must
-- never become visible after one of the same user with a higher id.  Ids
-- come from the outbox's sequence when the row is inserted, not at commit,
-- so two transactions of one user can commit in the other order.  Rather
-- than serialise writers (a lock taken mid-transaction by every writer
-- deadlocks a cancel, which holds its order, with a fill that holds the
-- user's account and then expires that order), a writer holds a SHARED
-- advisory lock on its user (order_events_lock) from before its first
-- event id to its commit; shared locks never wait on each other.  The
-- relay (outbox_relay_batch) tries the EXCLUSIVE lock of each user with
-- events waiting, without waiting: a user whose lock it gets has no writer
-- in flight, so every event of that user that will ever have an id below
-- the ones now visible is visible; a user it does not get is left for the
-- next batch.  Anything else that writes an 'orders' row (the drawdown
-- guard) gets the same from a row trigger on the outbox
-- (outbox_order_event_lock), or may call order_event_emit().
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

-- A time as the API's reads write it: the nearest millisecond
-- (TD_SQL_EPOCH_MS rounds; td_time_text's to_char truncates).
CREATE FUNCTION td_time_rounded_text(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT td_time_text(t + interval '0.5 milliseconds')
$$;

-- An order as the API shows it (api/handlers/orders.c, order_write:
-- openapi's ConditionalOrder): ids as strings, amounts as td_money_text,
-- times as td_time_rounded_text.
CREATE FUNCTION order_event_data(c conditional_orders) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id::text, 'client_order_id', c.client_order_id, 'type', c.type,
        'side', c.side, 'symbol', c.symbol, 'quantity', td_money_text(c.quantity),
        'trigger_price', td_money_text(c.trigger_price),
        'callback_rate', td_money_text(c.callback_rate),
        'activation_price', td_money_text(c.activation_price),
        'position_id', c.position_id::text, 'status', c.status,
        'oco_group_id', c.oco_group_id::text, 'cancel_reason', c.cancel_reason,
        'armed', c.armed, 'extreme_price', td_money_text(c.extreme_price),
        'triggered_price', td_money_text(c.triggered_price),
        'created_at', td_time_rounded_text(c.created_at), 'updated_at', td_time_rounded_text(c.updated_at),
        'triggered_at', td_time_rounded_text(c.triggered_at), 'filled_at', td_time_rounded_text(c.filled_at),
        'cancelled_at', td_time_rounded_text(c.cancelled_at), 'expires_at', td_time_rounded_text(c.expires_at))
$$;

-- The advisory lock of a user's order events: the two-int form (its own
-- space, apart from migrate's one-bigint lock), class 1869767781 ('orde'
-- in ASCII), key the user id modulo 2^31 - 1 (a collision only makes two
-- users wait for each other's writers).
--
-- The events of these orders, in this order: one INSERT.  The user's
-- shared lock is taken in the subquery, row by row, before the outer
-- INSERT draws that row's id (the volatile call keeps the subquery from
-- being flattened or its column dropped).
CREATE FUNCTION order_events_write(p_orders conditional_orders[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, key, payload)
    SELECT 'orders', e.user_id::text, e.payload
      FROM (SELECT n.user_id, jsonb_build_object('type', 'order', 'data', order_event_data(n)) AS payload,
                   pg_advisory_xact_lock_shared(1869767781, (n.user_id % 2147483647)::int) AS locked
              FROM unnest(p_orders) AS n) e; -- (in the array's order: unnest reads it out so)
END
$$;

CREATE FUNCTION conditional_orders_events_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    inserted conditional_orders[]; -- (typed: the transition table's rows are records)
BEGIN
    inserted := ARRAY(SELECT n FROM new_orders n ORDER BY n.id);
    PERFORM order_events_write(inserted);
    RETURN NULL;
END
$$;

-- The join of the statement's old and new rows: its plan is cached on
-- the first calls (an API's cancel: one row), and a nested loop planned
-- for one row is quadratic on a fill batch of thousands (measured: a burst
-- of 10,000 orders filled at a third of the rate); a hash join is right
-- at every size.
CREATE FUNCTION conditional_orders_events_update() RETURNS trigger
LANGUAGE plpgsql
SET enable_nestloop = off
AS $$
DECLARE
    changed conditional_orders[];
BEGIN
    changed := ARRAY(SELECT n FROM new_orders n JOIN old_orders o ON o.id = n.id
                      WHERE (n.status, n.cancel_reason, n.armed)
                            IS DISTINCT FROM (o.status, o.cancel_reason, o.armed)
                      ORDER BY n.id);
    IF cardinality(changed) > 0 THEN -- (not a trailing stop's extreme, or nothing)
        PERFORM order_events_write(changed);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conditional_orders_events_insert
    AFTER INSERT ON conditional_orders
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION conditional_orders_events_insert();

CREATE TRIGGER conditional_orders_events_update
    AFTER UPDATE ON conditional_orders
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION conditional_orders_events_update();

-- Any other event on a user's `orders` channel, written as a plain INSERT
-- (topic 'orders', key the user id, payload {"type":T,"data":D}, pushed as
-- {"type":T,"channel":"orders","id":..,"data":D}; the drawdown guard's)
-- gets the same order: the user's shared lock, then its id drawn again
-- under it.  The orders' own rows (type 'order', order_events_write) hold
-- the lock already and skip this.
CREATE FUNCTION outbox_order_event_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1869767781, (NEW.key::bigint % 2147483647)::int);
    NEW.id := nextval('outbox_id_seq');
    RETURN NEW;
END
$$;

CREATE TRIGGER outbox_order_event_lock
    BEFORE INSERT ON outbox
    FOR EACH ROW
    WHEN (NEW.topic = 'orders' AND NEW.payload->>'type' IS DISTINCT FROM 'order'
          AND NEW.key ~ '^[0-9]{1,18}$')
    EXECUTE FUNCTION outbox_order_event_lock();

-- The same as a function that checks what it writes: an event on p_user's
-- `orders` channel; its id.
CREATE FUNCTION order_event_emit(p_user bigint, p_type text, p_data jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    IF p_type IS NULL OR p_type !~ '^[a-z][a-z0-9_]{0,31}$' OR p_data IS NULL THEN
        RAISE EXCEPTION 'order_event_emit: type must be a lower-case word, data not null'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO outbox (topic, key, payload)
    VALUES ('orders', p_user::text, jsonb_build_object('type', p_type, 'data', p_data))
    RETURNING outbox.id INTO id;
    RETURN id;
END
$$;

-- The relay's batch (engine/relay.c): the oldest unpublished rows, except
-- the 'orders' rows of a user with an event writer still in flight (see
-- above).  Volatile plpgsql: the rows are read in a snapshot taken after
-- the locks were tried, and the locks are the statement's transaction's,
-- released when it ends.
CREATE FUNCTION outbox_relay_batch(p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text)
LANGUAGE plpgsql AS $$
DECLARE
    ready text[];
BEGIN
    SELECT array_agg(u.key) INTO ready
      FROM (SELECT DISTINCT w.key
              FROM (SELECT x.key FROM outbox x
                     WHERE x.published_at IS NULL AND x.topic = 'orders'
                     ORDER BY x.id LIMIT p_limit) w) u
     WHERE CASE WHEN u.key ~ '^[0-9]{1,18}$'
                THEN pg_try_advisory_xact_lock(1869767781, (u.key::bigint % 2147483647)::int)
                ELSE true END; -- (a key nothing can deliver: the relay says so)
    RETURN QUERY
    SELECT x.id, x.topic, x.key, x.payload->>'id', x.payload::text, x.payload->>'type',
           (x.payload->'data')::text
      FROM outbox x
     WHERE x.published_at IS NULL AND (x.topic <> 'orders' OR x.key = ANY (ready))
     ORDER BY x.id LIMIT p_limit;
END
$$;

-- A user's events by id, for the stream's `since` older than the Stream
-- holds (stream/events.c); only the orders' rows, so fills pay nothing.
CREATE INDEX outbox_orders_by_user ON outbox (key, id) WHERE topic = 'orders';

-- How far back the outbox still reaches: the highest id any DELETE took
-- (the engine's retention, engine/retention.c, or anyone's).  A `since` at
-- or past it has every later order event still here; an older one is
-- answered resync_required.  One row, moved by a statement trigger.
CREATE TABLE outbox_deleted (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    through bigint  NOT NULL DEFAULT 0
);
INSERT INTO outbox_deleted DEFAULT VALUES;

CREATE FUNCTION outbox_note_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox_deleted SET through = GREATEST(through, (SELECT max(id) FROM gone))
     WHERE EXISTS (SELECT 1 FROM gone);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_note_deleted
    AFTER DELETE ON outbox
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_note_deleted();
