"""GET /stocks/bars and /stocks/indicators?symbols=...: many symbols, exactly the single rows.

Every expectation is built from the single-symbol endpoints' answers (tested by hand in
test_time_series.py / test_indicators.py), so these tests say one thing: the multi-symbol
body is those answers concatenated in symbol order, in every format, on every store.
"""

from __future__ import annotations

import csv
import io
import re
import urllib.parse

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from quart.testing import QuartClient

from findata.core import Frequency

_NEXT = re.compile(r'<([^>]+)>; rel="next"')
DAILY_SYMBOLS = ("ACME", "WALK")  # conftest: daily bars
ALL_SYMBOLS = ("ACME", "INTRA", "WALK")
BIG = "limit=50000"


async def body(client: QuartClient, url: str, fmt: str) -> bytes:
    response = await client.get(f"{url}&format={fmt}")
    assert response.status_code == 200, (url, await response.get_data())
    return await response.get_data()


def parse(data: bytes, fmt: str) -> object:
    """A body as comparable values: rows (JSON, CSV) or a table (Arrow, Parquet)."""
    if fmt == "json":
        import json

        return json.loads(data)
    if fmt == "csv":
        return list(csv.reader(io.StringIO(data.decode())))
    if fmt == "arrow":
        return pa.ipc.open_stream(data).read_all()
    return pq.read_table(io.BytesIO(data))


def concatenated(parts: list[object], fmt: str) -> object:
    """Single-symbol answers joined the way the multi-symbol body should be."""
    if fmt == "json":
        return [row for part in parts for row in part]  # type: ignore[attr-defined]
    if fmt == "csv":
        header = parts[0][0]  # type: ignore[index]
        return [header, *(row for part in parts for row in part[1:])]  # type: ignore[index]
    return pa.concat_tables(parts)  # type: ignore[arg-type]


def equal(got: object, expected: object) -> bool:
    if isinstance(got, pa.Table):
        return got.equals(expected)  # type: ignore[arg-type]
    return got == expected


CASES = [
    (DAILY_SYMBOLS, ""),
    *((DAILY_SYMBOLS, f"frequency={f.value}") for f in Frequency if not f.is_intraday),
    (ALL_SYMBOLS, "interval=2&frequency=Weekly&start=2021-01-01&end=2021-06-30"),
    (("INTRA",), ""),
    (("INTRA",), "frequency=Minute&interval=30"),
    (("INTRA",), "frequency=Hourly&sort=desc"),
    (DAILY_SYMBOLS, "frequency=Monthly&sort=desc&start=2020-03-01&end=2021-12-31"),
]


@pytest.mark.parametrize("fmt", ["json", "csv", "arrow", "parquet"])
@pytest.mark.parametrize(("symbols", "params"), CASES)
async def test_given_symbols_when_asking_for_their_bars_at_once_then_the_single_answers_follow(
    client: QuartClient, symbols: tuple[str, ...], params: str, fmt: str
) -> None:
    # GIVEN each symbol's answer from the single-symbol endpoint
    singles = [
        parse(await body(client, f"/stocks/time-series/{symbol}?{BIG}&{params}", fmt), fmt)
        for symbol in symbols
    ]
    # WHEN the same parameters are asked for all of them, named in reverse order
    named = ",".join(reversed(symbols))
    got = parse(await body(client, f"/stocks/bars?symbols={named}&{BIG}&{params}", fmt), fmt)
    # THEN the rows are the single answers concatenated in symbol order
    assert equal(got, concatenated(singles, fmt))


@pytest.mark.parametrize("fmt", ["json", "csv", "arrow", "parquet"])
@pytest.mark.parametrize(
    "params",
    [
        "name=sma&window=3",
        "name=macd&frequency=Weekly",
        "name=rsi&window=5&frequency=Daily&start=2020-03-01&end=2020-06-30&sort=desc",
    ],
)
async def test_given_symbols_when_asking_for_an_indicator_at_once_then_the_single_answers_follow(
    client: QuartClient, params: str, fmt: str
) -> None:
    # GIVEN
    singles = [
        parse(await body(client, f"/stocks/indicators/{symbol}?{BIG}&{params}", fmt), fmt)
        for symbol in DAILY_SYMBOLS
    ]
    # WHEN
    got = parse(
        await body(client, f"/stocks/indicators?symbols=WALK,ACME&{BIG}&{params}", fmt), fmt
    )
    # THEN
    assert equal(got, concatenated(singles, fmt))


