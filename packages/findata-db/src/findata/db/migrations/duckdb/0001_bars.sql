-- Bars, per-symbol metadata and the data version, for the embedded DuckDB store.
--
-- Timestamps are TIMESTAMP (without time zone) holding UTC instants: DuckDB's
-- TIMESTAMPTZ would be rendered in the session time zone, and the store must give
-- back the same instant whatever the machine's TZ. The store converts to
-- Arrow timestamp[us, UTC] on the way out.
--
-- bars has no PRIMARY KEY on purpose: DuckDB's ART index makes bulk inserts 5x
-- slower; the store enforces (symbol, ts) uniqueness itself (validated batches,
-- delete-then-insert upsert in one transaction). See docs/decisions/0011.

CREATE TABLE symbols (
    symbol     VARCHAR PRIMARY KEY,
    timezone   VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    bar_kind   VARCHAR NOT NULL CHECK (bar_kind IN ('daily', 'intraday')),
    first_bar  TIMESTAMP,
    last_bar   TIMESTAMP,
    bar_count  BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE bars (
    symbol      VARCHAR NOT NULL,
    ts          TIMESTAMP NOT NULL,
    open        DOUBLE NOT NULL,
    high        DOUBLE NOT NULL,
    low         DOUBLE NOT NULL,
    close       DOUBLE NOT NULL,
    volume      BIGINT NOT NULL,
    vwap        DOUBLE,
    trade_count BIGINT
);

-- One row, bumped in the transaction of every write: the cache/ETag token.
CREATE TABLE data_version (
    singleton   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    database_id VARCHAR NOT NULL,
    version     BIGINT NOT NULL
);

INSERT INTO data_version VALUES (TRUE, CAST(gen_random_uuid() AS VARCHAR), 0);
