-- 013_venue_statements.sql - the venue's own account view, for the
-- reconciliation job (src/engine/recon.c): a statement in an exchange's
-- CSV export format, imported with `tradedesk recon import` (src/cli/recon.c,
-- parsed by src/domain/statement.c), against the fills of the same user
-- over the same time.
--
-- A statement is a user's trades at one venue as the venue reports them.
-- Each run compares, for each of the newest statements and each symbol
-- traded in it or filled here meanwhile, the net quantity (bought minus
-- sold) and the net notional (sold minus bought, in the quote asset) of
-- the statement's trades with the user's fills between the statement's
-- first and last trade (its last second included): kinds venue_quantity
-- and venue_notional, graded by the reconciliation tolerances.
--
-- The paper venue needs no statement: its ledger is the fills table
-- itself, which the positions and cash are already rebuilt from (sql/009).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE TABLE venue_statements (
    id          bigserial   PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue       text        NOT NULL CHECK (venue IN ('binance')),
    file_name   text        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    -- SHA-256 of the file: the same file imported twice is one statement.
    digest      text        NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    trades      integer     NOT NULL CHECK (trades >= 0),
    first_at    timestamptz,
    last_at     timestamptz,
    imported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, venue, digest),
    CONSTRAINT venue_statements_window
        CHECK ((trades = 0) = (first_at IS NULL) AND (first_at IS NULL) = (last_at IS NULL)
               AND (first_at IS NULL OR first_at <= last_at))
);

CREATE TABLE venue_trades (
    statement_id bigint        NOT NULL REFERENCES venue_statements (id) ON DELETE CASCADE,
    line         integer       NOT NULL CHECK (line > 0), -- in the file
    traded_at    timestamptz   NOT NULL,
    symbol       text          NOT NULL CHECK (symbol ~ '^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$'),
    side         text          NOT NULL CHECK (side IN ('buy', 'sell')),
    price        numeric(38,8) NOT NULL CHECK (price > 0),
    quantity     numeric(38,8) NOT NULL CHECK (quantity > 0),
    amount       numeric(38,8) NOT NULL CHECK (amount > 0), -- in the quote asset
    fee          numeric(38,8) NOT NULL CHECK (fee >= 0),
    fee_asset    text          CHECK (fee_asset ~ '^[A-Z0-9]{2,12}$'),
    PRIMARY KEY (statement_id, line)
);

-- What differs between the newest p_limit statements and the fills over
-- their windows: one row per difference, then one row with kind NULL whose
-- expected is how many comparisons were made (as reconcile_books()).  A
-- user's fills are read through fills_by_user (user_id, id), filtered by
-- time: no index of their own, which every fill would pay for.
CREATE FUNCTION reconcile_venue(p_limit integer)
RETURNS TABLE (kind text, user_id bigint, symbol text, expected numeric, actual numeric,
               detail text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    checks bigint := 0;
    r      record;
BEGIN
    FOR r IN
        WITH s AS (SELECT * FROM venue_statements WHERE trades > 0 ORDER BY id DESC LIMIT p_limit),
        venue AS (
            SELECT t.statement_id, t.symbol,
                   sum(CASE WHEN t.side = 'buy' THEN t.quantity ELSE -t.quantity END) AS qty,
                   sum(CASE WHEN t.side = 'sell' THEN t.amount ELSE -t.amount END) AS notional
              FROM venue_trades t JOIN s ON s.id = t.statement_id
             GROUP BY t.statement_id, t.symbol),
        ours AS (
            SELECT s.id AS statement_id, f.symbol,
                   sum(CASE WHEN f.side = 'buy' THEN f.quantity ELSE -f.quantity END) AS qty,
                   sum(round(CASE WHEN f.side = 'sell' THEN f.price * f.quantity
                                  ELSE -(f.price * f.quantity) END, 8)) AS notional
              FROM s JOIN fills f ON f.user_id = s.user_id AND f.created_at >= s.first_at
                                 AND f.created_at < s.last_at + interval '1 second'
             GROUP BY s.id, f.symbol)
        SELECT s.id, s.user_id, s.venue, s.file_name, s.first_at, s.last_at,
               coalesce(v.symbol, o.symbol) AS symbol,
               coalesce(v.qty, 0) AS v_qty, coalesce(o.qty, 0) AS o_qty,
               coalesce(v.notional, 0) AS v_notional, coalesce(o.notional, 0) AS o_notional
          FROM venue v FULL JOIN ours o
               ON o.statement_id = v.statement_id AND o.symbol = v.symbol
          JOIN s ON s.id = coalesce(v.statement_id, o.statement_id)
         ORDER BY s.id, 7
    LOOP
        checks := checks + 2;
        user_id := r.user_id;
        symbol := r.symbol;
        detail := 'statement ' || r.id || ' (' || r.venue || ', ' || r.file_name || ', '
                  || td_time_text(r.first_at) || ' to ' || td_time_text(r.last_at) || ')';
        IF r.v_qty <> r.o_qty THEN
            kind := 'venue_quantity'; expected := r.v_qty; actual := r.o_qty;
            RETURN NEXT;
        END IF;
        IF r.v_notional <> r.o_notional THEN
            kind := 'venue_notional'; expected := r.v_notional; actual := r.o_notional;
            RETURN NEXT;
        END IF;
    END LOOP;

    kind := NULL; user_id := NULL; symbol := NULL; expected := checks; actual := NULL;
    detail := NULL;
    RETURN NEXT;
END
$$;
