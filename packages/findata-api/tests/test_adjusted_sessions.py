"""`adjustment=` and `session=` together: both bar transforms apply, adjustment first,
on the single- and the multi-symbol endpoints.

Hand-worked (New York minute bars, a 1-for-2 split ex 2024-06-05: earlier prices x 0.5,
volumes x 2):

MSPL  2024-06-04 08:00 (pre-market)  c100 v10   -> c50  v20
      2024-06-04 10:00 (regular)     c102 v10   -> c51  v20
      2024-06-04 17:00 (after hours) c104 v10   -> c52  v20
      2024-06-05 08:00, 10:00, 17:00 c60, 62, 64 v30 (on the ex-date: unchanged)
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pyarrow as pa

from findata.api import create_app
from findata.core.actions import SPLITS_SCHEMA
from findata.db import ActionStore, BarKind, open_store

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
ROWS = [
    ("2024-06-04T08:00", 100.0, 10),
    ("2024-06-04T10:00", 102.0, 10),
    ("2024-06-04T17:00", 104.0, 10),
    ("2024-06-05T08:00", 60.0, 30),
    ("2024-06-05T10:00", 62.0, 30),
    ("2024-06-05T17:00", 64.0, 30),
]


def _minute_bars() -> pa.Table:
    stamps = [dt.datetime.fromisoformat(stamp).replace(tzinfo=NEW_YORK) for stamp, _, _ in ROWS]
    closes = [close for _, close, _ in ROWS]
    return pa.table(
        {
            "symbol": ["MSPL"] * len(ROWS),
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": pa.array([volume for _, _, volume in ROWS], pa.int64()),
        }
    )


async def test_given_a_split_and_extended_hours_when_both_transforms_are_asked_then_both_apply(
    tmp_path: Path,
) -> None:
    # GIVEN minute bars around the regular session and a 1-for-2 split on the second day
    url = f"duckdb://{tmp_path / 'both.duckdb'}"
    store = open_store(url)
    await store.connect()
    await store.migrate()  # type: ignore[attr-defined]
    await store.write_bars(
        _minute_bars(), source="test", timezone="America/New_York", bar_kind=BarKind.INTRADAY
    )
    assert isinstance(store, ActionStore)
    split = {"symbol": "MSPL", "ex_date": dt.date(2024, 6, 5), "split_from": 1.0, "split_to": 2.0}
    await store.write_actions(pa.Table.from_pylist([split], schema=SPLITS_SCHEMA), None)
    await store.disconnect()
    app = create_app({"env": "test"}, store=open_store(url))
    async with app.test_app() as serving:
        client = serving.test_client()
        # WHEN the bars are asked adjusted, regular hours only, and adjusted with every bar
        regular = await client.get("/stocks/time-series/MSPL?adjustment=split&session=regular")
        every = await client.get("/stocks/time-series/MSPL?adjustment=split&session=all")
        plain = await client.get("/stocks/time-series/MSPL?session=regular")
        many = await client.get("/stocks/bars?symbols=MSPL&adjustment=split&session=regular")
        regular_rows = await regular.get_json()
        every_rows = await every.get_json()
        plain_rows = await plain.get_json()
        many_rows = await many.get_json()

    # THEN regular keeps the 10:00 bars, adjusted before the ex-date, unchanged on it
    assert regular.status_code == every.status_code == plain.status_code == 200
    assert [(row["close"], row["volume"]) for row in regular_rows] == [(51.0, 20), (62.0, 30)]
    # THEN without the session filter every bar is there, the first day's adjusted
    assert [row["close"] for row in every_rows] == [50.0, 51.0, 52.0, 60.0, 62.0, 64.0]
    # THEN the multi-symbol endpoint applies both transforms alike
    assert [(row["close"], row["volume"]) for row in many_rows] == [(51.0, 20), (62.0, 30)]
    # THEN the session filter alone leaves prices as traded
    assert [row["close"] for row in plain_rows] == [102.0, 62.0]
