"""Settings: YAML per environment, FINDATA_* overrides, secrets kept out of sight."""

from __future__ import annotations

from pathlib import Path

import pytest

from findata.api import Secret, SettingsError, load_settings


def test_given_no_environment_when_loading_then_local_defaults_apply() -> None:
    # WHEN
    settings = load_settings(environ={})
    # THEN
    assert settings.env == "local"
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert settings.log_format == "text"  # from config/local.yaml


def test_given_findata_env_when_loading_then_that_environments_yaml_is_used() -> None:
    # WHEN
    settings = load_settings(environ={"FINDATA_ENV": "production"})
    # THEN
    assert settings.env == "production"
    assert settings.api_keys_required is True
    assert settings.log_format == "json"


def test_given_env_vars_when_loading_then_they_override_yaml_with_the_fields_types() -> None:
    # GIVEN
    environ = {
        "FINDATA_ENV": "production",
        "FINDATA_PORT": "8080",
        "FINDATA_API_KEYS_REQUIRED": "false",
        "FINDATA_CORS_ORIGINS": "https://a.example, https://b.example",
        "FINDATA_RATE_LIMIT": "100/minute",
        "FINDATA_DATA_VERSION_TTL": "0.5",
    }
    # WHEN
    settings = load_settings(environ=environ)
    # THEN
    assert settings.port == 8080
    assert settings.api_keys_required is False
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.rate_limit == "100/minute"
    assert settings.data_version_ttl == 0.5


def test_given_overrides_when_loading_then_they_beat_the_environment() -> None:
    # WHEN
    settings = load_settings({"port": 9000}, environ={"FINDATA_PORT": "8080"})
    # THEN
    assert settings.port == 9000


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"FINDATA_ENV": "staging"}, "FINDATA_ENV"),
        ({"FINDATA_PORT": "eighty"}, "FINDATA_PORT"),
        ({"FINDATA_ACCESS_LOG": "maybe"}, "FINDATA_ACCESS_LOG"),
        ({"FINDATA_LOG_FORMAT": "xml"}, "log_format"),
        ({"FINDATA_DATABASE_URL": "mysql://h/db"}, "database_url"),
        ({"FINDATA_DATABASE_URL": "duckdb:///tmp/x.duckdb?hold_idel=1"}, "hold_idel"),
    ],
)
def test_given_a_bad_value_when_loading_then_the_error_names_its_source(
    environ: dict[str, str], named: str
) -> None:
    # WHEN
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    # THEN
    assert named in str(caught.value)


def test_given_a_config_file_with_an_unknown_key_when_loading_then_file_and_key_are_named(
    tmp_path: Path,
) -> None:
    # GIVEN
    config = tmp_path / "findata.yaml"
    config.write_text("port: 7000\nprot: 7001\n", encoding="utf-8")
    # WHEN
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"FINDATA_CONFIG_FILE": str(config)})
    # THEN
    assert str(config) in str(caught.value)
    assert "prot" in str(caught.value)


def test_given_a_password_file_when_building_the_url_then_it_is_url_encoded_and_never_shown(
    tmp_path: Path,
) -> None:
    # GIVEN a mounted secret with URL-hostile characters and a trailing newline
    secret = tmp_path / "db-password"
    secret.write_text("p@ss:w/rd%\n", encoding="utf-8")
    environ = {
        "FINDATA_DATABASE_URL": "postgresql://findata@db.internal:5432/findata",
        "FINDATA_DATABASE_PASSWORD_FILE": str(secret),
    }
    # WHEN
    settings = load_settings(environ=environ)
    # THEN
    assert (
        settings.connection_url()
        == "postgresql://findata:p%40ss%3Aw%2Frd%25@db.internal:5432/findata"
    )
    assert "p@ss" not in repr(settings)
    assert "p%40ss" not in repr(settings)
    assert settings.database_password == Secret("p@ss:w/rd%")


def test_given_a_password_inside_the_url_when_printing_settings_then_it_is_redacted() -> None:
    # GIVEN
    environ = {"FINDATA_DATABASE_URL": "postgresql://findata:hunter2@db/findata"}
    # WHEN
    shown = repr(load_settings(environ=environ))
    # THEN
    assert "hunter2" not in shown
    assert "postgresql://findata:***@db/findata" in shown


def test_given_a_missing_password_file_when_loading_then_the_error_names_the_file(
    tmp_path: Path,
) -> None:
    # GIVEN
    missing = tmp_path / "nope"
    # WHEN
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"FINDATA_DATABASE_PASSWORD_FILE": str(missing)})
    # THEN
    assert str(missing) in str(caught.value)
