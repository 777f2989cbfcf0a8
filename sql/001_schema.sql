-- 001_schema.sql - tradedesk's whole schema: users, sessions, money, orders.
--
-- PostgreSQL is the source of truth; Redis only caches what lives here.  The
-- constraints below make bad states impossible rather than merely unlikely:
-- application code may have bugs, the database refuses to store their
-- results.  Money, prices and quantities are NUMERIC(38,8), never float.
--
-- `tradedesk migrate` runs this file inside its own transaction together
-- with its schema_migrations row: never put BEGIN/COMMIT (or anything that
-- cannot run inside a transaction, like CREATE INDEX CONCURRENTLY) here, and
-- never edit a migration once applied anywhere; add 002_... instead.

-- ---------------------------------------------------------------- identity

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text        NOT NULL UNIQUE
                  CHECK (username ~ '^[a-z0-9_.-]{1,64}$'),
    password_hash text        NOT NULL
                  CHECK (starts_with(password_hash, '$argon2id$')),
    role          text        NOT NULL DEFAULT 'user'
                  CHECK (role IN ('user', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled      boolean     NOT NULL DEFAULT false
);

-- One row per issued access token (the JWT's `sid`).  Redis caches these;
-- revocation is written here first, so losing Redis never revives a session.
CREATE TABLE sessions (
    id          text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    client_addr text,
    user_agent  text,
    CONSTRAINT sessions_expire_after_creation CHECK (expires_at > created_at),
    CONSTRAINT sessions_revoked_after_creation
        CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
-- "my live sessions" and logout-all touch only unrevoked rows.
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;
-- Lets a cleanup job delete expired sessions without a full scan.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- ------------------------------------------------------------------- money

CREATE TABLE accounts (
    id           bigserial PRIMARY KEY,
    user_id      bigint        NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    currency     text          NOT NULL DEFAULT 'USDT' CHECK (currency ~ '^[A-Z0-9]{2,12}$'),
    cash_balance numeric(38,8) NOT NULL DEFAULT 0 CHECK (cash_balance >= 0),
    updated_at   timestamptz   NOT NULL DEFAULT now()
);

-- -------------------------------------------------------------- market data

CREATE TABLE instruments (
    symbol      text     PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9]{2,12}-[A-Z0-9]{2,12}$'),
    base        text     NOT NULL CHECK (base ~ '^[A-Z0-9]{2,12}$'),
    quote       text     NOT NULL CHECK (quote ~ '^[A-Z0-9]{2,12}$'),
    price_scale smallint NOT NULL DEFAULT 2 CHECK (price_scale BETWEEN 0 AND 8),
    qty_scale   smallint NOT NULL DEFAULT 8 CHECK (qty_scale BETWEEN 0 AND 8),
    active      boolean  NOT NULL DEFAULT true,
    CONSTRAINT instruments_symbol_is_base_quote CHECK (symbol = base || '-' || quote)
);

CREATE TABLE prices_latest (
    symbol     text          PRIMARY KEY REFERENCES instruments (symbol),
    price      numeric(38,8) NOT NULL CHECK (price > 0),
    source     text          NOT NULL CHECK (source ~ '^[a-z0-9_:.-]{1,32}$'),
    updated_at timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE price_history (
    symbol text          NOT NULL REFERENCES instruments (symbol),
    source text          NOT NULL CHECK (source ~ '^[a-z0-9_:.-]{1,32}$'),
    ts     timestamptz   NOT NULL,
    price  numeric(38,8) NOT NULL CHECK (price > 0),
    PRIMARY KEY (symbol, ts, source)
);

-- --------------------------------------------------------------- positions

-- A position's quantity is what is still open.  A closed position keeps the
-- quantity it had when it closed (a trader's history shows its size); only
-- open positions must hold something.
CREATE TABLE positions (
    id           bigserial     PRIMARY KEY,
    user_id      bigint        NOT NULL REFERENCES users (id),
    symbol       text          NOT NULL REFERENCES instruments (symbol),
    side         text          NOT NULL CHECK (side IN ('long', 'short')),
    quantity     numeric(38,8) NOT NULL CHECK (quantity >= 0),
    entry_price  numeric(38,8) NOT NULL CHECK (entry_price > 0),
    realized_pnl numeric(38,8) NOT NULL DEFAULT 0,
    status       text          NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at    timestamptz   NOT NULL DEFAULT now(),
    closed_at    timestamptz,
    updated_at   timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT positions_closed_at_iff_closed CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CONSTRAINT positions_open_has_quantity CHECK (status <> 'open' OR quantity > 0),
    CONSTRAINT positions_closed_after_opened CHECK (closed_at IS NULL OR closed_at >= opened_at),
    -- Target of the composite foreign keys that pin an order's or a fill's
    -- position to the same user.
    UNIQUE (id, user_id)
);
-- Fills add to or reduce the one open position per user, symbol and side.
CREATE UNIQUE INDEX positions_one_open ON positions (user_id, symbol, side)
    WHERE status = 'open';
-- GET /positions?status=&cursor= is keyset pagination on this index.
CREATE INDEX positions_by_user_status ON positions (user_id, status, id);

-- ------------------------------------------------------ conditional orders

CREATE TABLE conditional_orders (
    id               bigserial     PRIMARY KEY,
    user_id          bigint        NOT NULL REFERENCES users (id),
    client_order_id  text          NOT NULL CHECK (client_order_id ~ '^[A-Za-z0-9_.:/-]{1,64}$'),
    idempotency_key  text          CHECK (idempotency_key ~ '^[\x21-\x7e]{1,255}$'),
    type             text          NOT NULL
                     CHECK (type IN ('stop_loss', 'take_profit', 'trailing_stop')),
    side             text          NOT NULL CHECK (side IN ('buy', 'sell')),
    symbol           text          NOT NULL REFERENCES instruments (symbol),
    quantity         numeric(38,8) NOT NULL CHECK (quantity > 0),
    trigger_price    numeric(38,8) CHECK (trigger_price > 0),
    callback_rate    numeric(38,8) CHECK (callback_rate > 0 AND callback_rate < 100),
    activation_price numeric(38,8) CHECK (activation_price > 0),
    position_id      bigint,
    status           text          NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'triggered', 'filled', 'cancelled',
                                       'rejected', 'expired')),
    -- Trailing stops: the highest (sell) or lowest (buy) price seen since
    -- the order armed; NULL until then.
    extreme_price    numeric(38,8) CHECK (extreme_price > 0),
    armed            boolean       NOT NULL DEFAULT false,
    triggered_price  numeric(38,8) CHECK (triggered_price > 0),
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    triggered_at     timestamptz,
    filled_at        timestamptz,
    cancelled_at     timestamptz,
    -- Good-till time; NULL is good till cancelled.  Past it the order is
    -- 'expired' and never fires.
    expires_at       timestamptz,

    UNIQUE (user_id, client_order_id),
    -- Target of fills' foreign key: a fill repeats its order's user, symbol
    -- and side, and the database checks that it does.
    UNIQUE (id, user_id, symbol, side),
    -- A position another user holds cannot be named: (position_id, user_id)
    -- must be a row of positions.  NULL position_id skips the check.
    FOREIGN KEY (position_id, user_id) REFERENCES positions (id, user_id),

    -- stop_loss / take_profit fire at a fixed price; trailing stops follow
    -- the market by a percentage and may wait for an activation price.
    CONSTRAINT conditional_orders_price_fields CHECK (
        (type IN ('stop_loss', 'take_profit')
         AND trigger_price IS NOT NULL AND callback_rate IS NULL
         AND activation_price IS NULL AND extreme_price IS NULL)
        OR (type = 'trailing_stop'
            AND callback_rate IS NOT NULL AND trigger_price IS NULL)),
    -- A trailing stop has a watermark exactly when it is armed: the engine
    -- arms it (at activation_price, or on the first tick when there is
    -- none) by setting armed and extreme_price together.
    CONSTRAINT conditional_orders_armed_has_watermark
        CHECK (type <> 'trailing_stop' OR (extreme_price IS NOT NULL) = armed),

    -- Timestamps follow the state machine active -> triggered -> filled,
    -- or -> cancelled / rejected / expired.
    CONSTRAINT conditional_orders_active_untouched CHECK (
        status <> 'active'
        OR (triggered_at IS NULL AND filled_at IS NULL AND cancelled_at IS NULL)),
    CONSTRAINT conditional_orders_trigger_price_and_time
        CHECK ((triggered_at IS NULL) = (triggered_price IS NULL)),
    CONSTRAINT conditional_orders_triggered_has_time
        CHECK (status NOT IN ('triggered', 'filled') OR triggered_at IS NOT NULL),
    CONSTRAINT conditional_orders_filled_at_iff_filled
        CHECK ((status = 'filled') = (filled_at IS NOT NULL)),
    CONSTRAINT conditional_orders_cancelled_at_iff_cancelled
        CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT conditional_orders_times_in_order CHECK (
        updated_at >= created_at
        AND (triggered_at IS NULL OR triggered_at >= created_at)
        AND (filled_at IS NULL OR filled_at >= triggered_at)
        AND (cancelled_at IS NULL OR cancelled_at >= created_at)
        AND (expires_at IS NULL OR expires_at > created_at))
);
-- Same Idempotency-Key twice from one user creates one order.
CREATE UNIQUE INDEX conditional_orders_idempotency ON conditional_orders (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The engine loads and watches only live orders, per symbol.
CREATE INDEX conditional_orders_active_by_symbol ON conditional_orders (symbol, status)
    WHERE status = 'active';
-- GET /orders/conditional?status= pages through one user's orders.
CREATE INDEX conditional_orders_by_user ON conditional_orders (user_id, status, id);
CREATE INDEX conditional_orders_by_position ON conditional_orders (position_id)
    WHERE position_id IS NOT NULL;

-- -------------------------------------------------------------------- fills

-- A fired order is filled exactly once: order_id is unique, so a second
-- executor racing the first fails on insert instead of double-filling.
CREATE TABLE fills (
    id           bigserial     PRIMARY KEY,
    order_id     bigint        NOT NULL UNIQUE,
    user_id      bigint        NOT NULL REFERENCES users (id),
    symbol       text          NOT NULL REFERENCES instruments (symbol),
    side         text          NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity     numeric(38,8) NOT NULL CHECK (quantity > 0),
    price        numeric(38,8) NOT NULL CHECK (price > 0),
    realized_pnl numeric(38,8) NOT NULL DEFAULT 0,
    -- The position this fill opened, reduced or closed, if any.
    position_id  bigint,
    created_at   timestamptz   NOT NULL DEFAULT now(),
    FOREIGN KEY (order_id, user_id, symbol, side)
        REFERENCES conditional_orders (id, user_id, symbol, side),
    FOREIGN KEY (position_id, user_id) REFERENCES positions (id, user_id)
);
-- GET /fills and the WebSocket "since" replay read one user's fills by id.
CREATE INDEX fills_by_user ON fills (user_id, id);
CREATE INDEX fills_by_position ON fills (position_id) WHERE position_id IS NOT NULL;

-- ------------------------------------------------------------------- outbox

-- Written in the same transaction as the change it announces; a relay
-- publishes unpublished rows to Redis and stamps published_at.
CREATE TABLE outbox (
    id           bigserial   PRIMARY KEY,
    topic        text        NOT NULL CHECK (length(topic) BETWEEN 1 AND 128),
    key          text,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    CONSTRAINT outbox_published_after_created
        CHECK (published_at IS NULL OR published_at >= created_at)
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- ----------------------------------------------------------- reconciliation

-- A run has a verdict exactly when it has finished.
CREATE TABLE reconciliation_runs (
    id          bigserial   PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    matched     integer     NOT NULL DEFAULT 0 CHECK (matched >= 0),
    divergences integer     NOT NULL DEFAULT 0 CHECK (divergences >= 0),
    status      text        CHECK (status IN ('healthy', 'warning', 'critical')),
    CONSTRAINT reconciliation_runs_status_iff_finished
        CHECK ((status IS NULL) = (finished_at IS NULL)),
    CONSTRAINT reconciliation_runs_finished_after_started
        CHECK (finished_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX reconciliation_runs_finished ON reconciliation_runs (finished_at DESC)
    WHERE finished_at IS NOT NULL;

CREATE TABLE reconciliation_divergences (
    id       bigserial     PRIMARY KEY,
    run_id   bigint        NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
    user_id  bigint        REFERENCES users (id) ON DELETE CASCADE,
    symbol   text          REFERENCES instruments (symbol),
    kind     text          NOT NULL CHECK (kind ~ '^[a-z0-9_]{1,64}$'),
    expected numeric(38,8),
    actual   numeric(38,8),
    detail   text
);
CREATE INDEX reconciliation_divergences_by_run ON reconciliation_divergences (run_id, id);

-- ------------------------------------------------------------------- guards

-- Equity may go negative (a short against the trader); peak_equity is the
-- highest equity so far, so it is never below the equity beside it.
CREATE TABLE equity_snapshots (
    user_id     bigint        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    taken_at    timestamptz   NOT NULL,
    equity      numeric(38,8) NOT NULL,
    peak_equity numeric(38,8) NOT NULL,
    CONSTRAINT equity_snapshots_peak_at_least_equity CHECK (peak_equity >= equity),
    PRIMARY KEY (user_id, taken_at)
);
