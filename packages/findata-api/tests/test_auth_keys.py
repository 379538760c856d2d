"""API keys: format, digests, and verification against a key store."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest

from findata.api._auth import ApiKeyVerifier, issue_key, key_digest, parse_key_id
from findata.db import ApiKeyRecord, MemoryKeyStore

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class CountingKeyStore(MemoryKeyStore):
    """A memory store that counts lookups, to see what the verifier's cache saves."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        self.lookups += 1
        return await super().get_key(key_id)


class PausingKeyStore(MemoryKeyStore):
    """A memory store whose lookups wait until ``resume`` is set, to overlap them with
    other events."""

    def __init__(self, records: list[ApiKeyRecord]) -> None:
        super().__init__(records)
        self.started = asyncio.Event()
        self.resume = asyncio.Event()

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        record = await super().get_key(key_id)
        self.started.set()
        await self.resume.wait()
        return record


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_given_a_name_when_issuing_then_the_token_is_never_part_of_the_record() -> None:
    # WHEN
    issued = issue_key("ci-pipeline", now=NOW)
    # THEN
    assert issued.token.startswith(f"fd_{issued.record.key_id}_")
    assert issued.token not in repr(issued.record)
    secret = issued.token.split("_", 2)[2]  # the secret may hold "_" itself
    assert secret not in repr(issued.record)
    assert issued.record.digest == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.record.name == "ci-pipeline"
    assert issued.record.created_at == NOW
    assert issued.record.active


def test_given_two_issued_keys_then_ids_and_secrets_differ() -> None:
    # WHEN
    first, second = issue_key("a"), issue_key("a")
    # THEN
    assert first.record.key_id != second.record.key_id
    assert first.token != second.token


@pytest.mark.parametrize(
    "token",
    [
        "",
        "fd_",
        "Bearer fd_0123456789abcdef_" + "a" * 43,
        "fd_0123456789ABCDEF_" + "a" * 43,  # the id is lower-case hex
        "fd_0123456789abcdef_" + "a" * 42,
        "fd_0123456789abcdef_" + "a" * 43 + "\n",
        "xx_0123456789abcdef_" + "a" * 43,
        "fd_0123456789abcdef_" + "a" * 40 + "' OR 1=1 --",
    ],
)
def test_given_a_malformed_token_when_parsing_then_no_id_is_found(token: str) -> None:
    # WHEN
    key_id = parse_key_id(token)
    # THEN
    assert key_id is None


async def test_given_a_stored_key_when_its_token_is_presented_then_it_verifies() -> None:
    # GIVEN
    issued = issue_key("dashboard")
    store = MemoryKeyStore([issued.record])
    verifier = ApiKeyVerifier(store)
    # WHEN
    record = await verifier.verify(issued.token)
    # THEN
    assert record == issued.record


async def test_given_a_stored_key_when_a_forged_secret_is_presented_then_it_is_refused() -> None:
    # GIVEN: a token with the right id but another secret
    issued = issue_key("dashboard")
    other_secret = issue_key("attacker").token.removeprefix("fd_")[17:]
    forged = f"fd_{issued.record.key_id}_{other_secret}"
    verifier = ApiKeyVerifier(MemoryKeyStore([issued.record]))
    # WHEN
    record = await verifier.verify(forged)
    # THEN
    assert forged != issued.token
    assert record is None


async def test_given_an_unknown_key_when_presented_then_it_is_refused() -> None:
    # GIVEN
    verifier = ApiKeyVerifier(MemoryKeyStore())
    # WHEN
    record = await verifier.verify(issue_key("never stored").token)
    # THEN
    assert record is None


async def test_given_a_revoked_key_when_presented_after_the_cache_expires_then_it_is_refused() -> (
    None
):
    # GIVEN
    issued = issue_key("old")
    store = MemoryKeyStore([issued.record])
    clock = FakeClock()
    verifier = ApiKeyVerifier(store, cache_ttl=5.0, clock=clock)
    assert await verifier.verify(issued.token) is not None
    # WHEN
    await store.revoke_key(issued.record.key_id, NOW)
    clock.now += 5.0
    record = await verifier.verify(issued.token)
    # THEN
    assert record is None


