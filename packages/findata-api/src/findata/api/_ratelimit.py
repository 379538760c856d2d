"""Per-client rate limiting with the generic cell rate algorithm (GCRA).

GCRA keeps a single timestamp per client (the "theoretical arrival time"), so a
limit costs one key in Redis and one dict entry in memory, allows a burst of the
full quota, and refills smoothly instead of resetting at window edges (no double
burst at a window boundary as with fixed windows). The Redis implementation runs
the whole decision in one Lua script on Redis' own clock, so every worker and
replica shares one limit and clock skew between hosts does not matter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Final, Protocol

import redis.asyncio
from quart import Quart, Response, g

from findata.api._gate import client_address, ungated
from findata.api._problems import problem
from findata.api._redis import REDIS_ERRORS, redis_client
from findata.api._state import app_state
from findata.core import InvalidParameterError

__all__ = [
    "EXTENSION_KEY",
    "MemoryRateLimiter",
    "RateLimit",
    "RateLimitDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "client_identity",
    "init_app",
    "open_rate_limiter",
]

_PERIODS: Final[dict[str, float]] = {
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "day": 86400.0,
}
_RATE_PATTERN: Final = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d*)\s*([a-z]+?)s?\s*$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` requests per ``period`` seconds, all of which may come in one burst."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or not math.isfinite(self.period) or self.period <= 0:
            raise InvalidParameterError(
                "rate_limit",
                f"a rate limit needs a positive count and period, got {self.limit}/{self.period}s",
            )

    @classmethod
    def parse(cls, text: str, *, setting: str = "rate_limit") -> RateLimit:
        """Parse ``"100/minute"``, ``"10 per second"`` or ``"1000/5minutes"``; errors name
        ``setting``."""
        match = _RATE_PATTERN.match(text)
        unit = match.group(3).lower() if match else ""
        if match is None or unit not in _PERIODS:
            raise InvalidParameterError(
                setting,
                f"cannot read rate limit {text!r}; write it as COUNT/UNIT, e.g. '100/minute'",
                value=text,
                allowed=[f"COUNT/{name}" for name in _PERIODS],
            )
        multiplier = int(match.group(2)) if match.group(2) else 1
        try:
            return cls(limit=int(match.group(1)), period=multiplier * _PERIODS[unit])
        except InvalidParameterError as error:
            raise InvalidParameterError(setting, error.message, value=text) from None

    @property
    def emission_interval(self) -> float:
        """Seconds of quota one request uses up."""
        return self.period / self.limit


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimitDecision:
    """The outcome of one request against a limit, with what the headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    """Seconds until the full quota is available again."""
    retry_after: float
    """Seconds until the next request would be allowed (0 when allowed)."""

    def headers(self) -> dict[str, str]:
        """IETF ``RateLimit-*`` headers (draft-ietf-httpapi-ratelimit-headers), plus
        ``Retry-After`` when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return headers


class RateLimiter(Protocol):
    """Counts requests per client key against one ``RateLimit``."""

    rate: RateLimit

    async def hit(self, key: str) -> RateLimitDecision:
        """Record one request for ``key`` if the limit allows it, and say whether it did."""
        ...

    async def peek(self, key: str) -> RateLimitDecision:
        """Whether a request for ``key`` would be allowed now, recording nothing (for limits
        that count only some outcomes, such as failed authentication)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the limiter is unusable afterwards."""
        ...


def _gcra(
    rate: RateLimit, now: float, stored_tat: float | None, *, consume: bool = True
) -> tuple[RateLimitDecision, float | None]:
    """One GCRA step: the decision and the new arrival time to store (None: keep the old one).

    With ``consume=False`` (a peek) nothing is to be stored, and ``remaining`` counts the
    requests still allowed including the one asked about.
    """
    interval = rate.emission_interval
    tat = max(stored_tat if stored_tat is not None else now, now)
    new_tat = tat + interval
    allow_at = new_tat - rate.period
    if now < allow_at:
        remaining = 0
        decision = RateLimitDecision(False, rate.limit, remaining, tat - now, allow_at - now)
        return decision, None
    if not consume:
        remaining = int((rate.period - (tat - now)) / interval + 1e-9)
        return RateLimitDecision(True, rate.limit, remaining, tat - now, 0.0), None
    remaining = int((rate.period - (new_tat - now)) / interval + 1e-9)
    return RateLimitDecision(True, rate.limit, remaining, new_tat - now, 0.0), new_tat


class MemoryRateLimiter:
    """GCRA in this process's memory: for the single-process quick start.

    Each worker keeps its own counts, so with N workers a client gets N times the
    limit; configure Redis (``RedisRateLimiter``) to share one limit.
    """

    def __init__(
        self,
        rate: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._tat: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str) -> RateLimitDecision:
        async with self._lock:
            now = self._clock()
            decision, new_tat = _gcra(self.rate, now, self._tat.get(key))
            if new_tat is not None:
                if len(self._tat) >= self._max_keys:
                    self._forget_idle(now)
                self._tat[key] = new_tat
            return decision

    async def peek(self, key: str) -> RateLimitDecision:
        decision, _ = _gcra(self.rate, self._clock(), self._tat.get(key), consume=False)
        return decision

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose quota is full again, so memory stays bounded."""
        self._tat = {key: tat for key, tat in self._tat.items() if tat > now}

    async def aclose(self) -> None:
        self._tat.clear()


