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

bench: $(HATCH) ## run the benchmarks and print their figures (see docs/benchmarks.md)
	$(HATCH) run bench:core

lock: $(HATCH) ## re-resolve requirements/constraints.txt after changing a dependency
	$(TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.11 requirements/dev.in \
	  --no-emit-package findata-core --no-emit-package findata-db --no-emit-package findata-api \
	  -o requirements/constraints.txt

clean: ## remove tooling, environments and caches
	-$(HATCH) env prune
	rm -rf $(TOOLS) .venv .pytest_cache .mypy_cache .ruff_cache
