"""The data version: a counter inside the database, and its published copy in a side file.

Every write transaction bumps the one row of ``data_version`` (migration 0001), so the
counter is part of the committed state: whatever a process reads from the file comes
with the version it belongs to. After closing the file, the writer publishes that
version in ``<file>.version``, a few bytes readers check on every request without
opening DuckDB. A writer killed between its commit and the publish leaves the side file
behind the database; ``FileAccess`` notices (its write intent is left too) and reads the
counter itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Final

import duckdb

from findata.db._errors import StoreError

logger = logging.getLogger(__name__)

NOT_MIGRATED: Final = "the database is not migrated: run `findata db migrate`"


def stored_version(conn: duckdb.DuckDBPyConnection) -> str:
    """The token of the version committed in the database ``conn`` reads."""
    row = conn.execute("SELECT database_id, version FROM data_version").fetchone()
    if row is None:
        raise StoreError(NOT_MIGRATED)
    return f"{row[0]}-{row[1]}"


def bump_version(conn: duckdb.DuckDBPyConnection) -> str:
    """The last statement of every write transaction: readers' caches key on it."""
    conn.execute("UPDATE data_version SET version = version + 1")
    return stored_version(conn)


def version_path(path: str) -> Path:
    return Path(f"{path}.version")


def published_version(path: str) -> str:
    """The published token; without a side file, the files' identity.

    A database written by another tool has no side file, and a writer that could not
    write one removed it: the identity (inode, times, sizes of the file and its WAL)
    changes with every commit, so no stale token is served.
    """
    try:
        return version_path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return file_identity(path)


def file_identity(path: str) -> str:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return "empty"
    wal = Path(f"{path}.wal")
    wal_part = wal.stat().st_mtime_ns if wal.exists() else 0
    return f"stat-{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}-{wal_part}"


def publish_version(path: str, version: str) -> None:
    """Replace the side file atomically, so readers never see a partial token."""
    target = version_path(path)
    scratch = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        scratch.write_text(version, encoding="ascii")
        os.replace(scratch, target)
    except OSError as error:
        # The commit stands; without a side file, readers fall back to the files'
        # identity (which the commit changed), so no stale token is left behind.
        logger.warning("cannot publish the data version of %s: %s", path, error)
        for stale in (scratch, target):
            with contextlib.suppress(OSError):
                stale.unlink(missing_ok=True)
