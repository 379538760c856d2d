"""The image tag rule (tools/release_tags.py): main, feature branches and every awkward name."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "89abcdef" * 8
VERSION = "0.1.0"

# SemVer 2.0.0's own regular expression (semver.org) and Docker's tag grammar.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
DOCKER_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@pytest.mark.parametrize("branch", ["main", "refs/heads/main", " main\n"])
def test_main_gets_the_release_version_and_latest(release_tags: ModuleType, branch: str) -> None:
    # GIVEN the release branch, however CI spells it
    # WHEN the tags are computed
    tags = release_tags.release_tags(VERSION, branch, SHA)
    # THEN the image is the release itself and the newest one
    assert tags == ["0.1.0", "latest"]


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("feature/add-rsi", f"0.1.0-feature-add-rsi.dev.{SHA}"),
        ("Feature/ABC_123", f"0.1.0-feature-abc-123.dev.{SHA}"),
        ("refs/heads/fix/x", f"0.1.0-fix-x.dev.{SHA}"),
        ("dependabot/pip/numpy-2.4.6", f"0.1.0-dependabot-pip-numpy-2.4.6.dev.{SHA}"),
        ("a//b__c  d", f"0.1.0-a-b-c-d.dev.{SHA}"),
        ("a..b", f"0.1.0-a.b.dev.{SHA}"),
        ("a.-b", f"0.1.0-a.b.dev.{SHA}"),
        ("a-.b", f"0.1.0-a-b.dev.{SHA}"),
        ("--/x.y/--", f"0.1.0-x.y.dev.{SHA}"),
        ("release/v1.02", f"0.1.0-release-v1.2.dev.{SHA}"),
        ("007", f"0.1.0-7.dev.{SHA}"),
        ("0", f"0.1.0-0.dev.{SHA}"),
        ("00.010", f"0.1.0-0.10.dev.{SHA}"),
        ("123/merge", f"0.1.0-123-merge.dev.{SHA}"),
        ("fix/ünïcødé-名前", f"0.1.0-fix-n-c-d.dev.{SHA}"),
        ("main-hotfix", f"0.1.0-main-hotfix.dev.{SHA}"),
        ("Main", f"0.1.0-main.dev.{SHA}"),
    ],
)
def test_other_branches_get_a_sanitised_dev_prerelease(
    release_tags: ModuleType, branch: str, expected: str
) -> None:
    # GIVEN a branch that is not the release branch (only exactly `main` is)
    # WHEN the tags are computed
    tags = release_tags.release_tags(VERSION, branch, SHA)
    # THEN there is exactly one, with the branch made tag- and SemVer-safe
    assert tags == [expected]


@pytest.mark.parametrize("branch", ["", "   ", "HEAD", "refs/heads/", "///", "名前", "-._-"])
def test_a_name_that_sanitises_to_nothing_becomes_detached(
    release_tags: ModuleType, branch: str
) -> None:
    # GIVEN a detached checkout, an empty ref or a name with no usable character
    # WHEN the tags are computed
    tags = release_tags.release_tags(VERSION, branch, SHA)
    # THEN the branch part is never empty
    assert tags == [f"0.1.0-detached.dev.{SHA}"]


def test_an_overlong_branch_is_truncated_to_docker_s_limit(release_tags: ModuleType) -> None:
    # GIVEN a branch far longer than a tag may be, with a separator at the cut
    long_branch = "x" * 76 + "/" + "y" * 200
    # WHEN the tags are computed
    (tag,) = release_tags.release_tags(VERSION, long_branch, SHA)
    # THEN the whole tag is 128 characters at most, the sha survives whole, and the cut
    # does not leave a dangling separator ("0.1.0-" 6 + 76 x's + ".dev." 5 + sha 40 = 127)
    assert tag == f"0.1.0-{'x' * 76}.dev.{SHA}"
    assert len(tag) == 127


def test_truncation_fills_the_limit_exactly_when_no_separator_is_cut(
    release_tags: ModuleType,
) -> None:
    # GIVEN an over-long branch of letters only
    # WHEN the tags are computed
    (tag,) = release_tags.release_tags(VERSION, "z" * 500, SHA)
    # THEN the tag is exactly Docker's maximum, 128 characters (77 of them the branch)
    assert tag == f"0.1.0-{'z' * 77}.dev.{SHA}"
    assert len(tag) == 128


def test_a_sha256_repository_leaves_less_room_for_the_branch(release_tags: ModuleType) -> None:
    # GIVEN a 64-hex-digit object name (git's sha256 repositories) and a long branch
    # WHEN the tags are computed
    (tag,) = release_tags.release_tags(VERSION, "b" * 100, SHA256)
    # THEN the tag still fits: 6 + 53 + 5 + 64 = 128
    assert tag == f"0.1.0-{'b' * 53}.dev.{SHA256}"


def test_an_upper_case_sha_is_normalised(release_tags: ModuleType) -> None:
    # GIVEN a sha as some tools print it
    # WHEN the tags are computed
    (tag,) = release_tags.release_tags(VERSION, "topic", SHA.upper())
    # THEN the tag holds git's canonical lower-case form
    assert tag == f"0.1.0-topic.dev.{SHA}"


@pytest.mark.parametrize("sha", ["", "0123456", SHA[:-1], SHA + "0", "g" * 40])
def test_an_abbreviated_or_malformed_sha_is_refused(release_tags: ModuleType, sha: str) -> None:
    # GIVEN a sha that is not a full object name (on main too: a CI misconfiguration)
    # WHEN / THEN the rule refuses it with a message naming the value
    for branch in ("main", "topic"):
        with pytest.raises(release_tags.ReleaseTagError, match="full 40- or 64-hex-digit"):
            release_tags.release_tags(VERSION, branch, sha)


@pytest.mark.parametrize("version", ["0.1", "0.1.0rc1", "01.2.3", "1.2.3-dev", "v1.2.3", ""])
def test_a_version_that_is_not_semver_core_is_refused(
    release_tags: ModuleType, version: str
) -> None:
    # GIVEN a package version that is not MAJOR.MINOR.PATCH
    # WHEN / THEN no tag is made from it
    with pytest.raises(release_tags.ReleaseTagError, match=r"MAJOR\.MINOR\.PATCH"):
        release_tags.release_tags(version, "main", SHA)


@given(branch=st.text(max_size=300))
def test_any_branch_name_gives_a_valid_docker_tag_and_semver(
    release_tags: ModuleType, branch: str
) -> None:
    # GIVEN any string at all as a branch name (the sha is fixed: a real all-digit sha
    # with a leading zero, a 1-in-10^8 event, would be a numeric SemVer identifier)
    # WHEN the tags are computed
    tags = release_tags.release_tags(VERSION, branch, SHA)
    # THEN every tag is a valid Docker tag and a valid SemVer version (or `latest`)
    for tag in tags:
        assert DOCKER_TAG.fullmatch(tag), tag
        assert tag == "latest" or SEMVER.fullmatch(tag), tag


@given(branch=st.text(max_size=200))
def test_sanitising_is_idempotent(release_tags: ModuleType, branch: str) -> None:
    # GIVEN any branch name, sanitised once
    once = release_tags.sanitise_branch(branch)
    # WHEN it is sanitised again
    twice = release_tags.sanitise_branch(once)
    # THEN nothing changes: the output is already in the rule's alphabet and shape
    assert twice == once


def _write_workspace(root: Path, versions: dict[str, str]) -> None:
    for package, version in versions.items():
        directory = root / "packages" / package
        directory.mkdir(parents=True)
        (directory / "pyproject.toml").write_text(
            f'[project]\nname = "{package}"\nversion = "{version}"\n', encoding="utf-8"
        )


def test_the_version_is_read_from_the_packages(release_tags: ModuleType, tmp_path: Path) -> None:
    # GIVEN a workspace whose packages agree on a version
    _write_workspace(tmp_path, dict.fromkeys(("findata-core", "findata-db", "findata-x"), "2.3.4"))
    # WHEN the version is read
    version = release_tags.read_version(tmp_path)
    # THEN it is that version
    assert version == "2.3.4"


def test_packages_that_disagree_are_an_error(release_tags: ModuleType, tmp_path: Path) -> None:
    # GIVEN a workspace where one package's version moved alone
    _write_workspace(
        tmp_path, {"findata-core": "0.2.0", "findata-db": "0.1.0", "findata-api": "0.1.0"}
    )
    # WHEN / THEN reading the version names the disagreement instead of picking one
    with pytest.raises(release_tags.ReleaseTagError, match="disagree"):
        release_tags.read_version(tmp_path)


def test_a_directory_without_packages_is_named(release_tags: ModuleType, tmp_path: Path) -> None:
    # GIVEN a directory that is not the workspace
    # WHEN / THEN the error names where it looked for packages
    with pytest.raises(release_tags.ReleaseTagError, match=r"packages: no package"):
        release_tags.read_version(tmp_path)


def test_a_package_added_later_must_agree_too(release_tags: ModuleType, tmp_path: Path) -> None:
    # GIVEN the workspace's packages at one version and a new package at another
    _write_workspace(tmp_path, dict.fromkeys(("findata-core", "findata-db"), "0.1.0"))
    _write_workspace(tmp_path, {"findata-newcomer": "0.0.1"})
    # WHEN / THEN the new package is read without being listed anywhere, and its version disagrees
    with pytest.raises(release_tags.ReleaseTagError, match="findata-newcomer"):
        release_tags.read_version(tmp_path)


def test_an_unreadable_pyproject_is_named(release_tags: ModuleType, tmp_path: Path) -> None:
    # GIVEN a package whose pyproject.toml has no [project] version
    (tmp_path / "packages" / "findata-core").mkdir(parents=True)
    (tmp_path / "packages" / "findata-core" / "pyproject.toml").write_text("[project]\n")
    # WHEN / THEN the error names that file
    with pytest.raises(release_tags.ReleaseTagError, match=r"findata-core[/\\]pyproject.toml"):
        release_tags.read_version(tmp_path)


@pytest.mark.parametrize(
    ("output_format", "expected"),
    [
        ("csv", "docker.io/findata/findata-api:0.1.0,docker.io/findata/findata-api:latest\n"),
        ("lines", "docker.io/findata/findata-api:0.1.0\ndocker.io/findata/findata-api:latest\n"),
        (
            "json",
            '["docker.io/findata/findata-api:0.1.0", "docker.io/findata/findata-api:latest"]\n',
        ),
        ("first", "docker.io/findata/findata-api:0.1.0\n"),
    ],
)
def test_the_cli_prints_refs_in_each_format(
    release_tags: ModuleType, capsys: pytest.CaptureFixture[str], output_format: str, expected: str
) -> None:
    # GIVEN the release branch and a repository to prefix
    argv = ["--branch", "main", "--sha", SHA, "--version", VERSION]
    argv += ["--repository", "docker.io/findata/findata-api", "--format", output_format]
    # WHEN the CLI runs
    status = release_tags.main(argv)
    # THEN it prints the refs in the asked format and succeeds
    assert status == 0
    assert capsys.readouterr().out == expected


def test_the_cli_reports_bad_input_on_stderr_with_status_2(
    release_tags: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an abbreviated sha
    # WHEN the CLI runs
    status = release_tags.main(["--branch", "topic", "--sha", "abc1234", "--version", VERSION])
    # THEN it fails with a message naming the value and prints no tag
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "'abc1234'" in captured.err


def test_the_script_runs_standalone_on_the_real_workspace(repo_root: Path) -> None:
    # GIVEN the script as CI, bake and Terragrunt's run_cmd call it: a bare interpreter,
    # isolated mode (no site-packages, no cwd on the path), from another directory
    command = [sys.executable, "-I", str(repo_root / "tools" / "release_tags.py")]
    command += ["--branch", "feature/x", "--sha", SHA, "--format", "csv"]
    # WHEN it runs
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    # THEN it reads the workspace's version itself and prints one dev tag
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"\d+\.\d+\.\d+-feature-x\.dev\.{SHA}\n", result.stdout)
