"""CSV ingestion: real-world file shapes are accepted, every bad row is named by file:line."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import pytest

from findata.db import BarKind, IngestError, MigratableStore, ingest_csv

WriteFile = Callable[[str, str | bytes], Path]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
HEADER = "symbol,date,open,high,low,close,volume\n"
GOOD_ROWS = (
    "AAA,2024-01-02,10,11,9,10.5,1000\n"
    "AAA,2024-01-03,10.5,12,10,11.5,5000000000\n"
    "BBB,2024-01-02,20,21,19,20.5,2000\n"
)


async def test_a_real_world_export_with_bom_crlf_quotes_and_upper_case_header_is_accepted(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a UTF-8 BOM, CRLF line ends, quoted fields and an upper-case header
    content = (
        '\ufeff"SYMBOL","Date","Open","High","Low","Close","Volume"\r\n'
        '"aaa","2024-01-02","10","11","9","10.5","1000"\r\n'
        '"aaa","2024-01-03","10.5","12","10","11.5","5000000000"\r\n'
    )
    path = write_file("export.csv", content.encode("utf-8"))

    # WHEN ingested
    results = await ingest_csv(store, [path])
    back = await store.read_bars(["AAA"])

    # THEN both rows are stored as daily bars at New York midnight, volume intact
    assert [(r.rows, r.symbols) for r in results] == [(2, ("AAA",))]
    dates = [stamp.astimezone(NEW_YORK) for stamp in back.column("timestamp").to_pylist()]
    assert [stamp.date() for stamp in dates] == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert back.column("volume").to_pylist() == [1000, 5_000_000_000]
    info = await store.get_symbol("AAA")
    assert info is not None
    assert (info.bar_kind, info.source) == (BarKind.DAILY, "csv:export.csv")


async def test_timestamps_with_offsets_are_exact_and_naive_ones_are_exchange_local(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN intraday files: one with UTC offsets, one naive (New York wall time)
    header = "symbol,timestamp,open,high,low,close,volume,vwap,trade_count\n"
    with_offsets = write_file("utc.csv", header + "AAA,2024-07-01T13:30:00Z,1,2,0.5,1.5,10,1.2,3\n")
    naive = write_file("naive.csv", header + "BBB,2024-07-01 09:30:00,1,2,0.5,1.5,10,,\n")

    # WHEN both are ingested
    await ingest_csv(store, [with_offsets, naive])
    back = await store.read_bars(["AAA", "BBB"])

    # THEN both name the same instant (09:30 EDT = 13:30 UTC); empty optionals are null
    expected = dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC)
    assert back.column("timestamp").to_pylist() == [expected, expected]
    assert back.column("vwap").to_pylist() == [1.2, None]
    assert back.column("trade_count").to_pylist() == [3, None]
    info = await store.get_symbol("BBB")
    assert info is not None
    assert info.bar_kind is BarKind.INTRADAY


async def test_the_symbol_option_fills_files_without_a_symbol_column(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a file without a symbol column
    path = write_file("msft.csv", "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,7\n")

    # WHEN ingested with --symbol (lower case)
    await ingest_csv(store, [path], symbol="msft")

    # THEN its bars belong to the upper-cased symbol
    assert [info.symbol for info in await store.list_symbols()] == ["MSFT"]


async def test_a_time_zone_option_sets_the_exchange_zone_of_new_symbols(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a daily file of a Tokyo-listed symbol
    path = write_file("tokyo.csv", HEADER + "7203.T,2024-01-04,1,2,0.5,1.5,7\n")

    # WHEN ingested with its exchange time zone
    await ingest_csv(store, [path], timezone="Asia/Tokyo")
    back = await store.read_bars(["7203.T"])

    # THEN the bar starts at midnight Tokyo time and the zone is recorded
    tokyo = back.column("timestamp")[0].as_py().astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert (tokyo.date(), tokyo.hour) == (dt.date(2024, 1, 4), 0)
    info = await store.get_symbol("7203.T")
    assert info is not None
    assert info.timezone == "Asia/Tokyo"


async def test_reingesting_the_same_file_changes_nothing(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN an ingested file
    path = write_file("bars.csv", HEADER + GOOD_ROWS)
    await ingest_csv(store, [path])
    before = await store.read_bars(["AAA", "BBB"])

    # WHEN ingested again / THEN the stored bars and counts are identical
    await ingest_csv(store, [path])
    assert (await store.read_bars(["AAA", "BBB"])).equals(before)
    assert [info.bar_count for info in await store.list_symbols()] == [2, 1]


BAD_FILES = [
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-13-45,1,2,0.5,1.5,7\n", 5, "date is not a date", id="date"
    ),
    pytest.param(
        HEADER + "AAA,2024-01-02,1,2,0.5,abc,7\n", 2, "close is not a number: 'abc'", id="number"
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-09,1,2,0.5,,7\n",
        5,
        "close is not a number: an empty value",
        id="empty",
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-09,1,1.2,0.5,1.5,7\n",
        5,
        "high 1.2 is below max",
        id="high",
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-09,1,2,1.1,1.5,7\n", 5, "low 1.1 is above min", id="low"
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-09,1,2,0.5,1.5,-7\n", 5, "volume is negative", id="volume"
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-09,1,2,0.5,1.5,7.5\n",
        5,
        "volume is not a whole number",
        id="fraction",
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-02,1,2,0.5,1.5,7\n",
        5,
        "duplicate bar: AAA",
        id="duplicate",
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "A B,2024-01-09,1,2,0.5,1.5,7\n",
        5,
        "invalid symbol 'A B'",
        id="symbol",
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "AAA,2024-01-09,1,2,0.5\n",
        5,
        "expected 7 fields, found 5",
        id="fields",
    ),
    pytest.param(
        HEADER + "AAA,2024-01-02,1,2,0.5,nan,7\n", 2, "close is not a finite number", id="nan"
    ),
    pytest.param(
        HEADER + GOOD_ROWS + "\n\nAAA,2024-01-09,1,2,0.5,abc,7\n",
        7,
        "not a number",
        id="blank-lines",
    ),
    pytest.param(
        "symbol,open,high,low,close,volume\nAAA,1,2,0.5,1.5,7\n",
        1,
        "need a 'date' or a 'timestamp'",
        id="no-time",
    ),
    pytest.param(
        "symbol,date,timestamp,open,high,low,close,volume\n", 1, "found both", id="both-times"
    ),
    pytest.param(
        "symbol,date,open,high,low,close\nAAA,2024-01-02,1,2,0.5,1.5\n",
        1,
        "missing column(s): volume",
        id="no-volume",
    ),
    pytest.param(
        "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,7\n",
        1,
        "no 'symbol' column",
        id="no-symbol",
    ),
    pytest.param(
        "symbol,Date,date,open,high,low,close,volume\n",
        1,
        "duplicate column(s): date",
        id="dup-header",
    ),
]


@pytest.mark.parametrize(("content", "line", "reason"), BAD_FILES)
async def test_a_file_with_a_bad_row_is_rejected_whole_naming_file_and_line(
    store: MigratableStore, write_file: WriteFile, content: str, line: int, reason: str
) -> None:
    # GIVEN a file whose only problem is at a known line, and a store holding other data
    await ingest_csv(store, [write_file("before.csv", HEADER + "ZZZ,2024-01-02,1,2,0.5,1.5,7\n")])
    before = await store.read_bars(["AAA", "BBB", "ZZZ"])
    path = write_file("bad.csv", content)

    # WHEN it is ingested
    with pytest.raises(IngestError) as raised:
        await ingest_csv(store, [path])

    # THEN the error names the file, the line and the reason; nothing was written
    assert (raised.value.path, raised.value.line) == (str(path), line)
    assert reason in raised.value.reason
    assert str(raised.value) == f"{path}:{line}: {raised.value.reason}"
    assert (await store.read_bars(["AAA", "BBB", "ZZZ"])).equals(before)


async def test_files_before_a_bad_one_stay_ingested_and_later_ones_are_not_tried(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a good file, a bad file and another good file
    good = write_file("good.csv", HEADER + GOOD_ROWS)
    bad = write_file("bad.csv", HEADER + "CCC,2024-01-02,1,2,0.5,x,7\n")
    later = write_file("later.csv", HEADER + "DDD,2024-01-02,1,2,0.5,1.5,7\n")

    # WHEN ingested together
    with pytest.raises(IngestError, match=r"bad\.csv:2:"):
        await ingest_csv(store, [good, bad, later])

    # THEN only the first file's symbols are stored
    assert [info.symbol for info in await store.list_symbols()] == ["AAA", "BBB"]


async def test_a_missing_file_is_a_clear_error(store: MigratableStore, tmp_path: Path) -> None:
    # GIVEN a path that does not exist / WHEN ingested / THEN the error names it
    missing = tmp_path / "nope.csv"
    with pytest.raises(IngestError, match=r"nope\.csv:0: cannot read file"):
        await ingest_csv(store, [missing])


async def test_symbol_option_conflicting_with_a_symbol_column_is_refused(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a file with a symbol column / WHEN ingested with --symbol / THEN refused at line 1
    path = write_file("bars.csv", HEADER + GOOD_ROWS)
    with pytest.raises(IngestError, match=r"bars\.csv:1: --symbol was given"):
        await ingest_csv(store, [path], symbol="AAA")
