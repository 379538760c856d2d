"""Each output format, read back with its own library, holds the same rows as the JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from quart.testing import QuartClient

URLS = [
    "/stocks/time-series/ACME?frequency=Annual",
    "/stocks/time-series/ACME",
    "/stocks/time-series/INTRA?frequency=Hourly",
    "/stocks/indicators/WALK?name=bbands&window=5&frequency=Weekly",
]


def normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with dates and instants as ISO text, so every format compares alike."""
    return [
        {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in row.items()
        }
        for row in rows
    ]


async def json_rows(client: QuartClient, url: str) -> list[dict[str, Any]]:
    response = await client.get(url)
    assert response.status_code == 200
    rows: list[dict[str, Any]] = await response.get_json()
    assert rows
    return rows


@pytest.mark.parametrize("url", URLS)
async def test_given_format_csv_when_reading_with_the_csv_module_then_rows_match_the_json(
    client: QuartClient, url: str
) -> None:
    # GIVEN
    expected = await json_rows(client, url)
    # WHEN
    response = await client.get(url + ("&" if "?" in url else "?") + "format=csv")
    # THEN
    assert response.content_type == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO((await response.get_data()).decode("utf-8")))
    assert reader.fieldnames == list(expected[0])
    read = list(reader)
    assert len(read) == len(expected)
    for got, want in zip(read, expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert float(got[key]) == value
            else:
                assert got[key] == str(value)


@pytest.mark.parametrize("url", URLS)
async def test_given_accept_arrow_stream_when_reading_with_pyarrow_then_rows_match_the_json(
    client: QuartClient, url: str
) -> None:
    # GIVEN
    expected = await json_rows(client, url)
    # WHEN the format is chosen by the Accept header alone
    response = await client.get(url, headers={"Accept": "application/vnd.apache.arrow.stream"})
    # THEN
    assert response.content_type == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(await response.get_data()).read_all()
    assert normalised(table.to_pylist()) == expected


@pytest.mark.parametrize("url", URLS)
async def test_given_format_parquet_when_reading_with_pyarrow_parquet_then_rows_match_the_json(
    client: QuartClient, url: str
) -> None:
    # GIVEN
    expected = await json_rows(client, url)
    # WHEN
    response = await client.get(url + ("&" if "?" in url else "?") + "format=parquet")
    # THEN
    assert response.content_type == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(await response.get_data()))
    assert normalised(table.to_pylist()) == expected


async def test_given_resampled_daily_periods_when_reading_arrow_then_period_start_is_a_date(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/ACME?frequency=Annual&format=arrow")
    # THEN typed columns, not text
    schema = pa.ipc.open_stream(await response.get_data()).schema
    assert schema.field("period_start").type == pa.date32()
    assert schema.field("volume").type == pa.int64()


async def test_given_a_browser_accept_header_when_requesting_then_json_is_preferred(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(
        "/stocks/time-series/ACME", headers={"Accept": "text/html,*/*;q=0.8"}
    )
    # THEN
    assert response.content_type == "application/json"


async def test_given_accept_csv_with_higher_quality_when_requesting_then_csv_wins(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(
        "/stocks/time-series/ACME", headers={"Accept": "application/json;q=0.5, text/csv"}
    )
    # THEN
    assert response.content_type.startswith("text/csv")
