"""tools/check_release_tag.py: publish only a vX.Y.Z tag on main of the packages' version."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType

import pytest


def _workspace(root: Path, version: str) -> None:
    for package in ("findata-core", "findata-db", "findata-api"):
        directory = root / "packages" / package
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "pyproject.toml").write_text(
            f'[project]\nname = "{package}"\nversion = "{version}"\n', encoding="utf-8"
        )


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("tag", ["v0.4.1", "refs/tags/v0.4.1"])
def test_a_tag_of_the_packages_version_is_a_release(
    check_release_tag: ModuleType, tmp_path: Path, tag: str
) -> None:
    # GIVEN packages at 0.4.1
    _workspace(tmp_path, "0.4.1")
    # WHEN the tag v0.4.1 (as a name or as GITHUB_REF) is checked
    version = check_release_tag.check_release_tag(tag, tmp_path)
    # THEN it is the release of that version
    assert version == "0.4.1"


def test_a_tag_of_another_version_is_refused(check_release_tag: ModuleType, tmp_path: Path) -> None:
    # GIVEN packages at 0.4.1
    _workspace(tmp_path, "0.4.1")
    # WHEN / THEN v0.5.0 is refused, with both versions named
    disagreement = r"0\.5\.0, but the packages are 0\.4\.1"
    with pytest.raises(check_release_tag.ReleaseTagError, match=disagreement):
        check_release_tag.check_release_tag("v0.5.0", tmp_path)


@pytest.mark.parametrize("tag", ["0.4.1", "v0.4", "v0.4.1-rc.1", "v01.4.1", "release-0.4.1", ""])
def test_a_tag_that_is_not_vmajor_minor_patch_is_refused(
    check_release_tag: ModuleType, tag: str
) -> None:
    # GIVEN a tag of another shape / WHEN / THEN it is not a release tag
    with pytest.raises(check_release_tag.ReleaseTagError, match="not a release tag"):
        check_release_tag.tag_version(tag)


def test_a_tag_on_a_commit_main_lacks_is_refused(
    check_release_tag: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a repository whose main has one commit, and a topic branch one commit ahead
    _workspace(tmp_path, "1.0.0")
    _git(tmp_path, "init", "--quiet", "--initial-branch=main")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "--quiet", "-m", "1.0.0")
    on_main = _git(tmp_path, "rev-parse", "HEAD")
    _git(tmp_path, "switch", "--quiet", "-c", "topic")
    _git(tmp_path, "commit", "--quiet", "--allow-empty", "-m", "not merged")
    off_main = _git(tmp_path, "rev-parse", "HEAD")
    # WHEN the same tag is checked on each commit against main
    version = check_release_tag.check_release_tag("v1.0.0", tmp_path, on_main, "main")
    with pytest.raises(check_release_tag.ReleaseTagError, match="which main lacks") as refused:
        check_release_tag.check_release_tag("v1.0.0", tmp_path, off_main, "main")
    # THEN the commit on main is a release, the other is refused by name
    assert version == "1.0.0"
    assert off_main in str(refused.value)


def test_an_unknown_main_ref_is_an_error_not_a_refusal(
    check_release_tag: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a repository without the ref asked for (a shallow CI checkout would be one)
    _workspace(tmp_path, "1.0.0")
    _git(tmp_path, "init", "--quiet", "--initial-branch=main")
    _git(tmp_path, "commit", "--quiet", "--allow-empty", "-m", "first")
    # WHEN / THEN git's complaint is reported, not mistaken for "not on main"
    with pytest.raises(check_release_tag.ReleaseTagError, match="git cannot compare"):
        check_release_tag.check_release_tag("v1.0.0", tmp_path, "HEAD", "origin/main")


def test_the_cli_prints_the_version_or_exits_2(
    check_release_tag: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN packages at 2.0.0
    _workspace(tmp_path, "2.0.0")
    # WHEN the matching and a disagreeing tag are checked from the command line
    accepted = check_release_tag.main(["--tag", "v2.0.0", "--root", str(tmp_path)])
    accepted_out = capsys.readouterr().out
    refused = check_release_tag.main(["--tag", "v2.0.1", "--root", str(tmp_path)])
    captured = capsys.readouterr()
    # THEN the first prints the version, the second fails with status 2 and a message only
    assert (accepted, accepted_out) == (0, "2.0.0\n")
    assert refused == 2
    assert captured.out == ""
    assert captured.err.startswith("check_release_tag: error: tag 'v2.0.1' is version 2.0.1")
