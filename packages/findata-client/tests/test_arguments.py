"""Arguments the client can reject by itself, before any request (no server needed)."""

from __future__ import annotations

import pytest

from findata.client import AsyncClient, Client

UNREACHABLE = "http://127.0.0.1:9"  # never contacted: every call here fails first


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_given_an_unknown_output_when_calling_then_value_error_names_the_choices(
    client_class: type[Client] | type[AsyncClient],
) -> None:
    # GIVEN
    client = client_class(UNREACHABLE)
    # WHEN
    with pytest.raises(ValueError, match="as_ must be one of arrow, pandas, polars"):
        client.bars("WALK", as_="excel")  # type: ignore[arg-type]


@pytest.mark.parametrize("symbols", [[], ()])
def test_given_no_symbol_when_fetching_bars_then_value_error(symbols: list[str]) -> None:
    # WHEN / THEN
    with Client(UNREACHABLE) as client, pytest.raises(ValueError, match="at least one symbol"):
        client.bars(symbols)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"page_size": 0}, "page_size must be at least 1"),
        ({"retries": -1}, "must not be negative"),
        ({"max_retry_wait": -1.0}, "must not be negative"),
    ],
)
def test_given_impossible_settings_when_building_a_client_then_value_error(
    arguments: dict[str, float], message: str
) -> None:
    # WHEN / THEN
    with pytest.raises(ValueError, match=message):
        Client(UNREACHABLE, **arguments)  # type: ignore[arg-type]


def test_given_an_api_key_when_printing_the_client_then_the_key_is_not_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN: the base URL and key from the environment
    monkeypatch.setenv("FINDATA_URL", "http://findata.example:8080/")
    monkeypatch.setenv("FINDATA_API_KEY", "fd_0123456789abcdef_secret")
    # WHEN
    with Client() as client:
        shown = repr(client)
    # THEN
    assert shown == "Client('http://findata.example:8080')"
    assert "secret" not in shown
