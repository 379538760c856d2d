"""Revocations announced to every serving worker through Redis pub/sub.

Each worker caches key lookups for ``api_key_cache_ttl`` seconds, so on its own a
revoked key keeps working on a worker until that worker's entry expires.
``findata keys revoke`` therefore publishes the key's id on ``CHANNEL`` after the
database committed the revocation, and every worker listening drops the key from
its cache within milliseconds (ADR 0054). Pub/sub delivers only to workers
connected at that moment, so a worker forgets its whole cache each time its
subscription is (re)confirmed: whatever it missed while disconnected, it looks up
again. When Redis is not configured or unreachable, the cache lifetime remains the
bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final

from findata.api._redis import REDIS_ERRORS, redis_client

__all__ = ["CHANNEL", "RevocationListener", "announce_revocation"]

CHANNEL: Final = "findata:api-keys:revoked"
_log = logging.getLogger("findata.api")


async def announce_revocation(redis_url: str, key_id: str, *, channel: str = CHANNEL) -> int:
    """Tell the workers listening on ``redis_url`` that ``key_id`` was revoked; returns how
    many subscribers Redis handed it to; raises one of ``REDIS_ERRORS`` when Redis
    cannot be reached."""
    client = redis_client(redis_url)
    try:
        reached: int = await client.publish(channel, key_id)
        return reached
    finally:
        await client.aclose()


class RevocationListener:
    """Calls ``forget(key_id)`` for each announced revocation, and ``forget(None)`` (forget
    everything) whenever its subscription is confirmed, first or after a reconnection.

    Runs as a task between ``start()`` and ``aclose()``; when Redis fails it logs, waits
    ``retry_delay`` seconds and subscribes again. ``listening`` is set while subscribed.
    """

    def __init__(
        self,
        redis_url: str,
        forget: Callable[[str | None], None],
        *,
        channel: str = CHANNEL,
        retry_delay: float = 1.0,
    ) -> None:
        self._redis_url = redis_url
        self._forget = forget
        self._channel = channel
        self._retry_delay = retry_delay
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        """Start listening in the background (call inside the serving event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def aclose(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            client = redis_client(self._redis_url, subscriber=True)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    while True:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self._handle(message)
            except REDIS_ERRORS as error:
                self.listening.clear()
                _log.warning(
                    "revocation listener lost Redis (%s); revoked keys may be accepted for "
                    "up to api_key_cache_ttl seconds until it is back",
                    type(error).__name__,
                )
            finally:
                await client.aclose()
            await asyncio.sleep(self._retry_delay)

    def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            # Also sent when redis-py reconnects by itself and subscribes again: anything
            # announced in between was missed, so nothing cached before can be trusted.
            self._forget(None)
            self.listening.set()
        elif message["type"] == "message":
            data = message["data"]
            self._forget(data.decode("ascii", "replace") if isinstance(data, bytes) else str(data))
