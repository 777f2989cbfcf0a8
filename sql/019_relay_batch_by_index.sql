-- 019_relay_batch_by_index.sql - the relay's batch reads what it relays by
-- index, never a whole table (docs/performance.md, "Engine: conditional
-- orders end to end", the relay's share of the two cores).
--
-- Measured (auto_explain in bench/fills.sh's database after one phase,
-- 1,000 orders, 3,331 order events): sql/017's batch of 20 rows joined
-- the fills' orders and the deferred events' orders to two sequential
-- scans of conditional_orders hashed whole (1,014 rows each, 1.6 of the
-- batch's 1.9 ms), and its users' lock step ANDed the unpublished index
-- with the scan of every order event ever written (outbox_orders_by_user,
-- 3,331 entries for the 10 rows it wanted).  Both grow with the tables;
-- in bench/fills.sh's stepped phase the relay's backend used more CPU than
-- either fill lane, a core's share taken from the fills it runs beside.
--
-- Now each row's order is one probe of conditional_orders_pkey (a LATERAL
-- subquery the planner cannot flatten into a hash join: LIMIT 1 on the
-- primary key changes no result), and the lock step reads the first
-- p_limit unpublished rows by outbox_unpublished and keeps the orders
-- topic's keys among them.  The rows published are the same: the batch
-- takes no order event whose user's lock it did not get (an event of a
-- user first seen past those rows waits for a later batch, as one whose
-- lock is held does).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

DROP FUNCTION outbox_relay_batch(int);
CREATE FUNCTION outbox_relay_batch(p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text, trace_id text)
LANGUAGE plpgsql
-- As fill_orders (sql/008): each statement planned once per connection,
-- not again for every batch while the plan cache weighs custom plans.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    ready text[];
BEGIN
    SELECT array_agg(u.key) INTO ready
      FROM (SELECT DISTINCT w.key
              FROM (SELECT x.key, x.topic FROM outbox x
                     WHERE x.published_at IS NULL
                     ORDER BY x.id LIMIT p_limit) w
             WHERE w.topic = 'orders') u
     WHERE CASE WHEN u.key ~ '^[0-9]{1,18}$'
                THEN pg_try_advisory_xact_lock(1869767781, (u.key::bigint % 2147483647)::int)
                ELSE true END; -- (a key nothing can deliver: the relay says so)
    RETURN QUERY
    SELECT b.id, b.topic, b.key, b.payload->>'id',
           CASE WHEN b.topic = 'fills'
                THEN (b.payload || jsonb_build_object('trace_id', o.trace_id))::text
                ELSE p.payload::text END,
           p.payload->>'type', (p.payload->'data')::text,
           CASE WHEN b.topic = 'fills' THEN o.trace_id
                WHEN b.topic = 'orders' THEN p.payload->'data'->>'trace_id' END
      FROM (SELECT x.id, x.topic, x.key, x.payload
              FROM outbox x
             WHERE x.published_at IS NULL AND (x.topic <> 'orders' OR x.key = ANY (ready))
             ORDER BY x.id LIMIT p_limit) b
      LEFT JOIN LATERAL (
           SELECT c.trace_id FROM conditional_orders c
            WHERE c.id = CASE WHEN b.topic = 'fills' AND b.payload->>'order_id' ~ '^[0-9]{1,18}$'
                              THEN (b.payload->>'order_id')::bigint END
            LIMIT 1) o ON true
      LEFT JOIN LATERAL (
           SELECT d FROM conditional_orders d
            WHERE d.id = CASE WHEN b.payload ? 'deferred'
                                   AND b.payload->'data'->>'id' ~ '^[0-9]{1,18}$'
                              THEN (b.payload->'data'->>'id')::bigint END
              AND d.status = b.payload->'data'->>'status'
            LIMIT 1) f ON true,
      LATERAL (SELECT CASE WHEN NOT b.payload ? 'deferred' THEN b.payload
                           WHEN (f.d).id IS NOT NULL
                           THEN jsonb_build_object('type', 'order', 'data', order_event_data(f.d))
                           ELSE b.payload - 'deferred' END AS payload) p
     ORDER BY b.id;
END
$$;

-- The relay's mark (sql/017's rule, unchanged) in PL/pgSQL, and
-- sql/016's rendering of a deferred event too: as SQL functions (the
-- second not inlinable, its body a subquery) both were parsed and planned
-- again at every mark (perf of the relay's backend: a quarter of its CPU
-- in the parser and the planner); PL/pgSQL keeps the session's plans.
CREATE OR REPLACE FUNCTION order_event_rendered(x outbox) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce((SELECT jsonb_build_object('type', 'order', 'data', order_event_data(o))
                       FROM conditional_orders o
                      WHERE o.id = (x.payload->'data'->>'id')::bigint
                        AND o.status = x.payload->'data'->>'status'),
                    x.payload - 'deferred');
END
$$;

CREATE OR REPLACE FUNCTION outbox_mark_published(p_ids bigint[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    UPDATE outbox
       SET published_at = now(),
           payload = CASE WHEN payload ? 'deferred' THEN order_event_rendered(outbox)
                          ELSE payload END
     WHERE id = ANY (p_ids) AND published_at IS NULL;
END
$$;
