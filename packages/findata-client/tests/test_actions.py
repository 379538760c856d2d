"""``splits``, ``dividends`` and ``adjustment=`` of ``Client``, against a real server per store."""

from __future__ import annotations

import datetime as dt

import pytest

from findata.api.testing import ServedProcess
from findata.client import BadRequestError, Client, NotFoundError

pytestmark = pytest.mark.system

WALK_DAYS = 250
FIRST_DAY = dt.date(2020, 1, 1)
SPLIT_DAY = 121  # 2020-05-01, 1-for-2 (conftest.WALK_SPLIT)
DIVIDEND_DAY = 60  # 2020-03-01, 1.0 a share; the close before it is 159.5


def _raw_close(day: int) -> float:
    return 100.5 + day


def test_given_walk_actions_when_fetching_splits_and_dividends_then_they_come_as_stored(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        splits = client.splits("WALK")
        dividends = client.dividends("WALK", start=dt.date(2020, 1, 1), end="2020-12-31")
        none = client.splits("MINUTE")
    # THEN
    assert splits.to_pylist() == [
        {"symbol": "WALK", "ex_date": dt.date(2020, 5, 1), "split_from": 1.0, "split_to": 2.0}
    ]
    assert dividends["ex_date"].to_pylist() == [dt.date(2020, 3, 1)]
    assert dividends["cash_amount"].to_pylist() == [1.0]
    assert none.num_rows == 0


def test_given_an_adjustment_when_fetching_bars_then_earlier_prices_are_scaled(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        raw = client.bars("WALK")
        split = client.bars("WALK", adjustment="split")
        both = client.bars("WALK", adjustment="all")
    # THEN: split halves closes before day 121 and doubles volumes; all also scales closes
    # before day 60 by 1 - 1.0 / 159.5
    assert raw["close"].to_pylist() == [_raw_close(day) for day in range(WALK_DAYS)]
    assert split["close"].to_pylist() == pytest.approx(
        [_raw_close(day) * (0.5 if day < SPLIT_DAY else 1) for day in range(WALK_DAYS)]
    )
    assert split["volume"].to_pylist() == [
        (1_000 + day) * (2 if day < SPLIT_DAY else 1) for day in range(WALK_DAYS)
    ]
    dividend_factor = 1 - 1.0 / _raw_close(DIVIDEND_DAY - 1)
    assert both["close"].to_pylist() == pytest.approx(
        [
            _raw_close(day)
            * (0.5 if day < SPLIT_DAY else 1)
            * (dividend_factor if day < DIVIDEND_DAY else 1)
            for day in range(WALK_DAYS)
        ]
    )


def test_given_an_adjustment_when_fetching_an_indicator_then_it_uses_adjusted_closes(
    server: ServedProcess,
) -> None:
    # WHEN: a 2-day SMA across the split, adjusted
    with Client(server.base_url) as client:
        sma = client.indicators(
            "WALK", "sma", window=2, adjustment="split", start="2020-04-30", end="2020-05-02"
        )
    # THEN: the mean of the adjusted closes of each day and the one before
    adjusted = [_raw_close(day) * (0.5 if day < SPLIT_DAY else 1) for day in range(WALK_DAYS)]
    days = [SPLIT_DAY - 1, SPLIT_DAY, SPLIT_DAY + 1]
    assert sma["sma"].to_pylist() == pytest.approx(
        [(adjusted[day - 1] + adjusted[day]) / 2 for day in days]
    )


def test_given_bad_input_when_fetching_then_typed_errors_say_why(server: ServedProcess) -> None:
    # WHEN / THEN: an unknown adjustment is a 400 naming it; an unknown symbol a 404
    with Client(server.base_url) as client:
        with pytest.raises(BadRequestError) as bad:
            client.bars("WALK", adjustment="splits")  # type: ignore[arg-type]
        with pytest.raises(NotFoundError):
            client.dividends("NOPE")
    assert bad.value.parameter == "adjustment"
