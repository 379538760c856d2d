"""Rate limits: parsing, the in-memory GCRA, and the shared Redis GCRA."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
import redis.exceptions

from findata.api._ratelimit import (
    MemoryRateLimiter,
    RateLimit,
    RateLimitDecision,
    RedisRateLimiter,
)
from findata.core import InvalidParameterError


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/minute", RateLimit(100, 60.0)),
        ("10 per second", RateLimit(10, 1.0)),
        ("5/hours", RateLimit(5, 3600.0)),
        ("1000/5minutes", RateLimit(1000, 300.0)),
        (" 7/Day ", RateLimit(7, 86400.0)),
    ],
)
def test_given_a_written_rate_when_parsing_then_count_and_period_are_read(
    text: str, expected: RateLimit
) -> None:
    # WHEN
    parsed = RateLimit.parse(text)
    # THEN
    assert parsed == expected


@pytest.mark.parametrize("text", ["", "fast", "100/fortnight", "0/minute", "-1/minute", "/minute"])
def test_given_an_unreadable_rate_when_parsing_then_a_typed_error_names_the_setting(
    text: str,
) -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        RateLimit.parse(text)
    # THEN
    assert caught.value.parameter == "rate_limit"


@pytest.mark.parametrize("text", ["0/minute", "often"])
def test_given_another_setting_when_its_rate_is_unreadable_then_the_error_names_that_setting(
    text: str,
) -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        RateLimit.parse(text, setting="failed_auth_limit")
    # THEN
    assert caught.value.parameter == "failed_auth_limit"


def test_given_a_refused_decision_when_rendering_headers_then_retry_after_is_whole_seconds() -> (
    None
):
    # GIVEN
    decision = RateLimitDecision(
        allowed=False, limit=10, remaining=0, reset_after=5.2, retry_after=0.3
    )
    # WHEN
    headers = decision.headers()
    # THEN
    assert headers == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "6",
        "Retry-After": "1",
    }


def test_given_an_allowed_decision_when_rendering_headers_then_no_retry_after() -> None:
    # GIVEN
    decision = RateLimitDecision(allowed=True, limit=3, remaining=2, reset_after=1.0, retry_after=0)
    # WHEN
    headers = decision.headers()
    # THEN
    assert "Retry-After" not in headers
    assert headers["RateLimit-Remaining"] == "2"


async def test_given_a_fresh_client_when_it_bursts_then_exactly_the_quota_passes() -> None:
    # GIVEN
    clock = FakeClock()
    limiter = MemoryRateLimiter(RateLimit(5, 10.0), clock=clock)
    # WHEN
    decisions = [await limiter.hit("client") for _ in range(7)]
    # THEN
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert decisions[5].retry_after == pytest.approx(2.0)


async def test_given_an_exhausted_client_when_an_interval_passes_then_one_more_passes() -> None:
    # GIVEN: 5 per 10 s, so one request's worth of quota returns every 2 s
    clock = FakeClock()
    limiter = MemoryRateLimiter(RateLimit(5, 10.0), clock=clock)
    for _ in range(5):
        await limiter.hit("client")
    # WHEN
    clock.now += 2.0
    first, second = await limiter.hit("client"), await limiter.hit("client")
    # THEN
    assert first.allowed
    assert not second.allowed


async def test_given_one_exhausted_client_when_another_asks_then_it_is_not_starved() -> None:
    # GIVEN
    limiter = MemoryRateLimiter(RateLimit(2, 60.0), clock=FakeClock())
    for _ in range(3):
        await limiter.hit("greedy")
    # WHEN
    decision = await limiter.hit("polite")
    # THEN
    assert decision.allowed
    assert decision.remaining == 1


async def test_given_a_client_when_peeking_then_nothing_is_used_up() -> None:
    # GIVEN: 2 per 60 s
    limiter = MemoryRateLimiter(RateLimit(2, 60.0), clock=FakeClock())
    # WHEN
    peeks = [await limiter.peek("client") for _ in range(5)]
    hits = [await limiter.hit("client") for _ in range(3)]
    # THEN
    assert all(p.allowed and p.remaining == 2 for p in peeks)
    assert [h.allowed for h in hits] == [True, True, False]


async def test_given_an_exhausted_client_when_peeking_then_refused_until_an_interval_passes() -> (
    None
):
    # GIVEN: 2 per 60 s, both used: one more is allowed 30 s later
    clock = FakeClock()
    limiter = MemoryRateLimiter(RateLimit(2, 60.0), clock=clock)
    await limiter.hit("client")
    await limiter.hit("client")
    # WHEN
    refused = await limiter.peek("client")
    clock.now += 30.0
    allowed = await limiter.peek("client")
    # THEN
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(30.0)
    assert allowed.allowed
    assert allowed.remaining == 1


async def test_given_the_key_table_is_full_when_a_new_client_arrives_then_idle_clients_go() -> None:
    # GIVEN: two clients whose quota has fully refilled
    clock = FakeClock()
    limiter = MemoryRateLimiter(RateLimit(1, 1.0), clock=clock, max_keys=2)
    await limiter.hit("a")
    await limiter.hit("b")
    clock.now += 5
    # WHEN
    await limiter.hit("c")
    # THEN: the refilled clients were forgotten, the new one is tracked
    assert set(limiter._tat) == {"c"}


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis, removed afterwards."""
    client = redis.asyncio.Redis.from_url(redis_url)
    prefix = f"findata-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_given_redis_when_a_client_bursts_then_exactly_the_quota_passes(
    redis_url: str, redis_prefix: str
) -> None:
    # GIVEN
    limiter = RedisRateLimiter.from_url(RateLimit(3, 60.0), redis_url, prefix=redis_prefix)
    # WHEN
    decisions = [await limiter.hit("client") for _ in range(5)]
    # THEN
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after == pytest.approx(20.0, abs=0.5)
    assert decisions[3].headers()["Retry-After"] == "20"
    # TEARDOWN
    await limiter.aclose()


