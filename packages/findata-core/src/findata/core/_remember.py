"""Results of a function of an Arrow table, remembered per table object while it lives.

Arrow tables are immutable, so what was checked or derived from one stays true of it.
The API hands core the same table objects request after request until the data
changes (a store's cached series, a symbol's actions), and re-checking them would cost
more than the work asked for. Keys are ``id``s, each dropped by a weak reference's
callback when its table is freed, before the id can be reused; a remembered value must
not refer to its table (or the table would never be freed).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import pyarrow as pa

Value = TypeVar("Value")


class PerTable(Generic[Value]):
    """``compute(table)``, computed once per live table object."""

    def __init__(self, compute: Callable[[pa.Table], Value]) -> None:
        self._compute = compute
        self._entries: dict[int, tuple[weakref.ref[pa.Table], Value]] = {}

    def __call__(self, table: pa.Table) -> Value:
        key = id(table)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is table:
            return entry[1]
        value = self._compute(table)
        entries = self._entries

        def forget(_: weakref.ref[pa.Table]) -> None:
            entries.pop(key, None)

        entries[key] = (weakref.ref(table, forget), value)
        return value

    def __len__(self) -> int:
        return len(self._entries)
