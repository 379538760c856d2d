"""The limit on wrong API keys per client address.

A 256-bit secret cannot be guessed, but every well-formed key with an unknown id
costs a key-store lookup, so unlimited attempts are a cheap way to load the
database and an open door should part of a key leak. Each address may send
``failed_auth_limit`` wrong keys (GCRA as in ADR 0051: the whole quota as a burst,
then a steady refill); once they are used up, every request from it that presents
a key is answered 429 with ``Retry-After`` before any lookup. Only failures count,
so a client whose key is valid is never slowed by its own traffic (ADR 0053).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from quart import Response

from findata.api._gate import client_address
from findata.api._problems import problem
from findata.api._ratelimit import RateLimit, RateLimitDecision, RateLimiter, open_rate_limiter
from findata.api._redis import REDIS_ERRORS
from findata.api._settings import Settings

__all__ = ["FailedAuthLimit"]

_PREFIX: Final = "findata:authfail:"  # this limit's keys in Redis, one per address
_log = logging.getLogger("findata.api")


class FailedAuthLimit:
    """Counts wrong keys per client address of the current request; see the module doc.

    A limiter that fails (Redis down) lets requests through and logs a warning, as the
    request rate limit does: its outage must not lock every client out.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    @classmethod
    def from_settings(cls, settings: Settings) -> FailedAuthLimit | None:
        """The limit the settings ask for, shared through ``redis_url`` when it is set;
        None when ``failed_auth_limit`` is unset."""
        if not settings.failed_auth_limit:
            return None
        rate = RateLimit.parse(settings.failed_auth_limit, setting="failed_auth_limit")
        return cls(open_rate_limiter(rate, settings.redis_url, prefix=_PREFIX))

    async def refusal(self) -> Response | None:
        """A 429 when the current request's address has no wrong keys left, else None."""
        return await self._decide(self.limiter.peek)

    async def record_failure(self) -> Response | None:
        """Count a wrong key from the current request's address; a 429 when that went
        over the limit (concurrent failures), else None."""
        return await self._decide(self.limiter.hit)

    async def _decide(self, step: Callable[[str], Awaitable[RateLimitDecision]]) -> Response | None:
        try:
            decision = await step(client_address())
        except REDIS_ERRORS as error:
            _log.warning("failed-key limiter unavailable: %s", type(error).__name__)
            return None
        return None if decision.allowed else self._too_many(decision)

    async def aclose(self) -> None:
        await self.limiter.aclose()

    def _too_many(self, decision: RateLimitDecision) -> Response:
        retry_after = decision.headers()["Retry-After"]
        rate = self.limiter.rate
        return problem(
            429,
            "Too many failed authentication attempts",
            f"this address sent more than {rate.limit} invalid API keys in {rate.period:g} s; "
            f"retry in {retry_after} s",
            headers={"Retry-After": retry_after},
        )
