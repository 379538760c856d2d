"""tools/changelog_section.py: a release's GitHub notes are its CHANGELOG.md section."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

CHANGELOG = """# Changelog

Intro text.

## [Unreleased]
### Added
- something new

## [1.1.0] - 2026-11-30
### Fixed
- a bug

## [1.0.0] - unreleased
### Added
- the first release

[1.1.0]: https://github.com/findata/findata/compare/v1.0.0...v1.1.0
[1.0.0]: https://github.com/findata/findata/releases/tag/v1.0.0
"""


def test_a_section_is_its_body_up_to_the_next_version(changelog_section: ModuleType) -> None:
    # GIVEN a changelog with several versions
    # WHEN the section of 1.1.0 is taken
    section = changelog_section.changelog_section(CHANGELOG, "1.1.0", released=True)
    # THEN it is exactly its body, without its heading or the next version
    assert section == "### Fixed\n- a bug"


def test_the_last_section_leaves_out_the_link_definitions(changelog_section: ModuleType) -> None:
    # GIVEN the oldest version, followed only by Keep a Changelog's link definitions
    # WHEN its section is taken
    section = changelog_section.changelog_section(CHANGELOG, "1.0.0")
    # THEN the links are not part of the notes
    assert section == "### Added\n- the first release"


def test_a_release_needs_a_dated_heading(changelog_section: ModuleType) -> None:
    # GIVEN a version whose heading still says "unreleased"
    # WHEN / THEN asking for it as released names the heading and the expected form
    with pytest.raises(changelog_section.ChangelogError, match=r"'## \[1\.0\.0\] - unreleased'"):
        changelog_section.changelog_section(CHANGELOG, "1.0.0", released=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CHANGELOG, r"no '## \[2\.0\.0\]' section"),
        ("## [2.0.0] - 2026-12-01\n\n## [1.0.0] - 2026-01-01\n- x\n", r"is empty"),
        ("## [2.0.0.1] - 2026-12-01\n- a longer version is not 2.0.0\n", r"no '## \[2\.0\.0\]'"),
    ],
)
def test_a_missing_or_empty_section_is_refused(
    changelog_section: ModuleType, text: str, message: str
) -> None:
    # GIVEN a changelog without usable notes for 2.0.0 / WHEN / THEN the reason is given
    with pytest.raises(changelog_section.ChangelogError, match=message):
        changelog_section.changelog_section(text, "2.0.0")


def test_the_cli_reads_the_file_and_drops_a_leading_v(
    changelog_section: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a changelog file
    path = tmp_path / "CHANGELOG.md"
    path.write_text(CHANGELOG, encoding="utf-8")
    # WHEN the CLI is given the tag name, then a version without a date, as released
    printed = changelog_section.main(["v1.1.0", "--changelog", str(path), "--released"])
    out = capsys.readouterr().out
    refused = changelog_section.main(["1.0.0", "--changelog", str(path), "--released"])
    err = capsys.readouterr().err
    # THEN the notes are printed; the undated release fails with status 2, naming the file
    assert (printed, out) == (0, "### Fixed\n- a bug\n")
    assert refused == 2
    assert err.startswith(f"changelog_section: error: {path}: '## [1.0.0] - unreleased'")


def test_the_repository_changelog_has_notes_for_the_packages_version(
    changelog_section: ModuleType, release_tags: ModuleType, repo_root: Path
) -> None:
    # GIVEN this repository's changelog and version
    text = (repo_root / "CHANGELOG.md").read_text(encoding="utf-8")
    version = release_tags.read_version(repo_root)
    # WHEN its section is taken (dated or not: the release tag job asks for the date)
    section = changelog_section.changelog_section(text, version)
    # THEN there are notes to publish
    assert section.startswith("### ")
