"""Database URLs: the default location, backend choice and password redaction."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from findata.core import InvalidParameterError
from findata.db import (
    DuckDBStore,
    PostgresStore,
    database_password_from_env,
    default_database_url,
    open_store,
    redact_url,
    resolve_database_url,
    with_password,
)


def test_the_default_url_is_a_duckdb_file_in_the_user_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN no FINDATA_DATABASE_URL and a known data home
    monkeypatch.delenv("FINDATA_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    # WHEN the default is resolved / THEN it is findata.duckdb under the data home
    assert default_database_url() == f"duckdb://{tmp_path / 'findata' / 'findata.duckdb'}"


def test_the_environment_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN FINDATA_DATABASE_URL / WHEN resolved / THEN it wins
    monkeypatch.setenv("FINDATA_DATABASE_URL", "postgresql://db.example/findata")
    assert default_database_url() == "postgresql://db.example/findata"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("postgresql://u@h/db", PostgresStore),
        ("postgres://u@h/db", PostgresStore),
        ("duckdb:///var/lib/findata/x.duckdb", DuckDBStore),
        ("duckdb:///:memory:", DuckDBStore),
    ],
)
def test_the_backend_is_chosen_by_scheme(url: str, kind: type) -> None:
    # GIVEN a URL / WHEN opened (not connected) / THEN the matching store is built
    assert isinstance(open_store(url), kind)


def test_a_duckdb_url_names_an_absolute_path() -> None:
    # GIVEN / WHEN a triple-slash DuckDB URL is opened / THEN its path is absolute
    store = open_store("duckdb:///var/lib/findata/x.duckdb")
    assert isinstance(store, DuckDBStore)
    assert store.path == "/var/lib/findata/x.duckdb"


def test_a_duckdb_url_query_sets_the_store_options() -> None:
    # GIVEN a DuckDB URL with options
    url = "duckdb:///var/lib/findata/x.duckdb?hold_idle=5&lock_timeout=60&cache_rows=1000"
    # WHEN opened
    store = open_store(url)
    # THEN the path leaves the query out and the options reach the store
    assert isinstance(store, DuckDBStore)
    assert store.path == "/var/lib/findata/x.duckdb"
    assert store.lock_timeout == 60.0
    assert (store.hold_idle, store.cache_rows) == (5.0, 1000)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("hold_idel=5", "hold_idel"),
        ("hold_idle=soon", "hold_idle"),
        ("lock_timeout=-1", "-1"),
        ("cache_rows=1.5", "whole number"),
    ],
)
def test_a_misspelt_or_invalid_duckdb_url_option_is_named_in_the_error(
    query: str, named: str
) -> None:
    # GIVEN / WHEN a DuckDB URL with a bad option is opened / THEN the error names it
    with pytest.raises(InvalidParameterError, match=named) as raised:
        open_store(f"duckdb:///tmp/x.duckdb?{query}")
    assert raised.value.parameter == "database_url"


@pytest.mark.parametrize("url", ["mysql://h/db", "duckdb://relative.duckdb", "nonsense"])
def test_unsupported_urls_raise_a_typed_error(url: str) -> None:
    # GIVEN an unusable URL / WHEN opened / THEN InvalidParameterError names the parameter
    with pytest.raises(InvalidParameterError) as raised:
        open_store(url)
    assert raised.value.parameter == "database_url"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://u:p%40ss%2Fw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql://u@h/db?password=abc&sslmode=require",
            "postgresql://u@h/db?password=***&sslmode=require",
        ),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("duckdb:///tmp/x.duckdb", "duckdb:///tmp/x.duckdb"),
    ],
)
def test_redact_url_hides_passwords_and_keeps_the_rest(url: str, redacted: str) -> None:
    # GIVEN a URL / WHEN redacted / THEN only the password is replaced
    assert redact_url(url) == redacted


def test_the_password_secret_is_url_encoded_into_a_postgres_url_without_one(
    tmp_path: Path,
) -> None:
    # GIVEN a URL without a password and a mounted secret file with awkward characters
    secret = tmp_path / "password"
    secret.write_text("p@ss:w/rd%?#\n", encoding="utf-8")
    environ = {"FINDATA_DATABASE_PASSWORD_FILE": str(secret)}

    # WHEN the URL is resolved
    resolved = resolve_database_url("postgresql://findata@db.internal:5432/findata", environ)

    # THEN the password round-trips through URL parsing, and redaction hides it
    parsed = urlsplit(resolved)
    assert unquote(parsed.password or "") == "p@ss:w/rd%?#"
    assert (parsed.hostname, parsed.port, parsed.path) == ("db.internal", 5432, "/findata")
    assert "p@ss" not in redact_url(resolved)


def test_the_password_variable_wins_over_the_file_and_a_url_password_wins_over_both() -> None:
    # GIVEN both secret sources
    environ = {"FINDATA_DATABASE_PASSWORD": "from-env", "FINDATA_DATABASE_PASSWORD_FILE": "/nope"}

    # WHEN / THEN the variable is used, and never overrides a password already in the URL
    assert database_password_from_env(environ) == "from-env"
    resolved = urlsplit(resolve_database_url("postgresql://u@h/db", environ))
    assert unquote(resolved.password or "") == "from-env"
    inline = "postgresql://u:inline@h/db"
    assert resolve_database_url(inline, environ) == inline


def test_duckdb_urls_and_absent_secrets_are_left_alone() -> None:
    # GIVEN a password secret / WHEN a DuckDB URL is resolved / THEN nothing is added
    assert resolve_database_url("duckdb:///tmp/x.duckdb", {"FINDATA_DATABASE_PASSWORD": "p"}) == (
        "duckdb:///tmp/x.duckdb"
    )
    # GIVEN no secret / WHEN a PostgreSQL URL is resolved / THEN it is unchanged
    assert resolve_database_url("postgresql://u@h/db", {}) == "postgresql://u@h/db"


def test_an_unreadable_password_file_or_a_url_without_user_is_a_clear_error(
    tmp_path: Path,
) -> None:
    # GIVEN a secret file that does not exist / WHEN resolved / THEN the error names the variable
    with pytest.raises(InvalidParameterError) as missing:
        database_password_from_env({"FINDATA_DATABASE_PASSWORD_FILE": str(tmp_path / "absent")})
    assert missing.value.parameter == "FINDATA_DATABASE_PASSWORD_FILE"

    # GIVEN a password but a URL naming no user / WHEN combined / THEN the error hides the secret
    with pytest.raises(InvalidParameterError) as no_user:
        with_password("postgresql://db.internal/findata", "s3cret")
    assert "s3cret" not in str(no_user.value)


@pytest.mark.parametrize(
    "hosts", ["h1:5432,h2:5433", "[::1]:5432", "db.internal"], ids=["multi", "ipv6", "plain"]
)
def test_the_password_secret_leaves_the_hosts_of_a_postgres_url_as_written(hosts: str) -> None:
    # GIVEN a URL whose host part urlsplit cannot parse as one host:port (libpq multi-host)
    url = f"postgresql://findata@{hosts}/findata?sslmode=require"

    # WHEN the password secret is filled in
    resolved = resolve_database_url(url, {"FINDATA_DATABASE_PASSWORD": "s3:cr@t"})

    # THEN only the user info changed
    assert resolved == f"postgresql://findata:s3%3Acr%40t@{hosts}/findata?sslmode=require"
