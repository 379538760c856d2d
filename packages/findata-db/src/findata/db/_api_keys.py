"""Storage of API keys: only a digest of each key is kept, never the key itself.

The HTTP layer (``findata.api``) issues keys and verifies them; this module only
stores ``ApiKeyRecord``s. The SQL stores share the bars database (table
``api_keys``, created by migration 0002), so a deployment has one thing to back up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import duckdb

from findata.core import FindataError
from findata.db._duckdb import HOLD_IDLE, FileAccess
from findata.db._errors import StoreUnavailableError
from findata.db._url import duckdb_options, duckdb_path, resolve_database_url, url_scheme

__all__ = [
    "ApiKeyRecord",
    "DuckDBKeyStore",
    "DuplicateApiKeyError",
    "KeyStore",
    "KeyStoreUnavailableError",
    "MemoryKeyStore",
    "open_key_store",
]

KEY_COLUMNS: Final = "key_id, name, digest, created_at, revoked_at"


class DuplicateApiKeyError(FindataError):
    """A key with this id already exists (ids are random: a retry with a new id succeeds)."""


class KeyStoreUnavailableError(StoreUnavailableError):
    """The database holding the keys does not answer or is not migrated (the API answers 503)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What is stored about one API key: its public id, a label, and a digest of the secret."""

    key_id: str
    name: str
    digest: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@runtime_checkable
class KeyStore(Protocol):
    """Async storage of ``ApiKeyRecord``s; implementations must be safe to share across tasks."""

    async def add_key(self, record: ApiKeyRecord) -> None:
        """Store a new key; raise ``DuplicateApiKeyError`` when its id is taken."""
        ...

    async def get_key(self, key_id: str) -> ApiKeyRecord | None: ...

    async def list_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones included, oldest first."""
        ...

    async def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKeyRecord | None:
        """Mark the key revoked (keeping the first revocation time); None if unknown."""
        ...

    async def aclose(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


class MemoryKeyStore:
    """Keys in a dict: for tests and for a quick start that needs no persistence."""

    def __init__(self, records: list[ApiKeyRecord] | None = None) -> None:
        self._records = {record.key_id: record for record in records or []}
        self._lock = asyncio.Lock()

    async def add_key(self, record: ApiKeyRecord) -> None:
        async with self._lock:
            if record.key_id in self._records:
                raise DuplicateApiKeyError(f"an API key with id {record.key_id!r} already exists")
            self._records[record.key_id] = record

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        return self._records.get(key_id)

    async def list_keys(self) -> list[ApiKeyRecord]:
        return sorted(self._records.values(), key=lambda record: record.created_at)

    async def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKeyRecord | None:
        async with self._lock:
            record = self._records.get(key_id)
            if record is None or record.revoked_at is not None:
                return record
            revoked = dataclasses.replace(record, revoked_at=at)
            self._records[key_id] = revoked
            return revoked

    async def aclose(self) -> None:
        return None


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC instant (DuckDB stores naive UTC, PostgreSQL aware)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """An instant as DuckDB's TIMESTAMP columns hold it: naive, in UTC."""
    return None if moment is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


def record_of(row: Sequence[Any]) -> ApiKeyRecord:
    """A stored row (``key_id, name, digest, created_at, revoked_at``) as a record."""
    key_id, name, digest, created_at, revoked_at = row
    created = _utc(created_at)
    assert created is not None  # NOT NULL column
    return ApiKeyRecord(str(key_id), str(name), str(digest), created, _utc(revoked_at))


class DuckDBKeyStore:
    """Keys in the ``api_keys`` table of a DuckDB file (created by migration 0002).

    It reaches the file the way the bar store does, through a ``FileAccess`` of the
    same file (ADR 0011): reads share the process's read-only attachment of the file,
    writes announce themselves, take the write lock and let it go at once, so
    ``findata ingest`` and ``findata keys`` in other processes get in. A file
    locked by a writer is retried with backoff for up to ``lock_timeout`` seconds.
    """

    def __init__(
        self, path: str | Path, *, lock_timeout: float = 5.0, hold_idle: float = HOLD_IDLE
    ) -> None:
        self.path = Path(path)
        self._file = FileAccess(
            str(self.path.expanduser().absolute()), lock_timeout=lock_timeout, hold_idle=hold_idle
        )

    async def add_key(self, record: ApiKeyRecord) -> None:
        try:
            await self._run(
                f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (
                    record.key_id,
                    record.name,
                    record.digest,
                    _naive_utc(record.created_at),
                    _naive_utc(record.revoked_at),
                ),
                write=True,
            )
        except duckdb.ConstraintException as error:
            raise DuplicateApiKeyError(
                f"an API key with id {record.key_id!r} already exists"
            ) from error

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = await self._run(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        return record_of(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKeyRecord]:
        rows = await self._run(
            f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id", ()
        )
        return [record_of(row) for row in rows]

    async def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKeyRecord | None:
        rows = await self._run(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ? "
            f"RETURNING {KEY_COLUMNS}",
            (_naive_utc(at), key_id),
            write=True,
        )
        return record_of(rows[0]) if rows else None

    async def aclose(self) -> None:
        await asyncio.to_thread(self._file.close)

    async def _run(
        self, sql: str, parameters: Sequence[object], *, write: bool = False
    ) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self._run_blocking, sql, parameters, write)

    def _run_blocking(
        self, sql: str, parameters: Sequence[object], write: bool
    ) -> list[tuple[Any, ...]]:
        if not self.path.exists():  # a write would create an empty file
            raise KeyStoreUnavailableError(
                f"no DuckDB file at {self.path}; run `findata db migrate` first"
            )
        try:
            with self._file.write() if write else self._file.read() as connection:
                try:
                    return connection.execute(sql, list(parameters)).fetchall()
                except duckdb.CatalogException as error:
                    raise KeyStoreUnavailableError(
                        f"{self.path} has no api_keys table; run `findata db migrate` first"
                    ) from error
        except KeyStoreUnavailableError:
            raise
        except StoreUnavailableError as error:  # locked beyond lock_timeout
            raise KeyStoreUnavailableError(str(error)) from error


def open_key_store(url: str) -> KeyStore:
    """The key store inside the database at ``url``, the one the bars live in
    (``postgresql://...`` or ``duckdb:///abs/path.duckdb``), with the password secret
    filled in as ``open_store`` does."""
    url = resolve_database_url(url)
    if url_scheme(url) == "postgresql":
        # Imported here so DuckDB-only users never load asyncpg.
        from findata.db._pg_keys import PostgresKeyStore

        return PostgresKeyStore(url)
    options = duckdb_options(url)  # the bar store's file options apply to its keys too
    return DuckDBKeyStore(
        duckdb_path(url),
        lock_timeout=options.get("lock_timeout", 5.0),
        hold_idle=options.get("hold_idle", HOLD_IDLE),
    )
