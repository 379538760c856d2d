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
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import databases
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._types import SYMBOL, TIMESTAMP, TRADE_COUNT, UTC_TIMESTAMP, VWAP
from findata.db import _pgcopy
from findata.db._arrow import concat_bars, empty_bar_table, micros
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
_READ_COLUMNS: Final = (
    ("ts", "timestamptz"),
    *((name, "float8") for name in _PRICES),
    ("volume", "int8"),
    ("has_vwap", "bool"),
    ("vwap", "float8"),
    ("has_trade_count", "bool"),
    ("trade_count", "int8"),
)
_READ_QUERY: Final = (
    "SELECT ts, open, high, low, close, volume, vwap IS NOT NULL, coalesce(vwap, 0), "
    "trade_count IS NOT NULL, coalesce(trade_count, 0) FROM bars "
    "WHERE symbol = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts"
)
_SELECT_SYMBOLS: Final = (
    "SELECT symbol, first_bar, last_bar, bar_count, timezone, source, bar_kind FROM symbols"
)
_MIN_TS: Final = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_MAX_TS: Final = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)

_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
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
    server unavailable; ``connect_timeout`` bounds each new connection.
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
    ) -> None:
        clean_url, self.schema = _split_schema(url)
        self.url = redact_url(url)
        self.health_timeout = health_timeout
        server_settings = {"application_name": "findata"}
        if self.schema:
            server_settings["search_path"] = self.schema
        options: dict[str, Any] = {
            "min_size": min_size,
            "max_size": max_size,
            "timeout": connect_timeout,
            "server_settings": server_settings,
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
        payloads = []
        async with self._connection() as raw:
            for symbol in wanted:
                chunks: list[bytes] = []

                async def collect(chunk: bytes, into: list[bytes] = chunks) -> None:
                    into.append(chunk)

                await raw.copy_from_query(
                    _READ_QUERY, symbol, low, high, output=collect, format="binary"
                )
                payloads.append((symbol, b"".join(chunks)))
        return concat_bars([_decode_bars(symbol, payload) for symbol, payload in payloads])

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
    ) -> int:
        # Validation and encoding are CPU work on whole columns: keep them off the loop.
        normalized = await asyncio.to_thread(normalize_bars, bars)
        if normalized.num_rows == 0:
            return 0
        staged = await asyncio.to_thread(_StagedBars.from_bars, normalized)
        async with self._connection() as raw, raw.transaction():
            await raw.execute("SELECT pg_advisory_xact_lock($1)", _WRITE_LOCK_KEY)
            stored = [
                StoredSymbol(row[0], row[1], BarKind(row[2]))
                for row in await raw.fetch(
                    "SELECT symbol, timezone, bar_kind FROM symbols WHERE symbol = ANY($1)",
                    staged.symbols,
                )
            ]
            plans = await asyncio.to_thread(
                plan_write, normalized, stored, timezone=timezone, bar_kind=bar_kind
            )
            new_symbols = [plan for plan in plans.values() if plan.is_new]
            if new_symbols:
                await raw.executemany(
                    "INSERT INTO symbols (symbol, timezone, source, bar_kind) "
                    "VALUES ($1, $2, $3, $4)",
                    [
                        (plan.symbol, plan.timezone, source, str(plan.bar_kind))
                        for plan in new_symbols
                    ],
                )
            await raw.execute(staged.create_table_sql)
            await raw.copy_to_table(
                "findata_staging_bars", source=_aiter(staged.payload()), format="binary"
            )
            await raw.execute(staged.upsert_sql, staged.symbols)
            await raw.execute(
                "UPDATE symbols SET first_bar = agg.first_bar, last_bar = agg.last_bar, "
                "bar_count = agg.bar_count, source = $2, updated_at = now() "
                "FROM (SELECT symbol, min(ts) AS first_bar, max(ts) AS last_bar, "
                "count(*) AS bar_count FROM bars WHERE symbol = ANY($1) GROUP BY symbol) AS agg "
                "WHERE symbols.symbol = agg.symbol",
                staged.symbols,
                source,
            )
            await raw.execute("UPDATE data_version SET version = version + 1")
        return int(normalized.num_rows)


