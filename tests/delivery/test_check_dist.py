"""tools/check_dist.py: what ``make dist`` refuses before a wheel or sdist can be published.

The distributions here are written by hand, file by file (zip and tar.gz as the formats define
them), so each test can leave out exactly the thing the check is meant to catch.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

LICENCE = b"MIT License\n\nCopyright (c) 2026 findata contributors\n"


def _metadata(name: str, version: str, requires: list[str], licence_files: list[str]) -> str:
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    lines += ["License-Expression: MIT", *[f"License-File: {path}" for path in licence_files]]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    lines += ["Description-Content-Type: text/markdown", "", f"# {name}", "", "Fine."]
    return "\n".join(lines) + "\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build(
    dist: Path,
    name: str,
    *,
    version: str = "1.0.0",
    modules: dict[str, str] | None = None,
    requires: tuple[str, ...] = (),
    licence: bytes | None = LICENCE,
    scripts: dict[str, str] | None = None,
    readme: str | None = None,
    sdist_lacks: tuple[str, ...] = (),
) -> tuple[Path, Path]:
    """A wheel and an sdist of ``name`` in ``dist``, installable by any installer."""
    stem = f"{name.replace('-', '_')}-{version}"
    modules = modules if modules is not None else {"acme/demo/__init__.py": "ANSWER = 42\n"}
    licence_files = ["LICENSE"] if licence is not None else []
    metadata = _metadata(name, version, list(requires), licence_files)
    if readme is not None:
        metadata = metadata.replace("# " + name + "\n\nFine.\n", readme)
    files = {path: text.encode() for path, text in modules.items()}
    files[f"{stem}.dist-info/METADATA"] = metadata.encode()
    files[f"{stem}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if licence is not None:
        files[f"{stem}.dist-info/licenses/LICENSE"] = licence
    if scripts:
        entry_points = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
        files[f"{stem}.dist-info/entry_points.txt"] = entry_points.encode()
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{stem}.dist-info/RECORD,,")
    files[f"{stem}.dist-info/RECORD"] = "\n".join(record).encode()
    dist.mkdir(parents=True, exist_ok=True)
    wheel = dist / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    sdist_files = {f"src/{path}": text.encode() for path, text in modules.items()}
    sdist_files["PKG-INFO"] = metadata.encode()
    if licence is not None:
        sdist_files["LICENSE"] = licence
    sdist = dist / f"{stem}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for path, data in sdist_files.items():
            if path in sdist_lacks:
                continue
            member = tarfile.TarInfo(f"{stem}/{path}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return wheel, sdist


def workspace(root: Path, *names: str) -> tuple[Path, Path]:
    """packages/<name>/pyproject.toml for each name, and the root LICENSE."""
    for name in names:
        folder = root / "packages" / name
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n', encoding="utf-8")
    (root / "LICENSE").write_bytes(LICENCE)
    return root / "packages", root / "LICENSE"


def _problems(check_dist: ModuleType, dist: Path, packages: Path, licence: Path) -> list[str]:
    return list(check_dist.check_built(check_dist.pair_distributions(dist), packages, licence))


def test_a_complete_build_has_no_problem(check_dist: ModuleType, tmp_path: Path) -> None:
    # GIVEN two packages, each built as a wheel and an sdist carrying the licence
    packages, licence = workspace(tmp_path, "acme-core", "acme-server")
    build(tmp_path / "dist", "acme-core")
    build(tmp_path / "dist", "acme-server", modules={"acme/server/__init__.py": ""})
    # WHEN the built files are checked
    built = check_dist.pair_distributions(tmp_path / "dist")
    problems = check_dist.check_built(built, packages, licence)
    # THEN both pairs are read and nothing is wrong
    assert [b.name for b in built] == ["acme-core", "acme-server"]
    assert problems == []


def test_a_wheel_without_the_licence_is_refused(check_dist: ModuleType, tmp_path: Path) -> None:
    # GIVEN a package built without its LICENSE (a new package that forgot to copy it)
    packages, licence = workspace(tmp_path, "acme-core")
    wheel, _ = build(tmp_path / "dist", "acme-core", licence=None)
    # WHEN the built files are checked
    problems = _problems(check_dist, wheel.parent, packages, licence)
    # THEN the wheel is named, with what to do
    assert problems == [
        f"{wheel}: LICENSE is not a License-File (copy the root LICENSE into the package and list "
        "it in license-files: docs/release.md)"
    ]


def test_a_licence_other_than_the_repositorys_is_refused(
    check_dist: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a package whose LICENSE copy went stale
    packages, licence = workspace(tmp_path, "acme-core")
    wheel, _ = build(tmp_path / "dist", "acme-core", licence=b"Copyright (c) 1999 someone\n")
    # WHEN the built files are checked
    problems = _problems(check_dist, wheel.parent, packages, licence)
    # THEN the difference is reported for that wheel
    assert problems == [f"{wheel}: its LICENSE differs from the repository's"]


def test_a_wheel_without_its_sdist_is_refused(check_dist: ModuleType, tmp_path: Path) -> None:
    # GIVEN a dist/ holding a wheel whose sdist is gone, and a stray file
    wheel, sdist = build(tmp_path / "dist", "acme-core")
    sdist.unlink()
    (tmp_path / "dist" / "notes.txt").write_text("stray\n", encoding="utf-8")
    # WHEN / THEN pairing the files names both faults
    with pytest.raises(check_dist.DistError) as raised:
        check_dist.pair_distributions(wheel.parent)
    assert str(raised.value).splitlines() == [
        f"{wheel}: no sdist for this wheel",
        f"{tmp_path / 'dist' / 'notes.txt'}: not a wheel or an sdist",
    ]


def test_a_package_that_was_not_built_is_named(check_dist: ModuleType, tmp_path: Path) -> None:
    # GIVEN a workspace of two packages where only one was built
    packages, licence = workspace(tmp_path, "acme-core", "acme-client")
    build(tmp_path / "dist", "acme-core")
    # WHEN the built files are checked
    built = check_dist.pair_distributions(tmp_path / "dist")
    problems = check_dist.check_built(built, packages, licence)
    # THEN the missing package's folder is named
    assert problems == [f"{packages / 'acme-client'}: no wheel and sdist in dist/"]


def test_an_sdist_missing_a_module_of_the_wheel_is_refused(
    check_dist: ModuleType, tmp_path: Path
) -> None:
    # GIVEN an sdist that lost a module the wheel installs
    packages, licence = workspace(tmp_path, "acme-core")
    modules = {"acme/demo/__init__.py": "", "acme/demo/extra.py": "X = 1\n"}
    _, sdist = build(
        tmp_path / "dist", "acme-core", modules=modules, sdist_lacks=("src/acme/demo/extra.py",)
    )
    # WHEN the built files are checked
    problems = _problems(check_dist, sdist.parent, packages, licence)
    # THEN the sdist is named with the file it lacks
    assert problems == [f"{sdist}: lacks acme/demo/extra.py, which the wheel installs"]


def test_versions_that_disagree_are_refused(check_dist: ModuleType, tmp_path: Path) -> None:
    # GIVEN two packages built at different versions
    packages, licence = workspace(tmp_path, "acme-core", "acme-db")
    build(tmp_path / "dist", "acme-core", version="1.0.0")
    build(tmp_path / "dist", "acme-db", version="1.1.0", modules={"acme/db/__init__.py": ""})
    # WHEN the built files are checked
    built = check_dist.pair_distributions(tmp_path / "dist")
    problems = check_dist.check_built(built, packages, licence)
    # THEN the disagreement is the one problem
    assert problems == ["built versions disagree: {'acme-core': '1.0.0', 'acme-db': '1.1.0'}"]


def test_a_readme_with_a_relative_link_is_refused(check_dist: ModuleType, tmp_path: Path) -> None:
    # GIVEN a README that links to a file of the repository
    packages, licence = workspace(tmp_path, "acme-core")
    readme = "# acme\n\nSee [the guide](docs/guide.md) and [PyPI](https://pypi.org/).\n"
    wheel, _ = build(tmp_path / "dist", "acme-core", readme=readme)
    # WHEN the built files are checked
    problems = _problems(check_dist, wheel.parent, packages, licence)
    # THEN the link PyPI cannot follow is named, and the absolute one is not
    assert problems == [
        f"{wheel}: README links to 'docs/guide.md', which PyPI cannot resolve (use a full URL)"
    ]


@pytest.mark.parametrize(
    ("markdown", "relative"),
    [
        ("[a](https://example.org/a) [b](#usage) [c](mailto:x@example.org)", []),
        ("![chart](img/a.png) and [adr](../docs/0032.md)", ["img/a.png", "../docs/0032.md"]),
        ("[guide]: docs/guide.md\n[site]: https://example.org\n", ["docs/guide.md"]),
    ],
)
def test_relative_links_are_found_in_inline_and_reference_form(
    check_dist: ModuleType, markdown: str, relative: list[str]
) -> None:
    # GIVEN a long description / WHEN its links are read / THEN only relative targets are returned
    assert check_dist.relative_links(markdown) == relative


def test_third_party_requirements_follow_the_workspace_dependencies(
    check_dist: ModuleType, tmp_path: Path
) -> None:
    # GIVEN a server depending on a core package in dist/, each with third-party requirements
    # and a test extra
    build(tmp_path, "acme-core", requires=("numpy>=1.26", "pytest>=8; extra == 'test'"))
    build(
        tmp_path,
        "acme-server",
        modules={"acme/server/__init__.py": ""},
        requires=("Acme_Core==1.0.0", "quart>=0.20", 'tomli>=2; python_version < "3.11"'),
    )
    built = check_dist.pair_distributions(tmp_path)
    (server,) = [b for b in built if b.name == "acme-server"]
    # WHEN the server's requirements from the index are listed
    requirements = check_dist.third_party_requirements(server, built)
    # THEN they are its own and core's, markers kept, no extra, no workspace package (any spelling)
    assert requirements == ["numpy>=1.26", "quart>=0.20", 'tomli>=2; python_version < "3.11"']


def test_top_level_modules_skip_namespace_packages_and_subpackages(check_dist: ModuleType) -> None:
    # GIVEN a wheel's files under the namespace package `acme`
    files = [
        "acme/core/__init__.py",
        "acme/core/sub/__init__.py",
        "acme/db/__init__.py",
        "acme_core-1.0.0.dist-info/METADATA",
    ]
    # WHEN / THEN the outermost regular packages are what an import check imports
    assert check_dist.top_level_modules(files) == ["acme.core", "acme.db"]


def _uv(repo_root: Path) -> Path:
    uv = repo_root / ".tools" / "bin" / "uv"
    found = uv if uv.exists() else shutil.which("uv")
    if found is None:
        pytest.skip("no uv: run `make tools` (the pinned uv lives in .tools/bin)")
    return Path(found)


def test_a_wheel_installs_alone_imports_and_runs_its_command(
    check_dist: ModuleType, repo_root: Path, tmp_path: Path
) -> None:
    # GIVEN a server wheel with a command, depending on a core wheel found only in dist/
    build(tmp_path / "dist", "acme-core", modules={"acme/core/__init__.py": "ANSWER = 42\n"})
    modules = {
        "acme/server/__init__.py": "from acme.core import ANSWER\n",
        "acme/server/cli.py": "def main():\n    print('usage: acme')\n",
    }
    build(
        tmp_path / "dist",
        "acme-server",
        modules=modules,
        requires=("acme-core==1.0.0",),
        scripts={"acme": "acme.server.cli:main"},
    )
    built = check_dist.pair_distributions(tmp_path / "dist")
    (server,) = [b for b in built if b.name == "acme-server"]
    # WHEN it is installed into a fresh venv on this Python and exercised
    proved = check_dist.check_install(server, built, sys.executable, _uv(repo_root), None)
    # THEN it imported from the venv and its command answered
    version = ".".join(map(str, sys.version_info[:3]))
    assert proved == [f"Python {version}", "import acme.server", "acme --help"]


def test_a_workspace_dependency_is_never_taken_from_an_index(
    check_dist: ModuleType, repo_root: Path, tmp_path: Path
) -> None:
    # GIVEN a server wheel pinning core 1.0.0 while dist/ holds core 2.0.0 only
    build(tmp_path / "dist", "acme-core", version="2.0.0", modules={"acme/core/__init__.py": ""})
    build(tmp_path / "dist", "acme-server", requires=("acme-core==1.0.0",))
    built = check_dist.pair_distributions(tmp_path / "dist")
    (server,) = [b for b in built if b.name == "acme-server"]
    # WHEN / THEN the install fails on the wheel step (--no-index: nothing else may supply core),
    # naming the wheel and the Python
    failure = r"acme_server-1\.0\.0-py3-none-any\.whl on Python .*: the wheel"
    with pytest.raises(check_dist.DistError, match=failure):
        check_dist.check_install(server, built, sys.executable, _uv(repo_root), None)


def test_the_cli_lists_every_problem_and_exits_1(
    check_dist: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a workspace whose one package was built without its licence
    packages, licence = workspace(tmp_path, "acme-core")
    wheel, _ = build(tmp_path / "dist", "acme-core", licence=None)
    argv = ["--dist", str(wheel.parent), "--packages", str(packages), "--license", str(licence)]
    # WHEN the static checks run from the command line
    status = check_dist.main([*argv, "--no-install"])
    # THEN the problem is on stderr and the status is 1
    captured = capsys.readouterr()
    assert status == 1
    assert f"{wheel}: LICENSE is not a License-File" in captured.err
    assert captured.out == ""
