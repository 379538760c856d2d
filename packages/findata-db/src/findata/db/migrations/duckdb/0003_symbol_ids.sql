-- Bars name their symbol by an integer id instead of a VARCHAR per row: DuckDB
-- inserts 1M bars with ~17% less CPU, and a read filters on an integer (see
-- docs/benchmarks.md). Existing bars are copied in (symbol_id, ts) order, the
-- order reads rely on. Bars without a symbols row (only a foreign tool could
-- write them) are not carried over.

CREATE SEQUENCE symbol_id_seq START 1;

CREATE TABLE symbols_0003 (
    symbol_id  INTEGER PRIMARY KEY DEFAULT nextval('symbol_id_seq'),
    symbol     VARCHAR NOT NULL UNIQUE,
    timezone   VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    bar_kind   VARCHAR NOT NULL CHECK (bar_kind IN ('daily', 'intraday')),
    first_bar  TIMESTAMP,
    last_bar   TIMESTAMP,
    bar_count  BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);

INSERT INTO symbols_0003 (symbol, timezone, source, bar_kind, first_bar, last_bar, bar_count, updated_at)
SELECT symbol, timezone, source, bar_kind, first_bar, last_bar, bar_count, updated_at
FROM symbols ORDER BY symbol;

CREATE TABLE bars_0003 (
    symbol_id   INTEGER NOT NULL,
    ts          TIMESTAMP NOT NULL,
    open        DOUBLE NOT NULL,
    high        DOUBLE NOT NULL,
    low         DOUBLE NOT NULL,
    close       DOUBLE NOT NULL,
    volume      BIGINT NOT NULL,
    vwap        DOUBLE,
    trade_count BIGINT
);

INSERT INTO bars_0003
SELECT s.symbol_id, b.ts, b.open, b.high, b.low, b.close, b.volume, b.vwap, b.trade_count
FROM bars AS b JOIN symbols_0003 AS s ON s.symbol = b.symbol
ORDER BY s.symbol_id, b.ts;

DROP TABLE bars;
DROP TABLE symbols;
ALTER TABLE bars_0003 RENAME TO bars;
ALTER TABLE symbols_0003 RENAME TO symbols;