async def test_given_repeated_requests_when_verifying_then_the_store_is_asked_once_per_ttl() -> (
    None
):
    # GIVEN
    issued = issue_key("busy")
    store = CountingKeyStore()
    await store.add_key(issued.record)
    clock = FakeClock()
    verifier = ApiKeyVerifier(store, cache_ttl=5.0, clock=clock)
    # WHEN
    for _ in range(10):
        await verifier.verify(issued.token)
    clock.now += 6.0
    await verifier.verify(issued.token)
    # THEN
    assert store.lookups == 2


def test_key_digest_is_hex_sha256_of_the_whole_token() -> None:
    # GIVEN
    token = "fd_0123456789abcdef_" + "b" * 43
    # WHEN
    digest = key_digest(token)
    # THEN
    assert digest == hashlib.sha256(token.encode("utf-8")).hexdigest()


async def test_given_a_cached_key_when_it_is_forgotten_then_its_revocation_shows_at_once() -> None:
    # GIVEN: a verified key, cached for a minute
    issued = issue_key("leaked")
    store = MemoryKeyStore([issued.record])
    verifier = ApiKeyVerifier(store, cache_ttl=60.0, clock=FakeClock())
    assert await verifier.verify(issued.token) is not None
    await store.revoke_key(issued.record.key_id, NOW)
    still_cached = await verifier.verify(issued.token)
    # WHEN
    verifier.forget(issued.record.key_id)
    record = await verifier.verify(issued.token)
    # THEN
    assert still_cached is not None
    assert record is None


async def test_given_cached_keys_when_everything_is_forgotten_then_each_is_looked_up_again() -> (
    None
):
    # GIVEN
    keys = [issue_key("a"), issue_key("b")]
    store = CountingKeyStore()
    for key in keys:
        await store.add_key(key.record)
    verifier = ApiKeyVerifier(store, cache_ttl=60.0, clock=FakeClock())
    for key in keys:
        await verifier.verify(key.token)
    # WHEN
    verifier.forget()
    for key in keys:
        await verifier.verify(key.token)
    # THEN
    assert store.lookups == 4


async def test_given_an_unknown_id_when_presented_again_then_the_store_is_asked_once_per_ttl() -> (
    None
):
    # GIVEN
    guess = issue_key("never stored").token
    store = CountingKeyStore()
    clock = FakeClock()
    verifier = ApiKeyVerifier(store, cache_ttl=5.0, clock=clock)
    # WHEN
    answers = [await verifier.verify(guess) for _ in range(10)]
    clock.now += 6.0
    answers.append(await verifier.verify(guess))
    # THEN
    assert answers == [None] * 11
    assert store.lookups == 2


async def test_given_a_flood_of_unknown_ids_when_a_known_key_returns_then_it_is_still_cached() -> (
    None
):
    # GIVEN: a valid key cached, and room for 10 entries of each kind
    issued = issue_key("steady")
    store = CountingKeyStore()
    await store.add_key(issued.record)
    verifier = ApiKeyVerifier(store, cache_ttl=60.0, max_cached=10, clock=FakeClock())
    await verifier.verify(issued.token)
    # WHEN: 100 made-up ids, then the valid key again
    for _ in range(100):
        await verifier.verify(issue_key("guess").token)
    record = await verifier.verify(issued.token)
    # THEN: the valid key was looked up once only
    assert record == issued.record
    assert store.lookups == 1 + 100


async def test_given_a_lookup_in_flight_when_its_key_is_forgotten_then_the_answer_is_not_kept() -> (
    None
):
    # GIVEN: a lookup that read the still-active record, paused before it returns
    issued = issue_key("racing")
    store = PausingKeyStore([issued.record])
    verifier = ApiKeyVerifier(store, cache_ttl=60.0, clock=FakeClock())
    in_flight = asyncio.create_task(verifier.verify(issued.token))
    await store.started.wait()
    # WHEN: the key is revoked and the revocation announced while the lookup is in flight
    await store.revoke_key(issued.record.key_id, NOW)
    verifier.forget(issued.record.key_id)
    store.resume.set()
    stale = await in_flight
    after = await verifier.verify(issued.token)
    # THEN: the stale answer served the request already under way, but was not cached
    assert stale == issued.record
    assert after is None
