"""The PostgreSQL store: a ``databases`` pool of asyncpg connections, COPY in and out.

Writes stream a binary COPY into a temporary staging table, then upsert with
``INSERT .. ON CONFLICT DO UPDATE``, all in one transaction. Reads stream a
binary COPY of fixed-width columns decoded by NumPy: decoding asyncpg Records one
by one would cost several times the whole read budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import itertools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import databases
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._types import SYMBOL, TIMESTAMP, TRADE_COUNT, UTC_TIMESTAMP, VWAP
from findata.db import _pgcopy
from findata.db._arrow import concat_bars, empty_bar_table
from findata.db._errors import StoreError, StoreUnavailableError
from findata.db._migrations import (
    SCHEMA_MIGRATIONS_TABLE,
    Migration,
    MigrationStatus,
    load_migrations,
    merge_status,
)
from findata.db._planning import StoredSymbol, plan_write
from findata.db._types import BarKind, SymbolInfo
from findata.db._url import redact_url
from findata.db._validate import normalize_bars

logger = logging.getLogger(__name__)

BACKEND: Final = "postgres"
_NOT_MIGRATED: Final = "the database is not migrated: run `findata db migrate`"
# Serializes writers (and migrators): their symbol checks must see each other's commits.
_WRITE_LOCK_KEY: Final = int.from_bytes(hashlib.sha256(b"findata-db write").digest()[:7], "big")
_MIGRATE_LOCK_KEY: Final = _WRITE_LOCK_KEY + 1

_PRICES: Final = ("open", "high", "low", "close")
_SELECT_SYMBOLS: Final = (
    "SELECT symbol, first_bar, last_bar, bar_count, timezone, source, bar_kind FROM symbols"
)
_MIN_TS: Final = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_MAX_TS: Final = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)

# What a lost or shutting-down server looks like from asyncpg: all mean "try again
# later" (503), never a bug. During a shutdown, asyncpg can even fail to release a
# pooled connection with InternalClientError ("cannot switch to state ...").
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,  # admin/crash shutdown, cannot connect now
    asyncpg.TooManyConnectionsError,
)


def _split_schema(url: str) -> tuple[str, str | None]:
    """Remove findata's ``?schema=NAME`` option from ``url``; asyncpg does not know it."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in pairs if key == "schema"), None)
    query = urlencode([(key, value) for key, value in pairs if key != "schema"])
    return urlunsplit(parts._replace(query=query)), schema


