-- seed_bench.sql - benchmark data, loaded by bench/run.sh after `seed demo`.
--
-- 10,000 users bench0..bench9999 (role user), each with an account and 50
-- positions over the 5 demo symbols: 10 open (one per symbol and side, the
-- most positions_one_open allows) and 40 closed, longs and shorts.  That is
-- 500,000 positions, so the per-user index lookups work on a table of a
-- realistic size.  Bench users never log in: they share alice's Argon2id
-- hash (any valid hash satisfies the CHECK).  Needs the demo seed first
-- (instruments, prices_latest, alice).  psql -v ON_ERROR_STOP=1 -1 -f.

\set nusers 10000

INSERT INTO users (username, password_hash, role)
SELECT 'bench' || g, (SELECT password_hash FROM users WHERE username = 'alice'), 'user'
FROM generate_series(0, :nusers - 1) AS g;

INSERT INTO accounts (user_id, currency, cash_balance)
SELECT id, 'USDT', 10000 + (id % 1000) * 37.5
FROM users WHERE username LIKE 'bench%';

-- Position k (0..49) of a user: symbol k % 5, side long for k % 10 < 5;
-- k < 10 is open (each symbol/side once), the rest closed.  Quantities are
-- scaled per symbol so notional values stay in the thousands.
WITH sym (n, symbol, qty) AS (
    VALUES (0, 'BTC-USDT', 0.05), (1, 'ETH-USDT', 1.5), (2, 'SOL-USDT', 20.0),
           (3, 'BNB-USDT', 5.0), (4, 'XRP-USDT', 1500.0)
)
INSERT INTO positions (user_id, symbol, side, quantity, entry_price, realized_pnl, status,
                       opened_at, closed_at, updated_at)
SELECT u.id, s.symbol,
       CASE WHEN k % 10 < 5 THEN 'long' ELSE 'short' END,
       round(s.qty * (1 + (k % 7) * 0.1), 8),
       round(pl.price * (0.92 + ((u.id + k) % 17) * 0.01), 8),
       CASE WHEN k < 10 THEN 0 ELSE round(((u.id * 7 + k * 13) % 2001 - 1000) * 0.37, 8) END,
       CASE WHEN k < 10 THEN 'open' ELSE 'closed' END,
       now() - make_interval(days => 60 - k),
       CASE WHEN k < 10 THEN NULL ELSE now() - make_interval(days => 60 - k) + interval '6 hours' END,
       now() - make_interval(days => 60 - k)
FROM users u
CROSS JOIN generate_series(0, 49) AS k
JOIN sym s ON s.n = k % 5
JOIN prices_latest pl ON pl.symbol = s.symbol
WHERE u.username LIKE 'bench%';

ANALYZE users;
ANALYZE accounts;
ANALYZE positions;
ANALYZE prices_latest;
