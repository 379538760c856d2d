"""Property: resample and period_starts agree with a plain-Python reference on random bars.

The reference below re-derives every bucket from first principles with ``datetime`` and
``zoneinfo`` (wall-clock walks minute by minute, calendar arithmetic on ``date``), sharing
no code with findata's vectorised implementation.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from findata.core import BAR_SCHEMA, Frequency, _resample, period_starts, resample

# Zones with DST at 02:00 (New York, London), a 30-minute DST shift (Lord Howe), DST
# switching at midnight so a date repeats (Sao Paulo until 2019), and a fixed offset.
ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
]
EPOCH = date(1970, 1, 1)
FIRST_MONDAY = date(1970, 1, 5)
MINUTE = timedelta(minutes=1)

Bar = tuple[str, datetime, float, float, float, float, int]


@cache
def _wall(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _wall_floor(instant: datetime, zone: str, step_minutes: int) -> int:
    minutes = (_wall(instant, zone) - datetime(1970, 1, 1)) // MINUTE
    return minutes - minutes % step_minutes


def _is_boundary(instant: datetime, zone: str, step_minutes: int) -> bool:
    """The clock shows a multiple of the step, or jumps past one, at ``instant``."""
    minutes = (_wall(instant, zone) - datetime(1970, 1, 1)) // MINUTE
    if minutes % step_minutes == 0:
        return True
    return _wall_floor(instant, zone, step_minutes) != _wall_floor(
        instant - MINUTE, zone, step_minutes
    )


def _intraday_start(instant: datetime, zone: str, step_minutes: int) -> datetime:
    start = instant
    while not _is_boundary(start, zone, step_minutes):
        start -= MINUTE
    # Keyed by instant: aware datetimes in one zone compare by wall time, so the two
    # 01:00s of a night when clocks go back would otherwise collide.
    return start.astimezone(UTC)


def _calendar_start(day: date, frequency: Frequency, interval: int) -> date:
    if frequency is Frequency.DAILY:
        return EPOCH + timedelta(days=(day - EPOCH).days // interval * interval)
    if frequency is Frequency.WEEKLY:
        return FIRST_MONDAY + timedelta(weeks=(day - FIRST_MONDAY).days // 7 // interval * interval)
    months_per_bucket = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.ANNUAL: 12}
    span = months_per_bucket[frequency] * interval
    month = (day.year - 1970) * 12 + day.month - 1
    month -= month % span
    return date(1970 + month // 12, month % 12 + 1, 1)


def reference_resample(
    bars: list[Bar], interval: int, frequency: Frequency, zone: str
) -> list[dict[str, object]]:
    buckets: dict[tuple[str, object], list[Bar]] = defaultdict(list)
    for bar in sorted(bars, key=lambda bar: (bar[0], bar[1])):
        buckets[(bar[0], reference_period_start(bar[1], interval, frequency, zone))].append(bar)
    return [
        {
            "symbol": symbol,
            "period_start": start,
            "open": members[0][2],
            "high": max(bar[3] for bar in members),
            "low": min(bar[4] for bar in members),
            "close": members[-1][5],
            "volume": sum(bar[6] for bar in members),
        }
        for (symbol, start), members in sorted(
            buckets.items(), key=lambda item: (item[0][0], _utc(item[0][1]))
        )
    ]


def reference_period_start(
    instant: datetime, interval: int, frequency: Frequency, zone: str
) -> object:
    """The start of the bucket holding ``instant``: a UTC instant (intraday) or a date."""
    if frequency is Frequency.MINUTE:
        return _intraday_start(instant, zone, interval)
    if frequency is Frequency.HOURLY:
        return _intraday_start(instant, zone, 60 * interval)
    return _calendar_start(instant.astimezone(ZoneInfo(zone)).date(), frequency, interval)


def _utc(start: object) -> datetime:
    if isinstance(start, datetime):
        return start.astimezone(UTC)
    assert isinstance(start, date)
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


@st.composite
def random_bars(draw: st.DrawFn, max_gap_minutes: int) -> list[Bar]:
    bars: list[Bar] = []
    for symbol in draw(
        st.lists(st.sampled_from(["AAA", "BB", "C"]), min_size=1, max_size=3, unique=True)
    ):
        # Start near a DST change, a leap day or a year end to make edges likely.
        anchor = draw(
            st.sampled_from(
                [
                    datetime(2024, 3, 10, tzinfo=UTC),
                    datetime(2024, 11, 2, 20, tzinfo=UTC),
                    datetime(2024, 2, 28, tzinfo=UTC),
                    datetime(2020, 12, 30, tzinfo=UTC),
                    datetime(2019, 2, 16, 12, tzinfo=UTC),
                    datetime(2018, 11, 3, 12, tzinfo=UTC),
                    datetime(2024, 4, 6, 12, tzinfo=UTC),
                    datetime(2024, 10, 5, 12, tzinfo=UTC),
                ]
            )
        )
        instant = anchor + draw(st.integers(0, 24 * 60)) * MINUTE
        for _ in range(draw(st.integers(1, 15))):
            low = draw(st.floats(1.0, 100.0, allow_nan=False))
            high = low + draw(st.floats(0.0, 5.0, allow_nan=False))
            bars.append(
                (
                    symbol,
                    instant,
                    draw(st.floats(low, high)),
                    high,
                    low,
                    draw(st.floats(low, high)),
                    draw(st.integers(0, 10**9)),
                )
            )
            instant += draw(st.integers(1, max_gap_minutes)) * MINUTE
    return bars


def _table(bars: list[Bar]) -> pa.Table:
    columns = list(zip(*bars, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(values, type=field.type)
            for values, field in zip(columns, BAR_SCHEMA, strict=True)
        ],
        schema=BAR_SCHEMA,
    )


def _assert_same(actual: pa.Table, expected: list[dict[str, object]]) -> None:
    rows = actual.to_pylist()
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got["symbol"] == want["symbol"]
        assert _utc(got["period_start"]) == _utc(want["period_start"])
        for name in ("open", "high", "low", "close"):
            assert got[name] == want[name], name
        assert got["volume"] == want["volume"]


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(
    bars=random_bars(max_gap_minutes=90),
    frequency=st.sampled_from([Frequency.MINUTE, Frequency.HOURLY]),
    interval=st.integers(1, 5),
    zone=st.sampled_from(ZONES),
    per_row=st.booleans(),
)
def test_intraday_resampling_matches_the_wall_clock_reference(
    bars: list[Bar], frequency: Frequency, interval: int, zone: str, per_row: bool
) -> None:
    # GIVEN either strategy: bucket every row, or binary-search bucket edges (the default
    # whenever there are fewer edges than rows)
    interval = interval * (15 if frequency is Frequency.MINUTE else 1)
    with pytest.MonkeyPatch.context() as patch:
        if per_row:
            patch.setattr(_resample, "_intraday_groups", lambda *_: None)
        # WHEN
        actual = resample(_table(bars), interval, frequency, timezone=zone)
    # THEN
    _assert_same(actual, reference_resample(bars, interval, frequency, zone))


@PROPERTY_SETTINGS
@given(
    bars=random_bars(max_gap_minutes=4 * 24 * 60),
    frequency=st.sampled_from([f for f in Frequency if not f.is_intraday]),
    interval=st.integers(1, 4),
    zone=st.sampled_from(ZONES),
    strategy=st.sampled_from(["search", "per_row", "sort"]),
)
def test_calendar_resampling_matches_the_date_reference(
    bars: list[Bar], frequency: Frequency, interval: int, zone: str, strategy: str
) -> None:
    # GIVEN any of the strategies: binary-search bucket edges (the default whenever there
    # are few buckets), bucket every row, or bucket every row and sort (the fallback for a
    # zone whose dates can step back)
    with pytest.MonkeyPatch.context() as patch:
        if strategy != "search":
            patch.setattr(_resample, "_calendar_groups", lambda *_: None)
        if strategy == "sort":
            patch.setattr(_resample, "_per_row_groups", lambda *_: None)
        # WHEN
        actual = resample(_table(bars), interval, frequency, timezone=zone)
    # THEN
    _assert_same(actual, reference_resample(bars, interval, frequency, zone))


@PROPERTY_SETTINGS
@given(bars=random_bars(max_gap_minutes=6 * 60), zone=st.sampled_from(ZONES))
def test_resampling_keeps_every_share_traded(bars: list[Bar], zone: str) -> None:
    # WHEN
    weekly = resample(_table(bars), 1, Frequency.WEEKLY, timezone=zone)
    # THEN no bar is lost or double counted, and each bucket's range covers its bars
    assert sum(weekly.column("volume").to_pylist()) == sum(bar[6] for bar in bars)
    assert math.isclose(max(weekly.column("high").to_pylist()), max(bar[3] for bar in bars))


@PROPERTY_SETTINGS
@given(
    bars=random_bars(max_gap_minutes=3 * 24 * 60),
    frequency=st.sampled_from(list(Frequency)),
    interval=st.integers(1, 4),
    zone=st.sampled_from(ZONES),
)
def test_period_starts_name_the_reference_bucket_of_every_instant(
    bars: list[Bar], frequency: Frequency, interval: int, zone: str
) -> None:
    # GIVEN instants in any order (several symbols' bars, unsorted)
    interval = interval * (15 if frequency is Frequency.MINUTE else 1)
    instants = [bar[1] for bar in bars]
    # WHEN
    starts = period_starts(
        pa.array(instants, pa.timestamp("us", tz="UTC")), interval, frequency, timezone=zone
    )
    # THEN each is the start of the bucket resample would put a bar at that instant in
    expected = [reference_period_start(instant, interval, frequency, zone) for instant in instants]
    assert [_utc(start) for start in starts.to_pylist()] == [_utc(start) for start in expected]
