"""The packages' published identity: names that are ours on PyPI, and the licence in each of them.

ADR 0032 (distribution names), ADR 0034 (licence and notices in every wheel and sdist).
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

# Distributions on PyPI that belong to other projects: never a name, dependency or instruction here.
NOT_OURS = ("findata", "findata-api")
# The license-files every package declares (docs/release.md): its LICENSE and any notices.
LICENSE_FILES = ["LICENSE", "LICENSES/*", "NOTICE*", "THIRD_PARTY_NOTICES*"]


def test_the_distribution_names_are_ours(projects: dict[str, dict[str, Any]]) -> None:
    # GIVEN every package's [project]
    # WHEN their distribution names and dependencies are read
    names = {folder: canonicalize_name(project["name"]) for folder, project in projects.items()}
    dependencies = {
        canonicalize_name(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
        for project in projects.values()
        for requirement in project["dependencies"]
    }
    # THEN none is another project's, and the server keeps its folder under its new name
    assert names["findata-api"] == "findata-server"
    assert not set(NOT_OURS) & (set(names.values()) | dependencies)
    assert all(name.startswith("findata-") for name in names.values()), names


def test_the_lock_never_pins_a_workspace_package(
    projects: dict[str, dict[str, Any]], repo_root: Path
) -> None:
    # GIVEN every package's distribution name and `make lock`'s recipe
    names = {canonicalize_name(project["name"]) for project in projects.values()}
    makefile = (repo_root / "Makefile").read_text(encoding="utf-8")
    # WHEN the packages it leaves out of requirements/constraints.txt are read
    left_out = set(re.findall(r"--no-emit-package (\S+)", makefile))
    # THEN they are exactly the workspace's distributions (they come from source or dist/)
    assert left_out == names


def test_no_instruction_installs_someone_elses_package(repo_root: Path) -> None:
    # GIVEN every tracked text file (docs, READMEs, workflows, Dockerfile, Makefile...)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo_root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    paths = [repo_root / name for name in listed.split("\0") if name]
    # WHEN pip/uv installs, pins and --no-emit-package entries naming them are searched for
    wrong = re.compile(
        r"(?:pip install|uv pip install|uv add|--no-emit-package)\s+(?:-\S+\s+)*"
        r"(?:findata-api|findata)(?![\w-])|(?<![\w/-])(?:findata-api|findata)\s*(?:==|>=|~=)"
    )
    found = [
        f"{path.relative_to(repo_root)}: {match.group()}"
        for path in paths
        if path.is_file()
        and path.suffix not in {".png", ".parquet", ".gz", ".duckdb"}
        and path.name != "CHANGELOG.md"  # the history names what was released under which name
        for match in wrong.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    # THEN there is none
    assert found == []


def test_the_root_licence_is_the_mit_licence_the_packages_declare(
    projects: dict[str, dict[str, Any]], repo_root: Path
) -> None:
    # GIVEN the root LICENSE and every package's declared licence
    text = (repo_root / "LICENSE").read_text(encoding="utf-8")
    licences = {project["license"] for project in projects.values()}
    # WHEN / THEN they agree: MIT, held by the findata contributors
    assert licences == {"MIT"}
    assert text.startswith("MIT License\n\nCopyright (c) 2026 findata contributors\n")


PACKAGE_FOLDERS = sorted(
    path.parent.name for path in Path(__file__).parents[2].glob("packages/*/pyproject.toml")
)


@pytest.mark.parametrize("folder", PACKAGE_FOLDERS)
def test_every_package_ships_the_root_licence_and_its_notices(repo_root: Path, folder: str) -> None:
    # GIVEN a package
    package = repo_root / "packages" / folder
    with (package / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    # WHEN its licence files and their declaration are read
    copy = package / "LICENSE"
    # THEN it holds a byte-identical copy of the root LICENSE (a licence file must be inside the
    # project to reach its sdist and wheel) and declares the shared license-files convention
    assert copy.is_file(), f"cp LICENSE {copy.relative_to(repo_root)} (docs/release.md)"
    assert copy.read_bytes() == (repo_root / "LICENSE").read_bytes(), f"{copy} went stale"
    assert project.get("license-files") == LICENSE_FILES
