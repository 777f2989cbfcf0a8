-- 014_trace.sql - the W3C trace id of the request that created an order
-- (src/core/trace.h: nginx continues a client's traceparent or starts
-- one), so the order's path from POST to fill to the stream's push can be
-- followed by one id: the API's log lines carry it, the engine's relay
-- attaches it to what it publishes about the order.  NULL for orders
-- written outside the API (and those from before this file).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

ALTER TABLE conditional_orders
    ADD COLUMN trace_id text CHECK (trace_id ~ '^[0-9a-f]{32}$');
