"""The PostgreSQL store: a ``databases`` pool of asyncpg connections over chunked bars.

Bars live in ``bar_chunks``, one row per symbol and UTC month whose columns are
packed big-endian arrays (ADR 0014, ``_pgchunks``): a read fetches a few dozen rows
and decodes them with ``numpy.frombuffer``; a write COPYs new chunks in and merges
the stored chunks it touches in NumPy, all in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import databases
import numpy as np
import pyarrow as pa

from findata.core.columns import SYMBOL, TIMESTAMP, TRADE_COUNT, UTC_TIMESTAMP, VWAP
from findata.db import _pgactions, _pgchunks, _pgcopy
from findata.db._actions import ActionCounts, check_actions
from findata.db._arrow import concat_bars, empty_bar_table, micros, repeat_string
from findata.db._errors import StoreError, StoreUnavailableError
from findata.db._migrations import (
    SCHEMA_MIGRATIONS_TABLE,
    Migration,
    MigrationStatus,
    load_migrations,
    merge_status,
)
from findata.db._planning import StoredSymbol, plan_write
from findata.db._types import BarKind, PoolUsage, SymbolInfo
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

    def pool_usage(self) -> PoolUsage | None:
        """The asyncpg pool's size, idle and maximum connections (``None`` when closed)."""
        if not self._database.is_connected:
            return None
        # databases keeps its asyncpg pool private; read it defensively so a library
        # change costs the gauge, never a scrape.
        pool = getattr(getattr(self._database, "_backend", None), "_pool", None)
        if not isinstance(pool, asyncpg.Pool):
            return None
        return PoolUsage(
            open=pool.get_size(), idle=pool.get_idle_size(), max_size=pool.get_max_size()
        )

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
        """The chunks overlapping [start, end] in one query, unpacked and trimmed in NumPy."""
        wanted = sorted({symbol.upper() for symbol in symbols})
        if not wanted:
            return empty_bar_table()
        low = _MIN_TS if start is None else _utc(start)
        high = _MAX_TS if end is None else _utc(end)
        async with self._connection() as raw:
            chunks = await raw.fetch(
                _READ_SQL, wanted, _from_micros(_pgchunks.month_start(micros(low))), low, high
            )
        by_symbol: dict[str, list[asyncpg.Record]] = {}
        for chunk in chunks:
            by_symbol.setdefault(chunk[0], []).append(chunk)
        return concat_bars(
            [_bar_table(symbol, by_symbol[symbol], low, high) for symbol in sorted(by_symbol)]
        )

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
    ) -> int:
        """Upsert in one transaction: the batch's chunks that are new are COPYed in; those
        already stored are locked, merged with the batch in NumPy and replaced, unless the
        merge changes nothing (re-ingesting a file rewrites no chunk)."""
        # Validation, sorting and packing are CPU work on whole columns: keep them off the loop.
        normalized = await asyncio.to_thread(normalize_bars, bars)
        if normalized.num_rows == 0:
            return 0
        batch = await asyncio.to_thread(_pgchunks.Batch, normalized)
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
            symbol_ids = [ids[symbol] for symbol in batch.symbols]
            existing = await raw.fetch(
                _LOCK_CHUNKS_SQL,
                [symbol_ids[chunk.code] for chunk in batch.chunks],
                [_from_micros(chunk.month_start) for chunk in batch.chunks],
            )
            records, replaced = await asyncio.to_thread(_chunk_records, batch, symbol_ids, existing)
            if replaced:
                await raw.execute(_DELETE_CHUNKS_SQL, *zip(*replaced, strict=True))
            if records:
                await raw.copy_to_table(
                    "bar_chunks",
                    source=_copy_stream(records),
                    columns=_CHUNK_COLUMNS,
                    format="binary",
                )
            await raw.execute(_RECOUNT_SQL, symbol_ids, source)
            await raw.execute(
                "UPDATE symbols SET has_vwap = has_vwap OR $2, "
                "has_trade_count = has_trade_count OR $3 WHERE symbol_id = ANY($1)",
                symbol_ids,
                batch.has[VWAP],
                batch.has[TRADE_COUNT],
            )
            await self._bump_version(raw)
        return int(normalized.num_rows)

    # -- corporate actions ---------------------------------------------------------

    async def read_splits(
        self,
        symbols: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        async with self._connection() as raw:
            return await _pgactions.read_splits(raw, symbols, start, end)

    async def read_dividends(
        self,
        symbols: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        async with self._connection() as raw:
            return await _pgactions.read_dividends(raw, symbols, start, end)

    async def action_counts(self) -> dict[str, ActionCounts]:
        async with self._connection() as raw:
            return await _pgactions.counts(raw)

    async def write_actions(self, splits: pa.Table | None, dividends: pa.Table | None) -> int:
        """Upsert both kinds and bump the version in one transaction."""
        checked = await asyncio.to_thread(check_actions, splits, dividends)
        async with self._connection() as raw, raw.transaction():
            await raw.execute("SELECT pg_advisory_xact_lock($1)", _WRITE_LOCK_KEY)
            await _pgactions.upsert(raw, checked)
            await self._bump_version(raw)
        return checked.rows

    async def _bump_version(self, raw: asyncpg.Connection) -> None:
        """The last statement of every write transaction: readers' caches key on it."""
        await raw.execute("UPDATE data_version SET version = version + 1")


_CHUNK_COLUMNS: Final = [
    "symbol_id",
    "chunk_start",
    "first_ts",
    "last_ts",
    "bar_count",
    *_pgchunks.PACKED,
]
# Chunks of the symbols overlapping [$3, $4]; $2 (the month of $3) bounds the index scan.
_READ_SQL: Final = (
    f"SELECT s.symbol, {', '.join(f'c.{name}' for name in _pgchunks.PACKED)} "
    "FROM symbols AS s JOIN bar_chunks AS c ON c.symbol_id = s.symbol_id "
    "WHERE s.symbol = ANY($1::text[]) AND c.chunk_start >= $2 AND c.chunk_start <= $4 "
    "AND c.last_ts >= $3 AND c.first_ts <= $4 ORDER BY s.symbol, c.chunk_start"
)
_LOCK_CHUNKS_SQL: Final = (
    f"SELECT c.symbol_id, c.chunk_start, {', '.join(f'c.{name}' for name in _pgchunks.PACKED)} "
    "FROM bar_chunks AS c JOIN unnest($1::int4[], $2::timestamptz[]) AS k(symbol_id, chunk_start) "
    "ON c.symbol_id = k.symbol_id AND c.chunk_start = k.chunk_start FOR UPDATE OF c"
)
_DELETE_CHUNKS_SQL: Final = (
    "DELETE FROM bar_chunks AS c USING unnest($1::int4[], $2::timestamptz[]) "
    "AS k(symbol_id, chunk_start) WHERE c.symbol_id = k.symbol_id AND c.chunk_start = k.chunk_start"
)
# Symbol stats from the chunks' own first/last/count: a few rows per symbol-month, no bar data.
_RECOUNT_SQL: Final = (
    "UPDATE symbols SET first_bar = agg.first_bar, last_bar = agg.last_bar, "
    "bar_count = agg.bar_count, source = $2, updated_at = now() "
    "FROM (SELECT symbol_id, min(first_ts) AS first_bar, max(last_ts) AS last_bar, "
    "sum(bar_count) AS bar_count FROM bar_chunks WHERE symbol_id = ANY($1) "
    "GROUP BY symbol_id) AS agg WHERE symbols.symbol_id = agg.symbol_id"
)

_Record = list[_pgcopy.Buffer]


def _chunk_records(
    batch: _pgchunks.Batch, symbol_ids: list[int], existing: Sequence[asyncpg.Record]
) -> tuple[list[_Record], list[tuple[int, dt.datetime]]]:
    """COPY records of the chunks to write, and the keys of stored chunks they replace.

    A chunk not stored yet is packed straight from the batch; a stored one is merged
    with the batch's bars and kept as it is when the merge changes no byte.
    """
    stored = {(row[0], micros(row[1])): row for row in existing}
    records: list[_Record] = []
    replaced: list[tuple[int, dt.datetime]] = []
    for chunk in batch.chunks:
        symbol_id = symbol_ids[chunk.code]
        columns = batch.rows(chunk)
        old = stored.get((symbol_id, chunk.month_start))
        if old is not None:
            columns = _pgchunks.merge(_pgchunks.unpack([old]), columns)
        packed = _pgchunks.pack(columns)
        if old is not None:
            if _pgchunks.same_packed(packed, old):
                continue
            replaced.append((symbol_id, old[1]))
        stamps = columns["ts"]
        records.append(
            _pgcopy.chunk_record(
                symbol_id,
                chunk.month_start - _pgcopy.PG_EPOCH_OFFSET_US,
                int(stamps[0]),
                int(stamps[-1]),
                len(stamps),
                [packed[name] for name in _pgchunks.PACKED],
            )
        )
    return records, replaced


async def _copy_stream(records: list[_Record]) -> AsyncIterator[bytes]:
    """The binary COPY stream in pieces of a few MB, joined off the event loop."""
    for group in _pgcopy.stream(records):
        yield await asyncio.to_thread(b"".join, group)


def _bar_table(
    symbol: str, chunks: Sequence[asyncpg.Record], low: dt.datetime, high: dt.datetime
) -> pa.Table:
    """One symbol's consecutive chunks as a ``BAR_SCHEMA`` table trimmed to [low, high]."""
    columns = _pgchunks.unpack(chunks)
    stamps = columns["ts"]
    first = int(np.searchsorted(stamps, micros(low) - _pgcopy.PG_EPOCH_OFFSET_US, side="left"))
    last = int(np.searchsorted(stamps, micros(high) - _pgcopy.PG_EPOCH_OFFSET_US, side="right"))
    rows = max(last - first, 0)
    table: dict[str, pa.Array] = {
        SYMBOL: repeat_string(symbol, rows),
        # int64 to timestamp as a view: pa.array(..., type) would convert value by value.
        TIMESTAMP: pa.array(stamps[first:last] + _pgcopy.PG_EPOCH_OFFSET_US).view(UTC_TIMESTAMP),
    }
    for name in (*_PRICES, "volume"):
        table[name] = pa.array(columns[name][first:last])
    for name in (VWAP, TRADE_COUNT):
        if name in columns:
            present = columns[f"{name}_valid"][first:last]
            if present.any():
                table[name] = pa.array(columns[name][first:last], mask=~present)
    return pa.table(table)


def _utc(instant: dt.datetime) -> dt.datetime:
    """An aware UTC instant (naive means UTC, as everywhere in the store)."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(dt.UTC)


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
