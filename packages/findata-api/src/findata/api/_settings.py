"""Typed settings of the service, read in one place.

Values come, in increasing precedence, from the field defaults, the packaged YAML
file of the environment named by ``FINDATA_ENV`` (``local``, ``test``,
``development``, ``production``), an optional YAML file named by
``FINDATA_CONFIG_FILE`` (a deployment's own), ``FINDATA_<FIELD>`` environment
variables, and finally the ``overrides`` passed to ``create_app``. The database
password never lives in a file under version control: it comes from
``FINDATA_DATABASE_PASSWORD`` or the file named by ``FINDATA_DATABASE_PASSWORD_FILE``
(a mounted secret), and is URL-encoded into the connection URL on demand only.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from findata.core import FindataError
from findata.db import check_database_url, redact_url, with_password

ENVIRONMENTS: Final = ("local", "test", "development", "production")
ENV_PREFIX: Final = "FINDATA_"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


class SettingsError(FindataError):
    """The configuration is invalid; the message names the source and the setting."""


class Secret:
    """A string that never shows itself in ``repr``/``str`` (so never in logs or tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value; call only where it is needed (building a connection)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service can be configured with. Field names map to ``FINDATA_<NAME>``."""

    env: str = "local"
    # Storage. ``None`` means findata-db's default embedded DuckDB file.
    database_url: str | None = None
    database_password: Secret | None = None
    # Serving (``findata serve``).
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    graceful_timeout: float = 10.0
    # Logging: JSON lines for machines, or plain text while developing.
    log_level: str = "INFO"
    log_format: str = "json"
    access_log: bool = True
    # Access control and rate limiting (used by the extensions in _auth/_ratelimit).
    api_keys_required: bool = False
    rate_limit: str | None = None
    redis_url: str | None = None
    # Wrong API keys one client address may send (as a rate, like ``rate_limit``) before
    # it gets 429; None: unlimited. Shared through Redis when ``redis_url`` is set.
    failed_auth_limit: str | None = "20/minute"
    # Seconds a worker trusts a key it looked up: without Redis (which announces
    # revocations at once), how long a revoked key may still be accepted.
    api_key_cache_ttl: float = 5.0
    cors_origins: list[str] = dataclasses.field(default_factory=list)
    # Query limits.
    default_limit: int = 10_000
    max_limit: int = 50_000
    # Caching: in-process cache budget (computed results and rendered responses share
    # it), HTTP max-age, and how long a data version read from the store is trusted.
    cache_megabytes: int = 256
    cache_max_age: int = 60
    data_version_ttl: float = 1.0
    # Store outages: the Retry-After a 503 advertises, and the readiness probe budget.
    store_retry_after: int = 5
    store_timeout: float = 5.0
    # Serve the pages for people: the API docs (/docs) and the chart page (/chart).
    docs_enabled: bool = True
    # Move the start-up heap out of the cyclic GC's way when serving (see _app.py).
    gc_freeze: bool = True

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise SettingsError(f"env must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}")
        if not 1 <= self.default_limit <= self.max_limit:
            raise SettingsError("default_limit must be between 1 and max_limit")
        for name in (
            "port",
            "workers",
            "cache_megabytes",
            "cache_max_age",
            "store_retry_after",
            "api_key_cache_ttl",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must not be negative")
        if self.log_format not in ("json", "text"):
            raise SettingsError(f"log_format must be 'json' or 'text', not {self.log_format!r}")
        if self.database_url is not None:
            try:
                check_database_url(self.database_url)
            except FindataError as error:
                raise SettingsError(f"database_url: {error}") from error

    def connection_url(self) -> str | None:
        """The database URL with the password (if any) URL-encoded into it.

        Never log the result; log ``redacted_database_url`` instead.
        """
        if self.database_url is None or self.database_password is None:
            return self.database_url
        try:
            return with_password(self.database_url, self.database_password.reveal())
        except FindataError as error:
            raise SettingsError(str(error)) from error

    @property
    def redacted_database_url(self) -> str | None:
        """The database URL safe to print: any password replaced by asterisks."""
        return None if self.database_url is None else redact_url(self.database_url)

    def __repr__(self) -> str:
        shown = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name != "database_url"
        }
        shown["database_url"] = self.redacted_database_url
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from YAML, the environment and ``overrides`` (see the module doc)."""
    environ = os.environ if environ is None else environ
    env = str((overrides or {}).get("env") or environ.get(f"{ENV_PREFIX}ENV") or "local")
    if env not in ENVIRONMENTS:
        raise SettingsError(
            f"{ENV_PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}"
        )
    values: dict[str, Any] = {}
    values.update(_packaged_yaml(env))
    if extra := environ.get(f"{ENV_PREFIX}CONFIG_FILE"):
        values.update(_yaml_file(Path(extra)))
    values.update(_from_environ(environ))
    values.update(overrides or {})
    values["env"] = env
    return _build(values, source="configuration")


def _packaged_yaml(env: str) -> dict[str, Any]:
    text = resources.files("findata.api").joinpath("config", f"{env}.yaml").read_text("utf-8")
    return _parse_yaml(text, f"config/{env}.yaml (packaged)")


def _yaml_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SettingsError(f"{ENV_PREFIX}CONFIG_FILE: cannot read {path}: {exc.strerror}") from exc
    return _parse_yaml(text, str(path))


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"{source}: invalid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{source}: expected a mapping of setting names to values")
    unknown = sorted(set(loaded) - _FIELD_TYPES.keys())
    if unknown:
        raise SettingsError(f"{source}: unknown settings {', '.join(map(str, unknown))}")
    return {name: _coerce(name, value, source) for name, value in loaded.items()}


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FIELD_TYPES:
        if name in ("env", "database_password"):
            continue
        key = f"{ENV_PREFIX}{name.upper()}"
        if key in environ:
            values[name] = _coerce(name, environ[key], key)
    password_key, file_key = f"{ENV_PREFIX}DATABASE_PASSWORD", f"{ENV_PREFIX}DATABASE_PASSWORD_FILE"
    if password_key in environ:
        values["database_password"] = Secret(environ[password_key])
    elif file_key in environ:
        path = Path(environ[file_key])
        try:
            # A mounted secret usually ends with a newline that is not part of the password.
            values["database_password"] = Secret(path.read_text("utf-8").rstrip("\r\n"))
        except OSError as exc:
            raise SettingsError(f"{file_key}: cannot read {path}: {exc.strerror}") from exc
    return values


