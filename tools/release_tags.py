#!/usr/bin/env python3
"""The image tag rule, in one place: CI, the Makefile, docker bake and the deploy units all call it.

Rule (SemVer 2.0.0, and a valid Docker tag of at most 128 characters):

* on the main branch: ``X.Y.Z`` and ``latest``;
* on any other branch: ``X.Y.Z-<branch>.dev.<full commit sha>``, where ``<branch>`` is the branch
  name lower-cased, every character outside ``[a-z0-9.-]`` replaced by ``-``, each run of
  separators (``.``/``-``) collapsed to its first character, separators trimmed from both ends,
  numeric dot-separated parts stripped of leading zeros (SemVer forbids them), and truncated so the
  whole tag fits in 128 characters. A name that sanitises to nothing (``""``, ``HEAD`` of a detached
  checkout, ``"///"``, non-Latin scripts) becomes ``detached``.

``X.Y.Z`` is the packages' version, read from every ``packages/*/pyproject.toml`` (all must agree).

Stdlib only, so it runs before any dependency is installed (CI, Terragrunt ``run_cmd``)::

    python3 tools/release_tags.py --branch "$BRANCH" --sha "$SHA"            # one tag a line
    python3 tools/release_tags.py --branch main --sha "$SHA" --format csv   # 0.1.0,latest
    python3 tools/release_tags.py --branch main --sha "$SHA" --format first # 0.1.0 (deploys)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "DEFAULT_ROOT",
    "DETACHED",
    "MAIN_BRANCH",
    "MAX_TAG_LENGTH",
    "ReleaseTagError",
    "main",
    "package_pyprojects",
    "read_version",
    "release_tags",
    "sanitise_branch",
]

MAX_TAG_LENGTH = 128
"""Docker's limit for a tag (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``)."""
MAIN_BRANCH = "main"
DETACHED = "detached"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent
_SUMMARY = "Print the image tags for a branch and commit, by findata's SemVer tag rule."

_VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object names, never abbreviated
_OUTSIDE_TAG_ALPHABET = re.compile(r"[^a-z0-9.-]")
_SEPARATOR_RUN = re.compile(r"([.-])[.-]+")
_BRANCH_REF_PREFIX = "refs/heads/"


class ReleaseTagError(ValueError):
    """An input the tag rule cannot turn into a valid tag (bad version, abbreviated sha...)."""


def sanitise_branch(branch: str, max_length: int = MAX_TAG_LENGTH) -> str:
    """Turn any branch name into a non-empty SemVer pre-release part of at most ``max_length``."""
    if max_length < len(DETACHED):
        raise ReleaseTagError(f"no room for a branch name in a tag: max_length={max_length}")
    name = branch.strip().removeprefix(_BRANCH_REF_PREFIX)
    if name == "HEAD":  # `git rev-parse --abbrev-ref HEAD` on a detached checkout
        return DETACHED
    name = _OUTSIDE_TAG_ALPHABET.sub("-", name.lower())
    name = _SEPARATOR_RUN.sub(r"\1", name)
    name = _strip_leading_zeros(name.strip(".-")[:max_length].strip(".-"))
    return name or DETACHED


def _strip_leading_zeros(name: str) -> str:
    """SemVer: a numeric identifier has no leading zeros (``release.007`` -> ``release.7``)."""
    return ".".join(part.lstrip("0") or "0" if part.isdigit() else part for part in name.split("."))


def release_tags(version: str, branch: str, sha: str, main_branch: str = MAIN_BRANCH) -> list[str]:
    """The tags one build gets: ``[X.Y.Z, latest]`` on main, else one dev pre-release tag."""
    if not _VERSION.fullmatch(version):
        raise ReleaseTagError(f"version {version!r} is not MAJOR.MINOR.PATCH (SemVer core)")
    commit = sha.strip().lower()
    if not _SHA.fullmatch(commit):
        raise ReleaseTagError(f"commit {sha!r} is not a full 40- or 64-hex-digit git object name")
    if branch.strip().removeprefix(_BRANCH_REF_PREFIX) == main_branch:
        return [version, "latest"]
    suffix = f".dev.{commit}"
    room = MAX_TAG_LENGTH - len(version) - len("-") - len(suffix)
    return [f"{version}-{sanitise_branch(branch, room)}{suffix}"]


def package_pyprojects(root: Path = DEFAULT_ROOT) -> list[Path]:
    """Every workspace package's ``pyproject.toml``: a package added under packages/ counts too."""
    pyprojects = sorted((root / "packages").glob("*/pyproject.toml"))
    if not pyprojects:
        raise ReleaseTagError(f"{root / 'packages'}: no package (*/pyproject.toml) found")
    return pyprojects


def read_version(root: Path = DEFAULT_ROOT) -> str:
    """The one version all packages share; a disagreement is an error, never a silent pick."""
    versions: dict[str, str] = {}
    for pyproject in package_pyprojects(root):
        try:
            with pyproject.open("rb") as handle:
                versions[pyproject.parent.name] = str(tomllib.load(handle)["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
            raise ReleaseTagError(f"{pyproject}: cannot read [project] version: {error}") from error
    if len(set(versions.values())) != 1:
        raise ReleaseTagError(f"package versions disagree: {versions}")
    return next(iter(versions.values()))


def _format(tags: Sequence[str], repository: str | None, output: str) -> str:
    refs = [f"{repository}:{tag}" if repository else tag for tag in tags]
    if output == "first":
        return refs[0]
    if output == "csv":
        return ",".join(refs)
    if output == "json":
        return json.dumps(refs)
    return "\n".join(refs)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print the tags for a branch and commit (exit 2 with a message on bad input)."""
    parser = argparse.ArgumentParser(prog="release_tags.py", description=_SUMMARY)
    parser.add_argument("--branch", required=True, help="branch name or refs/heads/... ref")
    parser.add_argument("--sha", required=True, help="full commit sha (40 or 64 hex digits)")
    parser.add_argument("--version", help="X.Y.Z; default: read from packages/*/pyproject.toml")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root")
    parser.add_argument("--main-branch", default=MAIN_BRANCH, help="the release branch")
    parser.add_argument("--repository", help="prefix each tag as REPOSITORY:TAG")
    parser.add_argument(
        "--format",
        choices=("lines", "csv", "json", "first"),
        default="lines",
        help="first: only the build's own tag (X.Y.Z on main, never latest), for deploys",
    )
    args = parser.parse_args(argv)
    try:
        version = args.version or read_version(args.root)
        tags = release_tags(version, args.branch, args.sha, args.main_branch)
    except ReleaseTagError as error:
        print(f"release_tags: error: {error}", file=sys.stderr)
        return 2
    print(_format(tags, args.repository, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