# KEYS[1]: the client's key. ARGV: emission interval, period (both in microseconds), and
# 1 to record the request or 0 to peek. Returns {allowed, remaining, reset_after_us,
# retry_after_us}, as _gcra does. Integer microseconds keep the arithmetic exact in Lua
# (doubles) and the reply free of float parsing.
_GCRA_SCRIPT: Final = """
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
if ARGV[3] == '0' then
  return {1, math.floor((period - (tat - now)) / interval), tat - now, 0}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now, 0}
"""


_PREFIX: Final = "findata:rl:"  # the request limit's keys in Redis


class RedisRateLimiter:
    """GCRA in Redis, shared by every worker and replica that uses the same Redis and prefix."""

    def __init__(
        self, rate: RateLimit, client: redis.asyncio.Redis, *, prefix: str = _PREFIX
    ) -> None:
        self.rate = rate
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_SCRIPT)

    @classmethod
    def from_url(cls, rate: RateLimit, url: str, *, prefix: str = _PREFIX) -> RedisRateLimiter:
        """Connect lazily to the Redis at ``url`` (``redis://host:port/db``), with timeouts
        short enough that a hanging Redis delays a request by half a second at most."""
        return cls(rate, redis_client(url), prefix=prefix)

    async def hit(self, key: str) -> RateLimitDecision:
        return await self._run(key, consume=True)

    async def peek(self, key: str) -> RateLimitDecision:
        return await self._run(key, consume=False)

    async def _run(self, key: str, *, consume: bool) -> RateLimitDecision:
        interval_us = max(1, round(self.rate.emission_interval * 1_000_000))
        period_us = round(self.rate.period * 1_000_000)
        reply = await self._script(
            keys=[self._prefix + key], args=[interval_us, period_us, int(consume)]
        )
        allowed, remaining, reset_us, retry_us = (int(value) for value in reply)
        return RateLimitDecision(
            allowed=bool(allowed),
            limit=self.rate.limit,
            remaining=remaining,
            reset_after=reset_us / 1_000_000,
            retry_after=retry_us / 1_000_000,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def open_rate_limiter(rate: RateLimit, redis_url: str | None, *, prefix: str) -> RateLimiter:
    """A limiter shared through the Redis at ``redis_url`` under ``prefix``, or, without
    Redis, one in this process's memory."""
    if redis_url:
        return RedisRateLimiter.from_url(rate, redis_url, prefix=prefix)
    return MemoryRateLimiter(rate)


# --- the request gate -------------------------------------------------------

EXTENSION_KEY: Final = "findata.ratelimit"
_log = logging.getLogger("findata.api")


def client_identity() -> str:
    """Whom the current request counts against: its API key when one was verified, else its
    peer address (see ``client_address`` for what a proxy changes)."""
    key_id = g.get("api_key_id")
    return f"key:{key_id}" if key_id else f"addr:{client_address()}"


def init_app(app: Quart) -> None:
    """Limit each client to the ``rate_limit`` setting; no limit when it is unset.

    The limiter lives in Redis when ``redis_url`` is set (one limit across workers and
    replicas), else in memory. If Redis fails, requests are let through and the failure
    logged: an outage of the limiter must not become an outage of the service.
    """
    settings = app_state(app).settings
    if not settings.rate_limit:
        return
    rate = RateLimit.parse(settings.rate_limit)
    app.extensions[EXTENSION_KEY] = open_rate_limiter(rate, settings.redis_url, prefix=_PREFIX)

    @app.before_request
    async def _limit() -> Response | None:
        if ungated():
            return None
        try:
            decision = await app.extensions[EXTENSION_KEY].hit(client_identity())
        except REDIS_ERRORS as error:
            _log.warning("rate limiter unavailable, request let through: %s", type(error).__name__)
            return None
        g.rate_limit_decision = decision
        if decision.allowed:
            return None
        return problem(
            429,
            "Too many requests",
            f"this client may make {decision.limit} requests per {rate.period:g} s; "
            f"retry in {decision.headers()['Retry-After']} s",
            headers=decision.headers(),
        )

    @app.after_request
    async def _report(response: Response) -> Response:
        decision: RateLimitDecision | None = g.get("rate_limit_decision")
        if decision is not None and decision.allowed:
            response.headers.update(decision.headers())
        return response

    @app.after_serving
    async def _close() -> None:
        await app.extensions[EXTENSION_KEY].aclose()
