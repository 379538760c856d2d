"""One version for everything: the packages agree, pin each other at it, and the changelog has it.

The packages keep static versions (ADR 0033): these tests are what makes them one.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def test_the_packages_share_one_version(projects: dict[str, dict[str, Any]]) -> None:
    # GIVEN the workspace's packages
    # WHEN their versions are read from pyproject.toml
    versions = {folder: project["version"] for folder, project in projects.items()}
    # THEN they are one SemVer MAJOR.MINOR.PATCH (the image tags and the release tag use it)
    assert len(projects) >= 3, projects.keys()
    assert len(set(versions.values())) == 1, versions
    (version,) = set(versions.values())
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", version)


def test_the_packages_pin_each_other_at_that_version(projects: dict[str, dict[str, Any]]) -> None:
    # GIVEN the packages' distribution names and the version they share
    names = {canonicalize_name(project["name"]) for project in projects.values()}
    (version,) = {project["version"] for project in projects.values()}
    # WHEN the workspace-internal dependencies are listed
    internal = [
        Requirement(dependency)
        for project in projects.values()
        for dependency in project["dependencies"]
        if canonicalize_name(Requirement(dependency).name) in names
    ]
    # THEN each pins exactly that version, so a release never mixes package versions
    assert internal, "findata-db and findata-server depend on findata-core"
    assert all(str(r.specifier) == f"=={version}" for r in internal), internal


def test_the_changelog_has_a_section_for_the_version(
    projects: dict[str, dict[str, Any]], repo_root: Path
) -> None:
    # GIVEN the shared version and the changelog
    (version,) = {project["version"] for project in projects.values()}
    changelog = (repo_root / "CHANGELOG.md").read_text(encoding="utf-8")
    # WHEN / THEN a "## [X.Y.Z]" section records what that version contains
    assert re.search(rf"^## \[{re.escape(version)}\]", changelog, re.MULTILINE), version


def test_the_tag_rule_reads_the_same_version(
    projects: dict[str, dict[str, Any]], repo_root: Path, release_tags: ModuleType
) -> None:
    # GIVEN the version as this test reads it
    (expected,) = {project["version"] for project in projects.values()}
    # WHEN the tag rule reads the workspace
    version = release_tags.read_version(repo_root)
    # THEN both agree: the images and the release tag use the packages' version
    assert version == expected
