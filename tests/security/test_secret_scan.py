"""No secret in the repository or in Terraform outputs.

A fast scan of every tracked (and not ignored, untracked) file for things that
must never be committed: private keys, cloud and CI tokens, findata API keys, and
passwords written into URLs outside test fixtures. Each pattern is proved to fire
on a sample built at run time, so the scan cannot silently match nothing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import hcl2
import pytest

REPO: Final = Path(__file__).resolve().parents[2]

# name -> pattern; every one of them is a finding anywhere in the repository.
SECRET_PATTERNS: Final = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b", re.IGNORECASE
    ),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "PyPI token": re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    "findata API key": re.compile(r"\bfd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\b"),
}
# scheme://user:password@host -- a finding outside test code unless the password is
# a placeholder or a variable that is filled in at run time.
URL_PASSWORD: Final = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:(?P<password>[^\s/@'\"]+)@")
PLACEHOLDER: Final = re.compile(
    r"^(?:\*+|x+|\.\.\.|<[^>]*>|\$\{?[A-Za-z_][^}]*\}?|\{[^}]*\}|%s|%\([a-z_]+\)s|"
    r"password|pass|secret|changeme|example)$",
    re.IGNORECASE,
)
SKIPPED_SUFFIXES: Final = frozenset({".png", ".jpg", ".gif", ".ico", ".parquet", ".duckdb", ".gz"})


def repository_files() -> list[Path]:
    """Tracked files plus untracked ones that are not ignored: what a commit could hold."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    return [
        REPO / name
        for name in listed.decode().split("\0")
        if name and (REPO / name).is_file() and Path(name).suffix not in SKIPPED_SUFFIXES
    ]


def is_test_code(path: Path) -> bool:
    return "tests" in path.relative_to(REPO).parts


def findings(path: Path, text: str) -> Iterator[str]:
    """``file:line: what`` for every secret-looking string in ``text``."""
    where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    for number, line in enumerate(text.splitlines(), start=1):
        for name, pattern in SECRET_PATTERNS.items():
            if pattern.search(line):
                yield f"{where}:{number}: {name}"
        if path.is_relative_to(REPO) and is_test_code(path):
            continue
        for match in URL_PASSWORD.finditer(line):
            if not PLACEHOLDER.match(match["password"]):
                yield f"{where}:{number}: password in a URL"


def test_given_the_repository_when_scanning_every_file_then_no_secret_is_found() -> None:
    # GIVEN
    files = repository_files()
    # WHEN
    found = [
        finding
        for path in files
        for finding in findings(path, path.read_text("utf-8", errors="replace"))
    ]
    # THEN
    assert len(files) > 20, "the scan found almost no files: is this a git checkout?"
    assert found == []


# Samples are assembled at run time so that this file itself stays clean.
_SAMPLES: Final = {
    "private key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    "AWS access key id": "AKIA" + "ABCDEFGHIJKLMNOP",
    "AWS secret access key": "aws_secret_access_key = " + "a1B2" * 10,
    "GitHub token": "ghp_" + "a" * 36,
    "Slack token": "xoxb-" + "1234567890-abc",
    "Google API key": "AIza" + "b" * 35,
    "PyPI token": "pypi-AgEIcHlwaS5vcmc" + "c" * 60,
    "findata API key": "fd_" + "0123456789abcdef" + "_" + "d" * 43,
    "password in a URL": "postgresql://app:" + "hunter2" + "@db.internal:5432/findata",
}


@pytest.mark.parametrize(("name", "sample"), _SAMPLES.items())
def test_given_a_planted_secret_when_scanning_then_it_is_reported(
    tmp_path: Path, name: str, sample: str
) -> None:
    # GIVEN: a non-test file outside the repository with one secret on line 2
    path = tmp_path / "settings.py"
    # WHEN
    found = list(findings(path, f"x = 1\nvalue = {sample!r}\n"))
    # THEN
    assert found == [f"{path}:2: {name}"]


@pytest.mark.parametrize(
    "line",
    [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://app:***@db:5432/findata",
        "postgresql://app:${DB_PASSWORD}@db/findata",
        "redis://:<token>@cache:6379/0",
        "https://example.org/path",
    ],
)
def test_given_a_url_without_a_real_password_when_scanning_then_nothing_is_reported(
    tmp_path: Path, line: str
) -> None:
    # WHEN
    found = list(findings(tmp_path / "deploy.md", line))
    # THEN
    assert found == []


# An output whose value reads one of these attributes hands out a secret.
SECRET_ATTRIBUTES: Final = re.compile(
    r"\.(?:password|auth_token|secret_string|private_key\w*|master_password|token)\b"
    r"|random_password\.",
)


def terraform_outputs() -> Iterator[tuple[Path, str, dict[str, Any]]]:
    for path in sorted((REPO / "deploy").rglob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("output", []):
            for name, body in block.items():
                yield path, name.strip('"'), body


def test_given_the_terraform_modules_when_reading_outputs_then_none_exposes_a_secret() -> None:
    # GIVEN
    outputs = list(terraform_outputs())
    # WHEN
    leaking = [
        f"{path.relative_to(REPO)}: output {name}"
        for path, name, body in outputs
        if SECRET_ATTRIBUTES.search(str(body.get("value", "")))
        and str(body.get("sensitive", "false")).strip("${}").lower() != "true"
    ]
    # THEN
    assert leaking == []
