#!/usr/bin/env python3
"""Refuse a release tag that does not match the packages: CI's gate before anything is published.

A release is a git tag ``vX.Y.Z`` on a commit of the main branch, where ``X.Y.Z`` is the version
every package under ``packages/`` declares (read by the tag rule, ``tools/release_tags.py``). A tag
of another shape, of another version, or on a commit main does not contain is refused with exit
status 2 and one line naming what is wrong; on success the version is printed::

    python3 tools/check_release_tag.py --tag v0.1.0
    python3 tools/check_release_tag.py --tag "$REF" --commit "$SHA" --main-ref origin/main

Stdlib only (and git, for ``--main-ref``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from release_tags import DEFAULT_ROOT, ReleaseTagError, read_version

__all__ = ["check_release_tag", "commit_is_on", "main", "tag_version"]

_SUMMARY = "Refuse a release tag vX.Y.Z that is not the packages' version or not on main."
_RELEASE_TAG = re.compile(r"v((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*))")
_TAG_REF_PREFIX = "refs/tags/"


def tag_version(tag: str) -> str:
    """``X.Y.Z`` of a ``vX.Y.Z`` tag (or ``refs/tags/vX.Y.Z`` ref); anything else is an error."""
    name = tag.strip().removeprefix(_TAG_REF_PREFIX)
    match = _RELEASE_TAG.fullmatch(name)
    if match is None:
        raise ReleaseTagError(f"tag {tag!r} is not a release tag vMAJOR.MINOR.PATCH (e.g. v1.2.3)")
    return match.group(1)


def commit_is_on(commit: str, ref: str, repository: Path) -> bool:
    """Whether ``ref`` (e.g. ``origin/main``) contains ``commit``; an unknown name is an error."""
    result = subprocess.run(  # noqa: S603 -- fixed git command, names passed as arguments
        ["git", "merge-base", "--is-ancestor", commit, ref],  # noqa: S607 -- git from PATH
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode > 1:  # 0: ancestor, 1: not, anything else: git could not tell
        detail = result.stderr.strip()
        raise ReleaseTagError(f"git cannot compare {commit!r} with {ref!r}: {detail}")
    return result.returncode == 0


def check_release_tag(
    tag: str, root: Path = DEFAULT_ROOT, commit: str | None = None, main_ref: str | None = None
) -> str:
    """The release's version when ``tag`` is one for this checkout; ReleaseTagError otherwise."""
    version = tag_version(tag)
    packages = read_version(root)
    if version != packages:
        raise ReleaseTagError(
            f"tag {tag!r} is version {version}, but the packages are {packages}: "
            f"tag v{packages}, or bump every packages/*/pyproject.toml first"
        )
    if main_ref is not None and not commit_is_on(commit or "HEAD", main_ref, root):
        raise ReleaseTagError(f"tag {tag!r} is on {commit or 'HEAD'}, which {main_ref} lacks")
    return version


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print the version (exit 0), or a message on stderr (exit 2)."""
    parser = argparse.ArgumentParser(prog="check_release_tag.py", description=_SUMMARY)
    parser.add_argument("--tag", required=True, help="vX.Y.Z, or refs/tags/vX.Y.Z")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root")
    parser.add_argument("--commit", help="the tagged commit (default: HEAD)")
    parser.add_argument("--main-ref", help="also require the commit on this ref (origin/main)")
    args = parser.parse_args(argv)
    try:
        version = check_release_tag(args.tag, args.root, args.commit, args.main_ref)
    except ReleaseTagError as error:
        print(f"check_release_tag: error: {error}", file=sys.stderr)
        return 2
    print(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
