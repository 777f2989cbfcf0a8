-- seed_demo.sql - demo market data and portfolios for alice and bob.
--
-- For local runs only; never load it in production.  `tradedesk seed demo`
-- creates the users alice, bob and admin, then runs this file in one
-- transaction.  It is a reset, and it is deterministic: every value and
-- timestamp is fixed, and running it again puts alice's and bob's trading
-- data (account, positions, conditional orders, fills, equity snapshots)
-- back to exactly this state, with the same ids.  Rows the engine or the API
-- added for them since are removed; rows of other users are never touched.
--
-- Rows are matched by natural keys, never by serial ids: positions by
-- (user, symbol, side, opened_at), orders by (user, client_order_id), fills
-- by order.  Existing rows are updated in place and only missing ones are
-- inserted, so a second run neither renumbers rows nor uses up sequence
-- values.

DO $$
BEGIN
    IF (SELECT count(*) FROM users WHERE username IN ('alice', 'bob')) <> 2 THEN
        RAISE EXCEPTION 'seed_demo.sql: users alice and bob must exist first'
            USING HINT = 'run `tradedesk seed demo`, which creates them';
    END IF;
END
$$;

-- ------------------------------------------------------------ market data

INSERT INTO instruments (symbol, base, quote, price_scale, qty_scale, active) VALUES
    ('BTC-USDT', 'BTC', 'USDT', 2, 5, true),
    ('ETH-USDT', 'ETH', 'USDT', 2, 4, true),
    ('SOL-USDT', 'SOL', 'USDT', 2, 3, true),
    ('BNB-USDT', 'BNB', 'USDT', 2, 3, true),
    ('XRP-USDT', 'XRP', 'USDT', 4, 1, true)
ON CONFLICT (symbol) DO UPDATE
    SET base = EXCLUDED.base, quote = EXCLUDED.quote, price_scale = EXCLUDED.price_scale,
        qty_scale = EXCLUDED.qty_scale, active = EXCLUDED.active;

INSERT INTO prices_latest (symbol, price, source, updated_at) VALUES
    ('BTC-USDT', 106562.08, 'binance', '2025-06-10 12:00:00+00'),
    ('ETH-USDT',   2681.53, 'binance', '2025-06-10 12:00:00+00'),
    ('SOL-USDT',    157.84, 'binance', '2025-06-10 12:00:00+00'),
    ('BNB-USDT',    659.12, 'binance', '2025-06-10 12:00:00+00'),
    ('XRP-USDT',    2.2871, 'binance', '2025-06-10 12:00:00+00')
ON CONFLICT (symbol) DO UPDATE
    SET price = EXCLUDED.price, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at;

-- The last six minutes before the latest prices, one close a minute.
INSERT INTO price_history (symbol, source, ts, price)
SELECT h.symbol, h.source, '2025-06-10 11:55:00+00'::timestamptz + h.minute * interval '1 minute',
       h.price
FROM (VALUES
    ('BTC-USDT', 'binance', 0, 106402.55), ('BTC-USDT', 'binance', 1, 106455.10),
    ('BTC-USDT', 'binance', 2, 106498.73), ('BTC-USDT', 'binance', 3, 106511.20),
    ('BTC-USDT', 'binance', 4, 106540.66), ('BTC-USDT', 'binance', 5, 106562.08),
    ('BTC-USDT', 'coinbase', 4, 106551.91), ('BTC-USDT', 'coinbase', 5, 106570.40),
    ('ETH-USDT', 'binance', 0, 2676.10), ('ETH-USDT', 'binance', 1, 2677.92),
    ('ETH-USDT', 'binance', 2, 2679.05), ('ETH-USDT', 'binance', 3, 2678.41),
    ('ETH-USDT', 'binance', 4, 2680.36), ('ETH-USDT', 'binance', 5, 2681.53),
    ('SOL-USDT', 'binance', 0, 157.21), ('SOL-USDT', 'binance', 1, 157.35),
    ('SOL-USDT', 'binance', 2, 157.52), ('SOL-USDT', 'binance', 3, 157.48),
    ('SOL-USDT', 'binance', 4, 157.69), ('SOL-USDT', 'binance', 5, 157.84),
    ('BNB-USDT', 'binance', 0, 658.40), ('BNB-USDT', 'binance', 1, 658.55),
    ('BNB-USDT', 'binance', 2, 658.71), ('BNB-USDT', 'binance', 3, 658.90),
    ('BNB-USDT', 'binance', 4, 659.03), ('BNB-USDT', 'binance', 5, 659.12),
    ('XRP-USDT', 'binance', 0, 2.2815), ('XRP-USDT', 'binance', 1, 2.2832),
    ('XRP-USDT', 'binance', 2, 2.2840), ('XRP-USDT', 'binance', 3, 2.2851),
    ('XRP-USDT', 'binance', 4, 2.2866), ('XRP-USDT', 'binance', 5, 2.2871)
) AS h (symbol, source, minute, price)
ON CONFLICT (symbol, ts, source) DO UPDATE SET price = EXCLUDED.price;

