"""Each symbol's exchange (ISO MIC): set at ingest by option or column, stored by both stores."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from findata.db import IngestError, MigratableStore, ingest_csv, ingest_parquet
from findata.db.cli import main

WriteFile = Callable[[str, str | bytes], Path]
DAILY_HEADER = "symbol,date,open,high,low,close,volume\n"
ROWS = "AAA,2024-01-02,10,11,9,10.5,1000\nBBB,2024-01-02,20,21,19,20.5,2000\n"


async def test_symbols_without_a_named_exchange_trade_on_xnys(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a file that names no exchange
    path = write_file("plain.csv", DAILY_HEADER + ROWS)

    # WHEN it is ingested
    await ingest_csv(store, [path])

    # THEN both symbols are recorded on the default exchange, in listing and lookup
    assert [info.exchange for info in await store.list_symbols()] == ["XNYS", "XNYS"]
    info = await store.get_symbol("AAA")
    assert info is not None
    assert info.exchange == "XNYS"


async def test_the_exchange_option_names_every_symbols_exchange_as_the_user_spelled_it(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a file of two symbols, ingested with a lower-case alias
    path = write_file("nasdaq.csv", DAILY_HEADER + ROWS)

    # WHEN ingested with --exchange xnas
    await ingest_csv(store, [path], exchange="xnas")

    # THEN both are on XNAS (the alias kept, upper-cased), in New York's zone
    infos = await store.list_symbols()
    assert [(info.symbol, info.exchange, info.timezone) for info in infos] == [
        ("AAA", "XNAS", "America/New_York"),
        ("BBB", "XNAS", "America/New_York"),
    ]


async def test_an_exchange_column_names_each_symbols_exchange_and_its_time_zone(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a file of London daily bars naming XLON in an exchange column
    path = write_file(
        "london.csv",
        "symbol,date,open,high,low,close,volume,exchange\n"
        "VOD,2024-01-02,70,71,69,70.5,1000,XLON\n"
        "VOD,2024-01-03,70.5,72,70,71.5,1000,XLON\n",
    )

    # WHEN it is ingested without --timezone
    await ingest_csv(store, [path])

    # THEN VOD is on XLON, in London's zone, its daily bars at London midnight
    info = await store.get_symbol("VOD")
    assert info is not None
    assert (info.exchange, info.timezone) == ("XLON", "Europe/London")
    first = (await store.read_bars(["VOD"])).column("timestamp")[0].as_py()
    assert first == dt.datetime(2024, 1, 2, tzinfo=zoneinfo.ZoneInfo("Europe/London"))


async def test_a_later_ingest_naming_another_exchange_moves_the_symbol(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN AAA stored on the default exchange
    await ingest_csv(store, [write_file("first.csv", DAILY_HEADER + ROWS)])

    # WHEN more bars of AAA arrive naming XNAS, then bars naming none
    more = write_file("more.csv", DAILY_HEADER + "AAA,2024-01-03,10,11,9,10.5,1000\n")
    await ingest_csv(store, [more], exchange="XNAS")
    await ingest_csv(store, [write_file("again.csv", DAILY_HEADER + ROWS)])

    # THEN AAA is on XNAS (a write without an exchange keeps it), BBB still on XNYS
    exchanges = {info.symbol: info.exchange for info in await store.list_symbols()}
    assert exchanges == {"AAA": "XNAS", "BBB": "XNYS"}


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (
            "symbol,date,open,high,low,close,volume,exchange\n"
            "AAA,2024-01-02,10,11,9,10.5,1000,XNYS\n"
            "AAA,2024-01-03,10,11,9,10.5,1000,NOPE\n",
            3,
            "unknown exchange 'NOPE'",
        ),
        (
            "symbol,date,open,high,low,close,volume,exchange\n"
            "AAA,2024-01-02,10,11,9,10.5,1000,XNYS\n"
            "AAA,2024-01-03,10,11,9,10.5,1000,XLON\n",
            3,
            "AAA is on exchange XNYS in an earlier row and XLON here",
        ),
    ],
)
async def test_a_bad_exchange_column_rejects_the_file_at_its_line(
    store: MigratableStore, write_file: WriteFile, content: str, line: int, reason: str
) -> None:
    # GIVEN a file whose exchange column is unknown or contradicts itself
    path = write_file("bad.csv", content)

    # WHEN it is ingested
    with pytest.raises(IngestError) as caught:
        await ingest_csv(store, [path])

    # THEN the error names the line and the problem, and nothing is written
    assert caught.value.line == line
    assert reason in str(caught.value)
    assert await store.list_symbols() == []


async def test_an_unknown_exchange_option_says_how_to_list_the_valid_ones(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a good file
    path = write_file("good.csv", DAILY_HEADER + ROWS)

    # WHEN ingested with an unknown MIC
    with pytest.raises(ValueError, match="findata exchanges") as caught:
        await ingest_csv(store, [path], exchange="XXXX")

    # THEN the message names the value, and nothing is written
    assert "'XXXX'" in str(caught.value)
    assert await store.list_symbols() == []


async def test_parquet_files_carry_an_exchange_column_too(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN a Parquet file with a dictionary-encoded exchange column
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bars.parquet"
    table = pa.table(
        {
            "symbol": ["SAP"],
            "date": [dt.date(2024, 1, 2)],
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [10],
            "exchange": pa.array(["XETR"]).dictionary_encode(),
        }
    )
    pq.write_table(table, path)

    # WHEN ingested
    await ingest_parquet(store, [path])

    # THEN SAP is on XETR, in Berlin's zone
    info = await store.get_symbol("SAP")
    assert info is not None
    assert (info.exchange, info.timezone) == ("XETR", "Europe/Berlin")


def test_the_exchanges_command_lists_the_valid_names() -> None:
    # GIVEN the storage CLI
    runner = CliRunner()

    # WHEN exchanges are listed, whole and searched
    everything = runner.invoke(main, ["exchanges"])
    london = runner.invoke(main, ["exchanges", "lon"])
    nothing = runner.invoke(main, ["exchanges", "zzzz"])

    # THEN every MIC is listed, the search narrows them, a failed search exits non-zero
    assert everything.exit_code == 0
    assert {"XNYS", "XNAS", "XLON"} <= set(everything.output.split())
    assert london.exit_code == 0
    assert "XLON" in london.output.split()
    assert "XNYS" not in london.output.split()
    assert nothing.exit_code != 0


@pytest.fixture
def cli_url(store_url: str, tmp_path: Path, backend: str) -> str:
    """A migrated DuckDB *file* (the CLI's real use) or the session's PostgreSQL schema."""
    url = f"duckdb://{tmp_path / 'cli.duckdb'}" if backend == "duckdb" else store_url
    migrated = CliRunner().invoke(main, ["db", "migrate", "--database-url", url])
    assert migrated.exit_code == 0, migrated.output
    return url


def _january_sessions_but(removed: set[int]) -> str:
    """Daily rows of ZZGAP on the XNYS sessions of January 2024 (weekdays but New Year's
    Day and Martin Luther King Jr. Day), except the days in ``removed``."""
    days = [
        dt.date(2024, 1, day)
        for day in range(1, 32)
        if dt.date(2024, 1, day).weekday() < 5 and day not in (1, 15, *removed)
    ]
    return DAILY_HEADER + "".join(f"ZZGAP,{day},10,11,9,10.5,1000\n" for day in days)


def test_coverage_prints_the_gaps_and_fails_on_them_when_asked(
    cli_url: str, write_file: WriteFile
) -> None:
    # GIVEN January 2024 ingested without the sessions of the 10th and 19th
    runner = CliRunner()
    path = write_file("gaps.csv", _january_sessions_but({10, 19}))
    ingest = runner.invoke(main, ["ingest", "csv", str(path), "--database-url", cli_url])
    assert ingest.exit_code == 0, ingest.output

    # WHEN its coverage is printed, plainly and as a nightly guard
    plain = runner.invoke(main, ["coverage", "zzgap", "--database-url", cli_url])
    guard = runner.invoke(main, ["coverage", "ZZGAP", "--fail-on-gaps", "--database-url", cli_url])
    narrow = runner.invoke(
        main,
        ["coverage", "ZZGAP", "--start", "2024-01-20", "--fail-on-gaps", "--database-url", cli_url],
    )

    # THEN both missing dates are listed; the guard exits 3; a range without gaps passes
    assert plain.exit_code == 0, plain.output
    assert "2024-01-10" in plain.output
    assert "2024-01-19" in plain.output
    assert "missing" in plain.output
    assert guard.exit_code == 3
    assert narrow.exit_code == 0, narrow.output
    assert "Every session has its bars." in narrow.output


def test_coverage_of_an_unknown_symbol_is_an_error(cli_url: str) -> None:
    # WHEN the coverage of a symbol that is not stored is asked for
    result = CliRunner().invoke(main, ["coverage", "NOPE", "--database-url", cli_url])

    # THEN a one-line error and exit status 1
    assert result.exit_code == 1
    assert "no symbol 'NOPE'" in result.output


def test_an_unknown_exchange_on_the_command_line_is_one_clear_line(
    cli_url: str, write_file: WriteFile
) -> None:
    # GIVEN a good file
    path = write_file("good.csv", DAILY_HEADER + ROWS)

    # WHEN ingested with a MIC that does not exist
    result = CliRunner().invoke(
        main, ["ingest", "csv", str(path), "--exchange", "NOPE", "--database-url", cli_url]
    )

    # THEN the error says how to list the valid ones
    assert result.exit_code == 1
    assert "unknown exchange 'NOPE'" in result.output
    assert "findata exchanges" in result.output
