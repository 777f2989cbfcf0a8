-- 004_candles.sql - OHLCV bars the engine builds from the oracle's prices
-- and the chosen source's trades (src/engine/market.c, domain/candle.c).
--
-- One row per symbol, interval and bar; the engine upserts the bar while it
-- forms and once more when it closes, so a reader sees the current bar too.
-- Gap-free: an interval without ticks is a row repeating the last close with
-- zero volume.  Written by tradedesk-engine only.

CREATE TABLE candles (
    symbol    text          NOT NULL REFERENCES instruments (symbol),
    interval  text          NOT NULL CHECK (interval IN ('1m', '5m', '15m', '1h', '1d')),
    open_time timestamptz   NOT NULL,
    open      numeric(38,8) NOT NULL CHECK (open > 0),
    high      numeric(38,8) NOT NULL,
    low       numeric(38,8) NOT NULL,
    close     numeric(38,8) NOT NULL CHECK (close > 0),
    volume    numeric(38,8) NOT NULL DEFAULT 0 CHECK (volume >= 0),
    trades    bigint        NOT NULL DEFAULT 0 CHECK (trades >= 0),
    closed    boolean       NOT NULL DEFAULT false,
    PRIMARY KEY (symbol, interval, open_time),
    CONSTRAINT candles_range CHECK (low <= open AND low <= close AND high >= open
                                    AND high >= close AND low > 0)
);
