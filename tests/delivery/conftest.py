"""Fixtures for the delivery checks: the repository root and the stdlib tools under ``tools/``.

The tools are scripts (run as ``python3 tools/X.py`` by CI, bake, Terragrunt and the
Dockerfile), not an installed package, so the tests load them from their files.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Run as scripts, the tools import each other from their own directory (sys.path[0]).
if str(REPO_ROOT / "tools") not in sys.path:
    sys.path.append(str(REPO_ROOT / "tools"))


def _load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"findata_tools_{name}", REPO_ROOT / "tools" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before exec so dataclasses/typing can resolve the module by name.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def projects() -> dict[str, dict[str, Any]]:
    """``[project]`` of every package under packages/, by folder (a new package is included)."""
    tables = {}
    for pyproject in sorted((REPO_ROOT / "packages").glob("*/pyproject.toml")):
        with pyproject.open("rb") as handle:
            tables[pyproject.parent.name] = tomllib.load(handle)["project"]
    return tables


@pytest.fixture(scope="session")
def release_tags() -> ModuleType:
    return _load_tool("release_tags")


@pytest.fixture(scope="session")
def runtime_requirements() -> ModuleType:
    return _load_tool("runtime_requirements")


@pytest.fixture(scope="session")
def check_dist() -> ModuleType:
    return _load_tool("check_dist")


@pytest.fixture(scope="session")
def check_release_tag() -> ModuleType:
    return _load_tool("check_release_tag")


@pytest.fixture(scope="session")
def changelog_section() -> ModuleType:
    return _load_tool("changelog_section")
