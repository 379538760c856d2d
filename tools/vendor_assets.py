"""Vendored front-end files of findata-api: fetch them from npm at pinned versions, or verify them.

The chart page and /docs run offline and behind firewalls, so the JavaScript they need is
shipped inside the package (``packages/findata-api/src/findata/api/static/vendor/``). The
manifest there, ``vendor.json``, pins each npm package by version and by the sha512
``integrity`` npm publishes, and each vendored file by its SHA-256.

    python tools/vendor_assets.py verify   # offline: every file matches its SHA-256 (tests run it)
    python tools/vendor_assets.py update   # npm pack each pinned tarball, check its integrity,
                                           # extract the listed files, record their SHA-256

To move to a new version: ``npm view <package> version dist.integrity``, put both in the
manifest, run ``update``, review the diff (and THIRD_PARTY_NOTICES.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
VENDOR: Final = ROOT / "packages/findata-api/src/findata/api/static/vendor"
MANIFEST: Final = VENDOR / "vendor.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(manifest: Path = MANIFEST) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(manifest.read_text("utf-8"))
    return loaded


def verify(manifest: Path = MANIFEST) -> list[str]:
    """Every mismatch between the vendored files and the manifest, as readable lines."""
    problems = []
    folder = manifest.parent
    for name, package in load_manifest(manifest).items():
        for filename, entry in package["files"].items():
            path = folder / package["directory"] / filename
            if not path.is_file():
                problems.append(f"{path}: missing ({name} {package['version']})")
            elif sha256(path) != entry["sha256"]:
                problems.append(
                    f"{path}: SHA-256 {sha256(path)} is not the pinned "
                    f"{entry['sha256']} ({name} {package['version']})"
                )
    return problems


def integrity(tarball: Path) -> str:
    """npm's ``dist.integrity`` of a tarball: ``sha512-`` + base64 of its SHA-512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()


def update(manifest: Path = MANIFEST) -> None:
    """Download each pinned tarball with ``npm pack``, check it, extract the listed files."""
    packages = load_manifest(manifest)
    with tempfile.TemporaryDirectory(prefix="findata-vendor-") as scratch:
        for name, package in packages.items():
            spec = f"{name}@{package['version']}"
            packed = subprocess.run(  # noqa: S603 (npm, fixed arguments, a pinned spec)
                ["npm", "pack", spec, "--json", "--pack-destination", scratch],  # noqa: S607
                capture_output=True,
                text=True,
                check=True,
            )
            tarball = Path(scratch) / json.loads(packed.stdout)[0]["filename"]
            found = integrity(tarball)
            if found != package["integrity"]:
                sys.exit(f"{spec}: integrity {found} is not the pinned {package['integrity']}")
            target = manifest.parent / package["directory"]
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tarball) as archive:
                for filename, entry in package["files"].items():
                    if entry.get("from") is None:  # kept in the repository (see its "source")
                        continue
                    member = archive.extractfile(entry["from"])
                    if member is None:
                        sys.exit(f"{spec}: {entry['from']} is not a file in the tarball")
                    (target / filename).write_bytes(member.read())
            for filename, entry in package["files"].items():
                entry["sha256"] = sha256(target / filename)
            print(f"{spec}: integrity checked, {len(package['files'])} files")
    manifest.write_text(json.dumps(packages, indent=2) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["verify", "update"])
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="default: %(default)s")
    args = parser.parse_args(argv)
    if args.command == "update":
        update(args.manifest)
    problems = verify(args.manifest)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"vendored files match {args.manifest}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
