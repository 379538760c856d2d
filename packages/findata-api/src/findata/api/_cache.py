"""Bounded in-process caches keyed by the store's data version.

Results (resampled bars, indicator values) and rendered responses are immutable
for a given data version, so they can be kept until memory is needed: any write
to the store changes the version and with it every key. Both caches are LRU and
bounded by bytes, not entries, because one response can be 100 bytes or 5 MB.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import pyarrow as pa
from cachetools import LRUCache

from findata.api._metrics import Metrics

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Coalesce concurrent computations of one key: the first caller computes, the others wait.

    Without it, N concurrent cold requests for one symbol do the same work N times (and on
    a busy store can all time out, so nothing is ever cached). The computation runs as its
    own task, so a client that disconnects does not cancel it for the others.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[V]] = {}

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(compute())
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(task)


@dataclasses.dataclass(frozen=True, slots=True)
class CachedResponse:
    """A rendered body and the headers that depend on it."""

    body: bytes
    content_type: str
    link: str | None


class ResultCaches:
    """The two caches of an app: computed tables and rendered responses."""

    def __init__(self, megabytes: int, metrics: Metrics) -> None:
        budget = max(megabytes, 0) * 1024 * 1024  # 0 turns caching off
        self.tables: LRUCache[Hashable, pa.Table] = LRUCache(
            maxsize=budget // 2, getsizeof=lambda table: max(int(table.nbytes), 1)
        )
        self.responses: LRUCache[str, CachedResponse] = LRUCache(
            maxsize=budget // 2, getsizeof=lambda cached: len(cached.body) + 200
        )
        self._metrics = metrics
        self.table_flights: SingleFlight[Hashable, pa.Table] = SingleFlight()
        self.response_flights: SingleFlight[str, CachedResponse] = SingleFlight()

    def table(self, key: Hashable) -> pa.Table | None:
        found = self.tables.get(key)
        self._metrics.cache_lookups.labels("table", "hit" if found is not None else "miss").inc()
        return found

    async def table_or_compute(
        self, key: Hashable, compute: Callable[[], Awaitable[pa.Table]]
    ) -> pa.Table:
        """The cached table of ``key``, else computed once however many callers ask at once."""
        found = self.table(key)
        if found is not None:
            return found

        async def compute_and_keep() -> pa.Table:
            table = await compute()
            self.keep_table(key, table)
            return table

        return await self.table_flights.run(key, compute_and_keep)

    def keep_table(self, key: Hashable, table: pa.Table) -> None:
        if table.nbytes < self.tables.maxsize:  # cachetools raises on oversized values
            self.tables[key] = table

    def response(self, key: str) -> CachedResponse | None:
        found = self.responses.get(key)
        self._metrics.cache_lookups.labels("response", "hit" if found is not None else "miss").inc()
        return found

    def keep_response(self, key: str, cached: CachedResponse) -> None:
        if len(cached.body) + 200 < self.responses.maxsize:
            self.responses[key] = cached