-- ------------------------------------------------------------ the demo set
--
-- Plain temporary tables (dropped at the end) rather than ON COMMIT DROP,
-- so the file also works from `psql -f` without a transaction.

SET client_min_messages = warning; -- no "does not exist, skipping" notices
DROP TABLE IF EXISTS pg_temp.demo_users, pg_temp.demo_accounts, pg_temp.demo_positions,
                     pg_temp.demo_orders, pg_temp.demo_fills, pg_temp.demo_equity,
                     pg_temp.demo_position_ids;

CREATE TEMP TABLE demo_users AS
    SELECT id, username FROM users WHERE username IN ('alice', 'bob');

CREATE TEMP TABLE demo_accounts (username text, cash_balance numeric(38,8));
INSERT INTO demo_accounts VALUES ('alice', 25000.00), ('bob', 8200.00);

-- pos is the key orders and fills below use to name a position.  Realized
-- P&L is the sum of the fills below: long (exit - entry) * qty, short
-- (entry - exit) * qty.
CREATE TEMP TABLE demo_positions (
    pos text, username text, symbol text, side text, quantity numeric(38,8),
    entry_price numeric(38,8), realized_pnl numeric(38,8), status text,
    opened_at timestamptz, closed_at timestamptz);
INSERT INTO demo_positions VALUES
    -- alice: BTC and ETH long, SOL short open; BNB and XRP closed.
    ('a-btc', 'alice', 'BTC-USDT', 'long',  0.25,  98250.00,    0.00, 'open',
     '2025-05-20 14:02:11+00', NULL),
    -- opened with 6 ETH; demo-alice-008 sold 2 at 2651.12.
    ('a-eth', 'alice', 'ETH-USDT', 'long',  4,      2415.60,  471.04, 'open',
     '2025-05-28 09:30:00+00', NULL),
    ('a-sol', 'alice', 'SOL-USDT', 'short', 30,      164.85,    0.00, 'open',
     '2025-06-03 16:45:00+00', NULL),
    ('a-bnb', 'alice', 'BNB-USDT', 'long',  10,      602.40,  465.00, 'closed',
     '2025-05-15 08:00:00+00', '2025-06-01 10:12:34.018+00'),
    ('a-xrp', 'alice', 'XRP-USDT', 'long',  2000,    2.3150, -228.00, 'closed',
     '2025-05-22 12:00:00+00', '2025-06-06 03:20:15.021+00'),
    -- bob: ETH short, XRP and BTC long open; SOL long and BNB short closed.
    ('b-eth', 'bob',   'ETH-USDT', 'short', 3.5,    2762.10,    0.00, 'open',
     '2025-06-05 13:00:00+00', NULL),
    ('b-xrp', 'bob',   'XRP-USDT', 'long',  5000,    2.0415,    0.00, 'open',
     '2025-05-30 07:10:00+00', NULL),
    ('b-btc', 'bob',   'BTC-USDT', 'long',  0.05, 104820.50,    0.00, 'open',
     '2025-06-08 19:25:00+00', NULL),
    ('b-sol', 'bob',   'SOL-USDT', 'long',  50,      141.20,  877.00, 'closed',
     '2025-05-25 11:00:00+00', '2025-06-04 18:44:09.020+00'),
    ('b-bnb', 'bob',   'BNB-USDT', 'short', 4,       671.30,  -76.60, 'closed',
     '2025-05-26 15:00:00+00', '2025-06-07 14:02:51.017+00');

