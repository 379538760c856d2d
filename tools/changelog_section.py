#!/usr/bin/env python3
"""Print one version's section of CHANGELOG.md: the notes of its GitHub release.

The changelog follows Keep a Changelog: a ``## [X.Y.Z] - YYYY-MM-DD`` heading per version, its
``###`` subsections below, up to the next ``## `` heading. The section's body is printed without
its heading. A version without a section, an empty section, or, with ``--released``, a heading
without a release date (``- unreleased``) is refused with exit status 2 and a message::

    python3 tools/changelog_section.py 0.1.0
    python3 tools/changelog_section.py 0.1.0 --released > notes.md     # what CI attaches

Stdlib only.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ChangelogError", "changelog_section", "main"]

_SUMMARY = "Print one version's section of CHANGELOG.md (the notes of its GitHub release)."
DEFAULT_CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
_SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?P<rest>.*)$", re.MULTILINE)
_NEXT_HEADING = re.compile(r"^## ", re.MULTILINE)
_RELEASE_DATE = re.compile(r"^\s*-\s*\d{4}-\d{2}-\d{2}\s*$")
# Keep a Changelog's link definitions at the end of the file ("[0.1.0]: https://...").
_LINK_DEFINITIONS = re.compile(r"(?:^\[[^\]]+\]:\s*\S+\s*$\n?)+\Z", re.MULTILINE)


class ChangelogError(ValueError):
    """No usable section for the version asked for; the message says why and where."""


def changelog_section(text: str, version: str, *, released: bool = False) -> str:
    """The body of ``## [version]`` in ``text``, stripped; ChangelogError when there is none."""
    heading = next((m for m in _SECTION.finditer(text) if m.group("version") == version), None)
    if heading is None:
        raise ChangelogError(f"no '## [{version}]' section")
    line = heading.group().strip()
    if released and not _RELEASE_DATE.match(heading.group("rest")):
        raise ChangelogError(f"'{line}' has no release date ('## [{version}] - YYYY-MM-DD')")
    following = _NEXT_HEADING.search(text, heading.end())
    body = text[heading.end() : following.start() if following else len(text)]
    body = _LINK_DEFINITIONS.sub("", body.strip() + "\n").strip()
    if not body:
        raise ChangelogError(f"'{line}' is empty")
    return body


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print the section (exit 0), or a message naming the file (exit 2)."""
    parser = argparse.ArgumentParser(prog="changelog_section.py", description=_SUMMARY)
    parser.add_argument("version", help="X.Y.Z (a leading v is dropped)")
    parser.add_argument("--changelog", type=Path, default=DEFAULT_CHANGELOG)
    parser.add_argument("--released", action="store_true", help="require a dated heading")
    args = parser.parse_args(argv)
    version = args.version.removeprefix("v")
    try:
        text = args.changelog.read_text(encoding="utf-8")
        section = changelog_section(text, version, released=args.released)
    except (OSError, ChangelogError) as error:
        print(f"changelog_section: error: {args.changelog}: {error}", file=sys.stderr)
        return 2
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
