"""The DuckDB store's SQL, and the shaping of what goes in and comes out.

Every function runs on a connection it is given (``FileAccess``/``MemoryAccess`` hand
them out); none opens or closes anything. Schema: migrations/duckdb/ (bars keyed by an
integer ``symbol_id``, no primary key: ADR 0015).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Final, NamedTuple

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core.columns import OPTIONAL_BAR_COLUMNS, SYMBOL, TIMESTAMP
from findata.db._arrow import repeat_string, to_bar_table, with_all_columns
from findata.db._duckdb.version import bump_version
from findata.db._errors import StoreError
from findata.db._migrations import SCHEMA_MIGRATIONS_TABLE, Migration
from findata.db._planning import StoredSymbol, plan_write
from findata.db._types import BarKind, SymbolInfo

logger = logging.getLogger(__name__)

_SERIES_POOL: Final = pa.system_memory_pool()
_SERIES_COLUMNS: Final = 'ts AS "timestamp", open, high, low, close, volume'
_SELECT_STAMPS: Final = (
    "SELECT symbol, symbol_id, updated_at, has_vwap, has_trade_count FROM symbols"
)
_SELECT_SYMBOLS: Final = (
    "SELECT symbol, first_bar, last_bar, bar_count, timezone, source, bar_kind, exchange "
    "FROM symbols"
)


class SymbolStamp(NamedTuple):
    """What a series is read under: every write of the symbol changes ``updated_at``."""

    symbol_id: int
    updated_at: dt.datetime
    has_vwap: bool
    has_trade_count: bool


# -- reads ---------------------------------------------------------------------------


def list_symbols(conn: duckdb.DuckDBPyConnection) -> list[SymbolInfo]:
    """The symbols that hold bars, by name: what ``list_symbols`` answers."""
    rows = conn.execute(f"{_SELECT_SYMBOLS} WHERE bar_count > 0 ORDER BY symbol").fetchall()
    return [_symbol_info(row) for row in rows]


def symbol_stamps(conn: duckdb.DuckDBPyConnection) -> dict[str, SymbolStamp]:
    """Every symbol's stamp, by name."""
    return {
        str(row[0]): SymbolStamp(int(row[1]), row[2], bool(row[3]), bool(row[4]))
        for row in conn.execute(_SELECT_STAMPS).fetchall()
    }


def read_series(
    conn: duckdb.DuckDBPyConnection, symbol: str, stamp: SymbolStamp | None
) -> pa.Table:
    """The whole series of ``symbol`` (``stamp``: its row in ``symbols``) in time order."""
    # An unknown symbol reads no rows (id -1), with the right columns. Optional
    # columns no bar of the symbol holds are not read (a quarter of a read's time).
    columns = _SERIES_COLUMNS
    if stamp is not None and stamp.has_vwap:
        columns += ", vwap"
    if stamp is not None and stamp.has_trade_count:
        columns += ", trade_count"
    raw = conn.sql(
        f"SELECT {columns} FROM bars WHERE symbol_id = ?",
        params=[-1 if stamp is None else stamp.symbol_id],
    ).to_arrow_table()
    series = in_time_order(raw).add_column(0, SYMBOL, repeat_string(symbol, raw.num_rows))
    # One chunk per column: the series is cached and read many times, and NumPy consumers
    # (resampling, adjustment) would otherwise concatenate the chunks on every read.
    # DuckDB's threads hand back a chunk per row group. The copy goes to the system
    # allocator: Arrow's default pool (mimalloc) took 27 ms to place 196,560 bars in fresh
    # memory, malloc 4 ms, and a cached series is always fresh memory (ADR 0082).
    return to_bar_table(series).combine_chunks(memory_pool=_SERIES_POOL)


# -- writes --------------------------------------------------------------------------


def prepare_staging(normalized: pa.Table) -> tuple[pa.Table, list[str]]:
    """Validated bars as the write inserts them, and their symbols; done before the file
    is opened, so the write lock is held for the insert only."""
    # One chunk per column: DuckDB appends an Arrow scan of many small chunks
    # (Parquet batches) as partial row groups that the checkpoint at close then
    # rewrites, 0.3-1.5 s per 1M rows and growing with the table; the copy costs ~7 ms.
    staging = _utc_wall_time(with_all_columns(normalized)).combine_chunks()
    return staging, sorted(pc.unique(staging.column(SYMBOL)).to_pylist())