class PostgresStore:
    """Bars in PostgreSQL. ``?schema=NAME`` in the URL selects (and migrate creates) a schema.

    ``health_timeout`` bounds how long ``health()`` waits before declaring the
    server unavailable; ``connect_timeout`` bounds each new connection;
    ``server_settings`` are PostgreSQL session settings (e.g. ``{"TimeZone": ...}``).
    """

    url_scheme: str = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        health_timeout: float = 2.0,
        command_timeout: float | None = None,
        server_settings: Mapping[str, str] | None = None,
    ) -> None:
        clean_url, self.schema = _split_schema(url)
        self.url = redact_url(url)
        self.health_timeout = health_timeout
        settings = {"application_name": "findata", **(server_settings or {})}
        if self.schema:
            settings["search_path"] = self.schema
        options: dict[str, Any] = {
            "min_size": min_size,
            "max_size": max_size,
            "timeout": connect_timeout,
            "server_settings": settings,
        }
        if command_timeout is not None:
            options["command_timeout"] = command_timeout
        # databases expects "postgresql://"; accept the "postgres://" alias too.
        self._database = databases.Database(
            clean_url.replace("postgres://", "postgresql://", 1), **options
        )

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    # -- lifecycle -----------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection pool; ``StoreUnavailableError`` if the server cannot be reached."""
        if self._database.is_connected:
            return
        try:
            await self._database.connect()
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(f"cannot connect to {self.url}: {error}") from error
        logger.info("connected to %s", self.url)

    async def disconnect(self) -> None:
        if self._database.is_connected:
            await self._database.disconnect()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled asyncpg connection, with driver errors turned into store errors."""
        if not self._database.is_connected:
            raise StoreError(f"{self!r} is not connected: call connect() first")
        try:
            async with self._database.connection() as connection:
                yield connection.raw_connection
        except asyncpg.UndefinedTableError as error:
            raise StoreError(f"{self.url}: {_NOT_MIGRATED} ({error})") from error
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(f"{self.url} is unavailable: {error}") from error

    async def health(self) -> None:
        """Return when ``SELECT 1`` answers within ``health_timeout``, else raise promptly."""
        try:
            async with asyncio.timeout(self.health_timeout):
                async with self._connection() as raw:
                    await raw.fetchval("SELECT 1")
        except TimeoutError as error:
            raise StoreUnavailableError(
                f"{self.url} did not answer within {self.health_timeout:g} s"
            ) from error

    async def data_version(self) -> str:
        async with self._connection() as raw:
            row = await raw.fetchrow("SELECT database_id, version FROM data_version")
        if row is None:
            raise StoreError(f"{self.url}: {_NOT_MIGRATED}")
        return f"{row[0]}-{row[1]}"

    # -- migrations ----------------------------------------------------------------

    async def migrate(self) -> list[Migration]:
        """Apply pending migrations, each in its own transaction, under an advisory lock."""
        applied_now = []
        async with self._connection() as raw:
            if self.schema:
                await raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            for migration in load_migrations(BACKEND):
                async with raw.transaction():
                    await raw.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATE_LOCK_KEY)
                    await raw.execute(
                        f"CREATE TABLE IF NOT EXISTS {SCHEMA_MIGRATIONS_TABLE} ("
                        "version integer PRIMARY KEY, name text NOT NULL, "
                        "applied_at timestamptz NOT NULL DEFAULT now())"
                    )
                    done = await raw.fetchval(
                        f"SELECT count(*) FROM {SCHEMA_MIGRATIONS_TABLE} WHERE version = $1",
                        migration.version,
                    )
                    if done:
                        continue
                    try:
                        await raw.execute(migration.sql)
                    except asyncpg.PostgresError as error:
                        raise StoreError(
                            f"migration {migration.version:04d}_{migration.name} failed: {error}"
                        ) from error
                    await raw.execute(
                        f"INSERT INTO {SCHEMA_MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)",
                        migration.version,
                        migration.name,
                    )
                applied_now.append(migration)
                logger.info("applied migration %04d_%s", migration.version, migration.name)
        return applied_now

    async def migration_status(self) -> list[MigrationStatus]:
        async with self._connection() as raw:
            exists = await raw.fetchval(
                "SELECT to_regclass($1) IS NOT NULL", SCHEMA_MIGRATIONS_TABLE
            )
            rows = (
                await raw.fetch(f"SELECT version, applied_at FROM {SCHEMA_MIGRATIONS_TABLE}")
                if exists
                else []
            )
        return merge_status(load_migrations(BACKEND), {row[0]: row[1] for row in rows})

    # -- symbols -------------------------------------------------------------------

    async def list_symbols(self) -> list[SymbolInfo]:
        async with self._connection() as raw:
            rows = await raw.fetch(f"{_SELECT_SYMBOLS} WHERE bar_count > 0 ORDER BY symbol")
        return [_symbol_info(row) for row in rows]

    async def get_symbol(self, symbol: str) -> SymbolInfo | None:
        async with self._connection() as raw:
            row = await raw.fetchrow(
                f"{_SELECT_SYMBOLS} WHERE symbol = $1 AND bar_count > 0", symbol.upper()
            )
        return None if row is None else _symbol_info(row)

    # -- bars ----------------------------------------------------------------------

    async def read_bars(
        self,
        symbols: Sequence[str],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> pa.Table:
        wanted = sorted({symbol.upper() for symbol in symbols})
        if not wanted:
            return empty_bar_table()
        low = _MIN_TS if start is None else start
        high = _MAX_TS if end is None else end
        parts = []
        async with self._connection() as raw:
            found = await raw.fetch(
                "SELECT symbol, symbol_id, has_vwap, has_trade_count FROM symbols "
                "WHERE symbol = ANY($1) ORDER BY symbol",
                wanted,
            )
            for symbol, symbol_id, has_vwap, has_trade_count in found:
                columns = _read_columns(has_vwap=has_vwap, has_trade_count=has_trade_count)
                payload = await _copy_out(raw, _read_query(columns), symbol_id, low, high)
                parts.append((symbol, columns, payload))
        return concat_bars([_decode_bars(*part) for part in parts])

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
    ) -> int:
        """Upsert in one transaction: COPY straight into ``bars`` when no stored bar of the
        batch's symbols falls in its time range (the bulk-load case), else COPY into a
        staging table and ``INSERT .. ON CONFLICT DO UPDATE``."""
        # Validation and encoding are CPU work on whole columns: keep them off the loop.
        normalized = await asyncio.to_thread(normalize_bars, bars)
        if normalized.num_rows == 0:
            return 0
        batch = await asyncio.to_thread(_Batch.from_bars, normalized)
        async with self._connection() as raw, raw.transaction():
            await raw.execute("SELECT pg_advisory_xact_lock($1)", _WRITE_LOCK_KEY)
            rows = await raw.fetch(
                "SELECT symbol, timezone, bar_kind FROM symbols WHERE symbol = ANY($1)",
                batch.symbols,
            )
            stored = [StoredSymbol(row[0], row[1], BarKind(row[2])) for row in rows]
            plans = await asyncio.to_thread(
                plan_write, normalized, stored, timezone=timezone, bar_kind=bar_kind
            )
            new = [plan for plan in plans.values() if plan.is_new]
            if new:
                await raw.executemany(
                    "INSERT INTO symbols (symbol, timezone, source, bar_kind) "
                    "VALUES ($1, $2, $3, $4)",
                    [(plan.symbol, plan.timezone, source, str(plan.bar_kind)) for plan in new],
                )
            ids = dict(
                await raw.fetch(
                    "SELECT symbol, symbol_id FROM symbols WHERE symbol = ANY($1)", batch.symbols
                )
            )
            batch.set_symbol_ids([ids[symbol] for symbol in batch.symbols])
            overlapping = await raw.fetchval(
                "SELECT count(*) FROM unnest($1::int4[], $2::timestamptz[], $3::timestamptz[]) "
                "AS r(symbol_id, first_bar, last_bar) WHERE EXISTS (SELECT 1 FROM bars b "
                "WHERE b.symbol_id = r.symbol_id AND b.ts BETWEEN r.first_bar AND r.last_bar)",
                *batch.ranges(),
            )
            if overlapping or batch.needs_staging:
                await raw.execute(batch.create_staging_sql)
                await raw.copy_to_table(_STAGING, source=batch.payload(), format="binary")
                await raw.execute(batch.upsert_sql)
                await raw.execute(_RECOUNT_SQL, batch.symbol_ids, source)
            else:
                await raw.copy_to_table(
                    "bars", source=batch.payload(), columns=batch.names, format="binary"
                )
                await raw.execute(_EXTEND_SQL, *batch.ranges(), batch.counts(), source)
            await raw.execute(
                "UPDATE symbols SET has_vwap = has_vwap OR $2, "
                "has_trade_count = has_trade_count OR $3 WHERE symbol_id = ANY($1)",
                batch.symbol_ids,
                batch.has(VWAP),
                batch.has(TRADE_COUNT),
            )
            if normalized.num_rows >= _ANALYZE_ROWS:
                # Fresh planner statistics: without them the first reads of a bulk
                # load pick a bitmap scan plus an on-disk sort instead of the index.
                await raw.execute("ANALYZE bars")
            await self._bump_version(raw)
        return int(normalized.num_rows)

    async def _bump_version(self, raw: asyncpg.Connection) -> None:
        """The last statement of every write transaction: readers' caches key on it."""
        await raw.execute("UPDATE data_version SET version = version + 1")


