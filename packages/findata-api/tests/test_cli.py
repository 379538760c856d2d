"""The ``findata`` command: its groups, ``serve``'s options, and a real serve + SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from findata.api.cli import main


def test_given_the_command_when_asking_for_help_then_serve_db_and_ingest_are_listed() -> None:
    # WHEN
    result = CliRunner().invoke(main, ["--help"])
    # THEN
    assert result.exit_code == 0
    for command in ("serve", "db", "ingest"):
        assert f"  {command}" in result.output


def test_given_serve_when_asking_for_help_then_its_options_are_listed() -> None:
    # WHEN
    result = CliRunner().invoke(main, ["serve", "--help"])
    # THEN
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--graceful-timeout"):
        assert option in result.output


def test_given_a_bad_environment_when_serving_then_it_stops_with_a_message_naming_it() -> None:
    # WHEN
    result = CliRunner().invoke(main, ["serve"], env={"FINDATA_ENV": "staging"})
    # THEN
    assert result.exit_code == 1
    assert "FINDATA_ENV" in result.output


def test_given_an_unusable_database_url_when_serving_then_it_stops_with_one_line() -> None:
    # WHEN the store URL names an option no DuckDB store has
    result = CliRunner().invoke(
        main, ["serve"], env={"FINDATA_DATABASE_URL": "duckdb:///tmp/x.duckdb?hold_idle=-2"}
    )
    # THEN a message names the setting and the option, not a traceback from a worker
    assert result.exit_code == 1
    assert "database_url" in result.output
    assert "hold_idle" in result.output
    assert "Traceback" not in result.output


def test_given_a_taken_port_when_serving_then_it_stops_with_one_line_naming_the_address() -> None:
    # GIVEN a port another socket is listening on
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # WHEN findata serve is asked to bind it
        result = CliRunner().invoke(
            main, ["serve", "--port", str(port)], env={"FINDATA_ENV": "test"}
        )

    # THEN it exits 1 with a message, not a traceback
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_given_a_port_out_of_range_when_serving_then_click_refuses_it() -> None:
    # WHEN
    result = CliRunner().invoke(main, ["serve", "--port", "70000"])
    # THEN
    assert result.exit_code == 2
    assert "--port" in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _findata(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "findata.api", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.system
def test_given_a_migrated_demo_store_when_serving_then_it_answers_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    # GIVEN a DuckDB store prepared the way `make run` does
    env = {
        **os.environ,
        "FINDATA_ENV": "local",
        "FINDATA_DATABASE_URL": f"duckdb://{tmp_path / 'serve.duckdb'}",
    }
    _findata("db", "migrate", env=env)
    _findata("ingest", "demo", "--if-empty", env=env)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "findata.api", "serve", "--port", str(port),
         "--graceful-timeout", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if _get(f"{base}/_healthcheck")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, "the server exited before answering"
            assert time.monotonic() < deadline, "the server did not answer in time"
            time.sleep(0.2)
        # WHEN
        ready = _get(f"{base}/_readiness")[0]
        status, body = _get(f"{base}/stocks/symbols")
        symbol = json.loads(body)[0]["symbol"]
        series_status, series = _get(
            f"{base}/stocks/time-series/{symbol}?interval=1&frequency=Monthly"
        )
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # THEN
    assert (ready, status, series_status) == (200, 200, 200)
    assert json.loads(series)[0]["symbol"] == symbol
    assert exit_code == 0
