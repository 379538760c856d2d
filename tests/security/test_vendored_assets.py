"""The front-end files vendored into findata-api are the pinned npm releases, byte for byte.

``tools/vendor_assets.py verify`` re-hashes every vendored file against the manifest
(``static/vendor/vendor.json``, written by ``update`` after checking each npm tarball's
sha512 integrity); these tests run it, and prove that it catches a changed file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]
TOOL: Final = REPO / "tools" / "vendor_assets.py"
VENDOR: Final = REPO / "packages/findata-api/src/findata/api/static/vendor"
NOTICES: Final = REPO / "packages/findata-api/THIRD_PARTY_NOTICES.md"


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, check=False
    )


def test_given_the_vendored_files_when_verifying_then_every_hash_matches_the_manifest() -> None:
    # WHEN
    done = run_tool("verify")
    # THEN
    assert done.returncode == 0, done.stderr
    assert "vendored files match" in done.stdout


def test_given_a_changed_vendored_file_when_verifying_then_the_file_is_named(
    tmp_path: Path,
) -> None:
    # GIVEN: a copy of the vendored tree with one byte of the chart library changed
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    library = copy / "lightweight-charts" / "lightweight-charts.standalone.production.js"
    library.write_bytes(library.read_bytes().replace(b"TradingView", b"TradingVieW", 1))
    # WHEN
    done = run_tool("verify", "--manifest", str(copy / "vendor.json"))
    # THEN
    assert done.returncode == 1
    assert str(library) in done.stderr
    assert "lightweight-charts 5.2.1" in done.stderr


def test_given_the_manifest_when_reading_it_then_each_package_is_pinned_and_attributed() -> None:
    # GIVEN
    manifest = json.loads((VENDOR / "vendor.json").read_text("utf-8"))
    notices = NOTICES.read_text("utf-8")
    for name, package in manifest.items():
        # THEN: an exact version, npm's sha512 integrity, a licence and its notice files
        assert re.fullmatch(r"\d+\.\d+\.\d+", package["version"]), name
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", package["integrity"]), name
        assert {"LICENSE", "NOTICE"} <= set(package["files"]), name
        assert f"{name} {package['version']}" in notices, name


def test_given_the_vendored_libraries_when_reading_their_headers_then_versions_agree() -> None:
    # GIVEN: the versions the libraries state inside their own files
    manifest = json.loads((VENDOR / "vendor.json").read_text("utf-8"))
    charts = (VENDOR / "lightweight-charts/lightweight-charts.standalone.production.js").read_text(
        "utf-8"
    )
    swagger = (VENDOR / "swagger-ui/swagger-ui-bundle.js").read_text("utf-8")
    # THEN: they are the pinned ones
    assert f"Lightweight Charts™ v{manifest['lightweight-charts']['version']}" in charts
    assert f'PACKAGE_VERSION:"{manifest["swagger-ui-dist"]["version"]}"' in swagger
