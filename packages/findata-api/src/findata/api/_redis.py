"""Connections to the Redis that workers share: its timeouts and failures, in one place.

Redis is optional (limits then live in process memory, revocations wait for the key
cache to expire) and must never take the service down: callers catch
``REDIS_ERRORS`` and carry on without it.
"""

from __future__ import annotations

from typing import Final

import redis.asyncio
import redis.exceptions

__all__ = ["REDIS_ERRORS", "redis_client"]

# What redis-py raises when Redis is down, refuses, or hangs past a timeout.
REDIS_ERRORS: Final = (redis.exceptions.RedisError, OSError)


def redis_client(url: str, *, subscriber: bool = False) -> redis.asyncio.Redis:
    """A lazily connecting client of the Redis at ``url`` (``redis://host:port/db``).

    Commands time out after half a second: a Redis that hangs must cost a request that
    much at most. A ``subscriber`` waits for messages as long as it lives, so it has no
    read timeout; a ping every 10 s and TCP keepalives notice a dead connection instead.
    """
    if subscriber:
        return redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_keepalive=True, health_check_interval=10
        )
    return redis.asyncio.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