def write_bars(
    conn: duckdb.DuckDBPyConnection,
    normalized: pa.Table,
    staged: tuple[pa.Table, list[str]],
    *,
    source: str,
    timezone: str | None,
    bar_kind: BarKind | None,
    exchanges: Mapping[str, str] | None = None,
) -> tuple[str, list[SymbolInfo]]:
    """Upsert validated bars (``staged`` by ``prepare_staging``) in one transaction;
    return the new data version and the symbol list as of the commit (the next file of
    an ingest asks for it, and opening the file again would cost more than this query)."""
    staging, symbols = staged
    conn.begin()
    try:
        stored = [
            StoredSymbol(symbol, zone, BarKind(kind))
            for symbol, zone, kind in conn.execute(
                "SELECT symbol, timezone, bar_kind FROM symbols WHERE symbol IN (SELECT unnest(?))",
                [symbols],
            ).fetchall()
        ]
        plans = plan_write(
            normalized, stored, timezone=timezone, bar_kind=bar_kind, exchanges=exchanges
        )
        now = utc_now()
        new_symbols = [
            [plan.symbol, plan.timezone, source, str(plan.bar_kind), plan.exchange, now]
            for plan in plans.values()
            if plan.is_new
        ]
        if new_symbols:
            conn.executemany(
                "INSERT INTO symbols (symbol, timezone, source, bar_kind, exchange, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                new_symbols,
            )
        moved = [
            [plan.exchange, plan.symbol]
            for plan in plans.values()
            if not plan.is_new and plan.exchange is not None
        ]
        if moved:
            conn.executemany("UPDATE symbols SET exchange = ? WHERE symbol = ?", moved)
        ids: dict[str, int] = dict(
            conn.execute(
                "SELECT symbol, symbol_id FROM symbols WHERE symbol IN (SELECT unnest(?))",
                [symbols],
            ).fetchall()
        )
        conn.register("staging_bars", _with_symbol_ids(staging, ids))
        existing = [ids[plan.symbol] for plan in plans.values() if not plan.is_new]
        if existing:
            # Upsert = delete the rows being replaced, then insert; the
            # time bounds let DuckDB skip row groups by their zone maps.
            conn.execute(
                "DELETE FROM bars USING staging_bars AS s "
                "WHERE bars.symbol_id = s.symbol_id AND bars.ts = s.timestamp "
                "AND bars.symbol_id IN (SELECT unnest(?)) "
                "AND bars.ts BETWEEN (SELECT min(timestamp) FROM staging_bars) "
                "AND (SELECT max(timestamp) FROM staging_bars)",
                [existing],
            )
        conn.execute(
            "INSERT INTO bars SELECT symbol_id, timestamp, open, high, low, close, "
            "volume, vwap, trade_count FROM staging_bars"
        )
        conn.execute(
            "UPDATE symbols SET first_bar = agg.first_bar, last_bar = agg.last_bar, "
            "bar_count = agg.bar_count, source = ?, updated_at = ? "
            "FROM (SELECT symbol_id, min(ts) AS first_bar, max(ts) AS last_bar, "
            "count(*) AS bar_count FROM bars WHERE symbol_id IN (SELECT unnest(?)) "
            "GROUP BY symbol_id) AS agg WHERE symbols.symbol_id = agg.symbol_id",
            [source, now, list(ids.values())],
        )
        _flag_optional_columns(conn, normalized)
        version = bump_version(conn)
        infos = list_symbols(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.unregister("staging_bars")
    return version, infos


def _flag_optional_columns(conn: duckdb.DuckDBPyConnection, bars: pa.Table) -> None:
    """Set ``has_vwap``/``has_trade_count`` of the symbols whose new bars carry values
    (reads select only flagged columns); a file without them costs nothing here."""
    carried = [
        name
        for name in OPTIONAL_BAR_COLUMNS
        if name in bars.column_names and bars.column(name).null_count < bars.num_rows
    ]
    if not carried:
        return
    flags = ", ".join(f"has_{name} = symbols.has_{name} OR s.has_{name}" for name in carried)
    values = ", ".join(f"bool_or({name} IS NOT NULL) AS has_{name}" for name in carried)
    conn.execute(
        f"UPDATE symbols SET {flags} FROM (SELECT symbol_id, {values} FROM staging_bars "
        "GROUP BY symbol_id) AS s WHERE symbols.symbol_id = s.symbol_id"
    )


# -- migrations ----------------------------------------------------------------------


def apply_migrations(
    conn: duckdb.DuckDBPyConnection, migrations: list[Migration]
) -> list[Migration]:
    """Apply those of ``migrations`` not applied yet, each in its own transaction with
    its row in ``schema_migrations``; return those applied now."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_MIGRATIONS_TABLE} ("
        "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    applied = set(applied_migrations(conn))
    applied_now: list[Migration] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        conn.begin()
        try:
            conn.execute(migration.sql)
            conn.execute(
                f"INSERT INTO {SCHEMA_MIGRATIONS_TABLE} VALUES (?, ?, ?)",
                [migration.version, migration.name, utc_now()],
            )
            conn.commit()
        except duckdb.Error as error:
            conn.rollback()
            raise StoreError(
                f"migration {migration.version:04d}_{migration.name} failed: {error}"
            ) from error
        applied_now.append(migration)
        logger.info("applied migration %04d_%s", migration.version, migration.name)
    return applied_now


def applied_migrations(conn: duckdb.DuckDBPyConnection) -> dict[int, dt.datetime]:
    """When each applied migration was applied; empty before the first."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        [SCHEMA_MIGRATIONS_TABLE],
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute(f"SELECT version, applied_at FROM {SCHEMA_MIGRATIONS_TABLE}").fetchall()
    return {int(version): applied_at.replace(tzinfo=dt.UTC) for version, applied_at in rows}


# -- shaping -------------------------------------------------------------------------


def in_time_order(table: pa.Table) -> pa.Table:
    """Scans return insertion order, which is time order unless an upsert appended
    replaced bars; checking is O(n), an ORDER BY cost most of a read."""
    previous: int | None = None
    for chunk in table.column(TIMESTAMP).chunks:  # chunk by chunk: no concatenated copy
        stamps = chunk.view(pa.int64()).to_numpy()
        if stamps.size == 0:
            continue
        if (previous is not None and stamps[0] <= previous) or not bool(
            np.all(stamps[1:] > stamps[:-1])
        ):
            return table.sort_by(TIMESTAMP)
        previous = int(stamps[-1])
    return table


def utc_now() -> dt.datetime:
    """Naive UTC: DuckDB ``TIMESTAMP`` columns hold UTC wall time."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _with_symbol_ids(staging: pa.Table, ids: dict[str, int]) -> pa.Table:
    """``staging`` with its ``symbol`` column replaced by the symbols' integer ids."""
    encoded = pc.dictionary_encode(staging.column(SYMBOL)).combine_chunks()
    lookup = np.array([ids[name] for name in encoded.dictionary.to_pylist()], dtype=np.int32)
    symbol_ids = pa.array(lookup[encoded.indices.to_numpy()])
    return staging.set_column(staging.schema.get_field_index(SYMBOL), "symbol_id", symbol_ids)


def _utc_wall_time(bars: pa.Table) -> pa.Table:
    """Drop the UTC label (not the value): DuckDB would shift TIMESTAMPTZ by the session zone."""
    index = bars.column_names.index(TIMESTAMP)
    naive = pc.cast(pc.cast(bars.column(TIMESTAMP), pa.int64()), pa.timestamp("us"))
    return bars.set_column(index, TIMESTAMP, naive)


def _symbol_info(row: tuple[object, ...]) -> SymbolInfo:
    symbol, first_bar, last_bar, bar_count, timezone, source, bar_kind, exchange = row
    assert isinstance(first_bar, dt.datetime)
    assert isinstance(last_bar, dt.datetime)
    return SymbolInfo(
        symbol=str(symbol),
        first_bar=first_bar.replace(tzinfo=dt.UTC),
        last_bar=last_bar.replace(tzinfo=dt.UTC),
        bar_count=int(str(bar_count)),
        timezone=str(timezone),
        source=str(source),
        bar_kind=BarKind(str(bar_kind)),
        exchange=str(exchange),
    )
