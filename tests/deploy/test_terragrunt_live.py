"""The Terragrunt live tree wires up to the Terraform modules, checked without Terragrunt or AWS.

Every ``*.hcl`` under ``deploy/live`` is parsed with python-hcl2. For each unit the checker
merges what Terragrunt would merge (``root.hcl`` inputs, the ``_envcommon`` include, the unit
itself) and reports, as plain sentences:

* a ``terraform.source`` that does not resolve to a module under ``deploy/modules``;
* an input the module does not declare, or a required variable (no default) nobody gives;
* a ``dependency`` whose ``config_path`` is not a unit, or whose ``mock_outputs`` or
  ``dependency.X.outputs.Y`` references name an output the dependency's module lacks;
* a ``local.<file>.<key>`` read from account/region/env.hcl that the file does not define;
* account/region/env.hcl holding anything but ``locals``.

Terragrunt functions are evaluated only in the few forms the tree uses (``get_terragrunt_dir()``,
``find_in_parent_folders("x")``, ``dirname(...)`` of it); any other form in a path is reported,
so the checker cannot silently skip what it does not understand. The negative tests plant one
mistake each in a copy of the tree and expect the checker to name it.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import hcl2
import pytest
from hcl2.utils import SerializationOptions

REPO: Final = Path(__file__).resolve().parents[2]
DEPLOY: Final = REPO / "deploy"
RELEASE_TAGS: Final = REPO / "tools" / "release_tags.py"
LOCALS_ONLY_FILES: Final = ("account.hcl", "region.hcl", "env.hcl")
_OPTIONS: Final = SerializationOptions(with_comments=False)
_INTERPOLATION: Final = re.compile(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}")
_FIND_IN_PARENTS: Final = re.compile(r'^find_in_parent_folders\("([^"]+)"\)$')
_DIRNAME_FIND_IN_PARENTS: Final = re.compile(r'^dirname\(find_in_parent_folders\("([^"]+)"\)\)$')
_DEPENDENCY_OUTPUT: Final = re.compile(r"\bdependency\.(\w+)\.outputs\.(\w+)")
_READ_CONFIG_LOCALS: Final = re.compile(
    r'^\$\{read_terragrunt_config\(find_in_parent_folders\("([^"]+)"\)\)\.locals\}$'
)


class UnsupportedExpressionError(ValueError):
    """A path uses a Terragrunt expression this checker cannot evaluate statically."""


@functools.cache
def load_hcl(path: Path) -> dict[str, Any]:
    """Parse once per path (read-only use: callers never mutate the result)."""
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    return parsed


def unquote(value: str) -> str:
    """python-hcl2 keeps the quotes of string literals and block labels; drop them."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def labelled_blocks(parsed: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """``kind "label" { ... }`` blocks of a file, by label."""
    return {unquote(label): body for block in parsed.get(kind, []) for label, body in block.items()}


def single_block(parsed: dict[str, Any], kind: str) -> dict[str, Any]:
    """Attributes of an unlabelled block (``locals``, ``terraform``), merged if repeated."""
    merged: dict[str, Any] = {}
    for block in parsed.get(kind, []):
        merged.update({k: v for k, v in block.items() if not k.startswith("__")})
    return merged


def find_in_parent_folders(start: Path, name: str) -> Path:
    for directory in (start, *start.parents):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"no {name} in {start} or any parent folder")


def evaluate_path(expression: str, unit_dir: Path) -> str:
    """Evaluate a path-valued string as Terragrunt would, for the forms the tree uses.

    A string, not a Path: a module source's ``//`` (repository root // module) must survive.
    """

    def call(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if inner == "get_terragrunt_dir()":
            return str(unit_dir)
        if found := _FIND_IN_PARENTS.match(inner):
            return str(find_in_parent_folders(unit_dir, found.group(1)))
        if found := _DIRNAME_FIND_IN_PARENTS.match(inner):
            return str(find_in_parent_folders(unit_dir, found.group(1)).parent)
        raise UnsupportedExpressionError(f"cannot evaluate ${{{inner}}}")

    return _INTERPOLATION.sub(call, unquote(expression))


@dataclass(frozen=True)
class Module:
    variables: dict[str, bool]  # name -> has a default
    outputs: frozenset[str]


def read_module(directory: Path) -> Module:
    variables: dict[str, bool] = {}
    outputs: set[str] = set()
    for tf_file in sorted(directory.glob("*.tf")):
        parsed = load_hcl(tf_file)
        for name, body in labelled_blocks(parsed, "variable").items():
            variables[name] = "default" in body
        outputs.update(labelled_blocks(parsed, "output"))
    return Module(variables, frozenset(outputs))


@dataclass
class Unit:
    """One unit as Terragrunt sees it after merging its includes."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    source: str | None = None
    source_file: Path | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    dependencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_locals: dict[str, tuple[Path, str]] = field(default_factory=dict)


