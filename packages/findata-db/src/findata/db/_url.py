"""Database URLs: the default location, the password secret, backend selection, redaction."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import platformdirs

from findata.core import InvalidParameterError

DATABASE_URL_ENV: Final = "FINDATA_DATABASE_URL"
DATABASE_PASSWORD_ENV: Final = "FINDATA_DATABASE_PASSWORD"  # noqa: S105 (a variable name)
DATABASE_PASSWORD_FILE_ENV: Final = "FINDATA_DATABASE_PASSWORD_FILE"  # noqa: S105 (a name)
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


def database_password_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The database password from ``$FINDATA_DATABASE_PASSWORD`` or the file named by
    ``$FINDATA_DATABASE_PASSWORD_FILE`` (a mounted secret), else ``None``.

    Keeping the password out of the URL lets deployments inject it as a secret while
    the URL itself stays plain configuration.
    """
    env = os.environ if environ is None else environ
    if DATABASE_PASSWORD_ENV in env:
        return env[DATABASE_PASSWORD_ENV]
    if DATABASE_PASSWORD_FILE_ENV in env:
        path = Path(env[DATABASE_PASSWORD_FILE_ENV])
        try:
            # A mounted secret usually ends with a newline that is not part of the password.
            return path.read_text("utf-8").rstrip("\r\n")
        except OSError as exc:
            raise InvalidParameterError(
                DATABASE_PASSWORD_FILE_ENV, f"cannot read {path}: {exc.strerror}", value=str(path)
            ) from exc
    return None


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` URL-encoded into its authority (any characters allowed)."""
    parts = urlsplit(url)
    if parts.username is None:
        raise InvalidParameterError(
            "database_url",
            f"a database password is set but {redact_url(url)!r} names no user",
            value=redact_url(url),
        )
    # Only the user info changes: the hosts stay verbatim (IPv6 literals, libpq's
    # multi-host "h1:5432,h2:5433", which urlsplit's port parsing rejects).
    user_info, _, hosts = parts.netloc.rpartition("@")
    user = user_info.partition(":")[0]
    netloc = f"{user}:{quote(password, safe='')}@{hosts}"
    return urlunsplit(parts._replace(netloc=netloc))


def resolve_database_url(url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``url`` (default: ``default_database_url()``) with the password secret filled in.

    A password already in the URL wins; DuckDB URLs never take one. Never log the result:
    pass it through ``redact_url`` first.
    """
    resolved = url or default_database_url()
    if url_scheme(resolved) != "postgresql" or urlsplit(resolved).password is not None:
        return resolved
    password = database_password_from_env(environ)
    return resolved if password is None else with_password(resolved, password)


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


DUCKDB_URL_OPTIONS: Final = ("lock_timeout", "hold_idle", "cache_rows")
"""Query parameters a DuckDB URL may carry, the ``DuckDBStore`` arguments of the same names."""
_WHOLE_DUCKDB_URL_OPTIONS: Final = frozenset({"cache_rows"})


def duckdb_options(url: str) -> dict[str, float]:
    """The ``DUCKDB_URL_OPTIONS`` in ``url``'s query (``?hold_idle=5&lock_timeout=60``).

    Anything else, or a value that is not a finite number >= 0 (a whole one for
    ``cache_rows``), is an error naming it: a misspelt option must not silently fall
    back to its default, nor a fraction be truncated.
    """
    options: dict[str, float] = {}
    for key, value in parse_qsl(url.partition("?")[2], keep_blank_values=True):
        if key not in DUCKDB_URL_OPTIONS:
            raise InvalidParameterError(
                "database_url",
                f"unknown DuckDB URL option {key!r}; allowed: {', '.join(DUCKDB_URL_OPTIONS)}",
                value=redact_url(url),
            )
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        whole = key in _WHOLE_DUCKDB_URL_OPTIONS
        if not 0 <= number < float("inf") or (whole and not number.is_integer()):
            kind = "a whole number" if whole else "a number"
            raise InvalidParameterError(
                "database_url",
                f"DuckDB URL option {key}={value!r} must be {kind} >= 0",
                value=redact_url(url),
            )
        options[key] = number
    return options


def duckdb_path(url: str) -> str:
    """The file of a ``duckdb:///abs/path.duckdb`` URL (options after ``?`` aside), or
    ``:memory:``."""
    rest = url.partition("://")[2].partition("?")[0]
    if rest in (f"/{MEMORY}", MEMORY):
        return MEMORY
    if not rest.startswith("/"):
        raise InvalidParameterError(
            "database_url",
            f"DuckDB URL must hold an absolute path (duckdb:///abs/file.duckdb), got {url!r}",
            value=url,
        )
    return "/" + rest.lstrip("/")


def check_database_url(url: str) -> None:
    """Raise ``InvalidParameterError`` now for a URL no store could open: an unknown
    scheme, a relative DuckDB path, a bad DuckDB option. Settings call it when read, so
    ``findata serve`` says so in one line instead of failing in its worker."""
    if url_scheme(url) == DUCKDB_SCHEME:
        duckdb_path(url)
        duckdb_options(url)


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
