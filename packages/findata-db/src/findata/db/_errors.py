"""Errors of the storage layer.

``StoreUnavailableError`` is the one the API maps to 503: the data is fine, the
store cannot be reached right now. ``IngestError`` names the file and line so a
user can fix the input without guessing.
"""

from __future__ import annotations

from pathlib import Path

from findata.core import FindataError


class StoreError(FindataError):
    """The store refused or failed an operation (not migrated, conflicting symbol kind...)."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached (server down, file locked by a writer for too long)."""


class IngestError(FindataError):
    """An input file was rejected as a whole; nothing from it was written.

    ``line`` is the 1-based physical line of a CSV file (the header is line 1)
    or the 1-based row of a Parquet file, ``0`` when the problem is not tied to
    one row (unreadable file, missing column).
    """

    def __init__(self, path: str | Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason
