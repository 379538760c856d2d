"""The ``findata`` command: ``serve`` here, ``db``, ``ingest`` and ``export`` from findata-db."""

from __future__ import annotations

import errno
import sys

import click

from findata.api._keys_cli import keys
from findata.api._settings import SettingsError, load_settings
from findata.db import cli as db_cli

# The app Hypercorn imports in each worker: a factory call, so every worker builds
# its own app (and store connection) from the same environment.
APPLICATION_PATH = "findata.api:create_app()"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="findata-server", prog_name="findata")
def main() -> None:
    """findata: market data (OHLCV bars, resampling, indicators) over HTTP."""


@main.command()
@click.option("--host", help="Interface to bind (default: the `host` setting, 127.0.0.1 locally).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="TCP port (default: the `port` setting)."
)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: 1).")
@click.option(
    "--graceful-timeout",
    type=click.FloatRange(0),
    help="Seconds in-flight requests get to finish after SIGTERM/SIGINT (default: 10).",
)
def serve(
    host: str | None, port: int | None, workers: int | None, graceful_timeout: float | None
) -> None:
    """Serve the HTTP API with Hypercorn until SIGTERM or SIGINT."""
    from hypercorn.config import Config
    from hypercorn.run import run

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    config = Config()
    config.application_path = APPLICATION_PATH
    bind_host = host or settings.host
    config.bind = [
        f"[{bind_host}]:{port or settings.port}"
        if ":" in bind_host
        else f"{bind_host}:{port if port is not None else settings.port}"
    ]
    # One worker runs in this process (workers=0 in Hypercorn's terms): no fork, and
    # SIGTERM reaches the serving loop directly for a graceful shutdown.
    wanted_workers = workers or settings.workers
    config.workers = 0 if wanted_workers == 1 else wanted_workers
    config.graceful_timeout = (
        graceful_timeout if graceful_timeout is not None else settings.graceful_timeout
    )
    config.accesslog = None  # the app writes structured access logs itself
    # Hypercorn's default 16 KiB request-head limit answers long query strings with a bare
    # 431; at 256 KiB they reach the app and get a problem+json naming the bad parameters,
    # while truly oversized heads (megabytes) are still refused before any parsing.
    config.h11_max_incomplete_size = _MAX_REQUEST_HEAD_BYTES
    config.errorlog = "-"
    click.echo(
        f"findata: serving on http://{config.bind[0]} "
        f"(env={settings.env}, workers={wanted_workers}, "
        f"store={settings.redacted_database_url or 'default'})",
        err=True,
    )
    try:
        sys.exit(run(config))
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        # A taken port is an operator's everyday mistake: one line, not a traceback.
        raise click.ClickException(f"cannot listen on {config.bind[0]}: {exc.strerror}") from exc


_MAX_REQUEST_HEAD_BYTES = 256 * 1024


# findata-db is a dependency of this package: its command groups are always there.
main.add_command(db_cli.db, "db")
main.add_command(db_cli.ingest, "ingest")
main.add_command(db_cli.exchanges_command, "exchanges")
main.add_command(db_cli.coverage_command, "coverage")
main.add_command(db_cli.export, "export")
main.add_command(keys)
