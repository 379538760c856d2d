"""Database URLs: the default location, backend selection and password redaction."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import platformdirs

from findata.core import InvalidParameterError

DATABASE_URL_ENV: Final = "FINDATA_DATABASE_URL"
POSTGRES_SCHEMES: Final = frozenset({"postgresql", "postgres"})
DUCKDB_SCHEME: Final = "duckdb"
MEMORY: Final = ":memory:"
_REDACTED: Final = "***"


def default_database_url() -> str:
    """``$FINDATA_DATABASE_URL``, else a DuckDB file in the per-user data directory.

    The fallback lets ``findata serve`` run on a machine with no database server.
    """
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    data_dir = Path(platformdirs.user_data_dir("findata", appauthor=False))
    return f"duckdb://{data_dir / 'findata.duckdb'}"


def url_scheme(url: str) -> str:
    """The backend named by ``url`` (``postgresql`` or ``duckdb``), or a typed error."""
    scheme = url.partition("://")[0].lower()
    if scheme in POSTGRES_SCHEMES:
        return "postgresql"
    if scheme == DUCKDB_SCHEME:
        return DUCKDB_SCHEME
    raise InvalidParameterError(
        "database_url",
        f"unsupported database URL {redact_url(url)!r}",
        value=redact_url(url),
        allowed=["postgresql://user@host:port/database", "duckdb:///absolute/path.duckdb"],
    )


def duckdb_path(url: str) -> str:
    """The file of a ``duckdb:///abs/path.duckdb`` URL, or ``:memory:``."""
    rest = url.partition("://")[2]
    if rest in (f"/{MEMORY}", MEMORY):
        return MEMORY
    if not rest.startswith("/"):
        raise InvalidParameterError(
            "database_url",
            f"DuckDB URL must hold an absolute path (duckdb:///abs/file.duckdb), got {url!r}",
            value=url,
        )
    return "/" + rest.lstrip("/")


def redact_url(url: str) -> str:
    """``url`` with its password (in the authority or a ``password=`` query) replaced by ``***``.

    Use it for every URL that reaches a log line or an error message.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return f"{url.partition('://')[0]}://{_REDACTED}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = any(key.lower() == "password" for key, _ in pairs)
    if password is None and not secret_query:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{_REDACTED}@{hostinfo}"
    query = parts.query
    if secret_query:
        query = urlencode(
            [(k, _REDACTED if k.lower() == "password" else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
