"""tools/runtime_requirements.py: the image's dependency layer, from the packages' metadata."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest


def _pyproject(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_workspace_packages_are_left_out_and_duplicates_merged(
    runtime_requirements: ModuleType, tmp_path: Path
) -> None:
    # GIVEN two packages, one depending on the other, sharing a dependency
    core = _pyproject(
        tmp_path / "core", '[project]\ndependencies = ["numpy>=1.26", "duckdb>=1.1"]\n'
    )
    api = _pyproject(
        tmp_path / "api",
        '[project]\ndependencies = ["findata-core==0.1.0", "Findata_DB==0.1.0", "numpy>=1.26"]\n',
    )
    # WHEN their third-party requirements are listed
    requirements = runtime_requirements.third_party_requirements([core, api])
    # THEN the workspace's own packages (any spelling) never reach pip's index
    assert requirements == ["duckdb>=1.1", "numpy>=1.26"]


def test_named_extras_are_included_and_others_not(
    runtime_requirements: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a package with a test extra and an optional integration
    path = _pyproject(
        tmp_path / "db",
        '[project]\ndependencies = ["click>=8"]\n'
        '[project.optional-dependencies]\ntest = ["pytest>=8"]\nyahoo = ["yfinance>=0.2"]\n',
    )
    # WHEN only the test extra is asked for
    requirements = runtime_requirements.third_party_requirements([path], ["test"])
    # THEN the test extra is in, the other extra is not
    assert requirements == ["click>=8", "pytest>=8"]


def test_an_unreadable_pyproject_is_named_on_stderr(
    runtime_requirements: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a pyproject.toml that is not TOML
    broken = _pyproject(tmp_path / "broken", "[project\n")
    # WHEN the CLI reads it
    status = runtime_requirements.main([str(broken)])
    # THEN it fails with status 2, naming the file and line, and prints no partial list
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert f"runtime_requirements: error: {broken}:" in captured.err
    assert "line 1" in captured.err