async def walk(client: QuartClient, url: str) -> tuple[list[dict[str, object]], int]:
    """Follow ``next`` links from ``url``: every row and the number of pages."""
    rows: list[dict[str, object]] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url)
        assert response.status_code == 200, await response.get_data()
        page = await response.get_json()
        assert page, "a next link never leads to an empty page"
        rows.extend(page)
        pages += 1
        link = response.headers.get("Link")
        match = _NEXT.search(link) if link else None
        next_url = match.group(1) if match else None
    return rows, pages


@pytest.mark.parametrize("sort", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 4, 6, 7, 37, 256])
async def test_given_pages_smaller_than_a_symbol_when_walking_them_then_every_row_comes_once(
    client: QuartClient, sort: str, limit: int
) -> None:
    # GIVEN ACME (6 bars) and WALK (250 bars) in one page
    everything = await (await client.get(f"/stocks/bars?symbols=ACME,WALK&sort={sort}")).get_json()
    # WHEN walking pages of `limit` rows across the symbol boundary
    rows, pages = await walk(client, f"/stocks/bars?symbols=ACME,WALK&limit={limit}&sort={sort}")
    # THEN every row once, in order, in as few pages as the limit allows
    assert len(everything) == 256
    assert rows == everything
    assert pages == -(-256 // limit)
    assert [row["symbol"] for row in rows] == ["ACME"] * 6 + ["WALK"] * 250


async def test_given_indicator_pages_when_walking_them_then_every_value_comes_once(
    client: QuartClient,
) -> None:
    # GIVEN
    url = "/stocks/indicators?symbols=ACME,WALK&name=sma&window=2"
    everything = await (await client.get(url)).get_json()
    # WHEN
    rows, _ = await walk(client, f"{url}&limit=4")
    # THEN
    assert rows == everything
    assert {row["symbol"] for row in rows} == {"ACME", "WALK"}


async def test_given_the_whole_market_when_asking_for_one_day_then_every_symbol_answers(
    client: QuartClient,
) -> None:
    # GIVEN every symbol, named
    named = ",".join(ALL_SYMBOLS)
    query = "frequency=Daily&start=2021-03-15&end=2021-03-15"
    expected = await (await client.get(f"/stocks/bars?symbols={named}&{query}")).get_json()
    # WHEN
    response = await client.get(f"/stocks/bars?symbols=*&{query}")
    # THEN `*` is the same as naming them all; only INTRA traded that day
    assert response.status_code == 200
    assert await response.get_json() == expected
    assert [row["symbol"] for row in expected] == ["INTRA"]


async def test_given_the_whole_market_when_asking_for_hours_then_daily_symbols_are_left_out(
    client: QuartClient,
) -> None:
    # WHEN
    everything = await (await client.get("/stocks/bars?symbols=*&frequency=Hourly")).get_json()
    alone = await (await client.get("/stocks/bars?symbols=INTRA&frequency=Hourly")).get_json()
    # THEN
    assert everything == alone


async def test_given_duplicates_when_asking_then_each_symbol_comes_once(
    client: QuartClient,
) -> None:
    # WHEN
    once = await (await client.get("/stocks/bars?symbols=ACME,WALK&frequency=Monthly")).get_json()
    twice = await client.get("/stocks/bars?symbols=WALK,ACME,WALK,ACME&frequency=Monthly")
    # THEN
    assert twice.status_code == 200
    assert await twice.get_json() == once


async def test_given_unknown_symbols_when_asking_then_404_names_every_one(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/bars?symbols=NOPE,ACME,ALSO-NOT")
    # THEN
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    problem = await response.get_json()
    assert problem["symbols"] == ["NOPE", "ALSO-NOT"]
    assert "NOPE" in problem["detail"]
    assert "ALSO-NOT" in problem["detail"]


@pytest.mark.parametrize(
    "symbols",
    ["", ",", "ACME,", ",ACME", "ACME,,WALK", "A" * 65, "ACME,\x01", ",".join(["ACME"] * 1001)],
)
@pytest.mark.parametrize("path", ["/stocks/bars", "/stocks/indicators"])
async def test_given_a_malformed_list_when_asking_then_400_names_symbols(
    client: QuartClient, symbols: str, path: str
) -> None:
    # WHEN
    extra = {"name": "sma"} if path.endswith("indicators") else {}
    query = urllib.parse.urlencode({"symbols": symbols, **extra})
    response = await client.get(f"{path}?{query}")
    # THEN
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert (await response.get_json())["parameter"] == "symbols"


async def test_given_no_symbols_when_asking_then_400_names_symbols(client: QuartClient) -> None:
    # WHEN
    response = await client.get("/stocks/bars?frequency=Daily")
    # THEN
    assert response.status_code == 400
    assert (await response.get_json())["parameter"] == "symbols"


@pytest.mark.parametrize("cursor", ["12", "x:ACME", "12:", "12:A,B"])
async def test_given_a_bad_cursor_when_asking_then_400_names_cursor(
    client: QuartClient, cursor: str
) -> None:
    # WHEN
    query = urllib.parse.urlencode({"symbols": "ACME", "cursor": cursor})
    response = await client.get(f"/stocks/bars?{query}")
    # THEN
    assert response.status_code == 400
    assert (await response.get_json())["parameter"] == "cursor"


async def test_given_daily_and_intraday_symbols_when_asking_for_stored_bars_then_409(
    client: QuartClient,
) -> None:
    # WHEN their stored bars have different time columns (date / timestamp)
    response = await client.get("/stocks/bars?symbols=ACME,INTRA")
    # THEN a conflict naming frequency
    assert response.status_code == 409
    assert (await response.get_json())["parameter"] == "frequency"


async def test_given_a_page_ending_before_a_failing_symbol_when_asking_then_it_answers(
    client: QuartClient,
) -> None:
    # GIVEN INTRA's hours, then WALK's, which has daily bars (409 when its page is reached);
    # WALK is computed ahead while INTRA is paged
    url = "/stocks/bars?symbols=INTRA,WALK&frequency=Hourly"
    # WHEN a page ends inside INTRA
    first = await client.get(f"{url}&limit=1")
    # THEN it answers, and only a page reaching WALK is the conflict
    assert first.status_code == 200, await first.get_data()
    assert len(await first.get_json()) == 1
    assert _NEXT.search(first.headers["Link"])
    whole = await client.get(f"{url}&{BIG}")
    assert whole.status_code == 409
    assert (await whole.get_json())["parameter"] == "frequency"


async def test_given_an_etag_when_revalidating_then_304(client: QuartClient) -> None:
    # GIVEN
    first = await client.get("/stocks/bars?symbols=ACME,WALK&frequency=Weekly")
    etag = first.headers["ETag"]
    # WHEN
    again = await client.get(
        "/stocks/bars?symbols=ACME,WALK&frequency=Weekly", headers={"If-None-Match": etag}
    )
    # THEN
    assert again.status_code == 304
    assert again.headers["ETag"] == etag


async def test_given_the_openapi_document_when_reading_it_then_both_endpoints_declare_symbols(
    client: QuartClient,
) -> None:
    # WHEN
    document = await (await client.get("/openapi.json")).get_json()
    # THEN
    for path in ("/stocks/bars", "/stocks/indicators"):
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert parameters["symbols"]["required"] is True
        pattern = parameters["symbols"]["schema"]["pattern"]
        assert re.fullmatch(pattern.strip("^$"), "ACME,WALK")
        assert re.fullmatch(pattern.strip("^$"), "*")
        assert {"cursor", "period", "start", "end", "limit", "sort"} <= set(parameters)
        assert "404" in document["paths"][path]["get"]["responses"]
