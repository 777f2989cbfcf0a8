-- 009_reconciliation.sql - what the engine's reconciliation job compares
-- (src/engine/recon.c): each position and each account's cash as stored,
-- against the same rebuilt from an opening record and the fills since.
--
-- The opening record.  Every writer (fill_orders(), `seed demo`, psql)
-- inserts positions and accounts directly, so the record is kept by the
-- database: a deferred trigger writes it when the inserting transaction
-- commits, as the row stands then, with the newest fill of that position
-- (of that user, for an account) written by the same transaction.  A fill
-- batch that opens a position and adds to or closes it in one transaction
-- is thus inside the record, whichever way fill_orders() orders its
-- statements; every later fill has a greater id, since one user's fills are
-- numbered while their account row is held (sql/007).  Nothing else writes
-- the records but `seed demo` (a reset: its state is where the books start)
-- and this file's backfill of the rows that existed before it.
--
-- The rebuild follows sql/007's arithmetic: a fill in the position's
-- direction adds at the average price (rounded to 8 places); one against it
-- reduces (a position that closes keeps its quantity), realizing
-- (price - entry) x quantity for a long, negated for a short.  Cash: opening
-- or adding spends price x quantity; reducing returns entry x quantity plus
-- the P&L, which is price x quantity for a long and price x quantity + 2 x
-- P&L for a short (from the fill alone: exact for a long, within 1e-8 for a
-- short, as the fill's P&L is stored rounded).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE TABLE position_openings (
    position_id  bigint        PRIMARY KEY REFERENCES positions (id) ON DELETE CASCADE,
    quantity     numeric(38,8) NOT NULL CHECK (quantity >= 0),
    entry_price  numeric(38,8) NOT NULL CHECK (entry_price > 0),
    realized_pnl numeric(38,8) NOT NULL,
    status       text          NOT NULL CHECK (status IN ('open', 'closed')),
    -- The newest fill of the position inside the record (0: none).
    last_fill_id bigint        NOT NULL DEFAULT 0 CHECK (last_fill_id >= 0),
    recorded_at  timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE account_openings (
    user_id      bigint        PRIMARY KEY REFERENCES accounts (user_id) ON DELETE CASCADE,
    cash_balance numeric(38,8) NOT NULL,
    -- The user's newest fill inside the record (0: none).
    last_fill_id bigint        NOT NULL DEFAULT 0 CHECK (last_fill_id >= 0),
    recorded_at  timestamptz   NOT NULL DEFAULT now()
);

CREATE FUNCTION position_opening_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO position_openings (position_id, quantity, entry_price, realized_pnl, status,
                                   last_fill_id)
    SELECT p.id, p.quantity, p.entry_price, p.realized_pnl, p.status,
           coalesce((SELECT max(f.id) FROM fills f WHERE f.position_id = p.id), 0)
      FROM positions p WHERE p.id = NEW.id
    ON CONFLICT (position_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER positions_opening_record AFTER INSERT ON positions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION position_opening_record();

CREATE FUNCTION account_opening_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_openings (user_id, cash_balance, last_fill_id)
    SELECT a.user_id, a.cash_balance,
           coalesce((SELECT max(f.id) FROM fills f WHERE f.user_id = a.user_id), 0)
      FROM accounts a WHERE a.id = NEW.id
    ON CONFLICT (user_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER accounts_opening_record AFTER INSERT ON accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION account_opening_record();

-- What was there before this file is where its books start.
INSERT INTO position_openings (position_id, quantity, entry_price, realized_pnl, status,
                               last_fill_id)
SELECT p.id, p.quantity, p.entry_price, p.realized_pnl, p.status,
       coalesce((SELECT max(f.id) FROM fills f WHERE f.position_id = p.id), 0)
  FROM positions p;
INSERT INTO account_openings (user_id, cash_balance, last_fill_id)
SELECT a.user_id, a.cash_balance,
       coalesce((SELECT max(f.id) FROM fills f WHERE f.user_id = a.user_id), 0)
  FROM accounts a;

-- One position rebuilt: its opening record, then its later fills in order.
-- All NULL for a position without a record.  STABLE: the caller's snapshot.
CREATE FUNCTION position_expected(p_id bigint, OUT quantity numeric, OUT entry_price numeric,
                                  OUT realized_pnl numeric, OUT status text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o    position_openings%ROWTYPE;
    is_long boolean;
    f    record;
BEGIN
    SELECT * INTO o FROM position_openings WHERE position_id = p_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT p.side = 'long' INTO is_long FROM positions p WHERE p.id = p_id;
    quantity := o.quantity;
    entry_price := o.entry_price;
    realized_pnl := o.realized_pnl;
    status := o.status;
    FOR f IN SELECT x.side, x.quantity AS qty, x.price FROM fills x
              WHERE x.position_id = p_id AND x.id > o.last_fill_id ORDER BY x.id LOOP
        IF (f.side = 'buy') = is_long THEN
            entry_price := round((entry_price * quantity + f.price * f.qty) / (quantity + f.qty), 8);
            quantity := quantity + f.qty;
        ELSE
            realized_pnl := realized_pnl + round(CASE WHEN is_long THEN (f.price - entry_price) * f.qty
                                                      ELSE (entry_price - f.price) * f.qty END, 8);
            IF f.qty >= quantity THEN
                status := 'closed';
            ELSE
                quantity := quantity - f.qty;
            END IF;
        END IF;
    END LOOP;
END
$$;

-- The cash a fill moved, from the fill and its position's side.
CREATE FUNCTION fill_cash_effect(p_fill_side text, p_position_side text, p_quantity numeric,
                                 p_price numeric, p_realized_pnl numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT round(CASE WHEN (p_fill_side = 'buy') = (p_position_side = 'long')
                      THEN -(p_price * p_quantity)
                      WHEN p_position_side = 'long' THEN p_price * p_quantity
                      ELSE p_price * p_quantity + 2 * p_realized_pnl END, 8)
$$;

-- What differs between the books and their rebuild, over the newest
-- p_limit positions and accounts: one row per difference (kind
-- position_quantity, position_pnl, position_status or cash), then one row
-- with kind NULL whose expected is how many comparisons were made.
CREATE FUNCTION reconcile_books(p_limit integer)
RETURNS TABLE (kind text, user_id bigint, symbol text, expected numeric, actual numeric,
               detail text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    checks bigint := 0;
    r      record;
BEGIN
    FOR r IN SELECT p.id, p.user_id, p.symbol, p.side, p.quantity, p.realized_pnl, p.status,
                    e.quantity AS e_qty, e.realized_pnl AS e_pnl, e.status AS e_status
               FROM (SELECT * FROM positions ORDER BY id DESC LIMIT p_limit) p,
                    LATERAL position_expected(p.id) e
              WHERE e.status IS NOT NULL LOOP
        checks := checks + 3;
        user_id := r.user_id;
        symbol := r.symbol;
        detail := 'position ' || r.id || ' (' || r.side || ')';
        IF r.quantity <> r.e_qty THEN
            kind := 'position_quantity'; expected := r.e_qty; actual := r.quantity;
            RETURN NEXT;
        END IF;
        IF r.realized_pnl <> r.e_pnl THEN
            kind := 'position_pnl'; expected := r.e_pnl; actual := r.realized_pnl;
            RETURN NEXT;
        END IF;
        IF r.status <> r.e_status THEN
            kind := 'position_status'; expected := NULL; actual := NULL;
            detail := detail || ': ' || r.status || ', rebuilt ' || r.e_status;
            RETURN NEXT;
        END IF;
    END LOOP;

    symbol := NULL;
    FOR r IN SELECT a.user_id, a.cash_balance,
                    o.cash_balance + coalesce((
                        SELECT sum(fill_cash_effect(f.side, p.side, f.quantity, f.price,
                                                    f.realized_pnl))
                          FROM fills f JOIN positions p ON p.id = f.position_id
                         WHERE f.user_id = a.user_id AND f.id > o.last_fill_id), 0) AS e_cash
               FROM (SELECT * FROM accounts ORDER BY id DESC LIMIT p_limit) a
               JOIN account_openings o ON o.user_id = a.user_id LOOP
        checks := checks + 1;
        IF r.cash_balance <> r.e_cash THEN
            kind := 'cash'; user_id := r.user_id; expected := r.e_cash; actual := r.cash_balance;
            detail := 'account of user ' || r.user_id;
            RETURN NEXT;
        END IF;
    END LOOP;

    kind := NULL; user_id := NULL; expected := checks; actual := NULL; detail := NULL;
    RETURN NEXT;
END
$$;

-- How serious each stored divergence is (domain/reconcile.h decides).
ALTER TABLE reconciliation_divergences
    ADD COLUMN level text NOT NULL DEFAULT 'critical' CHECK (level IN ('warning', 'critical'));
-- The status of a user: their divergences of the newest runs.
CREATE INDEX reconciliation_divergences_by_user ON reconciliation_divergences (user_id, run_id);
