"""``findata coverage``'s output: a coverage report as readable tables (rich)."""

from __future__ import annotations

from typing import Final

from rich.console import Console
from rich.table import Table

from findata.core.calendars import Coverage

GAPS_EXIT_CODE: Final = 3
"""Exit status of ``findata coverage --fail-on-gaps`` when sessions are missing (1 stays
"the command failed", 2 "bad usage")."""


def print_coverage(report: Coverage, console: Console, *, limit: int) -> None:
    """The summary, then up to ``limit`` missing or partial sessions by date."""
    summary = Table(title=f"Coverage of {report.symbol}", show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    interval = int(report.bar_interval.total_seconds())
    length = "1 day" if report.bar_kind == "daily" else f"{interval // 60} min"
    share = (
        f" ({report.sessions_with_bars / report.expected_sessions:.1%})"
        if report.expected_sessions
        else ""
    )
    for name, value in (
        ("exchange", report.exchange),
        ("bars", f"{report.bar_kind}, {length}"),
        ("range", f"{report.start.isoformat()} to {report.end.isoformat()}"),
        ("expected sessions", f"{report.expected_sessions:,}"),
        ("sessions with bars", f"{report.sessions_with_bars:,}{share}"),
        ("missing sessions", f"{len(report.missing_sessions):,}"),
        ("partial sessions", f"{len(report.partial_sessions):,}"),
        ("bars outside sessions", f"{report.bars_outside_sessions:,}"),
    ):
        summary.add_row(name, value)
    console.print(summary)
    problems = sorted(
        [(day, "missing", "", "0") for day in report.missing_sessions]
        + [
            (partial.date, "partial", f"{partial.expected_bars:,}", f"{partial.bars:,}")
            for partial in report.partial_sessions
        ]
    )
    if not problems:
        console.print("Every session has its bars.")
        return
    sessions = Table(title="Sessions with gaps", title_justify="left")
    for name in ("date", "status", "expected bars", "bars"):
        sessions.add_column(name, justify="right" if "bars" in name else "left")
    for day, status, expected, bars in problems[:limit]:
        sessions.add_row(day.isoformat(), status, expected, bars)
    console.print(sessions)
    if len(problems) > limit:
        console.print(
            f"... and {len(problems) - limit:,} more (--limit, or the API's "
            "/stocks/coverage/{symbol}?format=csv, lists them all)"
        )
