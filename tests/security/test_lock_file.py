"""Dependencies are pinned: the lock file pins every package each project depends on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Final

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO: Final = Path(__file__).resolve().parents[2]
LOCK: Final = REPO / "requirements" / "constraints.txt"
WORKSPACE: Final = frozenset({"findata-core", "findata-db", "findata-api", "findata-client"})
PIN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?==[^\s;]+(?:\s*;.*)?$")


def lock_entries() -> dict[str, list[str]]:
    """Requirement lines of the lock file by canonical name (comments and blanks dropped)."""
    entries: dict[str, list[str]] = {}
    for raw in LOCK.read_text("utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        name = canonicalize_name(Requirement(line).name)
        entries.setdefault(name, []).append(line)
    return entries


def declared_dependencies() -> set[str]:
    """Every runtime and extra dependency of the workspace packages, by canonical name."""
    names: set[str] = set()
    for pyproject in sorted(REPO.glob("packages/*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements.extend(extra)
        names.update(canonicalize_name(Requirement(text).name) for text in requirements)
    return names - WORKSPACE


def test_given_the_lock_file_when_reading_it_then_every_entry_is_an_exact_pin() -> None:
    # WHEN
    unpinned = [line for lines in lock_entries().values() for line in lines if not PIN.match(line)]
    # THEN
    assert lock_entries(), f"{LOCK} holds no requirement"
    assert unpinned == []


def test_given_the_packages_when_comparing_with_the_lock_then_every_dependency_is_pinned() -> None:
    # WHEN
    missing = sorted(declared_dependencies() - lock_entries().keys())
    # THEN
    assert missing == [], f"run `make lock`: {missing} are not pinned in {LOCK.name}"