def merge_unit(unit_file: Path, problems: list[str]) -> Unit:
    unit = Unit(unit_file.parent)
    parsed_unit = load_hcl(unit_file)
    includes = labelled_blocks(parsed_unit, "include")
    if "root" not in includes:
        problems.append(f"{unit_file}: does not include root.hcl")
    layers: list[tuple[Path, dict[str, Any]]] = []
    for label, include in includes.items():  # root first, then _envcommon: shallow merge
        try:
            included = Path(evaluate_path(include["path"], unit.directory))
        except (UnsupportedExpressionError, FileNotFoundError) as error:
            problems.append(f"{unit_file}: include {label!r}: {error}")
            continue
        if not included.is_file():
            problems.append(f"{unit_file}: include {label!r} names a missing file {included}")
            continue
        layers.append((included, load_hcl(included)))
    layers.append((unit_file, parsed_unit))
    for path, parsed in layers:
        unit.files.append(path)
        if source := single_block(parsed, "terraform").get("source"):
            unit.source, unit.source_file = source, path
        unit.inputs.update(parsed.get("inputs", {}))
        unit.dependencies.update(labelled_blocks(parsed, "dependency"))
        for name, value in single_block(parsed, "locals").items():
            if isinstance(value, str) and (read := _READ_CONFIG_LOCALS.match(value)):
                unit.config_locals[name] = (path, read.group(1))
    return unit


def resolve_module(unit: Unit, modules_dir: Path, problems: list[str]) -> Path | None:
    if unit.source is None:
        problems.append(f"{unit.directory}: no terraform.source in the unit or its includes")
        return None
    try:
        source = evaluate_path(unit.source, unit.directory)
    except (UnsupportedExpressionError, FileNotFoundError) as error:
        problems.append(f"{unit.source_file}: terraform.source: {error}")
        return None
    root, _, subdir = source.partition("//")
    module = Path(root, subdir).resolve()
    if not subdir or module.parent != modules_dir.resolve() or not module.is_dir():
        problems.append(
            f"{unit.source_file}: terraform.source {source!r} is not a module in {modules_dir}"
        )
        return None
    return module


def check_unit(
    unit: Unit, modules: dict[Path, Module], modules_dir: Path, problems: list[str]
) -> None:
    module_dir = resolve_module(unit, modules_dir, problems)
    if module_dir is None:
        return
    module = modules[module_dir]
    where = unit.directory
    problems.extend(
        f"{where}: input {name!r} is not a variable of {module_dir.name}"
        for name in sorted(set(unit.inputs) - set(module.variables))
    )
    required = {name for name, has_default in module.variables.items() if not has_default}
    problems.extend(
        f"{where}: required variable {name!r} of {module_dir.name} is not given"
        for name in sorted(required - set(unit.inputs))
    )

    for dep_name, dependency in unit.dependencies.items():
        try:
            dep_dir = Path(evaluate_path(dependency["config_path"], unit.directory)).resolve()
        except (UnsupportedExpressionError, FileNotFoundError) as error:
            problems.append(f"{where}: dependency {dep_name!r}: {error}")
            continue
        if not (dep_dir / "terragrunt.hcl").is_file():
            problems.append(f"{where}: dependency {dep_name!r} config_path {dep_dir} is not a unit")
            continue
        dep_module_dir = resolve_module(merge_unit(dep_dir / "terragrunt.hcl", []), modules_dir, [])
        if dep_module_dir is None:
            continue  # reported when that unit itself is checked
        dep_outputs = modules[dep_module_dir].outputs
        problems.extend(
            f"{where}: dependency {dep_name!r} mocks {output!r}, "
            f"which {dep_module_dir.name} does not output"
            for output in sorted(set(dependency.get("mock_outputs", {})) - dep_outputs)
        )
        for dep_ref, output in _DEPENDENCY_OUTPUT.findall(str(unit.inputs)):
            if dep_ref == dep_name and output not in dep_outputs:
                problems.append(
                    f"{where}: input reads dependency.{dep_name}.outputs.{output}, "
                    f"which {dep_module_dir.name} does not output"
                )
    for dep_ref, output in _DEPENDENCY_OUTPUT.findall(str(unit.inputs)):
        if dep_ref not in unit.dependencies:
            problems.append(
                f"{where}: input reads dependency.{dep_ref}.outputs.{output} "
                "but declares no such dependency"
            )

    for local_name, (defined_in, file_name) in unit.config_locals.items():
        config = find_in_parent_folders(unit.directory, file_name)
        available = set(single_block(load_hcl(config), "locals"))
        text = "\n".join(path.read_text(encoding="utf-8") for path in unit.files)
        used = set(re.findall(rf"\blocal\.{local_name}\.(\w+)", text))
        problems.extend(
            f"{where}: {defined_in.name} reads local.{local_name}.{key}, not in {config}"
            for key in sorted(used - available)
        )


