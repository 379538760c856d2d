"""Output formats: one Arrow table of rows rendered as JSON, CSV, Arrow IPC or Parquet.

Chosen by the ``format`` query parameter, else by the ``Accept`` header; a client
that accepts none of them gets 406. Every format carries the same rows and columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from quart import request

from findata.api._params import Parameter
from findata.api._problems import ProblemError, invalid_parameter


class OutputFormat(enum.StrEnum):
    JSON = "json"
    CSV = "csv"
    ARROW = "arrow"
    PARQUET = "parquet"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self]


MEDIA_TYPES: Final = {
    OutputFormat.JSON: "application/json",
    OutputFormat.CSV: "text/csv; charset=utf-8",
    OutputFormat.ARROW: "application/vnd.apache.arrow.stream",
    OutputFormat.PARQUET: "application/vnd.apache.parquet",
}
_BY_MEDIA_TYPE: Final = {
    "application/json": OutputFormat.JSON,
    "text/csv": OutputFormat.CSV,
    "application/vnd.apache.arrow.stream": OutputFormat.ARROW,
    "application/vnd.apache.parquet": OutputFormat.PARQUET,
}
ALL_MEDIA_TYPES: Final = tuple(_BY_MEDIA_TYPE)
MEDIA_TYPE_NAMES: Final = {member: name for name, member in _BY_MEDIA_TYPE.items()}
"""Each format's media type without parameters, as ``Accept`` names it."""

FORMAT_PARAMETER: Final = Parameter(
    "format",
    "Response format; overrides the Accept header.",
    {"type": "string", "enum": [member.value for member in OutputFormat]},
)


def negotiate(formats: tuple[OutputFormat, ...] = tuple(OutputFormat)) -> OutputFormat:
    """The format the client asked for: ``format=``, else the best ``Accept`` match (JSON first),
    among ``formats`` (an endpoint that offers fewer than all four names them)."""
    if "format" in request.args:
        raw = request.args["format"]
        try:
            chosen = OutputFormat(raw.strip().lower())
        except ValueError:
            chosen = None
        if chosen is None or chosen not in formats:
            raise invalid_parameter(
                "format",
                f"unknown format {raw!r}",
                value=raw,
                allowed=[member.value for member in formats],
            ) from None
        return chosen
    accept = request.accept_mimetypes
    if not accept:  # no Accept header: anything goes, and JSON is the default
        return formats[0]
    media_types = [MEDIA_TYPE_NAMES[member] for member in formats]
    best = accept.best_match(media_types)
    if best is None:
        raise ProblemError(
            406,
            "none of the available media types is acceptable",
            available=media_types,
        )
    return _BY_MEDIA_TYPE[best]


def format_parameter(formats: tuple[OutputFormat, ...]) -> Parameter:
    """The ``format`` parameter of an endpoint offering only ``formats``."""
    return Parameter(
        "format",
        FORMAT_PARAMETER.description,
        {"type": "string", "enum": [member.value for member in formats]},
    )


def render(rows: pa.Table, output: OutputFormat) -> bytes:
    """Serialise ``rows``: dates as ``YYYY-MM-DD``, instants as RFC 3339 with their offset."""
    if output is OutputFormat.JSON:
        return orjson.dumps(rows.to_pylist(), option=orjson.OPT_NAIVE_UTC)
    if output is OutputFormat.CSV:
        return _csv(rows)
    sink = pa.BufferOutputStream()
    if output is OutputFormat.ARROW:
        with pa.ipc.new_stream(sink, rows.schema) as writer:
            writer.write_table(rows)
    else:
        pq.write_table(rows, sink)
    return bytes(sink.getvalue())


def _csv(rows: pa.Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(rows.column_names)
    writer.writerows([_csv_cell(value) for value in row.values()] for row in rows.to_pylist())
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):  # dt.datetime is a dt.date too
        return value.isoformat()
    return value
