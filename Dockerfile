# syntax=docker/dockerfile:1
#
# findata images, built by `docker buildx bake` (docker-bake.hcl) or `make image-podman`.
#   api     - the HTTP service: `findata serve` (Hypercorn) as a non-root user
#   migrate - one-shot `findata db migrate` against FINDATA_DATABASE_URL
#   test    - the packages' test suites, run against the installed wheels (`docker run <image>`)
# Stages: base -> builder (uv, venv, wheels) -> venv (pruned) -> runtime -> api/migrate;
# builder -> test. Only /opt/venv reaches the runtime: no compilers, pip, uv, sources or tests.

# Pinned by tag. Pin by digest too (python:3.11-slim-bookworm@sha256:...) where a
# registry is reachable; the machine that checks this file has none, so the digest
# cannot be resolved or verified there (the podman check builds on a debootstrapped
# bookworm tagged with this name instead).
ARG BASE_IMAGE=python:3.11-slim-bookworm

# checkov:skip=CKV_DOCKER_7: the tag is in ARG BASE_IMAGE above (3.11-slim-bookworm); checkov does not resolve ARG defaults
FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    LANG=C.UTF-8

# ---------------------------------------------------------------------------
FROM base AS builder
WORKDIR /src
# uv, pinned like the Makefile's, in a venv of its own that never reaches a runtime
# image. `python3 -m venv` works on the official image (/usr/local/bin/python3) and
# on Debian's python3 (/usr/bin/python3) alike. The runtime venv gets no pip at all.
COPY requirements/tools.txt requirements/tools.txt
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    python3 -m venv /opt/build \
    && /opt/build/bin/pip install "$(grep '^uv==' requirements/tools.txt)" \
    && python3 -m venv --without-pip /opt/venv
# System CA certificates (so a TLS-inspecting proxy's CA in the base is honoured),
# bytecode compiled at install (the runtime root is read-only), real copies from
# the cache mount, and never a downloaded interpreter.
ENV PATH=/opt/build/bin:$PATH \
    UV_NATIVE_TLS=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/opt/venv/bin/python

# Dependency layer: only the lock and the packages' metadata, so editing source
# reuses it. Third-party runtime dependencies come pinned from the lock; the
# workspace's own packages never come from an index (no dependency confusion).
COPY requirements/constraints.txt requirements/constraints.txt
COPY packages/findata-core/pyproject.toml packages/findata-core/pyproject.toml
COPY packages/findata-db/pyproject.toml packages/findata-db/pyproject.toml
COPY packages/findata-api/pyproject.toml packages/findata-api/pyproject.toml
COPY tools/runtime_requirements.py tools/runtime_requirements.py
RUN --mount=type=cache,target=/root/.cache/uv,sharing=locked \
    python3 tools/runtime_requirements.py packages/*/pyproject.toml > /tmp/runtime.txt \
    && uv pip install -r /tmp/runtime.txt -c requirements/constraints.txt

# Source layer: build the three wheels and install them without touching an index.
# Folder packages/findata-api builds the distribution findata-server (ADR 0032);
# `findata --version` reads that distribution's metadata, so it proves the name.
COPY packages/ packages/
RUN --mount=type=cache,target=/root/.cache/uv,sharing=locked \
    for package in findata-core findata-db findata-api; do \
      uv build --wheel --out-dir /wheels "packages/$package" || exit 1; \
    done \
    && uv pip install --no-deps --no-index /wheels/*.whl \
    && uv pip check \
    && /opt/venv/bin/findata --version

# ---------------------------------------------------------------------------
# The runtime venv, without the test suites some third-party wheels bundle.
FROM builder AS venv
RUN find /opt/venv -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} +
# The indicator loops compiled once, here, for a portable x86-64/aarch64 baseline
# (NUMBA_CPU_NAME=generic: no host CPU name or features in the code or in Numba's cache
# keys), into a cache every container seeds its tmpfs from at start (ADR 0036).
ENV NUMBA_CPU_NAME=generic
RUN NUMBA_CACHE_DIR=/opt/numba-cache /opt/venv/bin/python -c \
      "from findata.core import load_indicator_loops; load_indicator_loops()" \
    && test -n "$(find /opt/numba-cache -name '*.nbc')"

# ---------------------------------------------------------------------------
FROM base AS runtime
LABEL org.opencontainers.image.title="findata" \
      org.opencontainers.image.description="Self-hostable market data service: OHLCV bars, resampling and indicators over HTTP." \
      org.opencontainers.image.licenses="MIT"
# A fixed, unprivileged uid/gid so volume ownership is predictable across hosts.
RUN groupadd --gid 10001 findata \
    && useradd --uid 10001 --gid findata --no-create-home \
         --home-dir /nonexistent --shell /usr/sbin/nologin findata \
    && mkdir /data \
    && chown findata:findata /data
COPY --from=venv /opt/venv /opt/venv
COPY --from=venv /opt/numba-cache /opt/numba-cache
COPY services/api/entrypoint.sh /usr/local/bin/findata-entrypoint
# Read-only-root friendly: state lives on the /data volume, scratch on a tmpfs at /tmp,
# including Numba's cache, which the entry point seeds from /opt/numba-cache (the loops
# compiled at build for the generic CPU: loaded, not compiled, at start; ADR 0036).
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    NUMBA_CPU_NAME=generic \
    FINDATA_ENV=production \
    FINDATA_HOST=0.0.0.0 \
    FINDATA_PORT=5000 \
    FINDATA_DATABASE_URL=duckdb:////data/findata.duckdb
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
ENTRYPOINT ["findata-entrypoint"]

# ---------------------------------------------------------------------------
FROM runtime AS migrate
HEALTHCHECK NONE
CMD ["db", "migrate"]

# ---------------------------------------------------------------------------
FROM runtime AS api
EXPOSE 5000
# No curl in the image: the venv's Python asks the service itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_healthcheck' % os.environ.get('FINDATA_PORT', '5000'), timeout=4)"]
CMD ["serve"]

# ---------------------------------------------------------------------------
# The packages' test suites against the installed wheels (src is not on sys.path:
# pytest imports with importlib), with their test extras and the workspace's test
# tooling, all pinned by the same lock. Repository-level tests (tests/: delivery,
# deploy, security) check the repository, not an image, and stay outside.
FROM builder AS test
COPY requirements/dev.in requirements/dev.in
RUN --mount=type=cache,target=/root/.cache/uv,sharing=locked \
    python3 tools/runtime_requirements.py --extra test --extra yahoo packages/*/pyproject.toml \
      > /tmp/test.txt \
    && grep -v '^-e ' requirements/dev.in >> /tmp/test.txt \
    && uv pip install -r /tmp/test.txt -c requirements/constraints.txt
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml ./
RUN groupadd --gid 10001 findata \
    && useradd --uid 10001 --gid findata --no-create-home --home-dir /tmp findata \
    && chown findata:findata /src
USER 10001:10001
ENV HOME=/tmp
HEALTHCHECK NONE
CMD ["pytest", "-m", "not system", "-p", "no:cacheprovider", \
     "packages/findata-core/tests", "packages/findata-db/tests", "packages/findata-api/tests"]
