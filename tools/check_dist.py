#!/usr/bin/env python3
"""Check the built wheels and sdists before anything publishes them (``make dist``, CI's dist job).

hatch builds and ``twine check --strict`` validates the metadata; this checks what neither does:

* every package under ``packages/`` has exactly one wheel and one sdist in ``dist/``, all of one
  version;
* each wheel and sdist carries the licence files its metadata names (PEP 639 ``License-File``),
  the wheel's ``LICENSE`` is the repository's, and the sdist holds every file the wheel installs;
* the long description (the README) has no relative link, which PyPI cannot resolve;
* on each Python asked for, the wheel installs into a fresh virtualenv from the built files only
  (third-party dependencies from the index, pinned by the constraints file; the workspace's own
  packages only from ``dist/``, with ``--no-index``), passes ``uv pip check``, imports from the
  venv, and each of its commands answers ``--help`` -- all run from an empty directory, so no
  source tree is on ``sys.path``.

Stdlib only; it drives uv::

    python3 tools/check_dist.py --uv .tools/bin/uv --python 3.11 --python 3.12 --python 3.13
    python3 tools/check_dist.py --no-install     # the static checks only
"""

from __future__ import annotations

import argparse
import configparser
import email.message
import email.parser
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "Built",
    "DistError",
    "check_built",
    "check_install",
    "main",
    "normalise",
    "pair_distributions",
    "relative_links",
    "third_party_requirements",
    "top_level_modules",
]

_SUMMARY = "Check the built wheels and sdists: licence, contents, README, install on each Python."
DEFAULT_ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA_MARKER = re.compile(r"\bextra\s*==")
# Markdown links and images, inline ``[text](target)`` and reference ``[label]: target``.
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|#|//)")
_CLEAN_ENV_DROP = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_CONSTRAINT", "PIP_CONSTRAINT")


class DistError(Exception):
    """A built distribution that must not be published; the message names the file and the fault."""


def normalise(name: str) -> str:
    """PEP 503 name: ``Findata_Core`` and ``findata-core`` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement.strip())
    if match is None:
        raise DistError(f"not a requirement: {requirement!r}")
    return normalise(match.group())


@dataclass(frozen=True)
class Built:
    """One project's wheel and sdist, with what the checks read from them."""

    name: str
    version: str
    wheel: Path
    sdist: Path
    metadata: email.message.Message
    wheel_files: tuple[str, ...]
    sdist_files: tuple[str, ...]

    @property
    def dist_info(self) -> str:
        return f"{self.wheel.name.split('-')[0]}-{self.version}.dist-info"

    def requirements(self) -> list[str]:
        """``Requires-Dist`` without the extras' (tests, integrations): what an install pulls."""
        return [
            requirement
            for requirement in self.metadata.get_all("Requires-Dist", [])
            if not _EXTRA_MARKER.search(requirement)
        ]

    def commands(self) -> list[str]:
        """The console scripts the wheel installs."""
        path = f"{self.dist_info}/entry_points.txt"
        if path not in self.wheel_files:
            return []
        with zipfile.ZipFile(self.wheel) as archive:
            text = archive.read(path).decode("utf-8")
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str  # keep the commands' case
        parser.read_string(text)
        return sorted(parser["console_scripts"]) if parser.has_section("console_scripts") else []


def _read_wheel(path: Path) -> tuple[email.message.Message, tuple[str, ...]]:
    with zipfile.ZipFile(path) as archive:
        names = tuple(archive.namelist())
        metadata_paths = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(metadata_paths) != 1:
            raise DistError(f"{path.name}: want one .dist-info/METADATA, found {metadata_paths}")
        text = archive.read(metadata_paths[0]).decode("utf-8")
    return email.parser.Parser().parsestr(text), names


