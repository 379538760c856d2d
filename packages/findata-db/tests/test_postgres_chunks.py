"""PostgreSQL's chunked bars (ADR 0014): merges into stored months, range reads that cut
chunks, month boundaries, several symbols, DST, daily symbols, the ``bars`` view and
the migration of per-bar data."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import AsyncIterator, Callable

import asyncpg
import numpy as np
import pyarrow as pa
import pytest

from findata.core import BAR_SCHEMA
from findata.db import BarKind, PostgresStore
from findata.db._migrations import SCHEMA_MIGRATIONS_TABLE, load_migrations

pytestmark = pytest.mark.postgres

BarsFactory = Callable[..., pa.Table]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC_US = pa.timestamp("us", tz="UTC")
MINUTE = dt.timedelta(minutes=1)


def _schema_of(url: str) -> str:
    return url.rpartition("schema=")[2]


async def _connect(url: str) -> asyncpg.Connection:
    """A plain connection to the server of ``url`` searching its schema."""
    server, _, schema = url.rpartition("schema=")
    return await asyncpg.connect(server.rstrip("?&"), server_settings={"search_path": schema})


@pytest.fixture
async def admin(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection whose search path is the session's migrated schema."""
    connection = await _connect(postgres_url)
    yield connection
    await connection.close()


@pytest.fixture
async def store(postgres_url: str, admin: asyncpg.Connection) -> AsyncIterator[PostgresStore]:
    """An empty, migrated PostgreSQL store."""
    await admin.execute("TRUNCATE bar_chunks, symbols RESTART IDENTITY")
    opened = PostgresStore(postgres_url)
    await opened.connect()
    yield opened
    await opened.disconnect()


async def _chunks(admin: asyncpg.Connection) -> list[tuple[str, dt.datetime, int]]:
    rows = await admin.fetch(
        "SELECT s.symbol, c.chunk_start, c.bar_count FROM bar_chunks c "
        "JOIN symbols s USING (symbol_id) ORDER BY s.symbol, c.chunk_start"
    )
    return [(row[0], row[1].astimezone(dt.UTC), row[2]) for row in rows]


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


async def test_bars_of_one_symbol_are_stored_one_row_per_utc_month(
    store: PostgresStore, admin: asyncpg.Connection, make_bars: BarsFactory
) -> None:
    # GIVEN hourly bars from 30 January to 2 March
    bars = make_bars("AAA", 24 * 33, start=_utc(2024, 1, 30), step=dt.timedelta(hours=1))

    # WHEN they are written
    await store.write_bars(bars, source="test", bar_kind=BarKind.INTRADAY)

    # THEN each UTC month holds its bars in one chunk, and they all read back
    assert await _chunks(admin) == [
        ("AAA", _utc(2024, 1, 1), 48),
        ("AAA", _utc(2024, 2, 1), 29 * 24),
        ("AAA", _utc(2024, 3, 1), 48),
    ]
    back = await store.read_bars(["AAA"])
    assert back.equals(bars.cast(back.schema))


async def test_an_upsert_into_a_stored_month_replaces_and_adds_bars_in_time_order(
    store: PostgresStore, admin: asyncpg.Connection, make_bars: BarsFactory
) -> None:
    # GIVEN ten daily bars stored in January
    await store.write_bars(make_bars("AAA", 10, start=_utc(2024, 1, 2, 5)), source="first")

    # WHEN bars 5..14 (five replacing, five new, across a gap in February) are written
    later = make_bars("AAA", 10, start=_utc(2024, 1, 7, 5), base=500.0)
    await store.write_bars(later, source="second")

    # THEN the first five are kept, the rest carry the new prices, still one chunk a month
    back = await store.read_bars(["AAA"])
    assert back.num_rows == 15
    assert back.column("open").to_pylist() == [100.0 + i for i in range(5)] + [
        500.0 + i for i in range(10)
    ]
    stamps = back.column("timestamp").to_pylist()
    assert stamps == sorted(stamps)
    assert await _chunks(admin) == [("AAA", _utc(2024, 1, 1), 15)]
    info = await store.get_symbol("AAA")
    assert info is not None
    assert (info.bar_count, info.first_bar, info.last_bar) == (15, stamps[0], stamps[-1])