CREATE TEMP TABLE demo_orders (
    username text, client_order_id text, type text, side text, symbol text,
    quantity numeric(38,8), trigger_price numeric(38,8), callback_rate numeric(38,8),
    activation_price numeric(38,8), pos text, status text, extreme_price numeric(38,8),
    armed boolean, triggered_price numeric(38,8), created_at timestamptz,
    updated_at timestamptz, triggered_at timestamptz, filled_at timestamptz,
    cancelled_at timestamptz, expires_at timestamptz);
INSERT INTO demo_orders VALUES
    ('alice', 'demo-alice-001', 'stop_loss', 'sell', 'BTC-USDT', 0.25, 95000.00, NULL, NULL,
     'a-btc', 'active', NULL, false, NULL,
     '2025-05-20 14:05:00+00', '2025-05-20 14:05:00+00', NULL, NULL, NULL, NULL),
    ('alice', 'demo-alice-002', 'take_profit', 'sell', 'BTC-USDT', 0.10, 115000.00, NULL, NULL,
     'a-btc', 'active', NULL, false, NULL,
     '2025-05-21 08:00:00+00', '2025-05-21 08:00:00+00', NULL, NULL, NULL, NULL),
    -- waits for 2800.00 before it starts trailing.
    ('alice', 'demo-alice-003', 'trailing_stop', 'sell', 'ETH-USDT', 4, NULL, 2.5, 2800.00,
     'a-eth', 'active', NULL, false, NULL,
     '2025-06-02 10:00:00+00', '2025-06-02 10:00:00+00', NULL, NULL, NULL, NULL),
    -- a short's stop loss buys back above the market.
    ('alice', 'demo-alice-004', 'stop_loss', 'buy', 'SOL-USDT', 30, 172.50, NULL, NULL,
     'a-sol', 'active', NULL, false, NULL,
     '2025-06-03 16:46:00+00', '2025-06-03 16:46:00+00', NULL, NULL, NULL, NULL),
    ('alice', 'demo-alice-005', 'take_profit', 'sell', 'BNB-USDT', 10, 648.50, NULL, NULL,
     'a-bnb', 'filled', NULL, false, 648.90,
     '2025-05-15 08:01:00+00', '2025-06-01 10:12:34.018+00',
     '2025-06-01 10:12:34+00', '2025-06-01 10:12:34.018+00', NULL, NULL),
    ('alice', 'demo-alice-006', 'stop_loss', 'sell', 'XRP-USDT', 2000, 2.2050, NULL, NULL,
     'a-xrp', 'filled', NULL, false, 2.2010,
     '2025-05-22 12:01:00+00', '2025-06-06 03:20:15.021+00',
     '2025-06-06 03:20:15+00', '2025-06-06 03:20:15.021+00', NULL, NULL),
    ('alice', 'demo-alice-007', 'take_profit', 'sell', 'ETH-USDT', 2, 3000.00, NULL, NULL,
     'a-eth', 'cancelled', NULL, false, NULL,
     '2025-05-28 09:31:00+00', '2025-06-02 09:58:00+00', NULL, NULL,
     '2025-06-02 09:58:00+00', NULL),
    ('alice', 'demo-alice-008', 'take_profit', 'sell', 'ETH-USDT', 2, 2650.00, NULL, NULL,
     'a-eth', 'filled', NULL, false, 2651.12,
     '2025-05-28 09:32:00+00', '2025-06-09 21:07:45.015+00',
     '2025-06-09 21:07:45+00', '2025-06-09 21:07:45.015+00', NULL, NULL),
    -- armed at once (no activation price); lowest price since is 2652.40,
    -- so it fires at 2652.40 * 1.03 = 2731.97 or above.
    ('bob', 'demo-bob-001', 'trailing_stop', 'buy', 'ETH-USDT', 3.5, NULL, 3.0, NULL,
     'b-eth', 'active', 2652.40, true, NULL,
     '2025-06-05 13:01:00+00', '2025-06-09 02:14:37+00', NULL, NULL, NULL, NULL),
    ('bob', 'demo-bob-002', 'take_profit', 'sell', 'XRP-USDT', 5000, 2.5000, NULL, NULL,
     'b-xrp', 'active', NULL, false, NULL,
     '2025-05-30 07:11:00+00', '2025-05-30 07:11:00+00', NULL, NULL, NULL, NULL),
    -- armed at 150.00, peaked at 165.36, fired at 158.74 <= 165.36 * 0.96.
    ('bob', 'demo-bob-003', 'trailing_stop', 'sell', 'SOL-USDT', 50, NULL, 4.0, 150.00,
     'b-sol', 'filled', 165.36, true, 158.74,
     '2025-05-25 11:02:00+00', '2025-06-04 18:44:09.020+00',
     '2025-06-04 18:44:09+00', '2025-06-04 18:44:09.020+00', NULL, NULL),
    ('bob', 'demo-bob-004', 'stop_loss', 'sell', 'BTC-USDT', 0.05, 101000.00, NULL, NULL,
     'b-btc', 'active', NULL, false, NULL,
     '2025-06-08 19:26:00+00', '2025-06-08 19:26:00+00', NULL, NULL, NULL, NULL),
    ('bob', 'demo-bob-005', 'stop_loss', 'buy', 'BNB-USDT', 4, 690.00, NULL, NULL,
     'b-bnb', 'filled', NULL, false, 690.45,
     '2025-05-26 15:01:00+00', '2025-06-07 14:02:51.017+00',
     '2025-06-07 14:02:51+00', '2025-06-07 14:02:51.017+00', NULL, NULL),
    -- good till 2025-06-03, never reached its price.
    ('bob', 'demo-bob-006', 'take_profit', 'buy', 'BNB-USDT', 2, 590.00, NULL, NULL,
     NULL, 'expired', NULL, false, NULL,
     '2025-05-20 10:00:00+00', '2025-06-03 00:00:00+00', NULL, NULL, NULL,
     '2025-06-03 00:00:00+00');