_STAGING: Final = "findata_staging_bars"
_ANALYZE_ROWS: Final = 50_000
_UPDATED_COLUMNS: Final = ("open", "high", "low", "close", "volume", "vwap", "trade_count")
# Stats of a batch that only adds bars: extend, without counting the table.
_EXTEND_SQL: Final = (
    "UPDATE symbols SET first_bar = LEAST(symbols.first_bar, r.first_bar), "
    "last_bar = GREATEST(symbols.last_bar, r.last_bar), "
    "bar_count = symbols.bar_count + r.bar_count, "
    "source = $5, updated_at = now() "
    "FROM unnest($1::int4[], $2::timestamptz[], $3::timestamptz[], $4::int8[]) "
    "AS r(symbol_id, first_bar, last_bar, bar_count) WHERE symbols.symbol_id = r.symbol_id"
)
# Stats after an upsert that may have replaced bars: count again.
_RECOUNT_SQL: Final = (
    "UPDATE symbols SET first_bar = agg.first_bar, last_bar = agg.last_bar, "
    "bar_count = agg.bar_count, source = $2, updated_at = now() "
    "FROM (SELECT symbol_id, min(ts) AS first_bar, max(ts) AS last_bar, count(*) AS bar_count "
    "FROM bars WHERE symbol_id = ANY($1) GROUP BY symbol_id) AS agg "
    "WHERE symbols.symbol_id = agg.symbol_id"
)