class _StagedBars:
    """Normalized bars as fixed-width staging columns (symbols as indices into a list)."""

    def __init__(
        self, symbols: list[str], columns: list[tuple[str, str]], values: dict[str, np.ndarray]
    ):
        self.symbols = symbols
        self.columns = columns
        self.values = values

    @classmethod
    def from_bars(cls, bars: pa.Table) -> _StagedBars:
        encoded = pc.dictionary_encode(bars.column(SYMBOL)).combine_chunks()
        symbols = encoded.dictionary.to_pylist()
        values: dict[str, np.ndarray] = {
            "symbol_index": encoded.indices.to_numpy().astype(np.int32) + 1,
            "ts": _column(bars, TIMESTAMP, pa.int64()) - _pgcopy.PG_EPOCH_OFFSET_US,
        }
        columns = [("symbol_index", "int4"), ("ts", "timestamptz")]
        for name in _PRICES:
            values[name] = _column(bars, name, pa.float64())
            columns.append((name, "float8"))
        values["volume"] = _column(bars, "volume", pa.int64())
        columns.append(("volume", "int8"))
        for name, arrow_type, pg_type in (
            (VWAP, pa.float64(), "float8"),
            (TRADE_COUNT, pa.int64(), "int8"),
        ):
            if name in bars.column_names:
                column = bars.column(name)
                values[f"has_{name}"] = pc.is_valid(column).to_numpy(zero_copy_only=False)
                values[name] = pc.fill_null(column, 0).cast(arrow_type).to_numpy()
                columns += [(f"has_{name}", "bool"), (name, pg_type)]
        return cls(symbols, columns, values)

    def payload(self) -> list[bytes]:
        return list(_pgcopy.encode(self.columns, self.values))

    @property
    def create_table_sql(self) -> str:
        definitions = ", ".join(f"{name} {pg_type}" for name, pg_type in self.columns)
        return f"CREATE TEMP TABLE findata_staging_bars ({definitions}) ON COMMIT DROP"

    @property
    def upsert_sql(self) -> str:
        names = {name for name, _ in self.columns}
        vwap = "CASE WHEN has_vwap THEN vwap END" if VWAP in names else "NULL::float8"
        trades = (
            "CASE WHEN has_trade_count THEN trade_count END"
            if TRADE_COUNT in names
            else "NULL::int8"
        )
        updated = ("open", "high", "low", "close", "volume", "vwap", "trade_count")
        assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in updated)
        current = ", ".join(f"bars.{name}" for name in updated)
        incoming = ", ".join(f"EXCLUDED.{name}" for name in updated)
        # Re-ingesting identical rows rewrites nothing (no dead tuples, no WAL).
        return (
            "INSERT INTO bars (symbol, ts, open, high, low, close, volume, vwap, trade_count) "
            f"SELECT ($1::text[])[symbol_index], ts, open, high, low, close, volume, {vwap}, "
            f"{trades} FROM findata_staging_bars "
            f"ON CONFLICT (symbol, ts) DO UPDATE SET {assignments} "
            f"WHERE ({current}) IS DISTINCT FROM ({incoming})"
        )


def _column(bars: pa.Table, name: str, arrow_type: pa.DataType) -> np.ndarray:
    column = bars.column(name).combine_chunks()
    values: np.ndarray = column.cast(arrow_type).to_numpy()
    return values


async def _aiter(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _decode_bars(symbol: str, payload: bytes) -> pa.Table:
    values = _pgcopy.decode(_READ_COLUMNS, payload)
    rows = len(values["ts"])
    columns: dict[str, pa.Array] = {
        SYMBOL: pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(rows, dtype=np.int32)), pa.array([symbol])
        ).cast(pa.string()),
        TIMESTAMP: pa.array(values["ts"] + _pgcopy.PG_EPOCH_OFFSET_US).cast(UTC_TIMESTAMP),
    }
    for name in (*_PRICES, "volume"):
        columns[name] = pa.array(values[name])
    for name in (VWAP, TRADE_COUNT):
        present = values[f"has_{name}"]
        if present.any():
            columns[name] = pa.array(values[name], mask=~present)
    return pa.table(columns)


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


__all__ = ["PostgresStore", "micros"]
