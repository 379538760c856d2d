"""A small in-process LRU of Arrow tables, valid for one data version.

Hot reads from a DuckDB file then cost a dictionary lookup instead of opening
the file (tens of milliseconds, and contention with a writer's lock).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class VersionedCache(Generic[Value]):
    """Entries of one data version; a new version empties the cache.

    ``max_rows`` bounds the memory held: each entry is weighed by its row count.
    """

    def __init__(self, max_rows: int) -> None:
        self._max_rows = max_rows
        self._version: str | None = None
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def get(self, version: str, key: Hashable) -> Value | None:
        with self._lock:
            if version != self._version:
                return None
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, version: str, key: Hashable, value: Value, rows: int) -> None:
        if rows > self._max_rows:
            return
        with self._lock:
            if version != self._version:
                self._version = version
                self._entries.clear()
                self._rows = 0
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._rows -= previous[1]
            self._entries[key] = (value, rows)
            self._rows += rows
            while self._rows > self._max_rows:
                _, (_, evicted_rows) = self._entries.popitem(last=False)
                self._rows -= evicted_rows

    @property
    def version(self) -> str | None:
        """The data version of the entries held; ``None`` when empty."""
        with self._lock:
            return self._version if self._entries else None

    def entries(self) -> tuple[str | None, list[tuple[Hashable, Value, int]]]:
        """The cached version and its entries, most recently used first."""
        with self._lock:
            return self._version, [
                (key, value, rows) for key, (value, rows) in reversed(self._entries.items())
            ]

    def clear(self) -> None:
        with self._lock:
            self._version = None
            self._entries.clear()
            self._rows = 0
