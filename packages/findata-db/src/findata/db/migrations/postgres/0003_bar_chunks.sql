-- Bars move from one row per bar into chunks: one row per symbol and UTC calendar month
-- (ADR 0014). Reading one row per bar costs PostgreSQL ~150 ms per 196k bars however
-- the rows are fetched; a month of a symbol's bars as a handful of packed columns is
-- read and sent almost as a memcpy.
--
-- Each packed column holds bar_count fixed-width big-endian values in time order:
--   ts            int8 microseconds since 2000-01-01 UTC (what timestamptz_send gives)
--   open .. close float8 (float8send), volume int8 (int8send)
--   vwap          float8, NULL when no bar of the chunk has one (0 stands in for a gap)
--   trade_count   int8, likewise
--   *_valid       one byte per bar (1 = present), NULL when every bar has the value
-- STORAGE EXTERNAL: out of line and uncompressed. Floats do not compress, and
-- decompressing costs reads time; lz4 saved 13% of the space and read 10% slower.
--
-- Existing bars are converted here, and the per-bar table is replaced by a read-only
-- view of the same name and columns, so ad hoc SQL keeps working (slowly: it unpacks
-- every value in SQL, ~100k bars/s).

CREATE TABLE bar_chunks (
    symbol_id          integer NOT NULL,
    chunk_start        timestamptz NOT NULL
        CHECK (chunk_start = date_trunc('month', chunk_start, 'UTC')),
    first_ts           timestamptz NOT NULL,
    last_ts            timestamptz NOT NULL,
    bar_count          integer NOT NULL CHECK (bar_count > 0),
    ts                 bytea NOT NULL,
    open               bytea NOT NULL,
    high               bytea NOT NULL,
    low                bytea NOT NULL,
    close              bytea NOT NULL,
    volume             bytea NOT NULL,
    vwap               bytea,
    vwap_valid         bytea,
    trade_count        bytea,
    trade_count_valid  bytea,
    PRIMARY KEY (symbol_id, chunk_start),
    CHECK (chunk_start <= first_ts AND first_ts <= last_ts
           AND last_ts < chunk_start + interval '1 month'),
    CHECK (octet_length(ts) = 8 * bar_count AND octet_length(open) = 8 * bar_count
           AND octet_length(high) = 8 * bar_count AND octet_length(low) = 8 * bar_count
           AND octet_length(close) = 8 * bar_count AND octet_length(volume) = 8 * bar_count),
    CHECK (octet_length(vwap) = 8 * bar_count AND octet_length(vwap_valid) = bar_count),
    CHECK (octet_length(trade_count) = 8 * bar_count
           AND octet_length(trade_count_valid) = bar_count),
    CHECK (vwap IS NOT NULL OR vwap_valid IS NULL),
    CHECK (trade_count IS NOT NULL OR trade_count_valid IS NULL)
);

ALTER TABLE bar_chunks
    ALTER COLUMN ts SET STORAGE EXTERNAL,
    ALTER COLUMN open SET STORAGE EXTERNAL,
    ALTER COLUMN high SET STORAGE EXTERNAL,
    ALTER COLUMN low SET STORAGE EXTERNAL,
    ALTER COLUMN close SET STORAGE EXTERNAL,
    ALTER COLUMN volume SET STORAGE EXTERNAL,
    ALTER COLUMN vwap SET STORAGE EXTERNAL,
    ALTER COLUMN vwap_valid SET STORAGE EXTERNAL,
    ALTER COLUMN trade_count SET STORAGE EXTERNAL,
    ALTER COLUMN trade_count_valid SET STORAGE EXTERNAL;