def _read_sdist(path: Path) -> tuple[email.message.Message, tuple[str, ...]]:
    with tarfile.open(path, "r:gz") as archive:
        names = tuple(member.name for member in archive.getmembers() if member.isfile())
        pkg_info = [n for n in names if re.fullmatch(r"[^/]+/PKG-INFO", n)]
        if len(pkg_info) != 1:
            raise DistError(f"{path.name}: want one top-level PKG-INFO, found {pkg_info}")
        handle = archive.extractfile(pkg_info[0])
        assert handle is not None  # a regular file, checked above
        text = handle.read().decode("utf-8")
    return email.parser.Parser().parsestr(text), names


def pair_distributions(dist: Path) -> list[Built]:
    """Every wheel in ``dist`` with its sdist; a lone wheel, a lone sdist or other files fail."""
    wheels = {path.name.split("-")[0]: path for path in sorted(dist.glob("*.whl"))}
    sdists = {path.name.rsplit("-", 1)[0]: path for path in sorted(dist.glob("*.tar.gz"))}
    problems = [f"{dist / name}: no wheel for this sdist" for name in sdists.keys() - wheels]
    problems += [f"{wheels[name]}: no sdist for this wheel" for name in wheels.keys() - sdists]
    others = [p.name for p in dist.iterdir() if not p.name.endswith((".whl", ".tar.gz"))]
    problems += [f"{dist / name}: not a wheel or an sdist" for name in sorted(others)]
    if problems:
        raise DistError("\n".join(problems))
    built = []
    for key in sorted(wheels):
        metadata, wheel_files = _read_wheel(wheels[key])
        _, sdist_files = _read_sdist(sdists[key])
        built.append(
            Built(
                name=normalise(metadata["Name"]),
                version=metadata["Version"],
                wheel=wheels[key],
                sdist=sdists[key],
                metadata=metadata,
                wheel_files=wheel_files,
                sdist_files=sdist_files,
            )
        )
    return built


def relative_links(markdown: str) -> list[str]:
    """Link and image targets PyPI would leave broken: neither absolute URLs nor anchors."""
    targets = _INLINE_LINK.findall(markdown) + _REFERENCE_LINK.findall(markdown)
    return [target for target in targets if not _ABSOLUTE.match(target)]


def _project_names(packages: Path) -> dict[str, Path]:
    names = {}
    for pyproject in sorted(packages.glob("*/pyproject.toml")):
        with pyproject.open("rb") as handle:
            names[normalise(tomllib.load(handle)["project"]["name"])] = pyproject.parent
    return names


def check_built(built: Sequence[Built], packages: Path, licence: Path) -> list[str]:
    """Every problem of the built files that no install is needed to see (empty: all fine)."""
    projects = _project_names(packages)
    names = [b.name for b in built]
    problems = [f"{projects[n]}: no wheel and sdist in dist/" for n in projects if n not in names]
    problems += [
        f"{b.wheel}: {b.name} is not a package under {packages}"
        for b in built
        if b.name not in projects
    ]
    versions = {b.version for b in built}
    if len(versions) > 1:
        problems.append(f"built versions disagree: { {b.name: b.version for b in built} }")
    licence_text = licence.read_bytes()
    for b in built:
        problems += _licence_problems(b, licence_text, licence.name)
        sdist_tails = {name.split("/", 1)[1] for name in b.sdist_files if "/" in name}
        missing = [
            name
            for name in b.wheel_files
            if not name.startswith(f"{b.dist_info}/")
            and not any(tail == name or tail.endswith(f"/{name}") for tail in sdist_tails)
        ]
        problems += [f"{b.sdist}: lacks {name}, which the wheel installs" for name in missing]
        if not b.metadata.get("Description-Content-Type"):
            problems.append(f"{b.wheel}: no Description-Content-Type for the README")
        problems += [
            f"{b.wheel}: README links to {target!r}, which PyPI cannot resolve (use a full URL)"
            for target in relative_links(b.metadata.get_payload())
        ]
    return problems


