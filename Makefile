# The verbs everyone uses: make run | test | lint | bench.
# The Makefile bootstraps its own tooling (a pinned hatch + uv in .tools/), so a
# machine with Python 3.11+ and make needs nothing else.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := .tools
HATCH := $(TOOLS)/bin/hatch
HOST ?= 127.0.0.1
PORT ?= 5000

# Make other interpreters visible where pyenv manages them, and never let
# hatch/uv download a Python of their own.
export PYENV_VERSION ?= 3.11.7:3.12.1:3.13.0
export UV_PYTHON_DOWNLOADS := never
export HATCH_ENV_TYPE_VIRTUAL_UV_PATH := $(abspath $(TOOLS))/bin/uv

.PHONY: help tools dev run test test-matrix test-system test-quick lint fmt typecheck bench lock clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(HATCH): requirements/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet -r requirements/tools.txt
	@touch $@

tools: $(HATCH) ## install the pinned build tooling into .tools/

dev: $(HATCH) ## a single .venv with every package editable, for editors and quick runs
	$(TOOLS)/bin/uv venv --quiet --allow-existing .venv --python 3.11
	VIRTUAL_ENV=.venv $(TOOLS)/bin/uv pip install --quiet -r requirements/dev.in -c requirements/constraints.txt

run: $(HATCH) ## serve the API on http://$(HOST):$(PORT) over the embedded DuckDB store (demo data on first run)
	$(HATCH) run findata db migrate
	$(HATCH) run findata ingest demo --if-empty
	$(HATCH) run findata serve --host $(HOST) --port $(PORT)

test: test-matrix test-system ## run every test: the suite on Python 3.11-3.13, then the system tests once

test-matrix: $(HATCH) ## unit, integration and API tests on Python 3.11, 3.12 and 3.13
	$(HATCH) run test:run -m "not system"

test-system: $(HATCH) ## system tests (real processes: load, faults, images) once, on the default Python
	$(HATCH) run pytest -m system

test-quick: $(HATCH) ## run every test once, on the default Python
	$(HATCH) run test

lint: $(HATCH) ## ruff (lint + format check) and mypy --strict on src
	$(HATCH) run lint:check
	$(HATCH) run types:check

fmt: $(HATCH) ## apply ruff's fixes and formatting
	$(HATCH) run lint:fix

bench: $(HATCH) ## run the benchmarks and print their figures (see docs/benchmarks.md; BENCH_ARGS=--quick)
	$(HATCH) run bench:core $(BENCH_ARGS)

