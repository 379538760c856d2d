"""Frequency names are accepted the way existing clients send them."""

import pytest

from findata.core import Frequency, InvalidParameterError


@pytest.mark.parametrize("name", ["Daily", "daily", "DAILY", " Daily "])
def test_given_any_case_when_parsing_then_the_member_is_found(name: str) -> None:
    # WHEN
    parsed = Frequency.parse(name)
    # THEN
    assert parsed is Frequency.DAILY


def test_given_an_unknown_name_when_parsing_then_the_error_names_parameter_and_choices() -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        Frequency.parse("Fortnightly")
    # THEN
    assert caught.value.parameter == "frequency"
    assert caught.value.allowed is not None
    assert "Weekly" in caught.value.allowed


def test_intraday_frequencies_are_minute_and_hourly_only() -> None:
    assert {f for f in Frequency if f.is_intraday} == {Frequency.MINUTE, Frequency.HOURLY}
