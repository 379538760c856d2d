"""API keys: issuing, verifying, and the request gate that requires them.

A key reads ``fd_<id>_<secret>``: the id is public (it names the key in
``findata keys list`` and in logs, and finds the stored record in one lookup);
the secret is 256 random bits. Only the SHA-256 digest of the whole key is
stored. A slow password hash (scrypt, argon2) would add tens of milliseconds to
every request and buys nothing here: it protects low-entropy human passwords
against guessing, while a 256-bit random secret cannot be guessed from its
digest (see docs/decisions/0050-api-key-format-and-storage.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Final

from cachetools import TTLCache
from quart import Quart, Response, g, request

from findata.api._failed_auth import FailedAuthLimit
from findata.api._gate import is_page, ungated
from findata.api._problems import problem
from findata.api._revocation import RevocationListener
from findata.api._state import app_state
from findata.db import ApiKeyRecord, KeyStore, default_database_url, open_key_store

__all__ = [
    "EXTENSION_KEY",
    "KEY_PREFIX",
    "REVOCATIONS_KEY",
    "ApiKeyVerifier",
    "IssuedKey",
    "init_app",
    "issue_key",
    "key_digest",
    "parse_key_id",
    "presented_key",
]

KEY_PREFIX: Final = "fd_"
_KEY_PATTERN: Final = re.compile(r"fd_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# Compared against when the id is unknown, so a miss costs what a mismatch costs.
_DUMMY_DIGEST: Final = hashlib.sha256(b"findata: no such key").hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedKey:
    """A newly issued key: ``token`` is shown to its owner once and never stored."""

    token: str
    record: ApiKeyRecord


def key_digest(token: str) -> str:
    """The stored form of a key: hex SHA-256 of the whole token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_key(name: str, *, now: dt.datetime | None = None) -> IssuedKey:
    """A fresh random key named ``name``; store ``.record`` and hand ``.token`` to the client."""
    key_id = secrets.token_hex(8)
    token = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    created = now or dt.datetime.now(dt.UTC)
    return IssuedKey(token, ApiKeyRecord(key_id, name, key_digest(token), created))


def parse_key_id(token: str) -> str | None:
    """The public id inside a well-formed key, or None for anything else."""
    match = _KEY_PATTERN.fullmatch(token)
    return match.group(1) if match else None


class ApiKeyVerifier:
    """Checks presented keys against a ``KeyStore``, caching lookups for ``cache_ttl`` seconds.

    The cache spares the database one query per request; the price is that a revoked
    key keeps working on this worker until its entry expires or ``forget`` drops it
    (the revocation listener calls it when Redis announces a revocation). Ids the store
    does not know are cached apart from known ones, so a flood of made-up ids can
    neither reach the store twice for one id nor push valid keys out of the cache.
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        cache_ttl: float = 5.0,
        max_cached: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._known: TTLCache[str, ApiKeyRecord] = TTLCache(max_cached, cache_ttl, timer=clock)
        self._unknown: TTLCache[str, bool] = TTLCache(max_cached, cache_ttl, timer=clock)
        # Bumped by forget(): a lookup that overlapped a revocation must not cache its answer.
        self._generation = 0

    async def verify(self, token: str) -> ApiKeyRecord | None:
        """The active record ``token`` belongs to, or None (malformed, unknown, revoked, wrong)."""
        key_id = parse_key_id(token)
        if key_id is None:
            return None
        record = await self._lookup(key_id)
        expected = record.digest if record is not None else _DUMMY_DIGEST
        matches = hmac.compare_digest(expected, key_digest(token))
        if record is None or not matches or not record.active:
            return None
        return record

    def forget(self, key_id: str | None = None) -> None:
        """Drop ``key_id`` (every key when None) from the cache: the next request looks it up."""
        self._generation += 1
        if key_id is None:
            self._known.clear()
            self._unknown.clear()
        else:
            self._known.pop(key_id, None)
            self._unknown.pop(key_id, None)

    async def _lookup(self, key_id: str) -> ApiKeyRecord | None:
        record = self._known.get(key_id)
        if record is not None or key_id in self._unknown:
            return record
        generation = self._generation
        record = await self.store.get_key(key_id)
        if generation == self._generation:
            if record is None:
                self._unknown[key_id] = True
            else:
                self._known[key_id] = record
        return record


# --- the request gate -------------------------------------------------------

EXTENSION_KEY: Final = "findata.api_keys"
# The RevocationListener of a serving app, while ``redis_url`` is set.
REVOCATIONS_KEY: Final = "findata.api_keys.revocations"
_REALM: Final = 'Bearer realm="findata"'


def presented_key() -> str | None:
    """The key sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, if any."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key", "").strip() or None


def init_app(app: Quart) -> None:
    """Require a valid API key on every request but the probes and the pages, when
    ``api_keys_required``.

    The verifier is built from the store's URL when serving starts, unless one was put
    in ``app.extensions[EXTENSION_KEY]`` before (tests, embedding). With ``redis_url``
    set, it listens for revocations announced by ``findata keys revoke``. Wrong keys
    count against ``failed_auth_limit`` per client address. With keys off (local quick
    start, tests) presented keys are ignored.
    """
    settings = app_state(app).settings
    if not settings.api_keys_required:
        return
    failures = FailedAuthLimit.from_settings(settings)

    @app.before_serving
    async def _open_key_store() -> None:
        if EXTENSION_KEY not in app.extensions:
            url = settings.connection_url() or default_database_url()
            app.extensions[EXTENSION_KEY] = ApiKeyVerifier(
                open_key_store(url), cache_ttl=settings.api_key_cache_ttl
            )
        if settings.redis_url:
            listener = RevocationListener(settings.redis_url, app.extensions[EXTENSION_KEY].forget)
            listener.start()
            app.extensions[REVOCATIONS_KEY] = listener

    @app.after_serving
    async def _close_key_store() -> None:
        listener: RevocationListener | None = app.extensions.pop(REVOCATIONS_KEY, None)
        if listener is not None:
            await listener.aclose()
        if failures is not None:
            await failures.aclose()
        verifier: ApiKeyVerifier | None = app.extensions.get(EXTENSION_KEY)
        if verifier is not None:
            await verifier.store.aclose()

    @app.before_request
    async def _require_key() -> Response | None:
        if ungated() or is_page():
            return None
        token = presented_key()
        if token is None:
            return problem(
                401,
                "API key required",
                "send your key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                headers={"WWW-Authenticate": _REALM},
            )
        # An address out of attempts is refused before its key costs a lookup.
        if failures is not None and (refused := await failures.refusal()) is not None:
            return refused
        verifier: ApiKeyVerifier = app.extensions[EXTENSION_KEY]
        record = await verifier.verify(token)
        if record is None:
            if failures is not None and (refused := await failures.record_failure()) is not None:
                return refused
            return problem(
                401,
                "Invalid API key",
                "the API key is unknown, revoked or mistyped",
                headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
            )
        g.api_key_id = record.key_id
        return None
