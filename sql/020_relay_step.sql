-- 020_relay_step.sql - the relay's mark rides on its next batch: one call
-- a batch, not two (docs/performance.md, "Engine: conditional orders end
-- to end", the relay's statements).
--
-- Measured (pg_stat_statements, track = all, bench/fills.sh's spread phase,
-- PGSS=1: one fill a tick, 9,184 batches for 10,000 fills): the batch
-- (sql/019) 858 us a call, the mark 523 us, of which its UPDATE 409 and
-- the rendering of the deferred event again (order_event_rendered, 94 us a
-- row), the same rendering the batch had published; the relay's backend
-- used 11.3 s of CPU in the 54 s phase, half as much as both fill lanes.
-- Each call is a statement, a transaction, a PL/pgSQL call and its
-- executor start-up (a quarter of that backend's CPU in perf).
--
-- Now outbox_relay_step(ids, payloads, limit) marks the rows the previous
-- batch delivered, then reads the next batch, in one transaction: what it
-- returns is sql/019's batch, read after the mark.  A deferred event is
-- kept as the relay published it (payloads: a JSON array aligned with
-- ids, the published payload of each order event, null for a fill): the
-- same text, not rendered a second time; a row given none is rendered by
-- sql/019's rule (order_event_rendered), as before.
--
-- And the users' locks (sql/010: the batch takes a user's order events
-- only while no writer of that user is in flight) are held only while the
-- step reads which rows it takes: session locks, released before it
-- renders them, no longer transaction locks held to its end.  Measured with log_lock_waits in bench/fills.sh's stepped phase
-- (100 fills a tick): 29 of about 170 fill transactions waited for them,
-- a median 11 ms and up to 24 ms, the whole of the relay's render and
-- mark of 200 rows.  What the rule needs is a snapshot taken while the
-- lock is held: a writer that comes after the release gets ids above
-- every id that snapshot saw.
--
-- A delivered row stays unmarked until the relay's next look (at most its
-- idle period, 20 ms); the relay marks what it holds before restoring a
-- restarted Redis (which re-adds published rows only) and when it stops.
-- A crash meanwhile sends those rows again, which the Streams refuse by
-- entry id and subscribers drop by event id, as for a crash before any
-- mark.
--
-- outbox_relay_batch(n) and outbox_mark_published(ids) stay, as the step
-- with nothing to mark or nothing to read.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE FUNCTION outbox_relay_step(p_ids bigint[], p_payloads jsonb, p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text, trace_id text)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    ready text[];
    taken bigint[];
BEGIN
    IF cardinality(p_ids) > 0 THEN
        UPDATE outbox x
           SET published_at = now(),
               payload = CASE WHEN NOT x.payload ? 'deferred' THEN x.payload
                              WHEN jsonb_typeof(m.payload) = 'object' THEN m.payload
                              ELSE order_event_rendered(x) END
          FROM (SELECT i.id, j.payload
                  FROM unnest(p_ids) WITH ORDINALITY AS i(id, n)
                  LEFT JOIN jsonb_array_elements(p_payloads) WITH ORDINALITY AS j(payload, n)
                       USING (n)) m
         WHERE x.id = m.id AND x.published_at IS NULL;
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
    RETURN QUERY
    SELECT b.id, b.topic, b.key, b.payload->>'id',
           CASE WHEN b.topic = 'fills'
                THEN (b.payload || jsonb_build_object('trace_id', o.trace_id))::text
                ELSE p.payload::text END,
           p.payload->>'type', (p.payload->'data')::text,
           CASE WHEN b.topic = 'fills' THEN o.trace_id
                WHEN b.topic = 'orders' THEN p.payload->'data'->>'trace_id' END
      FROM (SELECT x.id, x.topic, x.key, x.payload FROM outbox x WHERE x.id = ANY (taken)) b
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

-- The batch alone and the mark alone (tests, psql), one body for all three.
CREATE OR REPLACE FUNCTION outbox_relay_batch(p_limit int)
RETURNS TABLE (id bigint, topic text, key text, fill_id text, payload text, type text,
               data text, trace_id text)
LANGUAGE sql AS $$
    SELECT * FROM outbox_relay_step(NULL, NULL, p_limit)
$$;

CREATE OR REPLACE FUNCTION outbox_mark_published(p_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM * FROM outbox_relay_step(p_ids, NULL, 0);
END
$$;
