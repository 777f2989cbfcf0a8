-- 023_domains.sql - the single-column rules of the fill path's tables as
-- domains (docs/performance.md, "The fill transaction reads its orders
-- once", its CHECKs part).  PostgreSQL 15 reads a table's CHECK
-- constraints back from their stored form and plans them at the start of
-- every statement that writes the table, however few rows it writes:
-- conditional_orders' twenty-two were 20.8 KB of stored trees, re-parsed
-- by each fill's UPDATE (with positions', fills', accounts' and the
-- outbox's, 32 KB a fill).  A domain's constraint is parsed once per
-- connection (the type cache) and is checked only where a value is
-- assigned to the column.  The rules are the same, value for value; the
-- rules that tie columns together stay table constraints.  A violation is
-- still check_violation (SQLSTATE 23514), now named after the domain's
-- constraint (td_order_status_check, ...): nothing matches on the names.
-- outbox_relay_step() casts the columns it returns (below).
--
-- The columns' types change, so the tables are rewritten once (this
-- migration takes each table's exclusive lock for as long).  A trigger
-- whose WHEN reads one of these columns pins its type: those are dropped
-- and created again, as they were, around the change.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE DOMAIN td_order_type AS text CHECK (VALUE IN ('stop_loss', 'take_profit', 'trailing_stop'));
CREATE DOMAIN td_order_side AS text CHECK (VALUE IN ('buy', 'sell'));
CREATE DOMAIN td_order_status AS text
    CHECK (VALUE IN ('active', 'triggered', 'filled', 'cancelled', 'rejected', 'expired'));
CREATE DOMAIN td_cancel_reason AS text
    CHECK (VALUE IN ('user', 'oco', 'position_closed', 'expired', 'rejected'));
CREATE DOMAIN td_position_side AS text CHECK (VALUE IN ('long', 'short'));
CREATE DOMAIN td_position_status AS text CHECK (VALUE IN ('open', 'closed'));
CREATE DOMAIN td_amount_positive AS numeric(38, 8) CHECK (VALUE > 0);
CREATE DOMAIN td_amount_nonnegative AS numeric(38, 8) CHECK (VALUE >= 0);
CREATE DOMAIN td_callback_rate AS numeric(38, 8) CHECK (VALUE > 0 AND VALUE < 100);
CREATE DOMAIN td_client_order_id AS text CHECK (VALUE ~ '^[A-Za-z0-9_.:/-]{1,64}$');
CREATE DOMAIN td_idempotency_key AS text CHECK (VALUE ~ '^[\x21-\x7e]{1,255}$');
CREATE DOMAIN td_trace_id AS text CHECK (VALUE ~ '^[0-9a-f]{32}$');
CREATE DOMAIN td_currency AS text CHECK (VALUE ~ '^[A-Z0-9]{2,12}$');
CREATE DOMAIN td_outbox_topic AS text CHECK (length(VALUE) BETWEEN 1 AND 128);

-- The triggers with a WHEN on these tables, as they are defined now.
CREATE TEMP TABLE td_when_triggers AS
SELECT t.tgname, t.tgrelid::regclass AS rel, pg_get_triggerdef(t.oid) AS def
  FROM pg_trigger t
 WHERE t.tgrelid IN ('conditional_orders'::regclass, 'positions'::regclass, 'fills'::regclass,
                     'accounts'::regclass, 'outbox'::regclass)
   AND NOT t.tgisinternal AND t.tgqual IS NOT NULL;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM td_when_triggers LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;
END
$$;
ALTER TABLE conditional_orders
    DROP CONSTRAINT conditional_orders_type_check,
    DROP CONSTRAINT conditional_orders_side_check,
    DROP CONSTRAINT conditional_orders_status_check,
    DROP CONSTRAINT conditional_orders_cancel_reason_check,
    DROP CONSTRAINT conditional_orders_quantity_check,
    DROP CONSTRAINT conditional_orders_trigger_price_check,
    DROP CONSTRAINT conditional_orders_activation_price_check,
    DROP CONSTRAINT conditional_orders_extreme_price_check,
    DROP CONSTRAINT conditional_orders_triggered_price_check,
    DROP CONSTRAINT conditional_orders_callback_rate_check,
    DROP CONSTRAINT conditional_orders_client_order_id_check,
    DROP CONSTRAINT conditional_orders_idempotency_key_check,
    DROP CONSTRAINT conditional_orders_trace_id_check,
    ALTER COLUMN type TYPE td_order_type,
    ALTER COLUMN side TYPE td_order_side,
    ALTER COLUMN status TYPE td_order_status,
    ALTER COLUMN cancel_reason TYPE td_cancel_reason,
    ALTER COLUMN quantity TYPE td_amount_positive,
    ALTER COLUMN trigger_price TYPE td_amount_positive,
    ALTER COLUMN activation_price TYPE td_amount_positive,
    ALTER COLUMN extreme_price TYPE td_amount_positive,
    ALTER COLUMN triggered_price TYPE td_amount_positive,
    ALTER COLUMN callback_rate TYPE td_callback_rate,
    ALTER COLUMN client_order_id TYPE td_client_order_id,
    ALTER COLUMN idempotency_key TYPE td_idempotency_key,
    ALTER COLUMN trace_id TYPE td_trace_id;
ALTER TABLE positions
    DROP CONSTRAINT positions_side_check,
    DROP CONSTRAINT positions_status_check,
    DROP CONSTRAINT positions_quantity_check,
    DROP CONSTRAINT positions_entry_price_check,
    ALTER COLUMN side TYPE td_position_side,
    ALTER COLUMN status TYPE td_position_status,
    ALTER COLUMN quantity TYPE td_amount_nonnegative,
    ALTER COLUMN entry_price TYPE td_amount_positive;
ALTER TABLE fills
    DROP CONSTRAINT fills_side_check,
    DROP CONSTRAINT fills_price_check,
    DROP CONSTRAINT fills_quantity_check,
    ALTER COLUMN side TYPE td_order_side,
    ALTER COLUMN price TYPE td_amount_positive,
    ALTER COLUMN quantity TYPE td_amount_positive;
ALTER TABLE accounts
    DROP CONSTRAINT accounts_cash_balance_check,
    DROP CONSTRAINT accounts_currency_check,
    ALTER COLUMN cash_balance TYPE td_amount_nonnegative,
    ALTER COLUMN currency TYPE td_currency;
ALTER TABLE outbox
    DROP CONSTRAINT outbox_topic_check,
    ALTER COLUMN topic TYPE td_outbox_topic;

-- The triggers again, each as it was.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM td_when_triggers LOOP
        EXECUTE t.def;
    END LOOP;
END
$$;
DROP TABLE td_when_triggers;

-- sql/021's step, its body unchanged but for the casts: PL/pgSQL's RETURN
-- QUERY wants each column of the declared type, and a domain is not its
-- base type there.
CREATE OR REPLACE FUNCTION outbox_relay_step(p_ids bigint[], p_payloads jsonb, p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text, trace_id text,
               o_id bigint, o_client_order_id text, o_type text, o_side text, o_symbol text,
               o_quantity numeric, o_trigger_price numeric, o_callback_rate numeric,
               o_activation_price numeric, o_position_id bigint, o_status text,
               o_oco_group_id bigint, o_cancel_reason text, o_armed boolean,
               o_extreme_price numeric, o_triggered_price numeric, o_created_ms bigint,
               o_updated_ms bigint, o_triggered_ms bigint, o_filled_ms bigint,
               o_cancelled_ms bigint, o_expires_ms bigint, o_trace_id text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    ready text[];
    taken bigint[];
BEGIN
    IF cardinality(p_ids) > 0 THEN
        -- (Each row's own payload found by its place in p_ids: no join,
        -- whose generic plan hashed every unpublished row.)
        UPDATE outbox x
           SET published_at = now(),
               payload = CASE WHEN NOT x.payload ? 'deferred' THEN x.payload
                              WHEN jsonb_typeof(p_payloads -> (array_position(p_ids, x.id) - 1))
                                   = 'object'
                              THEN p_payloads -> (array_position(p_ids, x.id) - 1)
                              ELSE order_event_rendered(x) END
         WHERE x.id = ANY (p_ids) AND x.published_at IS NULL;
    END IF;
    IF p_limit <= 0 THEN
        RETURN;
    END IF;
    -- sql/019's batch (its header says how it works), but for how long it
    -- holds the users' locks: only while it reads which rows it takes,
    -- not while it renders them.
    SELECT array_agg(u.key) INTO ready
      FROM (SELECT DISTINCT w.key
              FROM (SELECT x.key, x.topic FROM outbox x
                     WHERE x.published_at IS NULL
                     ORDER BY x.id LIMIT p_limit) w
             WHERE w.topic = 'orders') u
     WHERE CASE WHEN u.key ~ '^[0-9]{1,18}$'
                THEN pg_try_advisory_lock(1869767781, (u.key::bigint % 2147483647)::int)
                ELSE true END;
    SELECT array_agg(x.id ORDER BY x.id) INTO taken
      FROM (SELECT x.id FROM outbox x
             WHERE x.published_at IS NULL AND (x.topic <> 'orders' OR x.key = ANY (ready))
             ORDER BY x.id LIMIT p_limit) x;
    -- (An error before this leaves them held: the relay then runs
    -- pg_advisory_unlock_all(), and a session's end releases them.)
    PERFORM pg_advisory_unlock(1869767781, (k::bigint % 2147483647)::int)
       FROM unnest(ready) AS k WHERE k ~ '^[0-9]{1,18}$';
    -- What the relay renders itself (a deferred event whose order shows
    -- that status) comes as the order's columns, payload and data NULL.
    RETURN QUERY
    SELECT b.id, b.topic::text, b.key, b.payload->>'id',
           CASE WHEN b.topic = 'fills'
                THEN (b.payload || jsonb_build_object('trace_id', o.trace_id))::text
                WHEN f.id IS NULL THEN (b.payload - 'deferred')::text END,
           b.payload->>'type',
           CASE WHEN f.id IS NULL THEN (b.payload->'data')::text END,
           CASE WHEN b.topic = 'fills' THEN o.trace_id::text
                WHEN f.id IS NOT NULL THEN f.trace_id::text
                WHEN b.topic = 'orders' THEN b.payload->'data'->>'trace_id' END,
           f.id, f.client_order_id::text, f.type::text, f.side::text, f.symbol,
           f.quantity::numeric, f.trigger_price::numeric, f.callback_rate::numeric,
           f.activation_price::numeric, f.position_id, f.status::text, f.oco_group_id,
           f.cancel_reason::text, f.armed, f.extreme_price::numeric, f.triggered_price::numeric,
           (EXTRACT(EPOCH FROM f.created_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.updated_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.triggered_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.filled_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.cancelled_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.expires_at) * 1000)::bigint,
           f.trace_id::text
      FROM (SELECT x.id, x.topic, x.key, x.payload FROM outbox x WHERE x.id = ANY (taken)) b
      LEFT JOIN LATERAL (
           SELECT c.trace_id FROM conditional_orders c
            WHERE c.id = CASE WHEN b.topic = 'fills' AND b.payload->>'order_id' ~ '^[0-9]{1,18}$'
                              THEN (b.payload->>'order_id')::bigint END
            LIMIT 1) o ON true
      LEFT JOIN LATERAL (
           SELECT d.* FROM conditional_orders d
            WHERE d.id = CASE WHEN b.payload ? 'deferred'
                                   AND b.payload->'data'->>'id' ~ '^[0-9]{1,18}$'
                              THEN (b.payload->'data'->>'id')::bigint END
              AND d.status = b.payload->'data'->>'status'
            LIMIT 1) f ON true
     ORDER BY b.id;
END
$$;