def live_tree_problems(live_dir: Path, modules_dir: Path) -> list[str]:
    """Everything wrong with the live tree, one sentence each; empty when it is sound."""
    problems: list[str] = []
    modules = {
        path.resolve(): read_module(path.resolve())
        for path in modules_dir.iterdir()
        if path.is_dir()
    }
    for path in sorted(live_dir.rglob("*.hcl")):
        try:
            parsed = load_hcl(path)
        except Exception as error:  # any parser error is itself the finding
            problems.append(f"{path}: does not parse: {error}")
            continue
        if path.name in LOCALS_ONLY_FILES and set(parsed) != {"locals"}:
            problems.append(f"{path}: must hold only a locals block, has {sorted(parsed)}")
    for unit_file in sorted(live_dir.rglob("terragrunt.hcl")):
        check_unit(merge_unit(unit_file, problems), modules, modules_dir, problems)
    return problems


def units_by_environment(live_dir: Path) -> dict[str, set[str]]:
    environments: dict[str, set[str]] = {}
    for env_file in live_dir.rglob("env.hcl"):
        units = {unit.parent.name for unit in env_file.parent.glob("*/terragrunt.hcl")}
        environments[env_file.parent.name] = units
    return environments


# --- the real tree -------------------------------------------------------------------------


def test_given_the_live_tree_when_checked_then_every_unit_wires_up_to_its_module() -> None:
    # GIVEN
    live, modules = DEPLOY / "live", DEPLOY / "modules"
    # WHEN
    problems = live_tree_problems(live, modules)
    # THEN
    assert problems == []


def test_given_the_environments_when_listing_units_then_dev_and_prod_have_the_same() -> None:
    # GIVEN
    live = DEPLOY / "live"
    # WHEN
    environments = units_by_environment(live)
    # THEN
    assert set(environments) >= {"dev", "prod"}
    assert environments["dev"] == environments["prod"]
    assert environments["dev"] == {path.name for path in (DEPLOY / "modules").iterdir()}


def test_given_the_modules_when_reading_variables_then_each_is_typed_and_described() -> None:
    # GIVEN
    tf_files = sorted((DEPLOY / "modules").glob("*/*.tf"))
    # WHEN
    undocumented = [
        f"{path.relative_to(REPO)}: {kind} {name}"
        for path in tf_files
        for kind, needed in (("variable", ("type", "description")), ("output", ("description",)))
        for name, body in labelled_blocks(load_hcl(path), kind).items()
        if not all(key in body for key in needed)
    ]
    # THEN
    assert tf_files
    assert undocumented == []


def test_given_the_modules_when_listing_their_files_then_each_is_pinned_documented_and_tested() -> (
    None
):
    # GIVEN
    modules = sorted(path for path in (DEPLOY / "modules").iterdir() if path.is_dir())
    # WHEN
    missing = []
    for module in modules:
        terraform = single_block(load_hcl(module / "versions.tf"), "terraform")
        aws = terraform["required_providers"][0]["aws"]
        if unquote(terraform["required_version"]) != ">= 1.6":
            missing.append(f"{module.name}: required_version")
        if (unquote(aws["source"]), unquote(aws["version"])) != ("hashicorp/aws", "~> 5.0"):
            missing.append(f"{module.name}: hashicorp/aws ~> 5.0")
        missing.extend(
            f"{module.name}: {name}"
            for name in ("main.tf", "variables.tf", "outputs.tf", "README.md")
            if not (module / name).is_file()
        )
        tests = list((module / "tests").glob("*.tftest.hcl"))
        if not any('mock_provider "aws"' in test.read_text(encoding="utf-8") for test in tests):
            missing.append(f'{module.name}: tests/*.tftest.hcl with mock_provider "aws"')
    # THEN
    assert modules
    assert missing == []