-- symbol and side come from the order.
CREATE TEMP TABLE demo_fills (
    username text, client_order_id text, quantity numeric(38,8), price numeric(38,8),
    realized_pnl numeric(38,8), pos text, created_at timestamptz);
INSERT INTO demo_fills VALUES
    ('alice', 'demo-alice-005', 10,   648.90,   465.00, 'a-bnb', '2025-06-01 10:12:34.018+00'),
    ('alice', 'demo-alice-006', 2000, 2.2010,  -228.00, 'a-xrp', '2025-06-06 03:20:15.021+00'),
    ('alice', 'demo-alice-008', 2,    2651.12,  471.04, 'a-eth', '2025-06-09 21:07:45.015+00'),
    ('bob',   'demo-bob-003',   50,   158.74,   877.00, 'b-sol', '2025-06-04 18:44:09.020+00'),
    ('bob',   'demo-bob-005',   4,    690.45,   -76.60, 'b-bnb', '2025-06-07 14:02:51.017+00');

-- Daily equity at midnight UTC; the peak is computed below.
CREATE TEMP TABLE demo_equity (username text, taken_at timestamptz, equity numeric(38,8));
INSERT INTO demo_equity VALUES
    ('alice', '2025-06-04 00:00:00+00', 60412.35), ('alice', '2025-06-05 00:00:00+00', 61288.90),
    ('alice', '2025-06-06 00:00:00+00', 62950.14), ('alice', '2025-06-07 00:00:00+00', 62104.77),
    ('alice', '2025-06-08 00:00:00+00', 63011.42), ('alice', '2025-06-09 00:00:00+00', 62487.60),
    ('alice', '2025-06-10 00:00:00+00', 62576.77),
    ('bob',   '2025-06-04 00:00:00+00', 24102.18), ('bob',   '2025-06-05 00:00:00+00', 24655.40),
    ('bob',   '2025-06-06 00:00:00+00', 25380.92), ('bob',   '2025-06-07 00:00:00+00', 25112.06),
    ('bob',   '2025-06-08 00:00:00+00', 25911.35), ('bob',   '2025-06-09 00:00:00+00', 25460.71),
    ('bob',   '2025-06-10 00:00:00+00', 25245.63);

-- ------------------------------------------------------------------ account

INSERT INTO accounts (user_id, currency, cash_balance, updated_at)
SELECT u.id, 'USDT', a.cash_balance, '2025-06-10 12:00:00+00'
FROM demo_accounts a JOIN demo_users u USING (username)
WHERE NOT EXISTS (SELECT 1 FROM accounts x WHERE x.user_id = u.id);

