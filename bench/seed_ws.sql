-- seed_ws.sql - the market-data benchmark's instruments, loaded by
-- bench/ws_load.sh after `tradedesk migrate`: :nsym symbols B000-USDT,
-- B001-USDT, ... (Binance spells them B000USDT), the only active ones, so
-- the engine subscribes to exactly these.  psql -v nsym=N -f.

UPDATE instruments SET active = false;

INSERT INTO instruments (symbol, base, quote, price_scale, qty_scale, active)
SELECT 'B' || lpad(g::text, 3, '0') || '-USDT', 'B' || lpad(g::text, 3, '0'), 'USDT', 2, 5, true
FROM generate_series(0, :nsym - 1) AS g
ON CONFLICT (symbol) DO UPDATE SET active = true;
