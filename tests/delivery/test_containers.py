"""Dockerfile and Compose policy that hadolint, checkov and the compose-spec schema do not know.

The podman check (``make image-podman``) proves the built image; these keep the files' intent
from drifting: what reaches the runtime stage, who it runs as, and what waits for what.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml


def _stages(dockerfile: Path) -> dict[str, list[str]]:
    """Each named stage's instructions (continuation lines joined), in file order."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text(encoding="utf-8"))
    stages: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if match := re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", stripped, re.IGNORECASE):
            current = stages.setdefault(match.group(2), [f"FROM {match.group(1)}"])
        elif current is not None:
            current.append(stripped)
    return stages


def _lineage(stages: dict[str, list[str]], name: str) -> list[str]:
    """The stage and its ancestors' instructions, base first."""
    parent = stages[name][0].split()[1]
    inherited = _lineage(stages, parent) if parent in stages else []
    return inherited + stages[name][1:]


@pytest.fixture(scope="module")
def stages(repo_root: Path) -> dict[str, list[str]]:
    return _stages(repo_root / "Dockerfile")


@pytest.mark.parametrize("target", ["api", "migrate"])
def test_runtime_images_take_only_the_venv_from_the_build(
    stages: dict[str, list[str]], target: str
) -> None:
    # GIVEN a shipped image's instructions, its ancestors' included
    instructions = _lineage(stages, target)
    # WHEN every COPY is listed
    copies = [i for i in instructions if i.upper().startswith(("COPY", "ADD"))]
    # THEN what is copied in is the pruned virtualenv, the indicator loops it compiled
    # (Numba's cache) and the entry point that seeds them: no sources, tests or wheels
    assert copies == [
        "COPY --from=venv /opt/venv /opt/venv",
        "COPY --from=venv /opt/numba-cache /opt/numba-cache",
        "COPY services/api/entrypoint.sh /usr/local/bin/findata-entrypoint",
    ]
    assert not any(i.upper().startswith("FROM BUILDER") for i in instructions)


@pytest.mark.parametrize("target", ["api", "migrate", "test"])
def test_images_run_as_an_unprivileged_user(stages: dict[str, list[str]], target: str) -> None:
    # GIVEN an image's instructions
    instructions = _lineage(stages, target)
    # WHEN its last USER is read
    users = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
    # THEN it is a fixed numeric uid that is not root
    assert users
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) >= 1000


def test_the_api_checks_its_health_endpoint_without_curl(stages: dict[str, list[str]]) -> None:
    # GIVEN the api image
    instructions = _lineage(stages, "api")
    # WHEN its last HEALTHCHECK is read
    (healthcheck,) = [i for i in instructions if i.upper().startswith("HEALTHCHECK")][-1:]
    # THEN Python's urllib asks /_healthcheck (no curl in a slim image), and findata serve runs
    assert "urllib.request" in healthcheck
    assert "/_healthcheck" in healthcheck
    assert 'ENTRYPOINT ["findata-entrypoint"]' in instructions
    assert instructions[-1] == 'CMD ["serve"]'


def test_the_loops_are_compiled_at_build_for_the_cpu_they_are_loaded_for(
    stages: dict[str, list[str]], repo_root: Path
) -> None:
    # GIVEN the stage that compiles the indicator loops and the runtime image's environment
    compiling = " ".join(stages["venv"])
    runtime = " ".join(_lineage(stages, "api"))
    entrypoint = (repo_root / "services/api/entrypoint.sh").read_text(encoding="utf-8")
    # WHEN the CPU target and the cache locations are read
    # THEN both compile for and load with the generic CPU (Numba's cache key holds the CPU
    # name and features: any other value at run time would recompile), and the entry point
    # seeds the writable cache from the build's, then runs findata with the arguments
    assert "ENV NUMBA_CPU_NAME=generic" in compiling
    assert "NUMBA_CACHE_DIR=/opt/numba-cache" in compiling
    assert "NUMBA_CPU_NAME=generic" in runtime
    assert "NUMBA_CACHE_DIR=/tmp/numba-cache" in runtime
    assert "seed=/opt/numba-cache" in entrypoint
    assert entrypoint.rstrip().endswith('exec findata "$@"')


def test_the_dependency_layer_comes_before_the_source(stages: dict[str, list[str]]) -> None:
    # GIVEN the builder stage
    builder = stages["builder"]
    # WHEN the lock, the dependency install and the source copy are located
    lock = builder.index("COPY requirements/constraints.txt requirements/constraints.txt")
    install = next(i for i, s in enumerate(builder) if "-c requirements/constraints.txt" in s)
    source = builder.index("COPY packages/ packages/")
    # THEN a source edit leaves the (cached) dependency layer alone, and uv's cache is mounted
    assert lock < install < source
    assert "--mount=type=cache,target=/root/.cache/uv" in builder[install]


@pytest.fixture(scope="module")
def compose(repo_root: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (repo_root / "docker-compose.yaml").read_text(encoding="utf-8")
    )
    return loaded


def test_each_service_starts_only_when_what_it_needs_is_ready(compose: dict[str, Any]) -> None:
    # GIVEN the Compose services
    services = compose["services"]
    # WHEN their start conditions are read
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in services.items()
    }
    # THEN postgres is healthy before migrate runs, and migrate has finished before the api starts
    assert conditions == {
        "postgres": {},
        "migrate": {"postgres": "service_healthy"},
        "api": {"postgres": "service_healthy", "migrate": "service_completed_successfully"},
    }
    assert "healthcheck" in services["postgres"]


def test_the_stack_keeps_its_data_and_serves_on_5000(compose: dict[str, Any]) -> None:
    # GIVEN the Compose file
    services = compose["services"]
    # WHEN volumes, ports and the one-shot command are read
    postgres_volumes = services["postgres"]["volumes"]
    # THEN the database lives on a named volume, the api answers on 5000, migrate seeds the
    # demo data only into an empty store, and both findata services run read-only
    assert any(v.split(":")[0] in compose["volumes"] for v in postgres_volumes)
    assert services["api"]["ports"] == ["127.0.0.1:5000:5000"]
    assert services["migrate"]["command"] == [
        "findata db migrate && findata ingest demo --if-empty"
    ]
    assert services["migrate"]["build"]["target"] == "migrate"
    assert services["api"]["build"]["target"] == "api"
    assert services["api"]["read_only"] is True
    assert services["migrate"]["read_only"] is True
