"""The ``findata db`` and ``findata ingest`` command groups.

findata-api mounts both on its ``findata`` command; ``python -m findata.db``
runs them standalone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from rich.console import Console

from findata.core import Adjustment, FindataError, Frequency, calendars
from findata.db._coverage import read_coverage
from findata.db._coverage_table import GAPS_EXIT_CODE, print_coverage
from findata.db._dataset import ExportResult, export_parquet, ingest_parquet_dataset, is_dataset
from findata.db._demo import ingest_demo
from findata.db._ingest import IngestResult, ingest_csv, ingest_parquet
from findata.db._ingest_actions import ingest_actions
from findata.db._open import migrate, migration_status, open_store
from findata.db._progress import row_progress
from findata.db._types import Store
from findata.db._url import DATABASE_URL_ENV, redact_url, resolve_database_url
from findata.db._yahoo import ingest_yahoo

Result = TypeVar("Result")

database_url_option = click.option(
    "--database-url",
    envvar=DATABASE_URL_ENV,
    show_envvar=True,
    default=None,
    help="postgresql://... or duckdb:///abs/file.duckdb (default: a DuckDB file in the "
    "user data directory).",
)
timezone_option = click.option(
    "--timezone",
    default=None,
    help="Exchange time zone of new symbols (IANA name; default America/New_York). "
    "Known symbols keep theirs.",
)
exchange_option = click.option(
    "--exchange",
    default=None,
    help="ISO MIC of every symbol's exchange (XNYS, XNAS, XLON...; `findata exchanges` "
    "lists them). Default: an 'exchange' column, else the stored one, else XNYS. Without "
    "--timezone, new symbols take the exchange's time zone.",
)
symbol_option = click.option(
    "--symbol", default=None, help="Symbol of every row, for files without a symbol column."
)


def _run(action: Callable[[], Awaitable[Result]]) -> Result:
    """Run a coroutine; typed findata errors become one clear line and exit status 1."""
    try:
        return asyncio.run(action())  # type: ignore[arg-type]
    except FindataError as error:
        raise click.ClickException(str(error)) from error


def _resolved(database_url: str | None) -> str:
    """The URL to use, password secret included; a bad setting is one clear line."""
    try:
        return resolve_database_url(database_url)
    except FindataError as error:
        raise click.ClickException(str(error)) from error


async def _with_store(url: str | None, use: Callable[[Store], Awaitable[Result]]) -> Result:
    store = open_store(url)
    await store.connect()
    try:
        return await use(store)
    finally:
        await store.disconnect()


def _report(result: IngestResult) -> None:
    click.echo(
        f"{result.path}: {result.rows:,} rows ({', '.join(result.symbols) or 'no symbols'}) "
        f"in {result.seconds:.2f} s, {result.rows_per_second:,.0f} rows/s"
    )


@click.group("db")
def db() -> None:
    """Database schema: apply and inspect migrations."""


@db.command("migrate")
@database_url_option
def migrate_command(database_url: str | None) -> None:
    """Apply pending schema migrations (running it twice is a no-op)."""
    url = _resolved(database_url)
    applied = _run(lambda: migrate(url))
    for migration in applied:
        click.echo(f"applied {migration.version:04d}_{migration.name}")
    click.echo(f"{redact_url(url)}: schema up to date ({len(applied)} applied now)")


@db.command("status")
@database_url_option
def status_command(database_url: str | None) -> None:
    """List every migration and whether it is applied."""
    url = _resolved(database_url)
    states = _run(lambda: migration_status(url))
    click.echo(redact_url(url))
    for state in states:
        when = state.applied_at.isoformat() if state.applied_at else "pending"
        click.echo(f"  {state.version:04d}_{state.name:<30} {when}")


@click.group("ingest")
def ingest() -> None:
    """Load bars into the store: every file is validated whole, then written atomically."""


@ingest.command("csv")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@symbol_option
@timezone_option
@exchange_option
@database_url_option
def ingest_csv_command(
    paths: tuple[Path, ...],
    symbol: str | None,
    timezone: str | None,
    exchange: str | None,
    database_url: str | None,
) -> None:
    """Ingest CSV files: symbol, date|timestamp, open, high, low, close, volume[, vwap,
    trade_count, exchange]."""
    _run(
        lambda: _with_store(
            database_url,
            lambda store: ingest_csv(
                store, paths, symbol=symbol, timezone=timezone, exchange=exchange, on_file=_report
            ),
        )
    )


@ingest.command("parquet")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@symbol_option
@timezone_option
@exchange_option
@database_url_option
def ingest_parquet_command(
    paths: tuple[Path, ...],
    symbol: str | None,
    timezone: str | None,
    exchange: str | None,
    database_url: str | None,
) -> None:
    """Ingest Parquet files with the same columns as CSV, or one directory holding a
    Hive-partitioned dataset (``symbol=.../year=.../*.parquet``, as ``findata export
    parquet`` writes it)."""
    if is_dataset(paths):
        if symbol is not None or timezone is not None:
            raise click.UsageError("a dataset directory names its symbols and time zones")
        _run(
            lambda: _with_store(
                database_url,
                lambda store: ingest_parquet_dataset(store, paths[0], on_file=_report),
            )
        )
        return
    _run(
        lambda: _with_store(
            database_url,
            lambda store: ingest_parquet(
                store, paths, symbol=symbol, timezone=timezone, exchange=exchange, on_file=_report
            ),
        )
    )


@ingest.command("actions")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@database_url_option
def ingest_actions_command(paths: tuple[Path, ...], database_url: str | None) -> None:
    """Ingest corporate actions (CSV, or Parquet by extension): symbol, ex_date, action
    (split|dividend), split_from, split_to, cash_amount[, currency, pay_date, record_date]."""
    _run(
        lambda: _with_store(
            database_url, lambda store: ingest_actions(store, paths, on_file=_report_actions)
        )
    )


def _report_actions(result: IngestResult) -> None:
    click.echo(
        f"{result.path}: {result.rows:,} actions "
        f"({', '.join(result.symbols) or 'no symbols'}) in {result.seconds:.2f} s"
    )


@ingest.command("yahoo")
@click.argument("symbols", nargs=-1, required=True)
@click.option("--start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--end", default=None, type=click.DateTime(["%Y-%m-%d"]), help="Day after the last.")
@click.option("--interval", default="1d", show_default=True, help="Yahoo interval: 1d, 1m, 5m...")
@timezone_option
@exchange_option
@database_url_option
def ingest_yahoo_command(
    symbols: tuple[str, ...],
    start: dt.datetime,
    end: dt.datetime | None,
    interval: str,
    timezone: str | None,
    exchange: str | None,
    database_url: str | None,
) -> None:
    """Download bars from Yahoo Finance (needs the findata-db[yahoo] extra and internet)."""
    results = _run(
        lambda: _with_store(
            database_url,
            lambda store: ingest_yahoo(
                store,
                symbols,
                start=start.date(),
                end=None if end is None else end.date(),
                interval=interval,
                timezone=timezone,
                exchange=exchange,
            ),
        )
    )
    for result in results:
        _report(result)


@ingest.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the store holds no symbols yet.")
@database_url_option
def ingest_demo_command(if_empty: bool, database_url: str | None) -> None:
    """Load the deterministic synthetic demo data set (DEMO-* symbols)."""
    rows = _run(
        lambda: _with_store(database_url, lambda store: ingest_demo(store, if_empty=if_empty))
    )
    if rows:
        click.echo(f"demo data: {rows:,} rows written")
    else:
        click.echo("demo data: skipped, the store already holds symbols")


@click.command("exchanges")
@click.argument("search", required=False)
def exchanges_command(search: str | None) -> None:
    """List the exchanges a symbol can trade on (ISO MICs and aliases), optionally those
    containing SEARCH."""
    names = calendars.exchange_names()
    shown = [name for name in names if search is None or search.casefold() in name.casefold()]
    for name in shown:
        click.echo(name)
    if not shown:
        raise click.ClickException(f"no exchange name contains {search!r}")


@click.command("coverage")
@click.argument("symbol")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First date (default: 1st bar's).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last date (default: last bar's).")
@click.option(
    "--fail-on-gaps",
    is_flag=True,
    help=f"Exit with status {GAPS_EXIT_CODE} when sessions are missing (a nightly ingest guard).",
)
@click.option(
    "--limit",
    type=click.IntRange(0),
    default=50,
    show_default=True,
    help="Gap sessions listed at most.",
)
@database_url_option
def coverage_command(
    symbol: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    fail_on_gaps: bool,
    limit: int,
    database_url: str | None,
) -> None:
    """How completely SYMBOL's bars cover its exchange's sessions: sessions expected,
    missing and partial, and bars outside any session."""
    report = _run(
        lambda: _with_store(
            database_url,
            lambda store: read_coverage(
                store,
                symbol,
                None if start is None else start.date(),
                None if end is None else end.date(),
            ),
        )
    )
    if report is None:
        raise click.ClickException(f"no symbol {symbol.upper()!r} in the store")
    print_coverage(report, Console(), limit=limit)
    if fail_on_gaps and report.missing_sessions:
        raise SystemExit(GAPS_EXIT_CODE)


@click.group("export")
def export() -> None:
    """Write stored bars out in bulk."""


@export.command("parquet")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--symbols", default=None, help="Comma-separated symbols (default: every symbol).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (UTC).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (UTC).")
@click.option(
    "--frequency",
    type=click.Choice([member.value for member in Frequency], case_sensitive=False),
    default=None,
    help="Resample into periods of this unit (default: the stored bars).",
)
@click.option("--interval", type=click.IntRange(1, 100_000), default=None, help="Units per period.")
@click.option(
    "--adjustment",
    type=click.Choice([member.value for member in Adjustment], case_sensitive=False),
    default=Adjustment.RAW.value,
    show_default=True,
    help="Adjust past prices backward for stored splits and/or dividends.",
)
@click.option(
    "--session",
    type=click.Choice(["all", "regular"], case_sensitive=False),
    default="all",
    show_default=True,
    help="regular: only intraday bars inside each exchange's regular sessions.",
)
@database_url_option
def export_parquet_command(
    directory: Path,
    symbols: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    frequency: str | None,
    interval: int | None,
    adjustment: str,
    session: str,
    database_url: str | None,
) -> None:
    """Write a Hive-partitioned Parquet dataset: DIRECTORY/symbol=S/year=Y/bars.parquet."""
    if interval is not None and frequency is None:
        raise click.UsageError("--interval needs --frequency")
    wanted = None if symbols is None else [s.strip().upper() for s in symbols.split(",") if s]
    first = None if start is None else start.replace(tzinfo=dt.UTC)
    last = None
    if end is not None:  # the whole last day
        last = end.replace(tzinfo=dt.UTC) + dt.timedelta(days=1, microseconds=-1)

    async def run(store: Store) -> ExportResult:
        total = sum(
            info.bar_count
            for info in await store.list_symbols()
            if wanted is None or info.symbol in wanted
        )
        with row_progress(f"exporting to {directory}", total=total) as advance:
            try:
                return await export_parquet(
                    store,
                    directory,
                    symbols=wanted,
                    start=first,
                    end=last,
                    frequency=None if frequency is None else Frequency.parse(frequency),
                    interval=interval or 1,
                    adjustment=Adjustment.parse(adjustment),
                    regular_session=session.lower() == "regular",
                    on_rows=advance,
                )
            except ValueError as error:
                raise click.ClickException(str(error)) from error

    result = _run(lambda: _with_store(database_url, run))
    click.echo(
        f"{directory}: {result.rows:,} rows of {result.symbols} symbol(s) in {result.files} "
        f"file(s), {result.seconds:.2f} s, {result.rows / max(result.seconds, 1e-9):,.0f} rows/s"
    )


@click.group()
def main() -> None:
    """findata storage commands (the full CLI is "findata", from findata-server)."""


main.add_command(db)
main.add_command(ingest)
main.add_command(exchanges_command)
main.add_command(coverage_command)
main.add_command(export)