def _build(values: Mapping[str, Any], *, source: str) -> Settings:
    unknown = sorted(set(values) - _FIELD_TYPES.keys())
    if unknown:
        raise SettingsError(f"{source}: unknown settings {', '.join(unknown)}")
    coerced = {name: _coerce(name, value, source) for name, value in values.items()}
    return Settings(**coerced)


def _coerce(name: str, value: Any, source: str) -> Any:
    """Convert ``value`` (from YAML, an env var string or Python) to the field's type."""
    wanted = _FIELD_TYPES[name]
    args = typing.get_args(wanted)
    optional = type(None) in args and isinstance(wanted, types.UnionType)
    if optional:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        wanted = next(arg for arg in args if arg is not type(None))
    try:
        return _convert(wanted, value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{source}: setting {name!r}: {exc}") from None


def _convert(wanted: Any, value: Any) -> Any:
    if wanted is Secret:
        return value if isinstance(value, Secret) else Secret(str(value))
    if wanted is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().casefold()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"expected a boolean (true/false), got {value!r}")
    if wanted is int:
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if wanted is float:
        return float(value)
    if wanted is str:
        if not isinstance(value, str | int | float):
            raise ValueError(f"expected a string, got {value!r}")
        return str(value)
    if typing.get_origin(wanted) is list:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        raise ValueError(f"expected a list or a comma-separated string, got {value!r}")
    raise TypeError(f"unsupported setting type {wanted!r}")  # pragma: no cover


_FIELD_TYPES: Final[dict[str, Any]] = typing.get_type_hints(Settings)
