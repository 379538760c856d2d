"""Exchange calendars: trading sessions, the market clock, regular-hours bars and coverage.

Public so that the stores, the API and the CLI ask one place which days and hours an
exchange trades (``from findata.core import calendars``). The calendars are those of the
``exchange_calendars`` library, imported on first use; exchanges are named by ISO MIC
(``XNYS``, ``XLON``, ``XHKG``...) or an alias it knows (``XNAS``): :func:`exchange_names`
lists them all.

- :class:`CalendarUnavailableError`: a known exchange whose calendar the library cannot
  build here (a few, with some pandas releases).
- :func:`validate_exchange`, :func:`exchange_names`, :func:`exchange_timezone`,
  :func:`calendar_dates`: which exchanges and dates there are.
- :func:`sessions`: one row per session (:data:`SESSIONS_SCHEMA`), cached per exchange.
- :func:`clock`: is the exchange open at an instant, when does it next open and close.
- :func:`regular_session_mask`, :func:`filter_regular_session`: intraday bars inside the
  regular sessions (early closes honoured, lunch breaks excluded).
- :func:`coverage`: which sessions a symbol's bars miss or only partly cover.
"""

from __future__ import annotations

from findata.core._calendar import (
    DEFAULT_EXCHANGE,
    SESSIONS_SCHEMA,
    CalendarUnavailableError,
    calendar_dates,
    exchange_names,
    exchange_timezone,
    sessions,
    validate_exchange,
)
from findata.core._clock import MarketClock, clock
from findata.core._coverage import (
    DAILY,
    Coverage,
    PartialSession,
    coverage,
    filter_regular_session,
    infer_bar_interval,
    regular_session_mask,
)

__all__ = [
    "DAILY",
    "DEFAULT_EXCHANGE",
    "SESSIONS_SCHEMA",
    "CalendarUnavailableError",
    "Coverage",
    "MarketClock",
    "PartialSession",
    "calendar_dates",
    "clock",
    "coverage",
    "exchange_names",
    "exchange_timezone",
    "filter_regular_session",
    "infer_bar_interval",
    "regular_session_mask",
    "sessions",
    "validate_exchange",
]