async def test_an_upsert_of_earlier_bars_is_merged_before_the_stored_ones(
    store: PostgresStore, make_bars: BarsFactory
) -> None:
    # GIVEN minute bars from 10:00 stored
    await store.write_bars(
        make_bars("MIN", 30, start=_utc(2024, 5, 6, 14), step=MINUTE),
        source="test",
        bar_kind=BarKind.INTRADAY,
    )

    # WHEN bars interleaving them (every other minute, starting earlier) are written
    earlier = make_bars("MIN", 40, start=_utc(2024, 5, 6, 13, 31), step=2 * MINUTE, base=50.0)
    await store.write_bars(earlier, source="test")

    # THEN the union reads back in time order, new bars winning where both exist
    back = await store.read_bars(["MIN"])
    stamps = back.column("timestamp").to_pylist()
    expected = sorted(
        set(earlier.column("timestamp").to_pylist())
        | {_utc(2024, 5, 6, 14) + MINUTE * i for i in range(30)}
    )
    assert stamps == expected
    replaced = back.filter(pa.compute.equal(back.column("timestamp"), _utc(2024, 5, 6, 14, 1)))
    assert replaced.column("open").to_pylist() == [50.0 + 15]


async def test_writing_the_same_bars_again_rewrites_no_chunk(
    store: PostgresStore, admin: asyncpg.Connection, make_bars: BarsFactory
) -> None:
    # GIVEN two years of daily bars (24 chunks of ~21 bars), and each chunk's row version
    days = [
        dt.datetime.combine(day, dt.time(), NEW_YORK)
        for day in np.arange(np.datetime64("2022-01-03"), np.datetime64("2024-01-01")).tolist()
        if day.weekday() < 5
    ]
    bars = make_bars("DAY", len(days))
    bars = bars.set_column(1, "timestamp", pa.array(days, UTC_US))
    await store.write_bars(bars, source="daily", timezone="America/New_York")
    before = await admin.fetch("SELECT chunk_start, xmin::text FROM bar_chunks ORDER BY 1")
    version = await store.data_version()

    # WHEN the same file is written again
    await store.write_bars(bars, source="daily", timezone="America/New_York")

    # THEN no chunk row was rewritten, the data version still moved, the bars are the same
    assert len(before) == 24
    assert await admin.fetch("SELECT chunk_start, xmin::text FROM bar_chunks ORDER BY 1") == before
    assert await store.data_version() != version
    info = await store.get_symbol("DAY")
    assert info is not None
    assert (info.bar_count, info.bar_kind) == (len(days), BarKind.DAILY)
    back = await store.read_bars(["DAY"])
    assert back.equals(bars.cast(back.schema))


async def test_range_reads_cut_the_first_and_last_chunks_inclusively(
    store: PostgresStore, make_bars: BarsFactory
) -> None:
    # GIVEN hourly bars over three months
    bars = make_bars("AAA", 24 * 80, start=_utc(2024, 1, 1), step=dt.timedelta(hours=1))
    await store.write_bars(bars, source="test", bar_kind=BarKind.INTRADAY)

    # WHEN ranges inside one month, across months and outside the data are read
    inside = await store.read_bars(["AAA"], _utc(2024, 1, 10, 3), _utc(2024, 1, 10, 5))
    across = await store.read_bars(["AAA"], _utc(2024, 1, 31, 22), _utc(2024, 3, 1, 1))
    before = await store.read_bars(["AAA"], _utc(2023, 1, 1), _utc(2023, 12, 31, 23, 59))
    open_ended = await store.read_bars(["AAA"], start=_utc(2024, 3, 20, 22))

    # THEN each holds exactly the bars within its bounds, both included
    assert inside.column("timestamp").to_pylist() == [_utc(2024, 1, 10, h) for h in (3, 4, 5)]
    stamps = across.column("timestamp").to_pylist()
    assert (stamps[0], stamps[-1], len(stamps)) == (
        _utc(2024, 1, 31, 22),
        _utc(2024, 3, 1, 1),
        2 + 29 * 24 + 2,
    )
    assert before.num_rows == 0
    assert before.schema.names == BAR_SCHEMA.names
    assert open_ended.column("timestamp").to_pylist() == [
        _utc(2024, 3, 20, 22),
        _utc(2024, 3, 20, 23),
    ]


