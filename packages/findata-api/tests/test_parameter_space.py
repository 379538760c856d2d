"""Property: every bar endpoint answers any range and period with 200 or names a parameter.

Over the whole parameter space — dates and timestamps from year 1 to 9999 with any offset,
every frequency, intervals up to the maximum — and symbols whose bars lie near 1970 (the
epoch long periods count from) and at both ends of the calendar, no request gets a 500.
A new bar endpoint joins the property with one line in ``BAR_ENDPOINTS``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import urllib.parse
import zoneinfo
from typing import Any, Final

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart

from findata.api import create_app
from findata.api.testing import MemoryStore
from findata.core import BAR_SCHEMA, INDICATORS, Frequency
from findata.db import BarKind

MAX_INTERVAL: Final = 100_000

# Path and the strategy of its own parameters, per bar endpoint: add new ones here.
BAR_ENDPOINTS: Final[dict[str, st.SearchStrategy[dict[str, str]]]] = {
    "/stocks/time-series/{symbol}": st.just({}),
    "/stocks/indicators/{symbol}": st.sampled_from(sorted(INDICATORS)).map(lambda n: {"name": n}),
    # The multi-symbol endpoints, one symbol (of the edge symbols below) named in the query.
    "/stocks/bars": st.deferred(lambda: st.sampled_from(SYMBOLS)).map(
        lambda symbol: {"symbols": symbol}
    ),
    "/stocks/indicators": st.tuples(
        st.deferred(lambda: st.sampled_from(SYMBOLS)), st.sampled_from(sorted(INDICATORS))
    ).map(lambda pair: {"symbols": pair[0], "name": pair[1]}),
}

# Daily bars of today, around the epoch and at both ends of the calendar; minute bars of
# today (across a clock change) and near both ends.
EDGE_DAILY: Final = {
    "RECENT": ["2020-12-30", "2021-01-04", "2021-06-15", "2022-01-03"],
    "OLD": ["1969-12-29", "1969-12-30", "1969-12-31", "1970-01-02"],
    "FIRST": ["0001-01-02", "0001-01-03", "0001-01-04"],
    "LAST": ["9999-12-28", "9999-12-29", "9999-12-30"],
}
EDGE_MINUTES: Final = {
    "RECENTMIN": ["2021-03-12T15:59", "2021-03-15T09:30", "2021-03-15T09:31"],
    "FIRSTMIN": ["0001-01-02T10:00", "0001-01-02T10:01", "0001-01-02T10:02"],
    "LASTMIN": ["9999-12-30T10:00", "9999-12-30T10:01", "9999-12-30T10:02"],
}
SYMBOLS: Final = [*EDGE_DAILY, *EDGE_MINUTES]
NEW_YORK: Final = zoneinfo.ZoneInfo("America/New_York")


def _bars(symbol: str, local_times: list[str]) -> pa.Table:
    """Consistent bars (low <= open, close <= high) at New York wall times."""
    count = len(local_times)
    stamps = [
        dt.datetime.fromisoformat(time).replace(tzinfo=NEW_YORK).astimezone(dt.UTC)
        for time in local_times
    ]
    return pa.table(
        {
            "symbol": [symbol] * count,
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "open": [10.0 + i for i in range(count)],
            "high": [11.0 + i for i in range(count)],
            "low": [9.0 + i for i in range(count)],
            "close": [10.5 + i for i in range(count)],
            "volume": pa.array([100 * (i + 1) for i in range(count)], pa.int64()),
        },
        schema=BAR_SCHEMA,
    )


async def _seeded() -> MemoryStore:
    store = MemoryStore()
    for symbols, kind in ((EDGE_DAILY, BarKind.DAILY), (EDGE_MINUTES, BarKind.INTRADAY)):
        for symbol, times in symbols.items():
            await store.write_bars(
                _bars(symbol, times), source="test", timezone="America/New_York", bar_kind=kind
            )
    return store


@pytest.fixture(scope="module")
def edge_app() -> Quart:
    """One app over the symbols above, shared by every generated request."""
    return create_app({"env": "test"}, store=asyncio.run(_seeded()))


async def _get(app: Quart, url: str) -> tuple[int, str, Any]:
    async with app.test_app() as serving:
        response = await serving.test_client().get(url)
        return response.status_code, response.content_type, await response.get_json()


_OFFSETS: Final = st.sampled_from(["", "Z", "+23:59", "-23:59", "+05:30", "-00:00"])
_EXTREMES: Final = st.sampled_from(
    [
        "0001-01-01",
        "9999-12-31",
        "1969-12-31",
        "1970-01-01",
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999-23:59",
        "9999-12-31T23:59:59.999999",
    ]
)


@st.composite
def _bound(draw: st.DrawFn) -> str:
    """A ``start``/``end`` value anywhere in years 1-9999, extremes often."""
    kind = draw(st.sampled_from(["extreme", "date", "timestamp"]))
    if kind == "extreme":
        return draw(_EXTREMES)
    if kind == "date":
        return draw(st.dates()).isoformat()
    moment: dt.datetime = draw(st.datetimes())
    precision = draw(st.sampled_from(["minutes", "seconds", "microseconds"]))
    return moment.isoformat(timespec=precision) + draw(_OFFSETS)


_INTERVALS: Final = st.one_of(
    st.sampled_from([1, 2, 7, MAX_INTERVAL]), st.integers(1, MAX_INTERVAL)
)


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    path = draw(st.sampled_from(sorted(BAR_ENDPOINTS)))
    query = dict(draw(BAR_ENDPOINTS[path]))
    optional = {
        "start": _bound(),
        "end": _bound(),
        "frequency": st.sampled_from([member.value for member in Frequency]),
        "interval": _INTERVALS.map(str),
        "sort": st.sampled_from(["asc", "desc"]),
        "limit": st.sampled_from(["1", "3", "50000"]),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            query[name] = draw(values)
    return path.format(symbol=draw(st.sampled_from(SYMBOLS))), query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=_requests())
def test_given_any_range_and_period_when_asking_any_bar_endpoint_then_200_or_a_named_parameter(
    edge_app: Quart, request: tuple[str, dict[str, str]]
) -> None:
    # GIVEN a bar endpoint, a symbol and any combination of the range and period parameters
    path, query = request
    # WHEN
    url = f"{path}?{urllib.parse.urlencode(query)}"
    status, content_type, body = asyncio.run(_get(edge_app, url))
    # THEN rows, or a client error that names one of the parameters sent
    assert status in (200, 400, 409), (path, query, status, body)
    if status == 200:
        assert content_type == "application/json"
        assert isinstance(body, list)
    else:
        assert content_type == "application/problem+json"
        assert body["parameter"] in query, (path, query, body)