def _read_columns(*, has_vwap: bool, has_trade_count: bool) -> list[tuple[str, str]]:
    columns = [("ts", "timestamptz"), *((name, "float8") for name in _PRICES), ("volume", "int8")]
    if has_vwap:
        columns += [("has_vwap", "bool"), ("vwap", "float8")]
    if has_trade_count:
        columns += [("has_trade_count", "bool"), ("trade_count", "int8")]
    return columns


def _read_query(columns: list[tuple[str, str]]) -> str:
    """Fixed-width fields only: optional values travel as (is-present flag, value or 0)."""
    fields = []
    for name, _ in columns:
        if name.startswith("has_"):
            fields.append(f"{name.removeprefix('has_')} IS NOT NULL")
        elif name in (VWAP, TRADE_COUNT):
            fields.append(f"coalesce({name}, 0)")
        else:
            fields.append(name)
    return (
        f"SELECT {', '.join(fields)} FROM bars "
        "WHERE symbol_id = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts"
    )


async def _copy_out(raw: asyncpg.Connection, query: str, *args: object) -> bytes:
    chunks: list[bytes] = []

    async def collect(chunk: bytes) -> None:
        chunks.append(chunk)

    await raw.copy_from_query(query, *args, output=collect, format="binary")
    return b"".join(chunks)


def _decode_bars(symbol: str, columns: list[tuple[str, str]], payload: bytes) -> pa.Table:
    values = _pgcopy.decode(columns, payload)
    rows = len(values["ts"])
    table: dict[str, pa.Array] = {
        SYMBOL: pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(rows, dtype=np.int32)), pa.array([symbol])
        ).cast(pa.string()),
        TIMESTAMP: pa.array(values["ts"] + _pgcopy.PG_EPOCH_OFFSET_US).cast(UTC_TIMESTAMP),
    }
    for name in (*_PRICES, "volume"):
        table[name] = pa.array(values[name])
    for name in (VWAP, TRADE_COUNT):
        if name in values:
            present = values[f"has_{name}"]
            if present.any():
                table[name] = pa.array(values[name], mask=~present)
    return pa.table(table)


