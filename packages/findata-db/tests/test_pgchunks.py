"""The NumPy side of PostgreSQL's chunked bars: cutting, packing and merging, no server."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from findata.core import InvalidBarsError
from findata.db import _pgchunks
from findata.db._pgcopy import PG_EPOCH_OFFSET_US

UTC_US = pa.timestamp("us", tz="UTC")


def _columns(stamps: list[int], base: float, **optional: list[float | None]) -> _pgchunks.Columns:
    """Native chunk columns at ``stamps`` (PostgreSQL-epoch microseconds)."""
    count = len(stamps)
    columns: _pgchunks.Columns = {
        "ts": np.array(stamps, dtype=np.int64),
        **{name: np.full(count, base) for name in ("open", "high", "low", "close")},
        "volume": np.arange(count, dtype=np.int64),
    }
    for name, values in optional.items():
        columns[f"{name}_valid"] = np.array([value is not None for value in values])
        columns[name] = np.array([0.0 if value is None else value for value in values])
    return columns


def test_merge_replaces_bars_at_the_same_instant_and_keeps_time_order() -> None:
    # GIVEN stored bars at 10, 20, 30 and new ones at 5, 20, 40
    old = _columns([10, 20, 30], 1.0)
    new = _columns([5, 20, 40], 2.0)

    # WHEN merged
    merged = _pgchunks.merge(old, new)

    # THEN the instants are the sorted union and the new bar wins at 20
    assert merged["ts"].tolist() == [5, 10, 20, 30, 40]
    assert merged["open"].tolist() == [2.0, 1.0, 2.0, 1.0, 2.0]


def test_merge_marks_an_optional_column_missing_where_only_one_side_has_it() -> None:
    # GIVEN stored bars without vwap and new bars with one
    old = _columns([10, 20], 1.0)
    new = _columns([30], 2.0, vwap=[2.5])

    # WHEN merged
    merged = _pgchunks.merge(old, new)

    # THEN vwap is valid only on the new bar
    assert merged["vwap_valid"].tolist() == [False, False, True]
    assert merged["vwap"].tolist()[2] == 2.5


def test_packed_chunks_unpack_to_the_same_columns_and_nulls() -> None:
    # GIVEN a chunk with gaps in vwap and a chunk without any vwap
    first = _columns([1, 2, 3], 1.5, vwap=[1.0, None, -3.0])
    second = _columns([4, 5], 2.5)

    # WHEN both are packed as stored and unpacked together
    packed = [_pgchunks.pack(first), _pgchunks.pack(second)]
    rows = [{name: None if v is None else bytes(v) for name, v in p.items()} for p in packed]
    back = _pgchunks.unpack(rows)

    # THEN values, order and validity survive; absent columns stay absent
    assert back["ts"].tolist() == [1, 2, 3, 4, 5]
    assert back["open"].tolist() == [1.5] * 3 + [2.5] * 2
    assert back["vwap"].tolist() == [1.0, 0.0, -3.0, 0.0, 0.0]
    assert back["vwap_valid"].tolist() == [True, False, True, False, False]
    assert "trade_count" not in back
    assert packed[1]["vwap"] is None
    assert packed[0]["trade_count_valid"] is None


def test_packing_is_big_endian_like_postgres_send_functions() -> None:
    # GIVEN one bar / WHEN packed
    packed = _pgchunks.pack(_columns([1], 1.5))

    # THEN floats are float8send's bytes and instants timestamptz_send's
    assert bytes(packed["open"]) == bytes.fromhex("3ff8000000000000")  # type: ignore[arg-type]
    assert bytes(packed["ts"]) == (1).to_bytes(8, "big")  # type: ignore[arg-type]


def _bars(symbols: list[str], stamps: list[dt.datetime]) -> pa.Table:
    count = len(stamps)
    return pa.table(
        {
            "symbol": symbols,
            "timestamp": pa.array(stamps, UTC_US),
            "open": [1.0] * count,
            "high": [1.0] * count,
            "low": [1.0] * count,
            "close": [1.0] * count,
            "volume": list(range(count)),
        }
    )


def test_a_batch_is_sorted_and_cut_at_utc_month_starts() -> None:
    # GIVEN unsorted bars of two symbols around the end of February
    late = dt.datetime(2024, 2, 29, 23, 59, tzinfo=dt.UTC)
    early = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    bars = _bars(["BBB", "AAA", "AAA", "BBB"], [late, early, late, early])

    # WHEN cut into chunks
    batch = _pgchunks.Batch(bars)

    # THEN each (symbol, month) is one chunk of rows in time order
    cuts = [
        (batch.symbols[chunk.code], chunk.month_start, chunk.stop - chunk.start)
        for chunk in batch.chunks
    ]
    february = int(dt.datetime(2024, 2, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
    march = int(early.timestamp()) * 1_000_000
    assert sorted(cuts) == [
        ("AAA", february, 1),
        ("AAA", march, 1),
        ("BBB", february, 1),
        ("BBB", march, 1),
    ]
    late_us = int(late.timestamp()) * 1_000_000
    assert (batch.columns["ts"] + PG_EPOCH_OFFSET_US).tolist() == [late_us, march] * 2


def test_a_batch_refuses_two_bars_of_a_symbol_at_one_instant() -> None:
    # GIVEN rows 0 and 2 at the same instant of the same symbol
    instant = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    bars = _bars(["AAA", "BBB", "AAA"], [instant, instant, instant])

    # WHEN cut / THEN refused, naming one of the two rows
    with pytest.raises(InvalidBarsError, match="duplicate") as raised:
        _pgchunks.Batch(bars)
    assert raised.value.row in (0, 2)