async def test_given_redis_when_peeking_then_it_agrees_with_hit_and_uses_nothing_up(
    redis_url: str, redis_prefix: str
) -> None:
    # GIVEN: 2 per 60 s
    limiter = RedisRateLimiter.from_url(RateLimit(2, 60.0), redis_url, prefix=redis_prefix)
    # WHEN
    fresh = [await limiter.peek("client") for _ in range(3)]
    hits = [await limiter.hit("client") for _ in range(2)]
    exhausted = await limiter.peek("client")
    # THEN
    assert [(p.allowed, p.remaining) for p in fresh] == [(True, 2)] * 3
    assert [h.allowed for h in hits] == [True, True]
    assert not exhausted.allowed
    assert exhausted.retry_after == pytest.approx(30.0, abs=0.5)
    # TEARDOWN
    await limiter.aclose()


async def test_given_two_workers_on_one_redis_when_both_serve_a_client_then_they_share_the_limit(
    redis_url: str, redis_prefix: str
) -> None:
    # GIVEN: two limiters standing for two worker processes
    worker_a = RedisRateLimiter.from_url(RateLimit(4, 60.0), redis_url, prefix=redis_prefix)
    worker_b = RedisRateLimiter.from_url(RateLimit(4, 60.0), redis_url, prefix=redis_prefix)
    # WHEN: the client alternates between them
    decisions = [await (worker_a if i % 2 else worker_b).hit("client") for i in range(6)]
    # THEN
    assert sum(d.allowed for d in decisions) == 4
    # TEARDOWN
    await worker_a.aclose()
    await worker_b.aclose()


async def test_given_redis_when_a_client_is_refused_then_no_key_outlives_the_quota(
    redis_url: str, redis_prefix: str
) -> None:
    # GIVEN
    limiter = RedisRateLimiter.from_url(RateLimit(2, 10.0), redis_url, prefix=redis_prefix)
    # WHEN
    for _ in range(3):
        await limiter.hit("client")
    client = redis.asyncio.Redis.from_url(redis_url)
    ttl_ms = await client.pttl(redis_prefix + "client")
    # THEN: the stored arrival time expires once the full quota is back (10 s at most)
    assert 0 < ttl_ms <= 10_000
    # TEARDOWN
    await client.aclose()
    await limiter.aclose()
