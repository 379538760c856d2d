"""Storage of API keys: only a digest of each key is kept, never the key itself.

The HTTP layer (``findata.api``) issues keys and verifies them; this module only
stores ``ApiKeyRecord``s. The SQL stores share the bars database (table
``api_keys``, created by migration 0002), so a deployment has one thing to back up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Protocol, runtime_checkable

from findata.core import FindataError

__all__ = [
    "ApiKeyRecord",
    "DuplicateApiKeyError",
    "KeyStore",
    "MemoryKeyStore",
]


class DuplicateApiKeyError(FindataError):
    """A key with this id already exists (ids are random: a retry with a new id succeeds)."""


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
