"""The Store contract, the same tests on the DuckDB file store and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from findata.core import BAR_SCHEMA, InvalidBarsError, validate_bars
from findata.db import BarKind, DuckDBStore, MigratableStore, PostgresStore, Store
from findata.db._validate import local_midnight

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
BarsFactory = Callable[..., pa.Table]


async def test_both_backends_implement_the_store_protocol(store: MigratableStore) -> None:
    # GIVEN a store of either backend / WHEN checked against the Protocol / THEN it conforms
    assert isinstance(store, Store)


async def test_empty_store_lists_no_symbols_and_reads_an_empty_bar_table(
    store: MigratableStore,
) -> None:
    # GIVEN an empty store / WHEN listing and reading
    symbols = await store.list_symbols()
    bars = await store.read_bars(["AAA"])

    # THEN nothing comes back, in the canonical schema
    assert symbols == []
    assert bars.num_rows == 0
    assert bars.schema.names == BAR_SCHEMA.names
    assert await store.get_symbol("AAA") is None


async def test_written_bars_read_back_identical_including_volumes_above_2_31(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN bars whose volumes exceed a 32-bit integer
    bars = make_bars("AAA", 5, volume=2**33)

    # WHEN they are written and read back
    written = await store.write_bars(bars, source="test")
    back = await store.read_bars(["AAA"])

    # THEN every value survives, in BAR_SCHEMA types, and no optional column appears
    assert written == 5
    assert back.schema.names == BAR_SCHEMA.names
    assert back.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert back.select(BAR_SCHEMA.names).cast(BAR_SCHEMA).equals(bars.cast(BAR_SCHEMA))
    assert back.column("volume")[0].as_py() == 2**33


async def test_optional_vwap_and_trade_count_round_trip_with_their_nulls(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN intraday bars with vwap/trade_count, some of them missing
    bars = make_bars("MIN", 4, step=dt.timedelta(minutes=1), vwap=True, trade_count=True)
    vwap = pa.array([1.5, None, 2.5, None], pa.float64())
    bars = bars.set_column(bars.schema.get_field_index("vwap"), "vwap", vwap)

    # WHEN written and read back
    await store.write_bars(bars, source="test", bar_kind=BarKind.INTRADAY)
    back = await store.read_bars(["MIN"])

    # THEN both optional columns come back with their values and nulls
    assert back.column("vwap").to_pylist() == [1.5, None, 2.5, None]
    assert back.column("trade_count").to_pylist() == bars.column("trade_count").to_pylist()


async def test_a_later_write_with_vwap_shows_it_on_bars_first_stored_without(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN a symbol stored without vwap or trade_count, and read once (so cached)
    plain = make_bars("LATE", 4, step=dt.timedelta(minutes=1))
    await store.write_bars(plain, source="test", bar_kind=BarKind.INTRADAY)
    assert "vwap" not in (await store.read_bars(["LATE"])).column_names

    # WHEN two of its bars are written again with a vwap
    richer = make_bars("LATE", 2, step=dt.timedelta(minutes=1), vwap=True)
    await store.write_bars(richer, source="test")
    back = await store.read_bars(["LATE"])

    # THEN the vwap comes back for those bars and as null for the others
    assert back.column("vwap").to_pylist() == [*richer.column("vwap").to_pylist(), None, None]
    assert "trade_count" not in back.column_names


async def test_reads_are_sorted_by_symbol_then_time_and_bounded_inclusively(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN two symbols written in reverse time order
    for symbol in ("BBB", "AAA"):
        bars = make_bars(symbol, 6)
        await store.write_bars(bars.take(list(reversed(range(6)))), source="test")
    first = dt.datetime(2024, 1, 3, 5, tzinfo=dt.UTC)
    last = dt.datetime(2024, 1, 5, 5, tzinfo=dt.UTC)

    # WHEN both are read over [first, last], asked in another order and case
    back = await store.read_bars(["bbb", "AAA"], start=first, end=last)

    # THEN rows are sorted by symbol, then time, with both bounds included
    assert back.column("symbol").to_pylist() == ["AAA"] * 3 + ["BBB"] * 3
    stamps = back.column("timestamp").to_pylist()
    assert stamps[:3] == [first, first + dt.timedelta(days=1), last]
    assert stamps[3:] == stamps[:3]


async def test_unknown_symbols_read_as_empty(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN one stored symbol
    await store.write_bars(make_bars("AAA", 2), source="test")

    # WHEN an unknown symbol is read with it / THEN only the known one comes back
    back = await store.read_bars(["AAA", "NOPE"])
    assert set(back.column("symbol").to_pylist()) == {"AAA"}


async def test_symbols_list_their_range_count_zone_source_and_kind(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN daily bars of one symbol and minute bars of another
    await store.write_bars(make_bars("DAY", 3), source="daily-file", timezone="America/New_York")
    minute = make_bars(
        "MIN", 4, step=dt.timedelta(minutes=1), start=dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)
    )
    await store.write_bars(minute, source="minute-file", timezone="Europe/London")

    # WHEN the symbols are listed
    infos = {info.symbol: info for info in await store.list_symbols()}

    # THEN each carries its range, count, time zone, source and inferred kind
    assert infos["DAY"].bar_count == 3
    assert infos["DAY"].first_bar == dt.datetime(2024, 1, 2, 5, tzinfo=dt.UTC)
    assert infos["DAY"].last_bar == dt.datetime(2024, 1, 4, 5, tzinfo=dt.UTC)
    assert (infos["DAY"].timezone, infos["DAY"].source) == ("America/New_York", "daily-file")
    assert infos["DAY"].bar_kind is BarKind.DAILY
    assert infos["MIN"].bar_kind is BarKind.INTRADAY
    assert infos["MIN"].timezone == "Europe/London"
    assert await store.get_symbol("day") == infos["DAY"]


async def test_writing_the_same_bars_twice_changes_nothing(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN bars already written
    bars = make_bars("AAA", 5)
    await store.write_bars(bars, source="test")
    before = await store.read_bars(["AAA"])

    # WHEN the same bars are written again
    await store.write_bars(bars, source="test")

    # THEN the stored bars and count are unchanged
    assert (await store.read_bars(["AAA"])).equals(before)
    info = await store.get_symbol("AAA")
    assert info is not None
    assert info.bar_count == 5


async def test_an_overlapping_write_replaces_matching_bars_and_adds_new_ones(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN 5 stored bars
    await store.write_bars(make_bars("AAA", 5), source="first")

    # WHEN 4 bars starting at the 4th day, with other prices, are written
    later = make_bars("AAA", 4, start=dt.datetime(2024, 1, 5, 5, tzinfo=dt.UTC), base=500.0)
    await store.write_bars(later, source="second")
    back = await store.read_bars(["AAA"])

    # THEN the overlap is replaced, the rest added: 7 bars, latest prices win
    assert back.num_rows == 7
    assert back.column("open").to_pylist()[3:] == later.column("open").to_pylist()
    info = await store.get_symbol("AAA")
    assert info is not None
    assert (info.bar_count, info.source) == (7, "second")
    assert info.last_bar == dt.datetime(2024, 1, 8, 5, tzinfo=dt.UTC)


async def test_an_invalid_batch_is_rejected_whole_with_its_row(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN a batch whose 3rd row has high below close
    bars = make_bars("AAA", 4)
    highs = bars.column("high").to_pylist()
    highs[2] = 0.0
    bad = bars.set_column(bars.schema.get_field_index("high"), "high", pa.array(highs))

    # WHEN it is written / THEN it fails naming row 2 and nothing is stored
    with pytest.raises(InvalidBarsError, match="high") as raised:
        await store.write_bars(bad, source="test")
    assert raised.value.row == 2
    assert await store.list_symbols() == []


async def test_bars_a_store_accepts_and_returns_are_bars_findata_core_accepts(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN minute bars whose trade count and vwap are known for some bars only
    bars = make_bars("PART", 4, step=dt.timedelta(minutes=1), vwap=True, trade_count=True)
    for name, values in (("vwap", [1.5, None, 2.5, None]), ("trade_count", [3, None, 5, None])):
        kind = bars.schema.field(name).type
        bars = bars.set_column(bars.schema.get_field_index(name), name, pa.array(values, kind))
    await store.write_bars(bars, source="test", bar_kind=BarKind.INTRADAY)

    # WHEN what the store returns is validated by findata-core (as resampling does)
    validated = validate_bars(await store.read_bars(["PART"]))

    # THEN the same rules hold on both sides: unknown values stay unknown
    assert validated.column("trade_count").to_pylist() == [3, None, 5, None]
    assert validated.column("vwap").to_pylist() == [1.5, None, 2.5, None]


@pytest.mark.parametrize(("bad_symbol_row", "bad_high_row"), [(1, 2), (2, 1)])
async def test_of_a_bad_symbol_and_a_bad_price_the_earlier_row_is_named(
    store: MigratableStore, make_bars: BarsFactory, bad_symbol_row: int, bad_high_row: int
) -> None:
    # GIVEN a batch with a lower-case symbol on one row and a high below the close on another
    bars = make_bars("AAA", 4)
    symbols, highs = bars.column("symbol").to_pylist(), bars.column("high").to_pylist()
    symbols[bad_symbol_row] = "aaa"
    highs[bad_high_row] = 0.0
    bars = bars.set_column(0, "symbol", pa.array(symbols))
    bars = bars.set_column(bars.schema.get_field_index("high"), "high", pa.array(highs))

    # WHEN it is written / THEN the first problem met reading top to bottom is named
    with pytest.raises(InvalidBarsError) as raised:
        await store.write_bars(bars, source="test")
    assert raised.value.row == min(bad_symbol_row, bad_high_row)
    assert raised.value.column == ("symbol" if bad_symbol_row < bad_high_row else "high")
    assert await store.list_symbols() == []


async def test_a_symbol_keeps_its_bar_kind(store: MigratableStore, make_bars: BarsFactory) -> None:
    # GIVEN a symbol holding daily bars
    await store.write_bars(make_bars("AAA", 2), source="test")
    before = await store.read_bars(["AAA"])

    # WHEN intraday bars of it are written / THEN they are refused, the store unchanged
    minute = make_bars("AAA", 2, step=dt.timedelta(minutes=1))
    with pytest.raises(InvalidBarsError, match="daily"):
        await store.write_bars(minute, source="test", bar_kind=BarKind.INTRADAY)
    assert (await store.read_bars(["AAA"])).equals(before)


async def test_daily_bars_must_start_at_local_midnight(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN "daily" bars at 05:00 UTC, which is 00:00 in New York but 06:00 in Paris
    bars = make_bars("AAA", 2)

    # WHEN written as daily bars of a Paris symbol / THEN refused with the row
    with pytest.raises(InvalidBarsError, match="00:00 in Europe/Paris") as raised:
        await store.write_bars(bars, source="t", timezone="Europe/Paris", bar_kind=BarKind.DAILY)
    assert raised.value.row == 0


BIGINT_MAX = 2**63 - 1


async def _set_version_counter(store: MigratableStore, url: str, value: int) -> int:
    """Set the stored data-version counter from outside the store; return the old one."""
    if isinstance(store, DuckDBStore):
        await store.disconnect()  # let go of the file: this process writes it directly
        with duckdb.connect(store.path) as conn:
            row = conn.execute("SELECT version FROM data_version").fetchone()
            conn.execute("UPDATE data_version SET version = ?", [value])
        assert row is not None
        return int(row[0])
    base, _, query = url.partition("?")
    schema = query.rpartition("schema=")[2]
    admin = await asyncpg.connect(base)
    try:
        old = await admin.fetchval(f'SELECT version FROM "{schema}".data_version')
        await admin.execute(f'UPDATE "{schema}".data_version SET version = $1', value)
    finally:
        await admin.close()
    return int(old)


async def test_a_failure_inside_the_transaction_writes_nothing(
    backend: str,
    store: MigratableStore,
    store_url: str,
    tmp_path: Path,
    make_bars: BarsFactory,
) -> None:
    # GIVEN stored bars (DuckDB: in a file, which can be written from outside), and a
    # data-version counter at its largest value, so the write's last step overflows
    if backend == "duckdb":
        store = DuckDBStore(tmp_path / "bars.duckdb")
        await store.migrate()
    await store.write_bars(make_bars("AAA", 3), source="first")
    before = await store.read_bars(["AAA"])
    old_counter = await _set_version_counter(store, store_url, BIGINT_MAX)
    version = await store.data_version()

    # WHEN a batch of new and replacing bars is written
    batch = pa.concat_tables([make_bars("AAA", 5, base=900.0), make_bars("BBB", 5)])
    try:
        overflow = (duckdb.OutOfRangeException, asyncpg.NumericValueOutOfRangeError)
        with pytest.raises(overflow, match=r"out of range|Overflow"):
            await store.write_bars(batch, source="second")

        # THEN nothing of it is visible: same bars, same symbols, same version
        assert (await store.read_bars(["AAA", "BBB"])).equals(before)
        assert [info.symbol for info in await store.list_symbols()] == ["AAA"]
        assert await store.data_version() == version
    finally:
        # TEARDOWN (PostgreSQL's schema serves the whole session)
        await _set_version_counter(store, store_url, old_counter)


async def test_data_version_changes_on_each_write_and_only_then(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN the version of an empty store
    first = await store.data_version()

    # WHEN nothing is written, then something is
    unchanged = await store.data_version()
    await store.write_bars(make_bars("AAA", 1), source="test")
    second = await store.data_version()

    # THEN the token is stable between writes and changes with one
    assert unchanged == first
    assert second != first


@pytest.fixture(params=["Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles"])
def machine_timezone(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Run the test as if the machine (and the PostgreSQL session) lived in another zone."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield str(request.param)
    monkeypatch.undo()
    time.tzset()


async def test_daily_bars_come_back_as_the_same_dates_whatever_the_machine_time_zone(
    backend: str, store_url: str, store: MigratableStore, machine_timezone: str
) -> None:
    # GIVEN a store opened in a far-away time zone (session zone too, for PostgreSQL)
    if backend == "postgres":
        await store.disconnect()
        store = PostgresStore(store_url, server_settings={"TimeZone": machine_timezone})
        await store.connect()
    dates = pa.array([dt.date(2024, 3, 8), dt.date(2024, 3, 11), dt.date(2024, 11, 4)])
    stamps = local_midnight(dates, "America/New_York")
    bars = pa.table(
        {
            "symbol": ["AAA"] * 3,
            "timestamp": stamps,
            "open": [1.0, 1.0, 1.0],
            "high": [2.0, 2.0, 2.0],
            "low": [0.5, 0.5, 0.5],
            "close": [1.5, 1.5, 1.5],
            "volume": [1, 2, 3],
        }
    )

    # WHEN the daily bars (spanning both DST changes) are written and read back
    await store.write_bars(bars, source="test", timezone="America/New_York")
    back = await store.read_bars(["AAA"])
    info = await store.get_symbol("AAA")
    if backend == "postgres":
        await store.disconnect()

    # THEN each converts back to its own date at 00:00 in New York
    local = [stamp.astimezone(NEW_YORK) for stamp in back.column("timestamp").to_pylist()]
    assert [stamp.date() for stamp in local] == dates.to_pylist()
    assert all((stamp.hour, stamp.minute) == (0, 0) for stamp in local)
    assert info is not None
    assert info.first_bar == stamps[0].as_py()


async def test_the_demo_minute_bars_read_back_in_time_order_across_sessions(
    store: MigratableStore,
) -> None:
    # GIVEN the demo minute bars, written shuffled
    from findata.db import demo_bars

    bars = demo_bars(BarKind.INTRADAY)
    shuffled = bars.take(pc.sort_indices(bars, [("close", "ascending")]))
    await store.write_bars(shuffled, source="demo", bar_kind=BarKind.INTRADAY)

    # WHEN read back / THEN they equal the original, sorted by symbol and time
    back = await store.read_bars(["DEMO-ALPHA-1M", "DEMO-BETA-1M"])
    expected = bars.sort_by([("symbol", "ascending"), ("timestamp", "ascending")])
    assert back.cast(expected.schema).equals(expected)