INSERT INTO bar_chunks
SELECT
    symbol_id,
    date_trunc('month', ts, 'UTC'),
    min(ts),
    max(ts),
    count(*),
    string_agg(timestamptz_send(ts), ''::bytea ORDER BY ts),
    string_agg(float8send(open), ''::bytea ORDER BY ts),
    string_agg(float8send(high), ''::bytea ORDER BY ts),
    string_agg(float8send(low), ''::bytea ORDER BY ts),
    string_agg(float8send(close), ''::bytea ORDER BY ts),
    string_agg(int8send(volume), ''::bytea ORDER BY ts),
    CASE WHEN count(vwap) > 0
        THEN string_agg(float8send(coalesce(vwap, 0)), ''::bytea ORDER BY ts) END,
    CASE WHEN count(vwap) > 0 AND count(vwap) < count(*)
        THEN string_agg(CASE WHEN vwap IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea END,
                        ''::bytea ORDER BY ts) END,
    CASE WHEN count(trade_count) > 0
        THEN string_agg(int8send(coalesce(trade_count, 0)), ''::bytea ORDER BY ts) END,
    CASE WHEN count(trade_count) > 0 AND count(trade_count) < count(*)
        THEN string_agg(CASE WHEN trade_count IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea END,
                        ''::bytea ORDER BY ts) END
FROM bars
GROUP BY symbol_id, date_trunc('month', ts, 'UTC');

DROP TABLE bars;

-- The IEEE 754 double whose bits are ``bits`` (finite values; bars hold no others).
CREATE FUNCTION findata_float8(bits bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN bits < 0 THEN -1.0::float8 ELSE 1.0::float8 END
        * CASE WHEN (bits >> 52) & 2047 = 0
            THEN (bits & 4503599627370495)::float8 * 4.9406564584124654e-324::float8
            ELSE ((bits & 4503599627370495) + 4503599627370496)::float8
                * power(2::float8, ((bits >> 52) & 2047)::integer - 1075)
          END
$$;

-- One chunk as rows. PL/pgSQL on purpose: the whole-row argument arrives detoasted
-- once, where SQL expressions over the columns would fetch each value per bar.
CREATE FUNCTION findata_unpack(c bar_chunks)
RETURNS TABLE (
    ts timestamptz,
    open double precision,
    high double precision,
    low double precision,
    close double precision,
    volume bigint,
    vwap double precision,
    trade_count bigint
)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path FROM CURRENT AS $$
BEGIN
    RETURN QUERY
    SELECT '2000-01-01 00:00:00+00'::timestamptz + w.t * interval '1 microsecond',
           findata_float8(w.o), findata_float8(w.h), findata_float8(w.l), findata_float8(w.cl),
           w.v,
           CASE WHEN coalesce(get_byte(c.vwap_valid, w.i), 1) = 1 THEN findata_float8(w.vw) END,
           CASE WHEN coalesce(get_byte(c.trade_count_valid, w.i), 1) = 1 THEN w.tc END
    FROM (
        SELECT i,
               ('x' || encode(substr(c.ts, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS t,
               ('x' || encode(substr(c.open, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS o,
               ('x' || encode(substr(c.high, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS h,
               ('x' || encode(substr(c.low, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS l,
               ('x' || encode(substr(c.close, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS cl,
               ('x' || encode(substr(c.volume, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS v,
               ('x' || encode(substr(c.vwap, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS vw,
               ('x' || encode(substr(c.trade_count, i * 8 + 1, 8), 'hex'))::bit(64)::bigint AS tc
        FROM generate_series(0, c.bar_count - 1) AS i
        OFFSET 0  -- keeps findata_float8 inlined over plain columns
    ) AS w;
END
$$;

-- The per-bar table's name and columns, read-only, for ad hoc SQL. Filter on symbol_id
-- (pushed down to the chunks); a ts filter still unpacks the symbol's every chunk.
CREATE VIEW bars AS
SELECT c.symbol_id, u.ts, u.open, u.high, u.low, u.close, u.volume, u.vwap, u.trade_count
FROM bar_chunks AS c
CROSS JOIN LATERAL findata_unpack(c) AS u;

COMMENT ON VIEW bars IS
    'One row per bar, unpacked from bar_chunks (read-only; about 100k bars/s). '
    'findata reads and writes bar_chunks directly.';
