-- 012_market_alerts.sql - the market-condition alerts the engine raises and
-- clears (src/engine/alerts.c, rules in src/domain/market_alert.c), read by
-- GET /api/v1/guards/market-alerts (src/api/handlers/market_alerts.c).
--
-- One row per alert: raised at `since`, active while `cleared_at` is NULL,
-- at most one active row per symbol and kind (the partial unique index the
-- engine's upserts name), so a resent raise, a second engine or a restart
-- continue the same alert instead of opening another.  `value` is the worst
-- value the alert reached, `threshold` the one its severity was raised by,
-- both integers in `unit` (`ms` for a stale feed, `bp` for the others).
-- Written only by the leading engine; cleared rows are deleted after
-- TRADEDESK_ALERT_RETENTION_DAYS (src/engine/retention.c).
--
-- Runs inside migrate's transaction: no BEGIN/COMMIT here.

CREATE TABLE market_alerts (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    symbol     text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('stale_feed', 'price_gap', 'volatility',
                                                    'spread', 'source_divergence')),
    severity   text        NOT NULL CHECK (severity IN ('warning', 'critical')),
    value      bigint      NOT NULL CHECK (value >= 0),
    threshold  bigint      NOT NULL CHECK (threshold >= 0),
    unit       text        NOT NULL CHECK (unit IN ('ms', 'bp')),
    since      timestamptz NOT NULL,
    cleared_at timestamptz CHECK (cleared_at IS NULL OR cleared_at >= since)
);

CREATE UNIQUE INDEX market_alerts_active ON market_alerts (symbol, kind) WHERE cleared_at IS NULL;
-- The API's filters (newest first, by symbol) and retention (oldest cleared).
CREATE INDEX market_alerts_symbol ON market_alerts (symbol, id);
CREATE INDEX market_alerts_cleared ON market_alerts (cleared_at) WHERE cleared_at IS NOT NULL;
