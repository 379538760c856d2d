"""API keys in PostgreSQL: the ``api_keys`` table of the bars database (migration 0002).

A module of its own so that only PostgreSQL users import asyncpg (``findata.db`` loads
it on first use of ``PostgresKeyStore``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import asyncpg

from findata.db._api_keys import (
    KEY_COLUMNS,
    ApiKeyRecord,
    DuplicateApiKeyError,
    KeyStoreUnavailableError,
    record_of,
)

__all__ = ["PostgresKeyStore"]


# What asyncpg raises when the server cannot be reached or drops the connection.
_PG_OUTAGES: Final = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    # Raised from pool release when the server dies mid-reset; not an InterfaceError.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
)


class PostgresKeyStore:
    """Keys in the ``api_keys`` table of a PostgreSQL database (created by migration 0002).

    A small pool of its own (two connections, opened on first use): key lookups are
    rare thanks to the verifier's cache and must not queue behind bar queries.
    """

    def __init__(self, url: str, *, max_connections: int = 2, timeout: float = 5.0) -> None:
        self._url = url
        self._max_connections = max_connections
        self._timeout = timeout
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    async def add_key(self, record: ApiKeyRecord) -> None:
        try:
            await self._call(
                lambda conn: conn.execute(
                    f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
                    *dataclasses.astuple(record),
                )
            )
        except asyncpg.exceptions.UniqueViolationError as error:
            raise DuplicateApiKeyError(
                f"an API key with id {record.key_id!r} already exists"
            ) from error

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        row = await self._call(
            lambda conn: conn.fetchrow(
                f"SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = $1", key_id
            )
        )
        return record_of(tuple(row)) if row is not None else None

    async def list_keys(self) -> list[ApiKeyRecord]:
        rows = await self._call(
            lambda conn: conn.fetch(
                f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id"
            )
        )
        return [record_of(tuple(row)) for row in rows]

    async def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKeyRecord | None:
        row = await self._call(
            lambda conn: conn.fetchrow(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1 "
                f"RETURNING {KEY_COLUMNS}",
                key_id,
                at,
            )
        )
        return record_of(tuple(row)) if row is not None else None

    async def aclose(self) -> None:
        async with self._pool_lock:
            if self._pool is not None:
                await self._pool.close()
                self._pool = None

    async def _call(self, query: Callable[[asyncpg.Connection], Any]) -> Any:
        try:
            pool = await self._get_pool()
            async with pool.acquire(timeout=self._timeout) as connection:
                return await asyncio.wait_for(query(connection), self._timeout)
        except asyncpg.exceptions.UndefinedTableError as error:
            raise KeyStoreUnavailableError(
                "the database has no api_keys table; run `findata db migrate` first"
            ) from error
        except _PG_OUTAGES as error:
            # The driver's message may quote the URL; keep only the error's type.
            raise KeyStoreUnavailableError(
                f"the key database does not answer ({type(error).__name__})"
            ) from error

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._url,
                    min_size=0,
                    max_size=self._max_connections,
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                )
            return self._pool
