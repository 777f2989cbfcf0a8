-- 024_active_orders.sql - an order's status change is a HOT update
-- (docs/performance.md, "Engine: conditional orders end to end", "An order's
-- fill written in place").  Until now conditional_orders' status was in two
-- of its nine indexes: conditional_orders_by_user (user_id, status, id) and
-- the engine's partial index of active orders (WHERE status = 'active',
-- whose predicate counts as an indexed column).  So every status change,
-- the fill's above all, wrote a new entry in all nine indexes.  Measured
-- with bench/fill_batch.sh (a batch of 50, as a lane sends it): 190-199 us
-- of CPU an order as the schema was, 159-166 us with this migration.
--
-- Now no index of conditional_orders holds a column the fill, a cancel or
-- an expiry changes, and the table keeps free space on its pages
-- (fillfactor 70, as positions and accounts since sql/008): the new row
-- version goes on the same page and no index entry is written.  The rows
-- already on full pages are not rewritten; those go HOT as their pages
-- gain room.
--
-- What the two indexes answered is now answered so:
--   - "which orders are active" (the engine's load and resync, an API list
--     of status=active): active_orders, one row per active order, kept by
--     the two statement triggers below in the transaction that changes
--     the order, whoever the writer is (the fill, an API cancel, an OCO
--     sibling, an expiry).  A row leaving it is a DELETE, which writes no
--     index entry either.
--   - a user's orders of another status: conditional_orders_by_user
--     (user_id, id), the status checked on each row.  The final statuses
--     hold nearly all of a user's orders, so few rows are read past.
--
-- An order never becomes active again (sql/001's checks allow it, nothing
-- writes it): the update trigger adds it back all the same, so the table
-- follows the status whatever a writer does.
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE TABLE active_orders (
    order_id bigint PRIMARY KEY REFERENCES conditional_orders (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL,
    symbol   text   NOT NULL
);
-- GET /orders/conditional?status=active pages through one user's.
CREATE INDEX active_orders_by_user ON active_orders (user_id, order_id);

INSERT INTO active_orders (order_id, user_id, symbol)
SELECT id, user_id, symbol FROM conditional_orders WHERE status = 'active';

CREATE FUNCTION active_orders_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO active_orders (order_id, user_id, symbol)
    SELECT n.id, n.user_id, n.symbol FROM new_orders n WHERE n.status = 'active';
    RETURN NULL;
END
$$;

-- By the primary key, an array of ids at a time: the transition table's
-- size is not known to the planner, and a join planned for one row (an
-- API's cancel) would be wrong for a fill batch of thousands.
CREATE FUNCTION active_orders_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    gone bigint[] := ARRAY(SELECT n.id FROM new_orders n WHERE n.status <> 'active');
    back bigint[] := ARRAY(SELECT n.id FROM new_orders n
                            WHERE n.status = 'active'
                              AND NOT EXISTS (SELECT 1 FROM active_orders a WHERE a.order_id = n.id));
BEGIN
    IF cardinality(gone) > 0 THEN
        DELETE FROM active_orders WHERE order_id = ANY (gone);
    END IF;
    IF cardinality(back) > 0 THEN
        INSERT INTO active_orders (order_id, user_id, symbol)
        SELECT o.id, o.user_id, o.symbol FROM conditional_orders o WHERE o.id = ANY (back);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER active_orders_insert
    AFTER INSERT ON conditional_orders
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION active_orders_insert();

CREATE TRIGGER active_orders_update
    AFTER UPDATE ON conditional_orders
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION active_orders_update();

-- Like an index, the table follows every write, replication's too: the
-- triggers fire also under session_replication_role = replica, which
-- turns the other triggers off (what test_recon does to hide an order
-- from the monitor's NOTIFYs, for the resync to find).
ALTER TABLE conditional_orders ENABLE ALWAYS TRIGGER active_orders_insert;
ALTER TABLE conditional_orders ENABLE ALWAYS TRIGGER active_orders_update;

DROP INDEX conditional_orders_active_by_symbol;
DROP INDEX conditional_orders_by_user;
CREATE INDEX conditional_orders_by_user ON conditional_orders (user_id, id);
ALTER TABLE conditional_orders SET (fillfactor = 70);
