-- 017_relay_batch_set_based.sql - the relay's batch without a write and
-- without a query per row (docs/performance.md, "Engine: conditional
-- orders end to end", tick -> fill on the socket).
--
-- sql/016 rendered a deferred order event by UPDATEing the outbox row in
-- place before publishing it: a second tuple version of every such row
-- (its indexes included: the table's pages are full, so no HOT update),
-- then another one when the relay marked it published.  Measured on
-- bench/fills.sh's outbox: about 70 us per deferred row, against 6-10 us
-- for rendering the same rows in a SELECT; and each row's trace id and
-- payload text were a query each (outbox_trace_id, outbox_payload_text:
-- about 35 us per fill).  With 200 rows per tick the relay's batch took
-- 50-70 ms, under the users' exclusive locks, which fills of those users
-- wait for.
--
-- Now the batch renders in its one SELECT (the fill's order and a deferred
-- event's order joined, not looked up per row), and the row is made whole
-- in the relay's mark (`relay_mark`, engine/relay.c), the UPDATE that sets
-- published_at anyway: so a published row carries the full event, as
-- sql/016 promised (the relay's restore and the stream's `since` read
-- published rows), written once.  What is published and what is kept are
-- the same rendering of the same final row (order_event_rendered's rule:
-- the order as REST shows it while it has the event's status, else the
-- short payload without its mark).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

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
    SELECT b.id, b.topic, b.key, b.payload->>'id',
           CASE WHEN b.topic = 'fills'
                THEN (b.payload || jsonb_build_object('trace_id', b.fill_trace))::text
                ELSE p.payload::text END,
           p.payload->>'type', (p.payload->'data')::text,
           CASE WHEN b.topic = 'fills' THEN b.fill_trace
                WHEN b.topic = 'orders' THEN p.payload->'data'->>'trace_id' END
      FROM (SELECT x.id, x.topic, x.key, x.payload, o.trace_id AS fill_trace,
                   d AS final_order
              FROM outbox x
              LEFT JOIN conditional_orders o
                ON o.id = CASE WHEN x.topic = 'fills' AND x.payload->>'order_id' ~ '^[0-9]{1,18}$'
                               THEN (x.payload->>'order_id')::bigint END
              LEFT JOIN conditional_orders d
                ON d.id = CASE WHEN x.payload ? 'deferred'
                                    AND x.payload->'data'->>'id' ~ '^[0-9]{1,18}$'
                               THEN (x.payload->'data'->>'id')::bigint END
               AND d.status = x.payload->'data'->>'status'
             WHERE x.published_at IS NULL AND (x.topic <> 'orders' OR x.key = ANY (ready))
             ORDER BY x.id LIMIT p_limit) b,
           LATERAL (SELECT CASE WHEN NOT b.payload ? 'deferred' THEN b.payload
                                WHEN (b.final_order).id IS NOT NULL
                                THEN jsonb_build_object('type', 'order', 'data',
                                                        order_event_data(b.final_order))
                                ELSE b.payload - 'deferred' END AS payload) p
     ORDER BY b.id;
END
$$;

-- The relay's mark: rows Redis took are published, a deferred event made
-- whole with the rendering the batch published (its order is final).
CREATE FUNCTION outbox_mark_published(p_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE outbox
       SET published_at = now(),
           payload = CASE WHEN payload ? 'deferred' THEN order_event_rendered(outbox)
                          ELSE payload END
     WHERE id = ANY (p_ids) AND published_at IS NULL
$$;
