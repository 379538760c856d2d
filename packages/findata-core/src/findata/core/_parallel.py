"""Running independent whole-column passes on several cores for large inputs.

numpy and Arrow release the GIL inside their loops, so column passes of a
multi-million-row table (checks, string comparisons, reductions) scale across cores
with plain threads. Small inputs, the per-request case of the HTTP API, never touch
the pool: starting work on another thread costs more than the work itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

PARALLEL_MIN_ROWS = 1_000_000
"""Below this many rows every pass runs on the calling thread."""


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="findata-core")


def run_all(tasks: Sequence[Callable[[], T]], rows: int) -> list[T]:
    """Results of ``tasks`` in order; concurrently when ``rows`` is large."""
    if rows < PARALLEL_MIN_ROWS or len(tasks) < 2 or (os.cpu_count() or 1) < 2:
        return [task() for task in tasks]
    return list(_pool().map(lambda task: task(), tasks))