lock: $(HATCH) ## re-resolve requirements/constraints.txt after changing a dependency
	$(TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.11 requirements/dev.in \
	  --no-emit-package findata-core --no-emit-package findata-db --no-emit-package findata-server \
	  --no-emit-package findata-client \
	  -o requirements/constraints.txt

clean: ## remove tooling, environments and caches
	-$(HATCH) env prune
	rm -rf $(TOOLS) .venv .pytest_cache .mypy_cache .ruff_cache

# --- Delivery: images, bake, Compose, workflows (docs/delivery.md) -----------------------
# The image tags come from the one tag rule, tools/release_tags.py; GIT_BRANCH/GIT_SHA
# default to the checkout (override in CI or to preview: make image-tags GIT_BRANCH=x).
GIT_BRANCH ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
GIT_SHA ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_REGISTRY ?= docker.io
IMAGE_NAMESPACE ?= findata
IMAGE_TAGS = $(shell $(PYTHON) tools/release_tags.py --branch "$(GIT_BRANCH)" --sha "$(GIT_SHA)" --format csv)
IMAGE_VERSION = $(shell $(PYTHON) -c "import tomllib; print(tomllib.load(open('packages/findata-api/pyproject.toml', 'rb'))['project']['version'])")
IMAGE_REF = $(IMAGE_REGISTRY)/$(IMAGE_NAMESPACE)/$(1):$(firstword $(subst $(comma), ,$(IMAGE_TAGS)))
comma := ,
DELIVERY_TOOLS := $(TOOLS)/delivery
PODMAN_IMAGE ?= localhost/findata-api:check
# `docker compose` by default; `make check-compose` passes a Compose v2 binary (ADR 0035).
COMPOSE ?= docker compose

.PHONY: check-delivery lint-delivery image-podman image-tags build up down

$(DELIVERY_TOOLS)/bin/checkov: tools/delivery-requirements.txt $(HATCH)
	$(TOOLS)/bin/uv venv --quiet --allow-existing --python 3.11 $(DELIVERY_TOOLS)
	VIRTUAL_ENV=$(DELIVERY_TOOLS) $(TOOLS)/bin/uv pip install --quiet -r tools/delivery-requirements.txt
	@touch $@

check-delivery: lint-delivery image-podman ## delivery checks: linters, schemas, bake, a real podman build + run

lint-delivery: $(DELIVERY_TOOLS)/bin/checkov $(HATCH) ## hadolint, checkov, actionlint, shellcheck, yamllint, schemas, bake/tag tests
	$(DELIVERY_TOOLS)/bin/hadolint Dockerfile
	BC_SKIP_MAPPING=TRUE $(DELIVERY_TOOLS)/bin/checkov --skip-download --quiet --compact \
	  --framework dockerfile --file Dockerfile
	PATH="$(abspath $(DELIVERY_TOOLS))/bin:$$PATH" actionlint  # with shellcheck on the run: scripts
	$(DELIVERY_TOOLS)/bin/yamllint --strict .github docker-compose.yaml .yamllint.yaml
	$(DELIVERY_TOOLS)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(DELIVERY_TOOLS)/bin/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(DELIVERY_TOOLS)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yaml
	$(DELIVERY_TOOLS)/bin/shellcheck tests/delivery/*.sh tests/delivery/postgres/*.sh services/api/*.sh tools/*.sh
	$(DELIVERY_TOOLS)/bin/hadolint tests/delivery/postgres/Containerfile
	$(HATCH) run pytest -p no:cacheprovider tests/delivery

image-podman: ## build the api image with podman (chroot, local debootstrap base) and smoke-test it
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "installing podman, buildah, runc, debootstrap"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah runc debootstrap; }
	tests/delivery/podman-base-image.sh
	podman build --isolation chroot --pull=never --format docker --target api \
	  --label org.opencontainers.image.revision=$(GIT_SHA) \
	  --label org.opencontainers.image.version=$(IMAGE_VERSION) \
	  --tag $(PODMAN_IMAGE) .
	CONTAINER_ENGINE=podman tests/delivery/image-smoke.sh $(PODMAN_IMAGE)

image-tags: ## print the image tags of this checkout, by the tag rule
	@$(PYTHON) tools/release_tags.py --branch "$(GIT_BRANCH)" --sha "$(GIT_SHA)"

build: ## build the api and migrate images with docker buildx bake (needs Docker)
	@command -v docker >/dev/null && docker info >/dev/null 2>&1 || { \
	  echo "make build needs a Docker engine; without one use: make image-podman" >&2; exit 1; }
	TAGS="$(IMAGE_TAGS)" VERSION="$(IMAGE_VERSION)" BRANCH="$(GIT_BRANCH)" SHA="$(GIT_SHA)" \
	  REGISTRY="$(IMAGE_REGISTRY)" NAMESPACE="$(IMAGE_NAMESPACE)" docker buildx bake --load

up: ## start PostgreSQL, migrate + demo data, and the API on :5000 with Compose (after make build)
	FINDATA_API_IMAGE="$(call IMAGE_REF,findata-api)" FINDATA_MIGRATE_IMAGE="$(call IMAGE_REF,findata-migrate)" \
	  $(COMPOSE) up --detach --no-build --wait

down: ## stop the Compose stack (the database volume stays)
	$(COMPOSE) down

# --- deploy/ (AWS: Terraform modules + Terragrunt live tree, docs/deploy.md) ---
.PHONY: check-deploy

check-deploy: $(HATCH) ## deploy/: terraform fmt/init/validate/test (mocked AWS), checkov, Terragrunt wiring tests
	deploy/check.sh

.PHONY: bench-db
bench-db: $(HATCH) ## findata-db: ingest 10M minute bars into DuckDB and PostgreSQL, time reads (docs/benchmarks.md)
	$(HATCH) run bench:db $(BENCH_ARGS)

.PHONY: bench-api
bench-api: $(HATCH) ## findata-api: wrk throughput/latency vs a Flask+pandas baseline (needs wrk, PostgreSQL; docs/benchmarks.md)
	$(HATCH) run bench:api $(BENCH_ARGS)

.PHONY: test-reliability
test-reliability: $(HATCH) ## reliability and security suites only: fuzz, hostile input, faults, load, shutdown, secret scan
	$(HATCH) run pytest -m system tests/reliability -rA
	$(HATCH) run pytest tests/security

# --- Release: wheels + sdists of every package, checked and installed (docs/release.md) ---
# packages/*/ is a glob: a new package is built and checked without touching this block.
RELEASE_TOOLS := $(TOOLS)/release
DIST_PYTHONS ?= 3.11 3.12 3.13

.PHONY: dist
$(RELEASE_TOOLS)/bin/twine: requirements/release.txt $(HATCH)
	$(TOOLS)/bin/uv venv --quiet --allow-existing --python 3.11 $(RELEASE_TOOLS)
	VIRTUAL_ENV=$(RELEASE_TOOLS) $(TOOLS)/bin/uv pip install --quiet -r requirements/release.txt
	@touch $@

dist: $(HATCH) $(RELEASE_TOOLS)/bin/twine ## wheel + sdist of every package into dist/, twine check, install each on 3.11-3.13
	rm -rf dist
	for pyproject in packages/*/pyproject.toml; do (cd "$${pyproject%/pyproject.toml}" && $(abspath $(HATCH)) build -t sdist -t wheel $(CURDIR)/dist) || exit 1; done
	$(RELEASE_TOOLS)/bin/twine check --strict dist/*
	$(PYTHON) tools/check_dist.py --dist dist --packages packages --license LICENSE --uv $(TOOLS)/bin/uv \
	  --constraints requirements/constraints.txt $(foreach python,$(DIST_PYTHONS),--python $(python))

# --- Operations (issue 17): the Compose stack run here, every README command proven --------
# Docker Compose v2 against podman's Docker-compatible API (ADR 0035); the PostgreSQL image
# the Compose file names is a local stand-in built from tests/delivery/postgres/.
.PHONY: check-compose smoke-commands bench-image
COMPOSE_BIN := $(TOOLS)/compose/docker-compose
COMPOSE_POSTGRES_IMAGE = $(shell sed -n 's/^ *image: *\(postgres:.*\)/docker.io\/library\/\1/p' docker-compose.yaml)

check-compose: ## the Compose stack with podman: healthy db, one seed, README requests, restart, down/up keeps data
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "installing podman, buildah, runc, debootstrap"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah runc debootstrap; }
	tests/delivery/compose-tool.sh $(TOOLS)/compose
	tests/delivery/podman-base-image.sh
	podman build --isolation chroot --pull=never --format docker \
	  --tag $(COMPOSE_POSTGRES_IMAGE) tests/delivery/postgres
	for target in migrate api; do \
	  podman build --isolation chroot --pull=never --format docker --target $$target \
	    --label org.opencontainers.image.revision=$(GIT_SHA) \
	    --label org.opencontainers.image.version=$(IMAGE_VERSION) \
	    --tag $(call IMAGE_REF,findata-$$target) . || exit 1; \
	done
	COMPOSE_BIN=$(abspath $(COMPOSE_BIN)) tests/delivery/compose-stack.sh

bench-image: ## start-up figures of the api image with podman: size, ready, first indicator, RSS (docs/delivery.md)
	$(PYTHON) benchmarks/bench_image.py $(PODMAN_IMAGE) $(BENCH_ARGS)

smoke-commands: $(HATCH) ## run every README / make help command on this checkout, quick modes (tools/smoke-commands.sh)
	PODMAN_IMAGE=$(PODMAN_IMAGE) tools/smoke-commands.sh

# --- findata-client -----------------------------------------------------------------------
.PHONY: bench-client
bench-client: $(HATCH) ## findata-client: Client.bars of 196,560 minute bars vs a bare httpx GET + Arrow decoding
	$(HATCH) run bench:client $(BENCH_ARGS)
