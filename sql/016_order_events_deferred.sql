-- 016_order_events_deferred.sql - an order event about a final state
-- (filled, cancelled, expired, rejected) is written short in the changing
-- transaction and rendered as REST shows the order when the relay
-- publishes it, off the fill's transaction (docs/performance.md, "Engine:
-- conditional orders end to end").
--
-- sql/010 built each event's JSON (order_event_data: twenty-three fields,
-- six timestamps through to_char) inside the transaction that changed the
-- order; for a fill batch that was the larger part of the order events'
-- cost on the fill path.  A final state is final: every writer changes
-- only active orders (fill_orders, the API's cancel, sql/006's OCO and
-- expiry, the monitor's write-back of a trailing stop), so the order's row
-- when the relay reads it is the row the change left, and the event
-- rendered from it then is the one sql/010 would have written.  The short
-- row is
--
--   {"type":"order","data":{"id":"<order id>","status":"<final status>"},
--    "deferred":true}
--
-- and outbox_relay_batch() replaces it by the full payload (sql/010's,
-- the order read again) in the relay's batch, before it is published; so
-- a published row always carries the full event, and whatever reads
-- published rows (the relay's restore, the stream's `since`) is unchanged.
-- Should the order's row be gone or show another status by then (a hand
-- edit in psql), the short payload is published as it is, without the
-- "deferred" mark.  Events about an order still live (created, armed)
-- keep being rendered at once: their row moves on.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE OR REPLACE FUNCTION order_events_write(p_orders conditional_orders[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (topic, key, payload)
    SELECT 'orders', e.user_id::text, e.payload
      FROM (SELECT n.user_id,
                   CASE WHEN n.status IN ('filled', 'cancelled', 'expired', 'rejected')
                        THEN jsonb_build_object('type', 'order', 'deferred', true, 'data',
                                                jsonb_build_object('id', n.id::text, 'status', n.status))
                        ELSE jsonb_build_object('type', 'order', 'data', order_event_data(n)) END
                       AS payload,
                   pg_advisory_xact_lock_shared(1869767781, (n.user_id % 2147483647)::int) AS locked
              FROM unnest(p_orders) AS n) e; -- (in the array's order: unnest reads it out so)
END
$$;

-- A deferred event's full payload: the order as REST shows it now, when it
-- still has the event's status; else the short payload without its mark.
CREATE FUNCTION order_event_rendered(x outbox) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT jsonb_build_object('type', 'order', 'data', order_event_data(o))
                       FROM conditional_orders o
                      WHERE o.id = (x.payload->'data'->>'id')::bigint
                        AND o.status = x.payload->'data'->>'status'),
                    x.payload - 'deferred')
$$;

-- sql/015's, with the batch's deferred rows rendered first (in place, so
-- the row published is the row kept), before the users' locks are tried:
-- a writer of a user's events waits for the relay's exclusive lock (see
-- sql/010), and the rendering needs none (the rows are committed, their
-- orders final), so a fill never waits for the relay to render.  A row
-- that became visible between the two (its writer committed meanwhile) is
-- rendered under the lock, by the second pass, before it is read.
DROP FUNCTION outbox_relay_batch(int);
CREATE FUNCTION outbox_relay_batch(p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text, trace_id text)
LANGUAGE plpgsql AS $$
DECLARE
    ready text[];
BEGIN
    UPDATE outbox x SET payload = order_event_rendered(x)
     WHERE x.id = ANY (ARRAY(SELECT y.id FROM outbox y
                              WHERE y.published_at IS NULL AND y.topic = 'orders'
                              ORDER BY y.id LIMIT p_limit))
       AND x.payload ? 'deferred';
    SELECT array_agg(u.key) INTO ready
      FROM (SELECT DISTINCT w.key
              FROM (SELECT x.key FROM outbox x
                     WHERE x.published_at IS NULL AND x.topic = 'orders'
                     ORDER BY x.id LIMIT p_limit) w) u
     WHERE CASE WHEN u.key ~ '^[0-9]{1,18}$'
                THEN pg_try_advisory_xact_lock(1869767781, (u.key::bigint % 2147483647)::int)
                ELSE true END; -- (a key nothing can deliver: the relay says so)
    UPDATE outbox x SET payload = order_event_rendered(x)
     WHERE x.id = ANY (ARRAY(SELECT y.id FROM outbox y
                              WHERE y.published_at IS NULL AND y.topic = 'orders'
                                AND y.key = ANY (ready)
                              ORDER BY y.id LIMIT p_limit))
       AND x.payload ? 'deferred';
    RETURN QUERY
    SELECT x.id, x.topic, x.key, x.payload->>'id', outbox_payload_text(x, t.trace),
           x.payload->>'type', (x.payload->'data')::text, t.trace
      FROM outbox x, LATERAL (SELECT outbox_trace_id(x) AS trace) t
     WHERE x.published_at IS NULL AND (x.topic <> 'orders' OR x.key = ANY (ready))
     ORDER BY x.id LIMIT p_limit;
END
$$;
