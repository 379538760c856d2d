"""Results as the caller wants them: the Arrow table itself, or a pandas/polars frame.

pandas and polars are optional extras, imported only when asked for, so that
``pip install findata-client`` stays at httpx + pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import pyarrow as pa

from findata.client._errors import FindataClientError

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

As: TypeAlias = Literal["arrow", "pandas", "polars"]
Frame: TypeAlias = "pa.Table | pd.DataFrame | pl.DataFrame"
FORMATS: Final = ("arrow", "pandas", "polars")


def check_as(as_: str) -> None:
    """Reject an unknown ``as_`` before any request is made."""
    if as_ not in FORMATS:
        raise ValueError(f"as_ must be one of {', '.join(FORMATS)}, not {as_!r}")


def to_frame(table: pa.Table, as_: As) -> Frame:
    """``table`` unchanged for ``"arrow"``, else converted (dates become datetime64)."""
    if as_ == "arrow":
        return table
    module = _optional(as_)
    if as_ == "pandas":
        return table.to_pandas(date_as_object=False)
    frame: Any = module.from_arrow(table)
    return frame


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        raise FindataClientError(
            f"as_={name!r} needs {name}: pip install 'findata-client[{name}]'"
        ) from error
