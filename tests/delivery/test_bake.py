"""docker-bake.hcl, parsed with python-hcl2 and evaluated here (no buildx on this machine).

The evaluator understands exactly the expression forms the bake file uses and fails on any
other, so the file cannot drift into something these checks silently skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import hcl2
import pytest

SHA = "fedcba9876543210fedcba9876543210fedcba98"
VERSION = "0.1.0"
PUSHED_IMAGES = {"api": "findata-api", "migrate": "findata-migrate"}

_FOR_SPLIT = re.compile(r'\[for (\w+) in split\("([^"]*)", (\w+)\) : "([^"]*)"\]')
_CALL = re.compile(r"(\w+)\((.*)\)")
_IF_EMPTY = re.compile(r'(\w+) == "" \? (\[[^\]]*\]) : (\[[^\]]*\])')
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_INTERPOLATION = re.compile(r"\$\{(\w+)\}")

Value = str | list[str] | dict[str, str]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _blocks(parsed: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in parsed.get(kind, []):
        for label, body in block.items():
            yield _unquote(label), body


class Bake:
    """The bake file with its variables set as ``docker buildx bake`` would (env overrides)."""

    def __init__(self, path: Path, overrides: Mapping[str, str] | None = None) -> None:
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        self.variables = {
            name: _unquote(str(body.get("default", '""')))
            for name, body in _blocks(parsed, "variable")
        }
        unknown = set(overrides or {}) - set(self.variables)
        assert not unknown, f"overrides of undeclared variables: {unknown}"
        self.variables.update(overrides or {})
        self.functions = dict(_blocks(parsed, "function"))
        self.targets = dict(_blocks(parsed, "target"))
        self.groups = {
            name: [_unquote(t) for t in body["targets"]] for name, body in _blocks(parsed, "group")
        }

    def target(self, name: str, _seen: tuple[str, ...] = ()) -> dict[str, Value]:
        """A target with its ``inherits`` merged (maps merge key by key) and evaluated."""
        assert name not in _seen, f"inherits cycle: {' -> '.join((*_seen, name))}"
        body = self.targets[name]
        merged: dict[str, Value] = {}
        for parent in body.get("inherits", []):
            merged.update(self.target(_unquote(parent), (*_seen, name)))
        for key, raw in body.items():
            if key in ("inherits", "__is_block__"):
                continue
            value = self.evaluate(raw, self.variables)
            previous = merged.get(key)
            if isinstance(value, dict) and isinstance(previous, dict):
                merged[key] = {**previous, **value}
            else:
                merged[key] = value
        return merged

    def evaluate(self, raw: Any, scope: Mapping[str, str]) -> Value:
        if isinstance(raw, list):
            items = [self.evaluate(item, scope) for item in raw]
            assert all(isinstance(item, str) for item in items), items
            return [str(item) for item in items]
        if isinstance(raw, dict):
            return {
                _unquote(k): str(self.evaluate(v, scope))
                for k, v in raw.items()
                if k != "__is_block__"
            }
        text = str(raw)
        if text.startswith("${") and text.endswith("}"):
            return self._expression(text[2:-1], scope)
        return self._expression(text, scope)

    def _expression(self, expression: str, scope: Mapping[str, str]) -> Value:
        expression = expression.strip()
        if expression.startswith('"') and expression.endswith('"'):
            return _INTERPOLATION.sub(lambda m: scope[m.group(1)], expression[1:-1])
        if _IDENTIFIER.fullmatch(expression):
            return scope[expression]
        if match := _FOR_SPLIT.fullmatch(expression):
            name, separator, source, template = match.groups()
            return [
                str(self._expression(f'"{template}"', {**scope, name: item}))
                for item in scope[source].split(separator)
            ]
        if match := _IF_EMPTY.fullmatch(expression):
            variable, when_empty, otherwise = match.groups()
            chosen = when_empty if scope[variable] == "" else otherwise
            items = [item.strip() for item in chosen[1:-1].split(",") if item.strip()]
            return [str(self._expression(item, scope)) for item in items]
        if match := _CALL.fullmatch(expression):
            function = self.functions[match.group(1)]
            arguments = [self._expression(a, scope) for a in match.group(2).split(",")]
            local = {**scope, **dict(zip(function["params"], map(str, arguments), strict=True))}
            return self.evaluate(function["result"], local)
        raise AssertionError(f"bake expression this check does not understand: {expression!r}")


def _dockerfile_stages(dockerfile: Path) -> set[str]:
    text = dockerfile.read_text(encoding="utf-8")
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", text, re.MULTILINE | re.IGNORECASE))


def _dockerfile_arg_default(dockerfile: Path, name: str) -> str:
    text = dockerfile.read_text(encoding="utf-8")
    match = re.search(rf"^ARG\s+{name}=(\S+)\s*$", text, re.MULTILINE)
    assert match, f"Dockerfile has no ARG {name}=<default>"
    return match.group(1)


@pytest.fixture(scope="module")
def bake_file(repo_root: Path) -> Path:
    return repo_root / "docker-bake.hcl"


def test_every_target_builds_a_stage_that_exists(bake_file: Path, repo_root: Path) -> None:
    # GIVEN the bake file and the Dockerfile's named stages
    bake = Bake(bake_file)
    stages = _dockerfile_stages(repo_root / "Dockerfile")
    # WHEN every buildable target (no leading underscore) is resolved
    built = {name: bake.target(name) for name in bake.targets if not name.startswith("_")}
    # THEN each names a Dockerfile stage, and the three targets are there
    assert {name: target["target"] for name, target in built.items()} == {
        "api": "api",
        "migrate": "migrate",
        "test": "test",
    }
    assert {"api", "migrate", "test"} <= stages


def test_inherits_and_groups_resolve(bake_file: Path) -> None:
    # GIVEN the bake file
    bake = Bake(bake_file)
    # WHEN the inherits chains and the groups are followed
    parents = {_unquote(p) for body in bake.targets.values() for p in body.get("inherits", [])}
    # THEN every parent and group member is a defined target, and the groups are as documented
    assert parents <= set(bake.targets)
    for members in bake.groups.values():
        assert set(members) <= set(bake.targets) | set(bake.groups)
    assert bake.groups["default"] == ["api", "migrate"]
    assert bake.groups["ci"] == ["api", "migrate", "test"]


def test_main_is_tagged_with_the_version_and_latest(
    bake_file: Path, release_tags: ModuleType
) -> None:
    # GIVEN bake driven as CI drives it on main: TAGS from the one tag rule
    tags = ",".join(release_tags.release_tags(VERSION, "main", SHA))
    bake = Bake(bake_file, {"TAGS": tags, "VERSION": VERSION, "SHA": SHA, "BRANCH": "main"})
    # WHEN the pushed images' tags are evaluated
    refs = {name: bake.target(name)["tags"] for name in PUSHED_IMAGES}
    # THEN each image gets X.Y.Z and latest in the Docker Hub repository
    assert refs == {
        "api": ["docker.io/findata/findata-api:0.1.0", "docker.io/findata/findata-api:latest"],
        "migrate": [
            "docker.io/findata/findata-migrate:0.1.0",
            "docker.io/findata/findata-migrate:latest",
        ],
    }


def test_a_feature_branch_is_tagged_as_a_dev_prerelease(
    bake_file: Path, release_tags: ModuleType
) -> None:
    # GIVEN bake driven on a feature branch, with another registry
    tags = ",".join(release_tags.release_tags(VERSION, "Feature/Intraday_Bars", SHA))
    overrides = {"TAGS": tags, "REGISTRY": "ghcr.io", "NAMESPACE": "acme", "SHA": SHA}
    bake = Bake(bake_file, overrides)
    # WHEN the api's tags are evaluated
    refs = bake.target("api")["tags"]
    # THEN there is exactly the one pre-release tag, no `latest`
    assert refs == [f"ghcr.io/acme/findata-api:0.1.0-feature-intraday-bars.dev.{SHA}"]


def test_images_carry_the_oci_labels(bake_file: Path) -> None:
    # GIVEN a bake run with its version variables set
    overrides = {"VERSION": VERSION, "SHA": SHA, "BRANCH": "main"}
    bake = Bake(bake_file, overrides)
    # WHEN a pushed target's labels are evaluated (inherited from the shared target)
    labels = bake.target("api")["labels"]
    # THEN source, revision and version are set from the variables
    assert isinstance(labels, dict)
    assert labels["org.opencontainers.image.revision"] == SHA
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.source"].startswith("https://")


def test_bake_and_the_dockerfile_default_to_the_same_base(bake_file: Path, repo_root: Path) -> None:
    # GIVEN the base image both files name
    bake = Bake(bake_file)
    # WHEN the api target's build args are evaluated
    args = bake.target("api")["args"]
    # THEN bake passes the Dockerfile's own default, so both build the same thing
    assert isinstance(args, dict)
    assert args["BASE_IMAGE"] == _dockerfile_arg_default(repo_root / "Dockerfile", "BASE_IMAGE")
    assert args["BASE_IMAGE"] == "python:3.11-slim-bookworm"


def test_the_build_cache_is_external_only_when_asked_for(bake_file: Path) -> None:
    # GIVEN bake as a developer runs it (no cache variables) and as CI runs it
    local = Bake(bake_file).target("api")
    ci_cache = {
        "CACHE_FROM": "type=gha,scope=findata",
        "CACHE_TO": "type=gha,scope=findata,mode=max",
    }
    ci = Bake(bake_file, ci_cache).target("api")
    # WHEN / THEN locally no cache is imported or exported (Docker's default driver cannot
    # export one), while CI reads and writes the GitHub Actions cache
    assert (local["cache-from"], local["cache-to"]) == ([], [])
    assert (ci["cache-from"], ci["cache-to"]) == (
        ["type=gha,scope=findata"],
        ["type=gha,scope=findata,mode=max"],
    )


def test_the_evaluator_refuses_an_expression_it_does_not_know(tmp_path: Path) -> None:
    # GIVEN a bake file using a form this check does not model (a function in a for)
    path = tmp_path / "docker-bake.hcl"
    path.write_text(
        'variable "X" {\n  default = "a"\n}\n'
        'target "t" {\n  tags = [for t in split(",", X) : upper(t)]\n}\n',
        encoding="utf-8",
    )
    bake = Bake(path)
    # WHEN / THEN evaluating it fails loudly instead of passing unchecked
    with pytest.raises(AssertionError, match="does not understand"):
        bake.target("t")
