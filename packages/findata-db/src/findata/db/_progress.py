"""A rows and rows/s progress bar on a terminal, silence everywhere else."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def progress_wanted() -> bool:
    """Only an interactive stderr, never in CI (where stderr may still be a pseudo-TTY)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


@contextlib.contextmanager
def row_progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(rows)``; draws a bar only when ``progress_wanted()``."""
    if not progress_wanted():
        yield lambda _rows: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RowsPerSecond(),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda rows: progress.advance(task, rows)
