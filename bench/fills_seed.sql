-- bench/fills_seed.sql - the fill benchmarks' orders (bench/fills.sh,
-- bench/fill_batch.sh): :users users named :tag1.., each with 100,000,000
-- USDT and :per BNB-USDT buy stops: the k-th at 600.01 + k - 1, or with
-- -v spread=1 every order at a price of its own, 0.01 apart (the k-th of
-- the j-th user at 600 + 0.01 * ((k - 1) * :users + j)).
--   psql -v tag=fs -v users=100 -v per=100 -v spread=0 -f bench/fills_seed.sql
INSERT INTO users (username, password_hash, role)
SELECT :'tag' || g, (SELECT password_hash FROM users WHERE username = 'alice'), 'user'
  FROM generate_series(1, :users) g;
INSERT INTO accounts (user_id, cash_balance)
SELECT id, 100000000 FROM users WHERE username LIKE :'tag' || '%';
INSERT INTO conditional_orders (user_id, client_order_id, type, side, symbol, quantity,
                                trigger_price)
SELECT u.id, :'tag' || '-' || k, 'stop_loss', 'buy', 'BNB-USDT', 0.01,
       CASE WHEN :spread = 1 THEN 600 + 0.01 * ((k - 1) * :users + u.j) ELSE 600.01 + k - 1 END
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS j FROM users
         WHERE username LIKE :'tag' || '%') u, generate_series(1, :per) k;
-- Statistics as autovacuum would keep them in a database that grew to this
-- size: without, the fill's plans (cached by the engine's sessions) take
-- the orders table for the few rows of the last analyze and scan it whole.
ANALYZE users, accounts, conditional_orders, positions;
