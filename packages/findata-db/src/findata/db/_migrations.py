"""Versioned SQL migrations shipped as package data, one directory per backend.

Files are ``migrations/<backend>/NNNN_name.sql``. Each store applies the pending
ones in version order, each in its own transaction together with its row in
``schema_migrations``, so a failed migration leaves no trace and re-running is a no-op.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from importlib import resources
from typing import Final

from findata.db._errors import StoreError

SCHEMA_MIGRATIONS_TABLE: Final = "schema_migrations"
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file: ``version`` orders it, ``name`` says what it does."""

    version: int
    name: str
    sql: str


@dataclasses.dataclass(frozen=True, slots=True)
class MigrationStatus:
    """A migration and when it was applied (``None``: pending)."""

    version: int
    name: str
    applied_at: dt.datetime | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None


def load_migrations(backend: str) -> list[Migration]:
    """The migrations of ``backend`` (``duckdb`` or ``postgres``) in version order."""
    folder = resources.files("findata.db") / "migrations" / backend
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match["version"])
        if version in found:
            raise StoreError(
                f"two {backend} migrations share version {version:04d}: "
                f"{found[version].name} and {match['name']}"
            )
        found[version] = Migration(version, match["name"], entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def merge_status(
    migrations: list[Migration], applied: dict[int, dt.datetime]
) -> list[MigrationStatus]:
    """Every known migration with its applied time, for ``findata db status``."""
    return [
        MigrationStatus(migration.version, migration.name, applied.get(migration.version))
        for migration in migrations
    ]