async def test_bars_at_a_month_boundary_land_in_their_own_months(
    store: PostgresStore, admin: asyncpg.Connection, make_bars: BarsFactory
) -> None:
    # GIVEN the last minute of January and the first minute of February (UTC)
    bars = make_bars("MIN", 2, start=_utc(2024, 1, 31, 23, 59), step=MINUTE)

    # WHEN written, then each read alone and together
    await store.write_bars(bars, source="test", bar_kind=BarKind.INTRADAY)
    january = await store.read_bars(["MIN"], end=_utc(2024, 1, 31, 23, 59))
    february = await store.read_bars(["MIN"], start=_utc(2024, 2, 1))
    exact = await store.read_bars(["MIN"], _utc(2024, 2, 1), _utc(2024, 2, 1))

    # THEN January's chunk holds one bar and February's the other
    assert await _chunks(admin) == [
        ("MIN", _utc(2024, 1, 1), 1),
        ("MIN", _utc(2024, 2, 1), 1),
    ]
    assert january.column("timestamp").to_pylist() == [_utc(2024, 1, 31, 23, 59)]
    assert february.column("timestamp").to_pylist() == [_utc(2024, 2, 1)]
    assert exact.column("timestamp").to_pylist() == [_utc(2024, 2, 1)]


async def test_several_symbols_interleaved_in_one_batch_are_chunked_per_symbol(
    store: PostgresStore, admin: asyncpg.Connection, make_bars: BarsFactory
) -> None:
    # GIVEN three symbols' bars interleaved row by row, newest first
    parts = [make_bars(symbol, 40, start=_utc(2024, 2, 20, 5)) for symbol in ("CCC", "AAA", "BBB")]
    rows = pa.concat_tables(parts)
    order = np.argsort(-np.arange(rows.num_rows) % 40 * 3 + np.arange(rows.num_rows) // 40)
    shuffled = rows.take(pa.array(order))

    # WHEN written in one batch and two of them are read over part of March
    await store.write_bars(shuffled, source="test")
    back = await store.read_bars(["bbb", "CCC"], _utc(2024, 3, 1), _utc(2024, 3, 3, 5))

    # THEN each symbol has its own chunks, and the read is sorted by symbol then time
    assert [chunk[:2] for chunk in await _chunks(admin)] == [
        (symbol, month)
        for symbol in ("AAA", "BBB", "CCC")
        for month in (_utc(2024, 2, 1), _utc(2024, 3, 1))
    ]
    assert back.column("symbol").to_pylist() == ["BBB"] * 3 + ["CCC"] * 3
    assert back.column("timestamp").to_pylist()[:3] == [_utc(2024, 3, d, 5) for d in (1, 2, 3)]


async def test_minute_bars_across_a_dst_change_and_a_local_month_end_round_trip(
    store: PostgresStore, admin: asyncpg.Connection
) -> None:
    # GIVEN New York minute bars on 29 Feb, 1 Mar (both after 19:00 local: next UTC day)
    # and around the 10 March 2024 DST jump
    local = [
        dt.datetime(2024, 2, 29, 19, 0, tzinfo=NEW_YORK),
        dt.datetime(2024, 2, 29, 19, 1, tzinfo=NEW_YORK),
        dt.datetime(2024, 3, 10, 1, 59, tzinfo=NEW_YORK),
        dt.datetime(2024, 3, 10, 3, 0, tzinfo=NEW_YORK),
        dt.datetime(2024, 3, 31, 20, 30, tzinfo=NEW_YORK),
    ]
    stamps = pa.array(local, UTC_US)
    count = len(local)
    bars = pa.table(
        {
            "symbol": ["MIN"] * count,
            "timestamp": stamps,
            "open": [1.0] * count,
            "high": [2.0] * count,
            "low": [0.5] * count,
            "close": [1.5] * count,
            "volume": list(range(count)),
        }
    )

    # WHEN written and read back, and the local 29 February evening is read
    await store.write_bars(bars, source="t", timezone="America/New_York", bar_kind=BarKind.INTRADAY)
    back = await store.read_bars(["MIN"])
    evening = await store.read_bars(
        ["MIN"],
        dt.datetime(2024, 2, 29, 18, tzinfo=NEW_YORK),
        dt.datetime(2024, 2, 29, 23, 59, tzinfo=NEW_YORK),
    )

    # THEN the instants survive; chunks follow UTC months (29 Feb evening is 1 March UTC)
    assert back.column("timestamp").to_pylist() == stamps.to_pylist()
    assert back.column("volume").to_pylist() == list(range(count))
    assert evening.num_rows == 2
    assert await _chunks(admin) == [("MIN", _utc(2024, 3, 1), 4), ("MIN", _utc(2024, 4, 1), 1)]


async def test_optional_columns_merge_into_chunks_that_lacked_them(
    store: PostgresStore, make_bars: BarsFactory
) -> None:
    # GIVEN four minute bars stored without vwap/trade_count
    start = _utc(2024, 6, 3, 14)
    await store.write_bars(
        make_bars("MIN", 4, start=start, step=MINUTE), source="t", bar_kind=BarKind.INTRADAY
    )

    # WHEN bars 3..5 with vwap and trade_count (one vwap missing) are written
    later = make_bars(
        "MIN", 3, start=start + 2 * MINUTE, step=MINUTE, vwap=True, trade_count=True, base=7.0
    )
    later = later.set_column(
        later.schema.get_field_index("vwap"), "vwap", pa.array([7.25, None, 9.25])
    )
    await store.write_bars(later, source="t")
    back = await store.read_bars(["MIN"])
    head = await store.read_bars(["MIN"], end=start + MINUTE)

    # THEN they are present only where written; a range without them has no such columns
    assert back.column("vwap").to_pylist() == [None, None, 7.25, None, 9.25]
    assert back.column("trade_count").to_pylist() == [None, None, 10, 11, 12]
    assert head.schema.names == BAR_SCHEMA.names


async def test_the_bars_view_unpacks_chunks_into_the_per_bar_rows(
    store: PostgresStore, admin: asyncpg.Connection, make_bars: BarsFactory
) -> None:
    # GIVEN bars with values that must survive exactly (negative, tiny, huge), some vwap gaps
    bars = make_bars("AAA", 6, vwap=True, trade_count=True)
    bars = bars.set_column(
        bars.schema.get_field_index("vwap"),
        "vwap",
        pa.array([-1.5e-300, None, 1e300, 0.1, None, 123.456]),
    )
    await store.write_bars(bars, source="test")

    # WHEN the bars view is queried with plain SQL
    rows = await admin.fetch(
        "SELECT ts, open, high, low, close, volume, vwap, trade_count FROM bars "
        "WHERE symbol_id = (SELECT symbol_id FROM symbols WHERE symbol = 'AAA') ORDER BY ts"
    )

    # THEN each row is a bar, value for value, with SQL NULLs where vwap is missing
    back = await store.read_bars(["AAA"])
    assert [row[0].astimezone(dt.UTC) for row in rows] == back.column("timestamp").to_pylist()
    for position, name in enumerate(("open", "high", "low", "close", "volume", "vwap")):
        assert [row[position + 1] for row in rows] == back.column(name).to_pylist()
    assert [row[7] for row in rows] == back.column("trade_count").to_pylist()


async def test_the_chunk_table_refuses_malformed_rows(admin: asyncpg.Connection) -> None:
    # GIVEN the chunk table / WHEN a chunk whose packed column is too short is inserted
    insert = admin.execute(
        "INSERT INTO bar_chunks (symbol_id, chunk_start, first_ts, last_ts, bar_count, "
        "ts, open, high, low, close, volume) VALUES (1, '2024-01-01Z', '2024-01-02Z', "
        "'2024-01-02Z', 1, timestamptz_send('2024-01-02Z'), float8send(1), float8send(1), "
        "float8send(1), '\\x00'::bytea, int8send(1))"
    )

    # THEN PostgreSQL rejects it
    with pytest.raises(asyncpg.CheckViolationError):
        await insert


@pytest.fixture
def unmigrated_url(postgres_schema_url: Callable[[], str]) -> str:
    """A fresh schema, never migrated."""
    return postgres_schema_url()


async def test_migration_0003_converts_per_bar_rows_into_chunks(unmigrated_url: str) -> None:
    # GIVEN a database at migration 0002 holding per-bar rows (vwap partly missing)
    url = unmigrated_url
    connection = await _connect(url)
    try:
        await connection.execute(
            f"CREATE TABLE {SCHEMA_MIGRATIONS_TABLE} (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in load_migrations("postgres")[:2]:
            await connection.execute(migration.sql)
            await connection.execute(
                f"INSERT INTO {SCHEMA_MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
        await connection.execute(
            "INSERT INTO symbols (symbol, timezone, source, bar_kind, first_bar, last_bar, "
            "bar_count, has_vwap, has_trade_count) VALUES ('OLD', 'America/New_York', 'csv', "
            "'intraday', '2024-01-31 23:58Z', '2024-02-01 00:01Z', 4, true, true)"
        )
        await connection.execute(
            "INSERT INTO bars SELECT 1, ts, 10 + i, 12 + i, 9 + i, 11 + i, 100 * i, "
            "CASE WHEN i % 2 = 0 THEN 10.5 + i END, 5 + i "
            "FROM generate_series(0, 3) AS i, LATERAL (SELECT timestamptz '2024-01-31 23:58Z' "
            "+ i * interval '1 minute' AS ts) AS t"
        )
        per_bar = await connection.fetch("SELECT * FROM bars ORDER BY ts")

        # WHEN the store migrates it, twice
        store = PostgresStore(url)
        await store.connect()
        try:
            applied = await store.migrate()
            again = await store.migrate()
            back = await store.read_bars(["OLD"])
        finally:
            await store.disconnect()
        chunks = await connection.fetch("SELECT chunk_start, bar_count FROM bar_chunks ORDER BY 1")
        viewed = await connection.fetch("SELECT * FROM bars ORDER BY ts")
    finally:
        await connection.close()

    # THEN 0003 ran once, the bars are in two monthly chunks, read back and viewed unchanged
    assert [migration.version for migration in applied][:1] == [3]
    assert again == []
    assert [(row[0].astimezone(dt.UTC), row[1]) for row in chunks] == [
        (_utc(2024, 1, 1), 2),
        (_utc(2024, 2, 1), 2),
    ]
    assert [tuple(row) for row in viewed] == [tuple(row) for row in per_bar]
    assert back.column("timestamp").to_pylist() == [row["ts"].astimezone(dt.UTC) for row in per_bar]
    assert back.column("vwap").to_pylist() == [10.5, None, 12.5, None]
    assert back.column("trade_count").to_pylist() == [5, 6, 7, 8]
    assert back.column("close").to_pylist() == [11.0, 12.0, 13.0, 14.0]
