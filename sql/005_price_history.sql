-- 005_price_history.sql - price_history (001) becomes the oracle's price
-- sampled at a fixed interval, for charts and audits longer than the
-- candles' detail, and for checking afterwards what price the system
-- believed at a given minute.
--
-- tradedesk-engine inserts one row per symbol every
-- TRADEDESK_PRICE_HISTORY_INTERVAL_S (stamped with the interval's start, so
-- a restarted engine cannot sample the same interval twice) while the price
-- is fresh, and deletes rows older than TRADEDESK_PRICE_HISTORY_DAYS: by
-- age across all symbols, which this index serves.

CREATE INDEX price_history_ts ON price_history (ts);
