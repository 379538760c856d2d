"""The DuckDB store's corporate actions: SQL on a given connection, as ``queries`` does for
bars (migration 0005). Both tables are small, so a read takes them whole and the store
keeps them per data version; a write upserts both and bumps the version in one
transaction."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.db._actions import CheckedActions
from findata.db._duckdb.version import bump_version

_SPLIT_COLUMNS = ", ".join(SPLITS_SCHEMA.names)
_DIVIDEND_COLUMNS = ", ".join(DIVIDENDS_SCHEMA.names)


def read_actions(conn: duckdb.DuckDBPyConnection) -> tuple[pa.Table, pa.Table]:
    """Every split and dividend, sorted by symbol and ex-date, in core's schemas."""
    splits = conn.sql(
        f"SELECT {_SPLIT_COLUMNS} FROM splits ORDER BY symbol, ex_date"
    ).to_arrow_table()
    dividends = conn.sql(
        f"SELECT {_DIVIDEND_COLUMNS} FROM dividends ORDER BY symbol, ex_date"
    ).to_arrow_table()
    return splits.cast(SPLITS_SCHEMA), dividends.cast(DIVIDENDS_SCHEMA)


def write_actions(conn: duckdb.DuckDBPyConnection, actions: CheckedActions) -> str:
    """Upsert checked actions in one transaction; return the new data version."""
    conn.begin()
    try:
        for table, name, columns in (
            (actions.splits, "splits", _SPLIT_COLUMNS),
            (actions.dividends, "dividends", _DIVIDEND_COLUMNS),
        ):
            if table.num_rows:
                conn.register("staging_actions", table)
                try:
                    conn.execute(
                        f"INSERT OR REPLACE INTO {name} ({columns}) "
                        f"SELECT {columns} FROM staging_actions"
                    )
                finally:
                    conn.unregister("staging_actions")
        version = bump_version(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return version