def test_given_the_units_when_computing_the_image_tag_then_the_release_rule_accepts_them() -> None:
    # GIVEN: every run_cmd of tools/release_tags.py in the live tree
    calls = [
        line
        for path in sorted((DEPLOY / "live").rglob("*.hcl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if "tools/release_tags.py" in line
    ]
    # WHEN
    accepted = subprocess.run(
        [sys.executable, str(RELEASE_TAGS), "--help"], capture_output=True, text=True, check=True
    ).stdout
    # THEN
    assert calls, "no unit computes the image tag with tools/release_tags.py"
    used_flags = {flag for call in calls for flag in re.findall(r'"(--[a-z-]+)"', call)}
    used_flags.discard("--terragrunt-quiet")  # run_cmd's own flag, not the script's
    assert used_flags
    assert all(re.search(rf"(?m)^\s+{flag}\b", accepted) for flag in used_flags), used_flags


def test_given_the_release_rule_when_run_as_the_units_do_then_main_gives_the_version() -> None:
    # GIVEN: the invocation of the prod unit (branch main) and of a dev branch
    sha = "0123456789abcdef0123456789abcdef01234567"

    def first_tag(branch: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                str(RELEASE_TAGS),
                "--branch",
                branch,
                "--sha",
                sha,
                "--format",
                "first",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    # WHEN
    prod_tag, dev_tag = first_tag("main"), first_tag("feature/X")
    # THEN: one tag each (never latest), in the form the service's image_tag accepts
    assert re.fullmatch(r"\d+\.\d+\.\d+", prod_tag)
    assert dev_tag == f"{prod_tag}-feature-x.dev.{sha}"


# --- the checker catches real mistakes ---------------------------------------------------------

DEV: Final = "live/sandbox/eu-west-1/dev"


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    """A copy of deploy/live to plant one mistake in, beside a link to the real modules."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY / "live", copy / "live")
    (copy / "modules").symlink_to(DEPLOY / "modules", target_is_directory=True)
    return copy


@pytest.mark.parametrize(
    ("relative_file", "old", "new", "expected"),
    [
        pytest.param(
            f"{DEV}/cache/terragrunt.hcl",
            "node_count = 1",
            "node_cuont = 1",
            "input 'node_cuont' is not a variable of cache",
            id="misspelt-input",
        ),
        pytest.param(
            "live/_envcommon/service.hcl",
            "  certificate_arn = local.env.certificate_arn\n",
            "",
            "required variable 'certificate_arn' of service is not given",
            id="missing-required-variable",
        ),
        pytest.param(
            "live/_envcommon/cache.hcl",
            "modules//cache",
            "modules//redis",
            "is not a module in",
            id="source-to-missing-module",
        ),
        pytest.param(
            "live/_envcommon/database.hcl",
            "dependency.network.outputs.private_subnet_ids",
            "dependency.network.outputs.private_subnets",
            "dependency.network.outputs.private_subnets, which network does not output",
            id="unknown-dependency-output",
        ),
        pytest.param(
            "live/_envcommon/network.hcl",
            'config_path                             = "${get_terragrunt_dir()}/../kms"',
            'config_path                             = "${get_terragrunt_dir()}/../keys"',
            "dependency 'kms' config_path",
            id="dependency-on-missing-unit",
        ),
        pytest.param(
            "live/_envcommon/network.hcl",
            "local.env.vpc_cidr",
            "local.env.cidr",
            "reads local.env.cidr, not in",
            id="unknown-env-local",
        ),
        pytest.param(
            f"{DEV}/env.hcl",
            'environment     = "dev"',
            'environment     = "dev"\n}\ninputs = {\n  x = 1',
            "must hold only a locals block",
            id="inputs-in-env-hcl",
        ),
        pytest.param(
            "live/_envcommon/kms.hcl",
            '"${dirname(find_in_parent_folders("root.hcl"))}/../modules//kms"',
            '"${path_relative_from_include()}/../modules//kms"',
            "cannot evaluate",
            id="unsupported-source-expression",
        ),
    ],
)
def test_given_a_planted_mistake_when_checking_the_tree_then_it_is_reported(
    deploy_copy: Path, relative_file: str, old: str, new: str, expected: str
) -> None:
    # GIVEN: one mistake in an otherwise sound copy
    target = deploy_copy / relative_file
    text = target.read_text(encoding="utf-8")
    assert old in text, f"the fixture no longer matches {relative_file}"
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    # WHEN
    problems = live_tree_problems(deploy_copy / "live", deploy_copy / "modules")
    # THEN
    assert any(expected in problem for problem in problems), problems
