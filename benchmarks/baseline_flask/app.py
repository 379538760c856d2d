"""The comparison baseline: the same endpoint written the plain Flask + SQLAlchemy + pandas way.

Served by gunicorn (one sync worker) over PostgreSQL, as a typical first version of
this service would be. Only what the benchmark calls is implemented:
``GET /stocks/time-series/<symbol>?interval=N&frequency=Daily|Weekly|Monthly|Quarterly|Annual``.
Its dependencies live in a throwaway virtualenv made by ``benchmarks/bench_api.py``.
"""

from __future__ import annotations

import os

import pandas as pd
from flask import Flask, abort, jsonify, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["BASELINE_DATABASE_URL"], pool_size=4, pool_pre_ping=True)

RULES = {"Daily": "D", "Weekly": "W-MON", "Monthly": "MS", "Quarterly": "QS", "Annual": "YS"}
QUERY = text(
    "SELECT date, open, high, low, close, volume FROM baseline_bars "
    "WHERE symbol = :symbol ORDER BY date"
)


@app.get("/stocks/time-series/<symbol>")
def time_series(symbol: str):  # type: ignore[no-untyped-def]
    interval = int(request.args.get("interval", "1"))
    frequency = request.args.get("frequency", "Daily")
    if frequency not in RULES or interval < 1:
        abort(400)
    with engine.connect() as connection:
        frame = pd.read_sql(QUERY, connection, params={"symbol": symbol}, parse_dates=["date"])
    if frame.empty:
        abort(404)
    periods = (
        frame.set_index("date")
        .resample(f"{interval}{RULES[frequency]}", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
        .reset_index()
        .rename(columns={"date": "period_start"})
    )
    periods.insert(0, "symbol", symbol)
    periods["period_start"] = periods["period_start"].dt.strftime("%Y-%m-%d")
    periods["volume"] = periods["volume"].astype("int64")
    return jsonify(periods.to_dict(orient="records"))
