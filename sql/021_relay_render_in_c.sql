-- 021_relay_render_in_c.sql - the relay renders a deferred order event
-- itself (docs/performance.md, "Engine: conditional orders end to end",
-- the relay's render): outbox_relay_step() returns the order's columns
-- for it, and engine/relay.c writes the event's data with the API's own
-- order writer (store/pgjson.h, td_jw_order), so the push is the object
-- GET /api/v1/orders/conditional/{id} answers, by construction.
--
-- Why: the step's rendering (sql/016's order_event_data, a
-- jsonb_build_object of 23 pairs per row, and the projection PostgreSQL
-- builds for it on every call) was most of the relay's CPU.  Measured in
-- psql on a kept bench database (200 unpublished rows, 100 of them
-- deferred, the step without its mark, best of three rounds of 20): 11.6
-- ms a call rendering in SQL, 2.6 ms returning the columns; one fill and
-- its event (the spread phase's batch): 0.30 against 0.14 ms.
--
-- What changes for each row: a deferred event whose order shows its
-- status comes with o_* set (the API's ORDER_COLUMNS, in its order) and
-- payload and data NULL; the relay renders {"type":"order","data":...}
-- and hands that back to the next step's mark, which keeps it (sql/020).
-- Every other row comes as before, o_* NULL.  A deferred event whose
-- order moved on goes out short, as before.
--
-- And the mark finds each row's payload by the row's place in p_ids
-- instead of joining the ids to the payloads: the join's generic plan
-- hashed every unpublished row of the outbox on each call, a cost that
-- grows with a backlog.  Measured in psql (200 marks of each, alternated,
-- each committed after rows were unmarked): a mark of 2
-- rows 127-257 us against 212-442 us, of 50 rows 954-990 against
-- 1,185-1,233 us.
--
-- The users' locks and the pick are sql/020's.
-- outbox_mark_published(ids) stays (the step with nothing to read);
-- outbox_relay_batch(n) goes: it was the step with nothing to mark, and
-- outbox_relay_step(NULL, NULL, n) says so itself.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

DROP FUNCTION outbox_relay_batch(int);
DROP FUNCTION outbox_relay_step(bigint[], jsonb, int);

CREATE FUNCTION outbox_relay_step(p_ids bigint[], p_payloads jsonb, p_limit int)
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
    SELECT b.id, b.topic, b.key, b.payload->>'id',
           CASE WHEN b.topic = 'fills'
                THEN (b.payload || jsonb_build_object('trace_id', o.trace_id))::text
                WHEN f.id IS NULL THEN (b.payload - 'deferred')::text END,
           b.payload->>'type',
           CASE WHEN f.id IS NULL THEN (b.payload->'data')::text END,
           CASE WHEN b.topic = 'fills' THEN o.trace_id
                WHEN f.id IS NOT NULL THEN f.trace_id
                WHEN b.topic = 'orders' THEN b.payload->'data'->>'trace_id' END,
           f.id, f.client_order_id, f.type, f.side, f.symbol, f.quantity, f.trigger_price,
           f.callback_rate, f.activation_price, f.position_id, f.status, f.oco_group_id,
           f.cancel_reason, f.armed, f.extreme_price, f.triggered_price,
           (EXTRACT(EPOCH FROM f.created_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.updated_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.triggered_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.filled_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.cancelled_at) * 1000)::bigint,
           (EXTRACT(EPOCH FROM f.expires_at) * 1000)::bigint,
           f.trace_id
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
