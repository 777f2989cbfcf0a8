-- 015_trace_events.sql - the trace id (sql/014) in what is published
-- about an order: its events carry the order as REST shows it, now with
-- its trace_id, and a fill's payload gets its order's trace_id as the
-- relay publishes it (outbox_payload_text, in outbox_relay_batch and the
-- relay's restore), as GET /api/v1/fills shows it.  fill_orders()
-- (sql/008) writes fills' outbox rows without it: the fill path pays
-- nothing for tracing; the relay reads the order's row by its key.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE OR REPLACE FUNCTION order_event_data(c conditional_orders) RETURNS jsonb
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
        'cancelled_at', td_time_rounded_text(c.cancelled_at), 'expires_at', td_time_rounded_text(c.expires_at),
        'trace_id', c.trace_id)
$$;

-- The trace id of what an outbox row announces: a fill's order's, an
-- order event's order's (in its data); NULL for anything else.
CREATE FUNCTION outbox_trace_id(x outbox) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN x.topic = 'fills' AND x.payload->>'order_id' ~ '^[0-9]{1,18}$'
                THEN (SELECT o.trace_id FROM conditional_orders o
                       WHERE o.id = (x.payload->>'order_id')::bigint)
                WHEN x.topic = 'orders' THEN x.payload->'data'->>'trace_id' END
$$;

-- An outbox row's payload as the relay publishes it: a fill's with its
-- order's trace_id (outbox_trace_id's, looked up once by the caller)
-- added, anything else as it is.
CREATE FUNCTION outbox_payload_text(x outbox, p_trace text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x.topic = 'fills'
                THEN (x.payload || jsonb_build_object('trace_id', p_trace))::text
                ELSE x.payload::text END
$$;

-- sql/010's, publishing outbox_payload_text, and the trace id for the
-- relay's log line of each row.
DROP FUNCTION outbox_relay_batch(int);
CREATE FUNCTION outbox_relay_batch(p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text, trace_id text)
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
    SELECT x.id, x.topic, x.key, x.payload->>'id', outbox_payload_text(x, t.trace),
           x.payload->>'type', (x.payload->'data')::text, t.trace
      FROM outbox x, LATERAL (SELECT outbox_trace_id(x) AS trace) t
     WHERE x.published_at IS NULL AND (x.topic <> 'orders' OR x.key = ANY (ready))
     ORDER BY x.id LIMIT p_limit;
END
$$;
