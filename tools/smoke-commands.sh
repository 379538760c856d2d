#!/usr/bin/env bash
# `make smoke-commands`: every command the README and `make help` name, run on this
# checkout as a new user would, in a quick mode where the full run takes too long. Run by
# .ci/run after the steps that already run the rest (lint, test, check-deploy,
# check-delivery, check-compose). Fails when `make help` or the README name a target that
# is neither run here nor listed as run by another .ci/run step: add it to one of the two.
# Prints the minutes each step took. Usage: tools/smoke-commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Targets another .ci/run step runs (in full), and the ones that cannot run here, with why.
RUN_BY_CI=(tools lint test test-matrix test-system check-deploy check-delivery lint-delivery
  image-podman check-compose up down smoke-commands dist)
RUN_HERE=(help image-tags dev run bench bench-db bench-api bench-client bench-image test-quick
  test-reliability fmt lock build clean)

timings=()
step_started=0
step_name=""
step() {
  finish_step
  step_name="$*"
  step_started=$SECONDS
  printf '\n--> %s (%s)\n' "$step_name" "$(date -u +%H:%M:%S)"
}
finish_step() {
  if [[ -n "$step_name" ]]; then
    timings+=("$(awk -v s=$((SECONDS - step_started)) -v n="$step_name" 'BEGIN { printf "%5.1f min  %s", s / 60, n }')")
  fi
}
fail() { echo "smoke-commands: FAIL: $*" >&2; exit 1; }
run_pids=()
cleanup() { for pid in "${run_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# The README's example requests (Quick start) against a server on 127.0.0.1:5000.
readme_requests() {
  local line body count=0
  body="$(mktemp)"
  while read -r line; do
    eval "curl --fail --silent --show-error --output '$body' ${line#curl }" \
      || fail "README request failed: $line"
    python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))' "$body" \
      || fail "README request gave an empty body: $line"
    echo "  ok ($(wc -c < "$body") bytes): $line"
    count=$((count + 1))
  done < <(grep -E '^curl .*http://127\.0\.0\.1:5000/' README.md)
  rm -f "$body"
  (( count >= 3 )) || fail "found $count example requests in README.md, expected 3 or more"
}

step "make help and the README name only targets that something runs"
targets="$(make --no-print-directory help | awk '{print $1}')"
[[ -n "$targets" ]] || fail "make help listed nothing"
readme_targets="$(grep -oE '`make [a-z][a-z-]*( [a-z][a-z-]*)*' README.md | sed 's/`make //' | tr ' ' '\n')"
for target in $targets $readme_targets; do
  [[ " ${RUN_BY_CI[*]} ${RUN_HERE[*]} " == *" $target "* ]] || fail "'make $target' is run by \
nothing: run it in tools/smoke-commands.sh (RUN_HERE) or name the .ci/run step (RUN_BY_CI)"
  grep -qE "^$target:" Makefile || fail "the README names 'make $target', which the Makefile lacks"
done
echo "  $(wc -w <<< "$targets") targets in make help, each run by .ci/run"

step "make image-tags"
tags="$(make --no-print-directory image-tags)"
echo "$tags"
grep -qE '^[0-9]+\.[0-9]+\.[0-9]+(-[a-z0-9.-]+\.dev\.[0-9a-f]{40})?$|^latest$' <<< "$tags" \
  || fail "make image-tags printed no tag: $tags"

step "make dev: one .venv with every package editable"
make --no-print-directory dev
.venv/bin/python -c "import findata.core, findata.db, findata.api; print('  imports ok')"
.venv/bin/findata --help >/dev/null || fail ".venv/bin/findata --help failed"

step "make run: migrate, demo data, serve on 127.0.0.1:5000; the README's requests; stop"
if curl --silent --output /dev/null http://127.0.0.1:5000/; then
  fail "something already listens on 127.0.0.1:5000"
fi
run_log="$(mktemp)"
setsid make --no-print-directory run >"$run_log" 2>&1 &
run_pids+=($!)
for _ in $(seq 180); do
  curl --silent --fail --output /dev/null http://127.0.0.1:5000/_readiness && break
  kill -0 "${run_pids[0]}" 2>/dev/null || { cat "$run_log" >&2; fail "make run exited"; }
  sleep 1
done
curl --silent --fail --output /dev/null http://127.0.0.1:5000/_readiness \
  || { tail -30 "$run_log" >&2; fail "make run did not get ready in 180 s"; }
readme_requests
kill -TERM -- "-${run_pids[0]}"
for _ in $(seq 30); do kill -0 "${run_pids[0]}" 2>/dev/null || break; sleep 1; done
! kill -0 "${run_pids[0]}" 2>/dev/null || fail "make run did not stop on SIGTERM"
run_pids=()
grep -E '^demo data:' "$run_log" || true
rm -f "$run_log"

step "make bench BENCH_ARGS=--quick"
make --no-print-directory bench BENCH_ARGS=--quick

step "make bench-db BENCH_ARGS=--quick"
make --no-print-directory bench-db BENCH_ARGS=--quick

step "make bench-api BENCH_ARGS=--quick (the Flask baseline in its own locked virtualenv)"
make --no-print-directory bench-api BENCH_ARGS=--quick

step "make bench-client BENCH_ARGS=--quick"
make --no-print-directory bench-client BENCH_ARGS=--quick

step "make bench-image BENCH_ARGS=--quick (the image make image-podman built)"
podman image exists "${PODMAN_IMAGE:?PODMAN_IMAGE}" || make --no-print-directory image-podman
make --no-print-directory bench-image BENCH_ARGS=--quick

step "make test-quick and make test-reliability, collect only (make test ran the tests)"
PYTEST_ADDOPTS="--collect-only -q" make --no-print-directory test-quick | tail -1
PYTEST_ADDOPTS="--collect-only -q" make --no-print-directory test-reliability | tail -1

step "make fmt changes nothing; make lock re-resolves to the same lock"
before="$(git diff | sha256sum)"
make --no-print-directory fmt >/dev/null
[[ "$(git diff | sha256sum)" == "$before" ]] || { git diff --stat; fail "make fmt changed files"; }
lock_before="$(sha256sum requirements/constraints.txt)"
make --no-print-directory lock
[[ "$(sha256sum requirements/constraints.txt)" == "$lock_before" ]] \
  || { git diff --stat requirements; fail "make lock changed requirements/constraints.txt"; }

step "make build: without a Docker engine it stops and says what to use instead"
if docker info >/dev/null 2>&1; then
  echo "  a Docker engine answers here: make build is what GitHub Actions' build job runs"
elif output="$(make --no-print-directory build 2>&1)"; then
  fail "make build succeeded without a Docker engine: $output"
else
  grep -q "make image-podman" <<< "$output" || fail "make build failed without its message: $output"
  echo "  $output"
fi

step "make clean, in a scratch copy: tooling, environments and caches go"
scratch="$(mktemp -d /tmp/findata-clean.XXXXXX)"
git clone --quiet . "$scratch/findata-clean"
cp -a .tools "$scratch/findata-clean/.tools"
mkdir -p "$scratch/findata-clean"/{.venv,.pytest_cache,.mypy_cache,.ruff_cache}
make --no-print-directory -C "$scratch/findata-clean" clean
for left in .tools .venv .pytest_cache .mypy_cache .ruff_cache; do
  [[ ! -e "$scratch/findata-clean/$left" ]] || fail "make clean left $left"
done
rm -rf "$scratch"
finish_step
step_name=""

printf '\nsmoke-commands: minutes per step\n'
printf '  %s\n' "${timings[@]}"
echo "smoke-commands: OK"