UPDATE accounts x
SET currency = 'USDT', cash_balance = a.cash_balance, updated_at = '2025-06-10 12:00:00+00'
FROM demo_accounts a JOIN demo_users u USING (username)
WHERE x.user_id = u.id;

-- ------------------------------------------- remove what is not in the set
-- Children first: fills, then orders, then positions.

DELETE FROM fills f
USING demo_users u
WHERE f.user_id = u.id
  AND NOT EXISTS (SELECT 1
                  FROM demo_fills d JOIN conditional_orders o
                       ON o.client_order_id = d.client_order_id
                  WHERE d.username = u.username AND o.user_id = u.id AND o.id = f.order_id);

DELETE FROM conditional_orders o
USING demo_users u
WHERE o.user_id = u.id
  AND NOT EXISTS (SELECT 1 FROM demo_orders d
                  WHERE d.username = u.username AND d.client_order_id = o.client_order_id);

-- A demo order may point at a position about to go (the engine may have
-- replaced one); it is pointed back at its demo position further down.
UPDATE conditional_orders o
SET position_id = NULL
FROM demo_users u
WHERE o.user_id = u.id AND o.position_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM positions p JOIN demo_positions d
                       ON d.symbol = p.symbol AND d.side = p.side AND d.opened_at = p.opened_at
                  WHERE p.id = o.position_id AND d.username = u.username);
UPDATE fills f
SET position_id = NULL
FROM demo_users u
WHERE f.user_id = u.id AND f.position_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM positions p JOIN demo_positions d
                       ON d.symbol = p.symbol AND d.side = p.side AND d.opened_at = p.opened_at
                  WHERE p.id = f.position_id AND d.username = u.username);

DELETE FROM positions p
USING demo_users u
WHERE p.user_id = u.id
  AND NOT EXISTS (SELECT 1 FROM demo_positions d
                  WHERE d.username = u.username AND d.symbol = p.symbol AND d.side = p.side
                    AND d.opened_at = p.opened_at);

DELETE FROM equity_snapshots e USING demo_users u WHERE e.user_id = u.id;
-- The drawdown guard starts afresh from the next snapshot (sql/011).
DELETE FROM drawdown_guards g USING demo_users u WHERE g.user_id = u.id;
DELETE FROM guard_events g USING demo_users u WHERE g.user_id = u.id;

-- ------------------------------------------------------------- upsert them

UPDATE positions p
SET quantity = d.quantity, entry_price = d.entry_price, realized_pnl = d.realized_pnl,
    status = d.status, closed_at = d.closed_at, updated_at = coalesce(d.closed_at, d.opened_at)
FROM demo_positions d JOIN demo_users u USING (username)
WHERE p.user_id = u.id AND p.symbol = d.symbol AND p.side = d.side AND p.opened_at = d.opened_at;

INSERT INTO positions (user_id, symbol, side, quantity, entry_price, realized_pnl, status,
                       opened_at, closed_at, updated_at)
SELECT u.id, d.symbol, d.side, d.quantity, d.entry_price, d.realized_pnl, d.status,
       d.opened_at, d.closed_at, coalesce(d.closed_at, d.opened_at)
FROM demo_positions d JOIN demo_users u USING (username)
WHERE NOT EXISTS (SELECT 1 FROM positions p
                  WHERE p.user_id = u.id AND p.symbol = d.symbol AND p.side = d.side
                    AND p.opened_at = d.opened_at)
ORDER BY d.opened_at;

-- pos key -> position id, for orders and fills.
CREATE TEMP TABLE demo_position_ids AS
    SELECT d.pos, p.id
    FROM demo_positions d JOIN demo_users u USING (username)
         JOIN positions p ON p.user_id = u.id AND p.symbol = d.symbol AND p.side = d.side
                         AND p.opened_at = d.opened_at;

UPDATE conditional_orders o
SET type = d.type, side = d.side, symbol = d.symbol, quantity = d.quantity,
    trigger_price = d.trigger_price, callback_rate = d.callback_rate,
    activation_price = d.activation_price, position_id = pi.id, status = d.status,
    extreme_price = d.extreme_price, armed = d.armed, triggered_price = d.triggered_price,
    created_at = d.created_at, updated_at = d.updated_at, triggered_at = d.triggered_at,
    filled_at = d.filled_at, cancelled_at = d.cancelled_at, expires_at = d.expires_at,
    idempotency_key = NULL, oco_group_id = NULL,
    cancel_reason = CASE WHEN d.status = 'cancelled' THEN 'user' END
