#!/usr/bin/env python3
"""Print the third-party requirements of the workspace packages, one a line, for pip ``-r``.

The image's dependency layer is installed from these plus ``requirements/constraints.txt`` before
any source is copied, so a source edit does not reinstall dependencies. The workspace packages
themselves (``findata-*``) are left out: they are built from source, never fetched from an index.
Stdlib only (it runs on the bare base image)::

    python3 tools/runtime_requirements.py packages/*/pyproject.toml
    python3 tools/runtime_requirements.py --extra test --extra yahoo packages/*/pyproject.toml
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["WORKSPACE_PREFIX", "main", "third_party_requirements"]

WORKSPACE_PREFIX = "findata-"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _normalised_name(requirement: str) -> str:
    match = _NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def third_party_requirements(pyprojects: Iterable[Path], extras: Iterable[str] = ()) -> list[str]:
    """Sorted, de-duplicated dependencies (and the named extras') outside the workspace."""
    wanted_extras = set(extras)
    requirements: set[str] = set()
    for path in pyprojects:
        try:
            with path.open("rb") as handle:
                project = tomllib.load(handle)["project"]
        except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"{path}: cannot read [project]: {error}") from error
        requirements.update(project.get("dependencies", []))
        for extra, extra_requirements in project.get("optional-dependencies", {}).items():
            if extra in wanted_extras:
                requirements.update(extra_requirements)
    return sorted(
        requirement
        for requirement in requirements
        if not _normalised_name(requirement).startswith(WORKSPACE_PREFIX)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; exit 2 with the file's name when a pyproject.toml cannot be read."""
    parser = argparse.ArgumentParser(prog="runtime_requirements.py")
    parser.add_argument("pyprojects", nargs="+", type=Path)
    parser.add_argument("--extra", action="append", default=[], help="also an extra's deps")
    args = parser.parse_args(argv)
    try:
        lines = third_party_requirements(args.pyprojects, args.extra)
    except ValueError as error:
        print(f"runtime_requirements: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