class _Batch:
    """Normalized bars as fixed-width COPY columns, with per-symbol ranges and counts."""

    _CHUNK_ROWS: Final = 250_000

    def __init__(self, bars: pa.Table) -> None:
        encoded = pc.dictionary_encode(bars.column(SYMBOL)).combine_chunks()
        self.symbols: list[str] = encoded.dictionary.to_pylist()
        self._codes = encoded.indices.to_numpy().astype(np.int64)
        stamps = bars.column(TIMESTAMP).combine_chunks().cast(pa.int64()).to_numpy()
        self.columns: list[tuple[str, str]] = [("symbol_id", "int4"), ("ts", "timestamptz")]
        self.values: dict[str, np.ndarray] = {"ts": stamps - _pgcopy.PG_EPOCH_OFFSET_US}
        for name in _PRICES:
            self.values[name] = _numpy(bars, name, pa.float64())
            self.columns.append((name, "float8"))
        self.values["volume"] = _numpy(bars, "volume", pa.int64())
        self.columns.append(("volume", "int8"))
        self._present: dict[str, bool] = {}
        for name, arrow_type, pg_type in (
            (VWAP, pa.float64(), "float8"),
            (TRADE_COUNT, pa.int64(), "int8"),
        ):
            if name not in bars.column_names:
                continue
            column = bars.column(name).combine_chunks()
            self._present[name] = column.null_count < len(column)
            if not self._present[name]:
                continue
            if column.null_count:
                # Partly missing: a validity flag keeps the record fixed-width.
                self.values[f"has_{name}"] = pc.is_valid(column).to_numpy(zero_copy_only=False)
                self.columns.append((f"has_{name}", "bool"))
            self.values[name] = pc.fill_null(column, 0).cast(arrow_type).to_numpy()
            self.columns.append((name, pg_type))
        order = np.argsort(self._codes, kind="stable")
        bounds = np.searchsorted(self._codes[order], np.arange(len(self.symbols) + 1))
        sorted_stamps = stamps[order]
        self._first = [int(sorted_stamps[a:b].min()) for a, b in itertools.pairwise(bounds)]
        self._last = [int(sorted_stamps[a:b].max()) for a, b in itertools.pairwise(bounds)]
        self._counts = np.diff(bounds).tolist()
        self.symbol_ids: list[int] = []

    @classmethod
    def from_bars(cls, bars: pa.Table) -> _Batch:
        return cls(bars)

    def set_symbol_ids(self, ids: list[int]) -> None:
        self.symbol_ids = ids
        self.values["symbol_id"] = np.asarray(ids, dtype=np.int32)[self._codes]

    def has(self, name: str) -> bool:
        return self._present.get(name, False)

    def ranges(self) -> tuple[list[int], list[dt.datetime], list[dt.datetime]]:
        return (
            self.symbol_ids,
            [_from_micros(value) for value in self._first],
            [_from_micros(value) for value in self._last],
        )

    def counts(self) -> list[int]:
        return list(self._counts)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def needs_staging(self) -> bool:
        """Validity flags are no ``bars`` columns: such batches go through staging."""
        return any(name.startswith("has_") for name in self.names)

    async def payload(self) -> AsyncIterator[bytes]:
        """The binary COPY stream, encoded chunk by chunk off the event loop."""
        yield _pgcopy.HEADER
        rows = len(self.values["ts"])
        for start in range(0, rows, self._CHUNK_ROWS):
            stop = min(start + self._CHUNK_ROWS, rows)
            yield await asyncio.to_thread(
                _pgcopy.encode_records, self.columns, self.values, start, stop
            )
        yield _pgcopy.TRAILER

    @property
    def create_staging_sql(self) -> str:
        definitions = ", ".join(f"{name} {pg_type}" for name, pg_type in self.columns)
        return f"CREATE TEMP TABLE {_STAGING} ({definitions}) ON COMMIT DROP"

    @property
    def upsert_sql(self) -> str:
        vwap, trades = (self._optional_sql(name) for name in (VWAP, TRADE_COUNT))
        assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in _UPDATED_COLUMNS)
        current = ", ".join(f"bars.{name}" for name in _UPDATED_COLUMNS)
        incoming = ", ".join(f"EXCLUDED.{name}" for name in _UPDATED_COLUMNS)
        # Re-ingesting identical rows rewrites nothing (no dead tuples, no WAL).
        return (
            "INSERT INTO bars (symbol_id, ts, open, high, low, close, volume, vwap, trade_count) "
            f"SELECT symbol_id, ts, open, high, low, close, volume, {vwap}, {trades} "
            f"FROM {_STAGING} ON CONFLICT (symbol_id, ts) DO UPDATE SET {assignments} "
            f"WHERE ({current}) IS DISTINCT FROM ({incoming})"
        )

    def _optional_sql(self, name: str) -> str:
        names = set(self.names)
        if f"has_{name}" in names:
            return f"CASE WHEN has_{name} THEN {name} END"
        return name if name in names else "NULL"


def _numpy(bars: pa.Table, name: str, arrow_type: pa.DataType) -> np.ndarray:
    values: np.ndarray = bars.column(name).combine_chunks().cast(arrow_type).to_numpy()
    return values


def _from_micros(value: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=value)


def _symbol_info(row: asyncpg.Record) -> SymbolInfo:
    return SymbolInfo(
        symbol=row["symbol"],
        first_bar=row["first_bar"].astimezone(dt.UTC),
        last_bar=row["last_bar"].astimezone(dt.UTC),
        bar_count=int(row["bar_count"]),
        timezone=row["timezone"],
        source=row["source"],
        bar_kind=BarKind(row["bar_kind"]),
    )