FROM demo_orders d JOIN demo_users u USING (username)
     LEFT JOIN demo_position_ids pi ON pi.pos = d.pos
WHERE o.user_id = u.id AND o.client_order_id = d.client_order_id;

INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity,
                                trigger_price, callback_rate, activation_price, position_id,
                                status, extreme_price, armed, triggered_price, created_at,
                                updated_at, triggered_at, filled_at, cancelled_at, expires_at,
                                cancel_reason)
SELECT u.id, d.client_order_id, d.type, d.side, d.symbol, d.quantity, d.trigger_price,
       d.callback_rate, d.activation_price, pi.id, d.status, d.extreme_price, d.armed,
       d.triggered_price, d.created_at, d.updated_at, d.triggered_at, d.filled_at,
       d.cancelled_at, d.expires_at, CASE WHEN d.status = 'cancelled' THEN 'user' END
FROM demo_orders d JOIN demo_users u USING (username)
     LEFT JOIN demo_position_ids pi ON pi.pos = d.pos
WHERE NOT EXISTS (SELECT 1 FROM conditional_orders o
                  WHERE o.user_id = u.id AND o.client_order_id = d.client_order_id)
ORDER BY d.created_at;

UPDATE fills f
SET quantity = d.quantity, price = d.price, realized_pnl = d.realized_pnl,
    position_id = pi.id, created_at = d.created_at
FROM demo_fills d JOIN demo_users u USING (username)
     JOIN conditional_orders o ON o.user_id = u.id AND o.client_order_id = d.client_order_id
     LEFT JOIN demo_position_ids pi ON pi.pos = d.pos
WHERE f.order_id = o.id;

INSERT INTO fills (order_id, user_id, symbol, side, quantity, price, realized_pnl, position_id,
                   created_at)
SELECT o.id, u.id, o.symbol, o.side, d.quantity, d.price, d.realized_pnl, pi.id, d.created_at
FROM demo_fills d JOIN demo_users u USING (username)
     JOIN conditional_orders o ON o.user_id = u.id AND o.client_order_id = d.client_order_id
     LEFT JOIN demo_position_ids pi ON pi.pos = d.pos
WHERE NOT EXISTS (SELECT 1 FROM fills f WHERE f.order_id = o.id)
ORDER BY d.created_at;

INSERT INTO equity_snapshots (user_id, taken_at, equity, peak_equity)
SELECT u.id, e.taken_at, e.equity,
       max(e.equity) OVER (PARTITION BY e.username ORDER BY e.taken_at)
FROM demo_equity e JOIN demo_users u USING (username);

-- The demo is a reset: its state is where the reconciliation's books start
-- (sql/009_reconciliation.sql), whatever the engine did to them before.
INSERT INTO position_openings (position_id, quantity, entry_price, realized_pnl, status,
                               last_fill_id, recorded_at)
SELECT p.id, p.quantity, p.entry_price, p.realized_pnl, p.status,
       coalesce((SELECT max(f.id) FROM fills f WHERE f.position_id = p.id), 0), now()
FROM positions p JOIN demo_users u ON u.id = p.user_id
ON CONFLICT (position_id) DO UPDATE
    SET quantity = EXCLUDED.quantity, entry_price = EXCLUDED.entry_price,
        realized_pnl = EXCLUDED.realized_pnl, status = EXCLUDED.status,
        last_fill_id = EXCLUDED.last_fill_id, recorded_at = EXCLUDED.recorded_at;
INSERT INTO account_openings (user_id, cash_balance, last_fill_id, recorded_at)
SELECT a.user_id, a.cash_balance,
       coalesce((SELECT max(f.id) FROM fills f WHERE f.user_id = a.user_id), 0), now()
FROM accounts a JOIN demo_users u ON u.id = a.user_id
ON CONFLICT (user_id) DO UPDATE
    SET cash_balance = EXCLUDED.cash_balance, last_fill_id = EXCLUDED.last_fill_id,
        recorded_at = EXCLUDED.recorded_at;

DROP TABLE demo_users, demo_accounts, demo_positions, demo_orders, demo_fills, demo_equity,
           demo_position_ids;
