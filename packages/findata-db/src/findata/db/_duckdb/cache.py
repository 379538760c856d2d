"""A DuckDB store's read cache: its symbol list and whole series, per data version.

Hot reads then cost a dictionary lookup instead of a scan. A new version does not
throw everything away: every write sets ``updated_at`` on each symbol it touches, so a
cached series whose symbol's stamp is unchanged moves to the new version as it is (an
ingest of one symbol keeps the others hot). After another process's write, the
file's reader thread calls ``refresh`` (``access.CachedReads``) to re-read what changed
before the next request asks. Loads run on the connection they are given, side by side
(reads of a held file run concurrently): what they share is updated under a lock, the
reads themselves are not; lookups need no lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import duckdb
import pyarrow as pa

from findata.db._cache import VersionedCache
from findata.db._duckdb.queries import SymbolStamp, list_symbols, read_series, symbol_stamps
from findata.db._types import SymbolInfo

_SYMBOLS = "symbols"


class SeriesCache:
    """Symbol lists and series of one store, bounded by ``max_rows`` each."""

    def __init__(self, max_rows: int) -> None:
        self._bars: VersionedCache[pa.Table] = VersionedCache(max_rows)
        self._symbols: VersionedCache[list[SymbolInfo]] = VersionedCache(max_rows)
        # Each cached series' stamp when it was read: an unchanged stamp lets the
        # series carry over to a new data version without reading it again.
        self._stamps: dict[str, SymbolStamp] = {}
        # The stamps of every symbol as of one data version: reads of several symbols
        # in a version query the symbols table once.
        self._version_stamps: tuple[str, dict[str, SymbolStamp]] | None = None
        self.series_reads = 0
        """How many series were read from the database so far (for tests and metrics)."""
        self._guard = threading.Lock()
        """Held to update the stamps and the count; never during a read of a series."""

    # -- symbols -------------------------------------------------------------------

    def symbols(self, version: str) -> list[SymbolInfo] | None:
        return self._symbols.get(version, _SYMBOLS)

    def load_symbols(self, conn: duckdb.DuckDBPyConnection, version: str) -> list[SymbolInfo]:
        infos = list_symbols(conn)
        self.put_symbols(version, infos)
        return infos

    def put_symbols(self, version: str, infos: list[SymbolInfo]) -> None:
        self._symbols.put(version, _SYMBOLS, infos, len(infos))

    # -- series --------------------------------------------------------------------

    def series(self, version: str, symbols: Sequence[str]) -> dict[str, pa.Table | None]:
        """The cached series of ``symbols`` (``None``: not cached for ``version``)."""
        return {symbol: self._bars.get(version, symbol) for symbol in symbols}

    def load_series(
        self, conn: duckdb.DuckDBPyConnection, version: str, symbols: Sequence[str]
    ) -> dict[str, pa.Table]:
        """Whole series of ``symbols`` in time order, cached for ``version``: carried
        over from an older version when unchanged, else read."""
        stamps = self._carry_over(conn, version)
        loaded: dict[str, pa.Table] = {}
        for symbol in symbols:
            carried = self._bars.get(version, symbol)
            loaded[symbol] = (
                carried if carried is not None else self._load(conn, version, symbol, stamps)
            )
        return loaded

    def _load(
        self,
        conn: duckdb.DuckDBPyConnection,
        version: str,
        symbol: str,
        stamps: dict[str, SymbolStamp],
    ) -> pa.Table:
        stamp = stamps.get(symbol)
        table = read_series(conn, symbol, stamp)
        with self._guard:
            self.series_reads += 1
            if stamp is not None:
                self._stamps[symbol] = stamp
            self._bars.put(version, symbol, table, table.num_rows)
        return table

    def _carry_over(self, conn: duckdb.DuckDBPyConnection, version: str) -> dict[str, SymbolStamp]:
        """The symbols' current stamps; cached series of an older version whose symbol
        is unchanged move to ``version``."""
        known = self._version_stamps
        if known is not None and known[0] == version:
            return known[1]
        stamps = symbol_stamps(conn)
        with self._guard:
            self._version_stamps = (version, stamps)
            cached_version, entries = self._bars.entries()
            if cached_version is not None and cached_version != version:
                for symbol, table, rows in reversed(entries):  # least recent first: LRU kept
                    if isinstance(symbol, str) and stamps.get(symbol) == self._stamps.get(symbol):
                        self._bars.put(version, symbol, table, rows)
        return stamps

    # -- refreshing (access.CachedReads) -------------------------------------------

    def has_cached_reads(self) -> bool:
        return self._bars.version is not None or self._symbols.version is not None

    def is_stale(self, version: str) -> bool:
        return any(
            cached is not None and cached != version
            for cached in (self._bars.version, self._symbols.version)
        )

    def refresh(
        self, conn: duckdb.DuckDBPyConnection, version: str, interrupted: Callable[[], bool]
    ) -> None:
        """After another process's write: list the symbols again, carry unchanged series
        over, read changed ones (most recent first) until ``interrupted()`` (a writer
        announced itself)."""
        cached_version, entries = self._bars.entries()
        symbols_version, listed = self._symbols.entries()
        if listed and symbols_version != version:
            self.load_symbols(conn, version)  # the API looks a symbol up first
        if cached_version is None or cached_version == version:
            return
        stamps = self._carry_over(conn, version)
        for symbol, _table, _rows in entries:
            if interrupted():
                return
            if isinstance(symbol, str) and self._bars.get(version, symbol) is None:
                self._load(conn, version, symbol, stamps)

    def clear(self) -> None:
        self._bars.clear()
        self._symbols.clear()
