"""``findata keys``: create, list and revoke API keys in the configured database.

The key itself is printed once, by ``create``, and never stored: keep it then or
revoke it and create another. ``list`` shows ids and names only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from findata.api._auth import issue_key
from findata.api._redis import REDIS_ERRORS
from findata.api._revocation import announce_revocation
from findata.api._settings import Settings, SettingsError, load_settings
from findata.core import FindataError
from findata.db import DuplicateApiKeyError, KeyStore, default_database_url, open_key_store

__all__ = ["keys"]

T = TypeVar("T")
_ATTEMPTS = 3  # ids are random 64-bit values: a collision twice in a row means a bug


def _with_store(work: Callable[[KeyStore], Awaitable[T]]) -> T:
    """Run ``work`` on the key store of the configured database, and close it."""
    try:
        settings = load_settings()
        store = open_key_store(settings.connection_url() or default_database_url())
    except (SettingsError, FindataError) as error:
        raise click.ClickException(str(error)) from error

    async def run() -> T:
        try:
            return await work(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(run())
    except FindataError as error:
        raise click.ClickException(str(error)) from error


def _when(moment: dt.datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@click.group()
def keys() -> None:
    """Manage the API keys clients send as 'Authorization: Bearer <key>' or 'X-API-Key'."""


@keys.command()
@click.argument("name")
def create(name: str) -> None:
    """Create a key labelled NAME and print it (the only time it is shown)."""
    if not name.strip() or len(name) > 200 or not name.isprintable():
        raise click.BadParameter("give a printable label of 1 to 200 characters", param_hint="NAME")

    async def add(store: KeyStore) -> str:
        for _ in range(_ATTEMPTS):
            issued = issue_key(name.strip())
            try:
                await store.add_key(issued.record)
            except DuplicateApiKeyError:
                continue
            click.echo(f"created key {issued.record.key_id} ({issued.record.name})", err=True)
            click.echo("store it now: it cannot be shown again", err=True)
            return issued.token
        raise FindataError("could not find a free key id; is the key table corrupt?")

    click.echo(_with_store(add))


@keys.command("list")
def list_keys() -> None:
    """List every key: id, state, creation and revocation times, name."""
    records = _with_store(lambda store: store.list_keys())
    click.echo(f"{'ID':<16}  {'STATE':<7}  {'CREATED':<25}  {'REVOKED':<25}  NAME")
    for record in records:
        state = "active" if record.active else "revoked"
        click.echo(
            f"{record.key_id:<16}  {state:<7}  {_when(record.created_at):<25}  "
            f"{_when(record.revoked_at):<25}  {record.name}"
        )


@keys.command()
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke the key KEY_ID (the 16 hex digits after 'fd_').

    With `redis_url` configured, running servers are told at once; otherwise (or if
    Redis does not answer) each worker stops accepting the key when its cached lookup
    expires, within `api_key_cache_ttl` seconds (5 by default).
    """
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from error
    now = dt.datetime.now(dt.UTC)
    record = _with_store(lambda store: store.revoke_key(key_id, now))
    if record is None:
        raise click.ClickException(f"no API key with id {key_id!r}; see `findata keys list`")
    click.echo(f"revoked key {record.key_id} ({record.name}) at {_when(record.revoked_at)}")
    click.echo(_announce(settings, record.key_id), err=True)


def _announce(settings: Settings, key_id: str) -> str:
    """Announce the revocation to running servers; what the operator should expect."""
    fallback = f"within {settings.api_key_cache_ttl:g} s (their key cache lifetime)"
    if not settings.redis_url:
        return f"running servers stop accepting it {fallback}; set redis_url to tell them at once"
    try:
        reached = asyncio.run(announce_revocation(settings.redis_url, key_id))
    except REDIS_ERRORS as error:
        return (
            f"warning: could not announce it through Redis ({type(error).__name__}); "
            f"running servers stop accepting it {fallback}"
        )
    return f"announced to {reached} listening server worker(s): they stop accepting it at once"
