-- Bars, per-symbol metadata and the data version, for the PostgreSQL store.
--
-- Prices are double precision and volumes bigint (volumes above 2^31 are common).
-- The primary key (symbol, ts) serves the API's only bar query shape: one symbol
-- over a time range, in time order.

CREATE TABLE symbols (
    symbol     text PRIMARY KEY,
    timezone   text NOT NULL,
    source     text NOT NULL,
    bar_kind   text NOT NULL CHECK (bar_kind IN ('daily', 'intraday')),
    first_bar  timestamptz,
    last_bar   timestamptz,
    bar_count  bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bars (
    symbol      text NOT NULL,
    ts          timestamptz NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      bigint NOT NULL,
    vwap        double precision,
    trade_count bigint,
    PRIMARY KEY (symbol, ts)
);

-- One row, bumped in the transaction of every write: the cache/ETag token.
CREATE TABLE data_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    database_id uuid NOT NULL DEFAULT gen_random_uuid(),
    version     bigint NOT NULL
);

INSERT INTO data_version (version) VALUES (0);