def _licence_problems(b: Built, licence_text: bytes, licence_name: str) -> list[str]:
    problems = []
    declared = b.metadata.get_all("License-File", [])
    if not b.metadata.get("License-Expression"):
        problems.append(f"{b.wheel}: no License-Expression in its metadata")
    if licence_name not in declared:
        problems.append(
            f"{b.wheel}: {licence_name} is not a License-File (copy the root {licence_name} "
            f"into the package and list it in license-files: docs/release.md)"
        )
    sdist_root = b.sdist_files[0].split("/", 1)[0] if b.sdist_files else ""
    for path in declared:
        if f"{b.dist_info}/licenses/{path}" not in b.wheel_files:
            problems.append(f"{b.wheel}: License-File {path} is not in .dist-info/licenses/")
        if f"{sdist_root}/{path}" not in b.sdist_files:
            problems.append(f"{b.sdist}: License-File {path} is not in the sdist")
    if licence_name in declared and f"{b.dist_info}/licenses/{licence_name}" in b.wheel_files:
        with zipfile.ZipFile(b.wheel) as archive:
            shipped = archive.read(f"{b.dist_info}/licenses/{licence_name}")
        if shipped != licence_text:
            problems.append(f"{b.wheel}: its {licence_name} differs from the repository's")
    return problems


def third_party_requirements(wheel: Built, built: Iterable[Built]) -> list[str]:
    """What the wheel needs from the index: its own and its workspace dependencies' others."""
    by_name = {b.name: b for b in built}
    requirements: set[str] = set()
    pending, seen = [wheel], {wheel.name}
    while pending:
        for requirement in pending.pop().requirements():
            name = _requirement_name(requirement)
            if name not in by_name:
                requirements.add(requirement)
            elif name not in seen:
                seen.add(name)
                pending.append(by_name[name])
    return sorted(requirements)


def top_level_modules(wheel_files: Iterable[str]) -> list[str]:
    """The outermost regular packages in a wheel (``findata.core`` in namespace ``findata``)."""
    packages = {
        PurePosixPath(name).parent
        for name in wheel_files
        if name.endswith("/__init__.py") and ".dist-info/" not in name and ".data/" not in name
    }
    return sorted(".".join(p.parts) for p in packages if p.parent not in packages)


def _main_modules(wheel_files: Iterable[str]) -> list[str]:
    """Packages runnable with ``python -m`` (``findata.db``): they answer ``--help`` too."""
    return sorted(
        ".".join(PurePosixPath(name).parent.parts)
        for name in wheel_files
        if name.endswith("/__main__.py") and ".dist-info/" not in name
    )


