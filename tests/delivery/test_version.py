"""One version for everything: the packages agree, and the changelog records it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import ModuleType

PACKAGES = ("findata-core", "findata-db", "findata-api", "findata-client")


def _package_versions(root: Path) -> dict[str, str]:
    versions = {}
    for package in PACKAGES:
        with (root / "packages" / package / "pyproject.toml").open("rb") as handle:
            versions[package] = tomllib.load(handle)["project"]["version"]
    return versions


def test_the_packages_share_one_version(repo_root: Path) -> None:
    # GIVEN the workspace's packages
    # WHEN their versions are read from pyproject.toml
    versions = _package_versions(repo_root)
    # THEN they are one SemVer MAJOR.MINOR.PATCH (the image tags are made from it)
    assert len(set(versions.values())) == 1, versions
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", versions["findata-api"])


def test_the_packages_pin_each_other_at_that_version(repo_root: Path) -> None:
    # GIVEN the version the packages share
    version = _package_versions(repo_root)["findata-api"]
    # WHEN the workspace-internal dependencies are listed
    internal = []
    for package in PACKAGES:
        with (repo_root / "packages" / package / "pyproject.toml").open("rb") as handle:
            dependencies = tomllib.load(handle)["project"]["dependencies"]
        internal += [d for d in dependencies if d.startswith("findata-")]
    # THEN each pins exactly that version, so a release never mixes package versions
    assert internal, "findata-db and findata-api depend on findata-core"
    assert all(d.endswith(f"=={version}") for d in internal), internal


def test_the_changelog_has_a_section_for_the_version(repo_root: Path) -> None:
    # GIVEN the shared version and the changelog
    version = _package_versions(repo_root)["findata-api"]
    changelog = (repo_root / "CHANGELOG.md").read_text(encoding="utf-8")
    # WHEN / THEN a "## [X.Y.Z]" section records what that version contains
    assert re.search(rf"^## \[{re.escape(version)}\]", changelog, re.MULTILINE), version


def test_the_tag_rule_reads_the_same_version(repo_root: Path, release_tags: ModuleType) -> None:
    # GIVEN the version as this test reads it
    expected = _package_versions(repo_root)["findata-api"]
    # WHEN the tag rule reads the workspace
    version = release_tags.read_version(repo_root)
    # THEN both agree: the images are tagged with the packages' version
    assert version == expected
