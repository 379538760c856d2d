-- Bars, per-symbol metadata and the data version, for the PostgreSQL store.
--
-- Prices are double precision and volumes bigint (volumes above 2^31 are common).
-- Bars reference their symbol by a small integer: the primary key (symbol_id, ts)
-- then compares two integers instead of collated text, which makes bulk loads
-- and the API's only bar query (one symbol over a time range, in time order)
-- markedly faster. There is no foreign key from bars to symbols on purpose: its
-- per-row trigger would slow bulk COPY; the store writes both in one transaction.

CREATE TABLE symbols (
    symbol_id  integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    symbol     text COLLATE "C" PRIMARY KEY,
    timezone   text NOT NULL,
    source     text NOT NULL,
    bar_kind   text NOT NULL CHECK (bar_kind IN ('daily', 'intraday')),
    first_bar  timestamptz,
    last_bar   timestamptz,
    bar_count  bigint NOT NULL DEFAULT 0,
    -- Whether any bar carries vwap / trade_count: reads skip absent columns.
    has_vwap        boolean NOT NULL DEFAULT false,
    has_trade_count boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bars (
    symbol_id   integer NOT NULL,
    ts          timestamptz NOT NULL,
    open        double precision NOT NULL,
    high        double precision NOT NULL,
    low         double precision NOT NULL,
    close       double precision NOT NULL,
    volume      bigint NOT NULL,
    vwap        double precision,
    trade_count bigint,
    PRIMARY KEY (symbol_id, ts)
);

-- One row, bumped in the transaction of every write: the cache/ETag token.
CREATE TABLE data_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    database_id uuid NOT NULL DEFAULT gen_random_uuid(),
    version     bigint NOT NULL
);

INSERT INTO data_version (version) VALUES (0);
