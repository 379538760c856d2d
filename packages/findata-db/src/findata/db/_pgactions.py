"""The PostgreSQL store's corporate actions (migration 0004): reads filtered in SQL, and an
upsert of both kinds run inside the store's write transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

import asyncpg
import pyarrow as pa

from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.db._actions import ActionCounts, CheckedActions

_RANGE: Final = (
    "WHERE symbol = ANY($1::text[]) AND ($2::date IS NULL OR ex_date >= $2) "
    "AND ($3::date IS NULL OR ex_date <= $3) ORDER BY symbol, ex_date"
)
_UPSERT_SPLITS: Final = (
    "INSERT INTO splits (symbol, ex_date, split_from, split_to) "
    "SELECT * FROM unnest($1::text[], $2::date[], $3::float8[], $4::float8[]) "
    "ON CONFLICT (symbol, ex_date) DO UPDATE SET "
    "split_from = excluded.split_from, split_to = excluded.split_to"
)
_UPSERT_DIVIDENDS: Final = (
    "INSERT INTO dividends (symbol, ex_date, cash_amount, currency, pay_date, record_date) "
    "SELECT * FROM unnest($1::text[], $2::date[], $3::float8[], $4::text[], $5::date[], "
    "$6::date[]) ON CONFLICT (symbol, ex_date) DO UPDATE SET "
    "cash_amount = excluded.cash_amount, currency = excluded.currency, "
    "pay_date = excluded.pay_date, record_date = excluded.record_date"
)
_COUNTS: Final = (
    "SELECT symbol, sum(splits)::bigint, sum(dividends)::bigint FROM ("
    "SELECT symbol, 1 AS splits, 0 AS dividends FROM splits "
    "UNION ALL SELECT symbol, 0, 1 FROM dividends) AS actions GROUP BY symbol ORDER BY symbol"
)


async def read_table(
    raw: asyncpg.Connection,
    schema: pa.Schema,
    table: str,
    symbols: Sequence[str],
    start: dt.date | None,
    end: dt.date | None,
) -> pa.Table:
    """The rows of ``table`` (``splits`` or ``dividends``) in ``schema``."""
    wanted = sorted({symbol.upper() for symbol in symbols})
    query = f"SELECT {', '.join(schema.names)} FROM {table} {_RANGE}"
    rows = await raw.fetch(query, wanted, start, end)
    return pa.table(
        {
            name: pa.array([row[index] for row in rows], schema.field(name).type)
            for index, name in enumerate(schema.names)
        },
        schema=schema,
    )


async def read_splits(
    raw: asyncpg.Connection, symbols: Sequence[str], start: dt.date | None, end: dt.date | None
) -> pa.Table:
    return await read_table(raw, SPLITS_SCHEMA, "splits", symbols, start, end)


async def read_dividends(
    raw: asyncpg.Connection, symbols: Sequence[str], start: dt.date | None, end: dt.date | None
) -> pa.Table:
    return await read_table(raw, DIVIDENDS_SCHEMA, "dividends", symbols, start, end)


async def upsert(raw: asyncpg.Connection, actions: CheckedActions) -> None:
    """Insert or replace both kinds (in the caller's transaction)."""
    if actions.splits.num_rows:
        await raw.execute(_UPSERT_SPLITS, *_columns(actions.splits))
    if actions.dividends.num_rows:
        await raw.execute(_UPSERT_DIVIDENDS, *_columns(actions.dividends))


def _columns(table: pa.Table) -> list[list[object]]:
    return [table.column(name).to_pylist() for name in table.column_names]


async def counts(raw: asyncpg.Connection) -> dict[str, ActionCounts]:
    rows = await raw.fetch(_COUNTS)
    return {row[0]: ActionCounts(row[0], int(row[1]), int(row[2])) for row in rows}