def _run(command: Sequence[str | Path], cwd: Path, env: dict[str, str], what: str) -> str:
    result = subprocess.run(  # noqa: S603 -- fixed tools, arguments from the built files
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise DistError(
            f"{what}: exit {result.returncode}: {' '.join(map(str, command))}\n"
            + "\n".join(f"    {line}" for line in output)
        )
    return result.stdout


def check_install(
    wheel: Built, built: Sequence[Built], python: str, uv: Path, constraints: Path | None
) -> list[str]:
    """Install ``wheel`` alone into a fresh venv on ``python``; import it, run its commands.

    Returns what was proved, one line each; raises DistError naming the wheel and the step.
    """
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV_DROP}
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # the Pythons on this machine, never a download
    uv = uv.resolve() if uv.parent != Path() else uv  # the commands run in another directory
    what = f"{wheel.wheel.name} on Python {python}"
    with tempfile.TemporaryDirectory(prefix="findata-dist-") as scratch:
        cwd = Path(scratch)  # empty: nothing of the repository is importable from here
        venv = cwd / "venv"
        interpreter = venv / "bin" / "python"
        _run([uv, "venv", "--quiet", "--python", python, venv], cwd, env, what)
        requirements = third_party_requirements(wheel, built)
        if requirements:
            listed = cwd / "requirements.txt"
            listed.write_text("\n".join(requirements) + "\n", encoding="utf-8")
            pins = ["--constraint", constraints.resolve()] if constraints else []
            _run(
                [uv, "pip", "install", "--quiet", "--python", interpreter, "-r", listed, *pins],
                cwd,
                env,
                f"{what}: third-party dependencies",
            )
        dist = wheel.wheel.parent.resolve()
        _run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                interpreter,
                "--no-index",
                # Our wheels keep their version between builds: uv's cache would hand back an
                # earlier build of the same file name (a stale findata-db under findata-server).
                "--no-cache",
                "--find-links",
                dist,
                wheel.wheel.resolve(),
            ],
            cwd,
            env,
            f"{what}: the wheel",
        )
        _run([uv, "pip", "check", "--python", interpreter], cwd, env, f"{what}: uv pip check")
        code = "import platform; print(platform.python_version())"
        version = _run([interpreter, "-I", "-c", code], cwd, env, what).strip()
        proved = [f"Python {version}"]
        site = str(venv.resolve())
        for module in top_level_modules(wheel.wheel_files):
            # -I: neither the working directory nor user site-packages is on sys.path.
            code = f"import importlib; print(importlib.import_module({module!r}).__file__)"
            origin = _run([interpreter, "-I", "-c", code], cwd, env, f"{what}: import {module}")
            if not str(Path(origin.strip()).resolve()).startswith(site):
                raise DistError(f"{what}: {module} imported from {origin.strip()}, not the venv")
            proved.append(f"import {module}")
        for module in _main_modules(wheel.wheel_files):
            _run([interpreter, "-I", "-m", module, "--help"], cwd, env, f"{what}: -m {module}")
            proved.append(f"python -m {module} --help")
        for command in wheel.commands():
            _run([venv / "bin" / command, "--help"], cwd, env, f"{what}: {command} --help")
            proved.append(f"{command} --help")
    return proved


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: exit 1 listing every problem, 2 on unreadable input, 0 when every check passed."""
    parser = argparse.ArgumentParser(prog="check_dist.py", description=_SUMMARY)
    parser.add_argument("--dist", type=Path, default=DEFAULT_ROOT / "dist")
    parser.add_argument("--packages", type=Path, default=DEFAULT_ROOT / "packages")
    parser.add_argument("--license", type=Path, default=DEFAULT_ROOT / "LICENSE")
    parser.add_argument("--constraints", type=Path, help="pins for the third-party dependencies")
    parser.add_argument("--uv", type=Path, default=DEFAULT_ROOT / ".tools" / "bin" / "uv")
    parser.add_argument("--python", action="append", default=[], help="e.g. 3.12; repeatable")
    parser.add_argument("--no-install", action="store_true", help="only the static checks")
    args = parser.parse_args(argv)
    if not args.python and not args.no_install:
        parser.error("give at least one --python, or --no-install")
    try:
        built = pair_distributions(args.dist)
        problems = check_built(built, args.packages, args.license)
    except (DistError, OSError, KeyError, tarfile.TarError, zipfile.BadZipFile) as error:
        print(f"check_dist: error: {error}", file=sys.stderr)
        return 2
    if not built:
        problems.append(f"{args.dist}: no distributions")
    if problems:
        print(
            "check_dist: " + "\n  ".join(["refusing the built files:", *problems]), file=sys.stderr
        )
        return 1
    print(
        f"check_dist: {len(built)} wheels + sdists, version {built[0].version}: metadata, "
        "licence, sdist contents and README links fine"
    )
    if args.no_install:
        return 0
    failures = 0
    for python in args.python:
        for wheel in built:
            started = time.monotonic()
            try:
                proved = check_install(wheel, built, python, args.uv, args.constraints)
            except DistError as error:
                print(f"check_dist: FAILED {error}", file=sys.stderr)
                failures += 1
                continue
            took = f"{time.monotonic() - started:.0f} s"
            print(f"check_dist: ok {wheel.wheel.name} on {python} ({took}): {', '.join(proved)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
