"""The GitHub Actions workflows keep the release rules that linters cannot see.

actionlint and the JSON schema (``make lint-delivery``) check syntax; these check policy:
pinned actions, no deprecated commands, least privilege, and a push that only happens
after every test job, only on pushes, never under act; the same for the PyPI release.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
# The jobs of a release tag (docs/release.md); every other job is a test the release waits for.
_RELEASE_JOBS = {"release-tag", "publish", "github-release"}
_ON_RELEASE_TAG = "${{ github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v') }}"


def _workflow_paths(repo_root: Path) -> list[Path]:
    return sorted((repo_root / ".github" / "workflows").glob("*.y*ml"))


def _load(path: Path) -> dict[str, Any]:
    # PyYAML reads the `on:` key as True (YAML 1.1); nothing here needs it.
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def ci(repo_root: Path) -> dict[str, Any]:
    return _load(repo_root / ".github" / "workflows" / "ci.yml")


def test_every_action_is_pinned_to_a_commit_with_its_version(repo_root: Path) -> None:
    # GIVEN every workflow file
    paths = _workflow_paths(repo_root)
    assert paths
    # WHEN every `uses:` line is read (comments are not in the YAML tree, so the text)
    uses = [
        line.split("uses:", 1)[1].strip()
        for path in paths
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]
    # THEN each names a full commit sha, followed by the exact version it is
    assert uses
    unpinned = [u for u in uses if not _PINNED.match(u.split(" #")[0])]
    assert not unpinned
    undocumented = [u for u in uses if not _VERSION_COMMENT.search(u)]
    assert not undocumented


def test_no_deprecated_workflow_commands_and_secrets_only_from_secrets(repo_root: Path) -> None:
    # GIVEN every workflow's text
    checked = 0
    for path in _workflow_paths(repo_root):
        text = path.read_text(encoding="utf-8")
        # WHEN / THEN outputs go through $GITHUB_OUTPUT, never ::set-output or ::save-state,
        # and no credential is written inline
        assert "::set-output" not in text, path
        assert "::save-state" not in text, path
        credentials = re.finditer(
            r"^\s*(password|token|username):\s*(.+)$", text, re.IGNORECASE | re.MULTILINE
        )
        for match in credentials:
            assert match.group(2).startswith("${{ secrets."), (path, match.group())
            checked += 1
    assert checked >= 2, "the Docker Hub login's username and password were not found"


def test_the_default_token_is_read_only(ci: dict[str, Any]) -> None:
    # GIVEN the CI workflow
    # WHEN its token permissions are read
    permissions = ci["permissions"]
    # THEN the workflow can read the repository and nothing else, and only the two release jobs
    # widen it, each by the one permission it needs: an OIDC token for PyPI, writing a release
    assert permissions == {"contents": "read"}
    widened = {name: job["permissions"] for name, job in ci["jobs"].items() if "permissions" in job}
    assert widened == {"publish": {"id-token": "write"}, "github-release": {"contents": "write"}}


def test_the_push_waits_for_every_test_job_and_runs_only_on_pushes(ci: dict[str, Any]) -> None:
    # GIVEN the CI workflow's jobs
    jobs = ci["jobs"]
    push = jobs["push"]
    # WHEN the push job's conditions are read
    needs = set(push["needs"])
    # THEN it needs every test job (lint, tests, build, scan, integration, dist) ...
    assert needs == set(jobs) - {"push"} - _RELEASE_JOBS
    # ... runs for branch pushes only (a release tag publishes packages, not images) ...
    assert push["if"] == "${{ github.event_name == 'push' && github.ref_type == 'branch' }}"
    # ... and each of its steps is skipped under act
    assert push["steps"]
    assert all(step.get("if") == "${{ !env.ACT }}" for step in push["steps"])


def test_images_are_built_once_and_reused_not_rebuilt(ci: dict[str, Any]) -> None:
    # GIVEN every job's steps
    jobs = ci["jobs"]
    builders = {
        name
        for name, job in jobs.items()
        for step in job.get("steps", [])
        if "bake-action" in step.get("uses", "") or "docker build" in step.get("run", "")
    }
    # WHEN / THEN only the build job builds; scan, integration and push load its artifact
    assert builders == {"build"}
    for name in ("scan", "integration", "push"):
        downloads = [s for s in jobs[name]["steps"] if "download-artifact" in s.get("uses", "")]
        assert downloads, name
        assert "build" in jobs[name]["needs"], name


def test_tags_come_from_the_one_tag_rule(ci: dict[str, Any]) -> None:
    # GIVEN the build job
    steps = ci["jobs"]["build"]["steps"]
    # WHEN the step computing tags and the bake step are found
    (tags_step,) = [s for s in steps if s.get("id") == "tags"]
    (bake_step,) = [s for s in steps if "bake-action" in s.get("uses", "")]
    # THEN tags are computed by tools/release_tags.py and handed to bake's TAGS variable
    assert "tools/release_tags.py" in tags_step["run"]
    assert bake_step["env"]["TAGS"] == "${{ steps.tags.outputs.tags }}"
    assert bake_step["with"]["targets"] == "ci"


def test_the_test_matrix_covers_the_supported_pythons_with_postgres(ci: dict[str, Any]) -> None:
    # GIVEN the test job
    test = ci["jobs"]["test"]
    # WHEN its matrix and services are read
    pythons = test["strategy"]["matrix"]["python"]
    # THEN it runs 3.11-3.13 against a PostgreSQL service container, as CI=true (so
    # postgres tests fail rather than skip when the database is missing)
    assert pythons == ["3.11", "3.12", "3.13"]
    assert test["services"]["postgres"]["image"].startswith("postgres:")
    assert test["env"]["CI"] == "true"
    assert "FINDATA_TEST_DATABASE_URL" in test["env"]


def test_release_tags_trigger_the_workflow(ci: dict[str, Any]) -> None:
    # GIVEN the workflow's triggers (PyYAML reads the `on:` key as True)
    push = ci[True]["push"]
    # WHEN / THEN branch pushes and vX.Y.Z tags both run it
    assert push["branches"] == ["**"]
    assert push["tags"] == ["v*"]


def test_wheels_and_sdists_are_built_once_and_reused(ci: dict[str, Any]) -> None:
    # GIVEN every job's steps
    jobs = ci["jobs"]
    builders = {
        name
        for name, job in jobs.items()
        for step in job.get("steps", [])
        if re.search(r"\bmake dist\b|hatch build|uv build|python -m build", step.get("run", ""))
    }
    # WHEN / THEN only the dist job builds, uploads dist/, and the release jobs download it
    assert builders == {"dist"}
    uploads = [s for s in jobs["dist"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert [s["with"]["name"] for s in uploads] == ["dist"]
    for name in ("publish", "github-release"):
        downloads = [s for s in jobs[name]["steps"] if "download-artifact" in s.get("uses", "")]
        assert [s["with"]["name"] for s in downloads] == ["dist"], name


def test_publishing_waits_for_every_test_job_and_a_checked_release_tag(
    ci: dict[str, Any],
) -> None:
    # GIVEN the release jobs
    jobs = ci["jobs"]
    publish, release = jobs["publish"], jobs["github-release"]
    # WHEN their conditions are read
    # THEN PyPI gets the files only for a release tag, after every test job and the tag check ...
    assert publish["if"] == _ON_RELEASE_TAG
    assert set(publish["needs"]) == set(jobs) - {"push"} - _RELEASE_JOBS | {"release-tag"}
    assert jobs["release-tag"]["if"] == _ON_RELEASE_TAG
    # ... and the GitHub release follows the published upload, on the same condition
    assert release["if"] == _ON_RELEASE_TAG
    assert release["needs"] == ["publish"]


def test_the_release_tag_is_checked_against_the_packages_and_main(ci: dict[str, Any]) -> None:
    # GIVEN the release-tag job
    job = ci["jobs"]["release-tag"]
    runs = " ".join(step.get("run", "") for step in job["steps"])
    (checkout,) = [s for s in job["steps"] if "actions/checkout" in s.get("uses", "")]
    # WHEN / THEN the tag rule's tools check the version, main's history, and dated notes
    assert "tools/check_release_tag.py" in runs
    assert "--main-ref origin/main" in runs
    assert "tools/changelog_section.py" in runs
    assert "--released" in runs
    assert checkout["with"]["fetch-depth"] == 0


def test_pypi_uses_trusted_publishing_and_skips_under_act(ci: dict[str, Any]) -> None:
    # GIVEN the publish job
    publish = ci["jobs"]["publish"]
    (upload,) = [s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    # WHEN / THEN it runs in the `pypi` environment with an OIDC token and no stored credential,
    # and none of its steps runs under act (like the Docker Hub push)
    assert publish["environment"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    assert not {"password", "user", "username"} & set(upload.get("with", {}))
    assert all(step.get("if") == "${{ !env.ACT }}" for step in publish["steps"])


def test_the_github_release_notes_are_the_changelog_section(ci: dict[str, Any]) -> None:
    # GIVEN the github-release job
    steps = ci["jobs"]["github-release"]["steps"]
    (create,) = [s for s in steps if "gh release create" in s.get("run", "")]
    # WHEN / THEN its notes are the tag's CHANGELOG.md section, the tested files are attached,
    # and nothing is created under act
    assert "tools/changelog_section.py" in create["run"]
    assert "--notes-file" in create["run"]
    assert "dist/*" in create["run"]
    assert all(step.get("if") == "${{ !env.ACT }}" for step in steps)
