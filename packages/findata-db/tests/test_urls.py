"""Database URLs: the default location, backend choice and password redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from findata.core import InvalidParameterError
from findata.db import DuckDBStore, PostgresStore, default_database_url, open_store, redact_url


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
