"""Corporate actions through the API: `adjustment=`, /stocks/splits, /stocks/dividends, symbols.

Every expected value is worked out by hand from the tables below (New York daily bars):

SPLT  2024-06-03 o100 h110 l90  c100 v1000   dividend 2.04 ex 2024-06-05: C = 102 (06-04's
      2024-06-04 o100 h104 l96  c102 v1000   close), factor 1 - 2.04/102 = 0.98
      2024-06-05 o102 h108 l100 c104 v2000   split 1-for-2 (1 -> 2) ex 2024-06-06: factor 0.5
      2024-06-06 o52  h54  l50  c53  v4000
      2024-06-07 o53  h55  l52  c54  v4000
REV   1-for-10 reverse split (10 -> 1) ex 2024-06-05: earlier prices x 10, volumes / 10.
DIVF  a dividend on its first bar's date (no close before it: skipped, announced).
EARLY a split and a dividend before its first bar (no bar before: nothing to adjust).
NOBAR actions, no bars.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zoneinfo
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from quart import Quart
from quart.testing import QuartClient

from findata.api import create_app
from findata.api.testing import run_sync
from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.db import ActionStore, BarKind, Store, open_store

D = dt.date
T = TypeVar("T")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def bars_table(rows: list[tuple[str, str, float, float, float, float, int]]) -> pa.Table:
    """Bars from (symbol, New York date, o, h, l, c, v) rows (as conftest.bars_table)."""
    stamps = [dt.datetime.fromisoformat(row[1]).replace(tzinfo=NEW_YORK) for row in rows]
    return pa.table(
        {
            "symbol": [row[0] for row in rows],
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            **{
                name: [row[index] for row in rows]
                for index, name in enumerate(("open", "high", "low", "close"), start=2)
            },
            "volume": pa.array([row[6] for row in rows], pa.int64()),
        }
    )


SPLT = [
    ("SPLT", "2024-06-03", 100.0, 110.0, 90.0, 100.0, 1000),
    ("SPLT", "2024-06-04", 100.0, 104.0, 96.0, 102.0, 1000),
    ("SPLT", "2024-06-05", 102.0, 108.0, 100.0, 104.0, 2000),
    ("SPLT", "2024-06-06", 52.0, 54.0, 50.0, 53.0, 4000),
    ("SPLT", "2024-06-07", 53.0, 55.0, 52.0, 54.0, 4000),
]
REV = [
    ("REV", "2024-06-03", 1.0, 1.2, 0.9, 1.1, 10000),
    ("REV", "2024-06-04", 1.1, 1.3, 1.0, 1.2, 20000),
    ("REV", "2024-06-05", 12.0, 13.0, 11.0, 12.5, 1500),
]
DIVF = [
    ("DIVF", "2024-06-03", 10.0, 11.0, 9.0, 10.0, 100),
    ("DIVF", "2024-06-04", 10.0, 11.0, 9.0, 10.5, 100),
]
EARLY = [("EARLY", "2024-06-03", 10.0, 11.0, 9.0, 10.0, 100)]
# A long walk for indicators: 120 daily bars, a 1-for-3 split and two dividends inside.
WALK_DAYS = [D(2024, 1, 1) + dt.timedelta(days=day) for day in range(120)]
WALK_CLOSES = [50.0 + 10 * np.sin(day / 7) + day / 10 for day in range(120)]
WALK_SPLIT = (D(2024, 3, 1), 1.0, 3.0)
WALK_DIVIDENDS = [(D(2024, 2, 1), 0.5), (D(2024, 4, 1), 0.2)]


def walk_rows() -> list[tuple[str, str, float, float, float, float, int]]:
    rows = []
    for day, close in zip(WALK_DAYS, WALK_CLOSES, strict=True):
        price = close * 3 if day < WALK_SPLIT[0] else close  # traded before the split
        rows.append(("WALK", day.isoformat(), price, price + 1, price - 1, price, 1000))
    return rows


SPLITS = [
    ("SPLT", D(2024, 6, 6), 1.0, 2.0),
    ("REV", D(2024, 6, 5), 10.0, 1.0),
    ("EARLY", D(2020, 1, 2), 1.0, 4.0),
    ("NOBAR", D(2023, 5, 1), 1.0, 2.0),
    ("WALK", *WALK_SPLIT),
]
DIVIDENDS = [
    ("SPLT", D(2024, 6, 5), 2.04, "USD"),
    ("DIVF", D(2024, 6, 3), 0.5, None),
    ("EARLY", D(2020, 3, 2), 0.25, None),
    *(("WALK", day, cash, "USD") for day, cash in WALK_DIVIDENDS),
]


async def _seed(store: Store) -> None:
    await store.connect()
    try:
        await store.migrate()  # type: ignore[attr-defined]
        for rows in (SPLT, REV, DIVF, EARLY, walk_rows()):
            await store.write_bars(
                bars_table(rows),
                source="test",
                timezone="America/New_York",
                bar_kind=BarKind.DAILY,
            )
        assert isinstance(store, ActionStore)
        await store.write_actions(
            pa.Table.from_pylist(
                [dict(zip(SPLITS_SCHEMA.names, row, strict=True)) for row in SPLITS],
                schema=SPLITS_SCHEMA,
            ),
            pa.Table.from_pylist(
                [
                    {"symbol": s, "ex_date": d, "cash_amount": c, "currency": cur}
                    for s, d, c, cur in DIVIDENDS
                ],
                schema=DIVIDENDS_SCHEMA,
            ),
        )
    finally:
        await store.disconnect()


@pytest.fixture(scope="module")
def actions_duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb://{tmp_path_factory.mktemp('actions') / 'actions.duckdb'}"
    run_sync(_seed(open_store(url)))
    return url


@pytest.fixture(scope="module")
def actions_postgres_url(postgres_url: str) -> str:
    url = f"{postgres_url}?schema=actions_{uuid.uuid4().hex[:10]}"
    run_sync(_seed(open_store(url)))
    return url


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def actions_app(request: pytest.FixtureRequest) -> Quart:
    url = request.getfixturevalue(f"actions_{request.param}_url")
    return create_app({"env": "test"}, store=open_store(url))


@pytest.fixture
async def api(actions_app: Quart) -> AsyncIterator[QuartClient]:
    async with actions_app.test_app() as serving:
        yield serving.test_client()


async def _rows(api: QuartClient, path: str, **query: str) -> list[dict[str, Any]]:
    response = await api.get(path, query_string=query)
    assert response.status_code == 200, await response.get_data()
    body: list[dict[str, Any]] = await response.get_json()
    return body


def approx_rows(expected: list[tuple[float, ...]]) -> list[Any]:
    return [pytest.approx(row) for row in expected]


def _ohlcv(rows: list[dict[str, Any]]) -> list[tuple[float, ...]]:
    return [(row["open"], row["high"], row["low"], row["close"], row["volume"]) for row in rows]


async def test_the_hand_worked_split_and_dividend_example(api: QuartClient) -> None:
    # GIVEN SPLT's bars, its 2.04 dividend (ex 06-05) and 1-for-2 split (ex 06-06)
    # WHEN its daily bars are asked for with each adjustment
    raw = await _rows(api, "/stocks/time-series/SPLT")
    split = await _rows(api, "/stocks/time-series/SPLT", adjustment="split")
    dividend = await _rows(api, "/stocks/time-series/SPLT", adjustment="dividend")
    both = await _rows(api, "/stocks/time-series/SPLT", adjustment="ALL")

    # THEN raw is as stored; split halves prices before 06-06 and doubles their volume;
    # dividend scales prices before 06-05 by 0.98; all by 0.49 before 06-05, 0.5 on 06-05
    assert _ohlcv(raw) == [row[2:] for row in SPLT]
    assert _ohlcv(split) == approx_rows(
        [
            (50, 55, 45, 50, 2000),
            (50, 52, 48, 51, 2000),
            (51, 54, 50, 52, 4000),
            (52, 54, 50, 53, 4000),
            (53, 55, 52, 54, 4000),
        ]
    )
    assert _ohlcv(dividend) == approx_rows(
        [
            (98, 107.8, 88.2, 98, 1000),
            (98, 101.92, 94.08, 99.96, 1000),
            (102, 108, 100, 104, 2000),
            (52, 54, 50, 53, 4000),
            (53, 55, 52, 54, 4000),
        ]
    )
    assert _ohlcv(both) == approx_rows(
        [
            (49, 53.9, 44.1, 49, 2000),
            (49, 50.96, 47.04, 49.98, 2000),
            (51, 54, 50, 52, 4000),
            (52, 54, 50, 53, 4000),
            (53, 55, 52, 54, 4000),
        ]
    )
    assert all(isinstance(row["volume"], int) for row in both)


async def test_a_range_is_adjusted_as_part_of_the_whole_history(api: QuartClient) -> None:
    # GIVEN SPLT's actions after the range asked for
    # WHEN only 06-04 is asked for, adjusted for both
    rows = await _rows(
        api, "/stocks/time-series/SPLT", adjustment="all", start="2024-06-04", end="2024-06-04"
    )
    # THEN it carries the factors of the later dividend (C from 06-04) and split: 0.49
    assert _ohlcv(rows) == approx_rows([(49, 50.96, 47.04, 49.98, 2000)])


async def test_a_weekly_bar_spanning_the_split_is_built_from_adjusted_bars(
    api: QuartClient,
) -> None:
    # GIVEN SPLT's week of 2024-06-03, split on its Thursday
    # WHEN asked for weekly bars, raw and adjusted
    raw = await _rows(api, "/stocks/time-series/SPLT", frequency="Weekly")
    adjusted = await _rows(api, "/stocks/time-series/SPLT", frequency="Weekly", adjustment="all")

    # THEN raw mixes pre- and post-split prices (low 50 next to high 110); adjusted
    # aggregates the adjusted days: open 49, high max(53.9, 50.96, 54, 54, 55), low 44.1,
    # close 54, volume 2000 + 2000 + 4000 * 3
    assert _ohlcv(raw) == [(100, 110, 50, 54, 12000)]
    assert _ohlcv(adjusted) == approx_rows([(49, 55, 44.1, 54, 16000)])


async def test_a_reverse_split_multiplies_earlier_prices(api: QuartClient) -> None:
    # WHEN REV (1-for-10 reverse split ex 06-05) is asked for split-adjusted
    rows = await _rows(api, "/stocks/time-series/REV", adjustment="split")
    # THEN earlier prices x 10, volumes / 10; 06-05 as traded
    assert _ohlcv(rows) == approx_rows(
        [(10, 12, 9, 11, 1000), (11, 13, 10, 12, 2000), (12, 13, 11, 12.5, 1500)]
    )


async def test_a_dividend_on_the_first_bar_is_skipped_and_announced(api: QuartClient) -> None:
    # WHEN DIVF (dividend ex its first bar's date) is asked for dividend-adjusted
    response = await api.get("/stocks/time-series/DIVF?adjustment=dividend")
    # THEN the bars are as traded and the Warning header names the skipped dividend
    assert _ohlcv(await response.get_json()) == [row[2:] for row in DIVF]
    warning = response.headers["Warning"]
    assert warning.startswith('299 findata "dividend of 0.5 of DIVF on 2024-06-03 not applied')
    # AND a cached answer announces it too; split adjustment and raw do not
    again = await api.get("/stocks/time-series/DIVF?adjustment=dividend")
    assert again.headers["Warning"] == warning
    assert "Warning" not in (await api.get("/stocks/time-series/DIVF?adjustment=split")).headers
    assert "Warning" not in (await api.get("/stocks/time-series/DIVF")).headers


async def test_actions_before_any_bar_change_nothing(api: QuartClient) -> None:
    # WHEN EARLY (split and dividend before its first bar) is asked for, split-adjusted
    rows = await _rows(api, "/stocks/time-series/EARLY", adjustment="split")
    # THEN its bar is as traded (no bar lies before either ex-date)
    assert _ohlcv(rows) == [row[2:] for row in EARLY]


async def test_an_unknown_adjustment_is_a_400_naming_the_allowed_values(
    api: QuartClient,
) -> None:
    # WHEN asked for a made-up adjustment, on both bar endpoints
    endpoints = (("/stocks/time-series/SPLT", {}), ("/stocks/indicators/SPLT", {"name": "sma"}))
    for path, extra in endpoints:
        response = await api.get(path, query_string={**extra, "adjustment": "splits"})
        # THEN 400, naming the parameter and what it allows
        assert response.status_code == 400
        problem = await response.get_json()
        assert problem["parameter"] == "adjustment"
        assert problem["allowed"] == ["raw", "split", "dividend", "all"]


async def test_indicators_use_the_adjusted_series_as_talib_does(api: QuartClient) -> None:
    # GIVEN WALK's 120 days with a 1-for-3 split and two dividends, adjusted here by hand
    talib = pytest.importorskip("talib")
    closes = np.array(WALK_CLOSES) * np.where(
        np.array(WALK_DAYS) < WALK_SPLIT[0], 3.0, 1.0
    )  # as traded
    factors = np.ones(len(closes))
    for ex_date, cash in WALK_DIVIDENDS:
        before = np.array(WALK_DAYS) < ex_date
        reference = closes[before][-1]  # the raw close of the last day before the ex-date
        factors[before] *= 1 - cash / reference
    factors[np.array(WALK_DAYS) < WALK_SPLIT[0]] *= 1 / 3
    expected = talib.RSI(closes * factors, 14)

    # WHEN RSI(14) is asked for on the all-adjusted series, from a start after the warm-up
    rows = await _rows(
        api,
        "/stocks/indicators/WALK",
        name="rsi",
        window="14",
        adjustment="all",
        start="2024-02-15",
        limit="1000",
    )

    # THEN every value matches TA-Lib on the independently adjusted closes
    first = WALK_DAYS.index(D(2024, 2, 15))
    assert [row["period_start"] for row in rows] == [d.isoformat() for d in WALK_DAYS[first:]]
    assert [row["rsi"] for row in rows] == pytest.approx(list(expected[first:]), rel=1e-9)


async def test_splits_and_dividends_endpoints_in_every_format(api: QuartClient) -> None:
    # WHEN SPLT's splits and dividends are asked for
    splits = await _rows(api, "/stocks/splits/SPLT")
    dividends = await _rows(api, "/stocks/dividends/splt")
    csv = await api.get("/stocks/splits/SPLT?format=csv")
    arrow = await api.get("/stocks/dividends/SPLT?format=arrow")
    parquet = await api.get("/stocks/splits/SPLT?format=parquet")

    # THEN each row as stored, in each format
    assert splits == [
        {"symbol": "SPLT", "ex_date": "2024-06-06", "split_from": 1.0, "split_to": 2.0}
    ]
    assert dividends == [
        {
            "symbol": "SPLT",
            "ex_date": "2024-06-05",
            "cash_amount": 2.04,
            "currency": "USD",
            "pay_date": None,
            "record_date": None,
        }
    ]
    assert (await csv.get_data()).decode() == (
        "symbol,ex_date,split_from,split_to\r\nSPLT,2024-06-06,1.0,2.0\r\n"
    )
    table = pa.ipc.open_stream(await arrow.get_data()).read_all()
    assert table.column("cash_amount").to_pylist() == [2.04]
    parquet_table = pq.read_table(io.BytesIO(await parquet.get_data()))
    assert parquet_table.column("ex_date").to_pylist() == [D(2024, 6, 6)]


async def test_actions_range_paging_and_etags(api: QuartClient) -> None:
    # WHEN WALK's dividends are asked for: a range, pages of one, and a revalidation
    ranged = await _rows(api, "/stocks/dividends/WALK", start="2024-03-01", end="2024-12-31")
    first = await api.get("/stocks/dividends/WALK?limit=1")
    link = first.headers["Link"]
    second = await api.get(link.split(";")[0].strip("<>"))
    revalidated = await api.get(
        "/stocks/dividends/WALK?limit=1", headers={"If-None-Match": first.headers["ETag"]}
    )

    # THEN the range is inclusive on ex_date; pages follow in ex-date order; 304
    assert [row["ex_date"] for row in ranged] == ["2024-04-01"]
    assert [row["ex_date"] for row in await first.get_json()] == ["2024-02-01"]
    assert [row["ex_date"] for row in await second.get_json()] == ["2024-04-01"]
    assert "Link" not in second.headers
    assert revalidated.status_code == 304


async def test_known_symbols_without_actions_answer_empty_and_unknown_ones_404(
    api: QuartClient,
) -> None:
    # WHEN REV's dividends (it has none), NOBAR's splits (no bars) and an unknown symbol's
    # THEN [], NOBAR's split, and 404
    assert await _rows(api, "/stocks/dividends/REV") == []
    assert [row["ex_date"] for row in await _rows(api, "/stocks/splits/NOBAR")] == ["2023-05-01"]
    assert (await api.get("/stocks/splits/NOPE")).status_code == 404
    assert (await api.get("/stocks/time-series/NOBAR")).status_code == 404


async def test_an_ex_date_bound_that_is_not_a_date_is_a_400(api: QuartClient) -> None:
    # WHEN start is a timestamp / THEN 400 naming start
    response = await api.get("/stocks/splits/SPLT?start=2024-01-01T10:00")
    assert response.status_code == 400
    assert (await response.get_json())["parameter"] == "start"


async def test_symbols_say_which_have_splits_and_dividends(api: QuartClient) -> None:
    # WHEN the symbols are listed
    rows = {row["symbol"]: row for row in await _rows(api, "/stocks/symbols")}
    # THEN the flags follow the stored actions; NOBAR (no bars) is not listed
    assert (rows["SPLT"]["has_splits"], rows["SPLT"]["has_dividends"]) == (True, True)
    assert (rows["REV"]["has_splits"], rows["REV"]["has_dividends"]) == (True, False)
    assert (rows["DIVF"]["has_splits"], rows["DIVF"]["has_dividends"]) == (False, True)
    assert "NOBAR" not in rows


async def test_a_new_action_changes_the_etag_and_the_answer(tmp_path: Any) -> None:
    # GIVEN a served store with SPLT and no actions, its raw and adjusted answers cached
    url = f"duckdb://{tmp_path / 'fresh.duckdb'}"
    store = open_store(url)
    await store.connect()
    await store.migrate()  # type: ignore[attr-defined]
    await store.write_bars(
        bars_table(SPLT), source="test", timezone="America/New_York", bar_kind=BarKind.DAILY
    )
    app = create_app({"env": "test", "data_version_ttl": 0}, store=open_store(url))
    async with app.test_app() as serving:
        client = serving.test_client()
        before = await client.get("/stocks/time-series/SPLT?adjustment=split")
        assert isinstance(store, ActionStore)

        # WHEN a split is stored
        await store.write_actions(
            pa.Table.from_pylist(
                [dict(zip(SPLITS_SCHEMA.names, SPLITS[0], strict=True))], schema=SPLITS_SCHEMA
            ),
            None,
        )
        after = await client.get("/stocks/time-series/SPLT?adjustment=split")

    await store.disconnect()
    # THEN the ETag changed and the answer is adjusted
    assert before.headers["ETag"] != after.headers["ETag"]
    assert (await before.get_json())[0]["close"] == 100
    assert (await after.get_json())[0]["close"] == 50


@pytest.mark.parametrize("adjustment", ["split", "all"])
async def test_many_symbols_at_once_are_each_adjusted_as_alone(
    api: QuartClient, adjustment: str
) -> None:
    # GIVEN each symbol adjusted alone
    query = f"adjustment={adjustment}&frequency=Weekly"
    singles = [
        await (await api.get(f"/stocks/time-series/{symbol}?{query}")).get_json()
        for symbol in ("DIVF", "SPLT", "WALK")
    ]
    # WHEN the three are asked for at once
    response = await api.get(f"/stocks/bars?symbols=WALK,SPLT,DIVF&{query}")
    # THEN the rows are the single answers in symbol order
    assert response.status_code == 200
    assert await response.get_json() == [row for single in singles for row in single]
    # and a dividend left out is announced (its sentence names the symbol)
    if adjustment == "all":
        assert "dividend of 0.5 of DIVF" in response.headers["Warning"]
    else:
        assert "Warning" not in response.headers
