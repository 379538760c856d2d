#!/usr/bin/env bash
# `make check-compose`: docker-compose.yaml really run, with Docker Compose v2 against
# podman's Docker-compatible API (ADR 0035), through the Makefile's own `make up` and
# `make down`. Proves, in order:
#   1. `make up` waits until PostgreSQL is healthy, the one-shot migrate + demo seed has
#      run once and exited 0, and the api is up;
#   2. the README's example requests answer through the published port 127.0.0.1:5000;
#   3. `docker compose restart api`: the api serves again;
#   4. `make down`, then `make up`: the bars are still there (the named volume), and the
#      second migrate run seeds nothing (`--if-empty`), so the data version is unchanged;
#   5. everything it started is removed (`down --volumes`, the API service stopped).
# Expects the images `make up` names to exist (the Makefile target builds them) and
# COMPOSE_BIN (a Compose v2 binary). Usage: tests/delivery/compose-stack.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

compose_bin="${COMPOSE_BIN:?COMPOSE_BIN: a Docker Compose v2 binary}"
base="http://127.0.0.1:5000"
runtime_dir="$(mktemp -d /tmp/findata-compose.XXXXXX)"
socket="$runtime_dir/podman.sock"
# What a nested container host needs (as image-smoke.sh passes on its command line):
# runc, modest ulimits, no systemd. Compose cannot pass these, so podman's config does.
export CONTAINERS_CONF="$PWD/tests/delivery/compose-containers.conf"
export DOCKER_HOST="unix://$socket"
compose=("$compose_bin" --project-directory "$PWD")
export COMPOSE="$compose_bin"
pids=()

step() { printf '\n--> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
fail() {
  echo "compose-stack: FAIL: $*" >&2
  "${compose[@]}" ps --all >&2 || true
  "${compose[@]}" logs --no-color --tail 60 >&2 || true
  exit 1
}
cleanup() {
  "${compose[@]}" down --volumes --timeout 20 >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$runtime_dir"
}
trap cleanup EXIT

# podman runs health checks from systemd timers; without systemd (this machine, most CI
# containers) nobody runs them and `service_healthy` never comes. This loop is that timer:
# every container with a health check gets `podman healthcheck run` once per its interval.
health_timer() {
  declare -A last_run=()
  while sleep 1; do
    now="$(date +%s)"
    while read -r id interval; do
      [[ -n "$id" && -n "$interval" ]] || continue
      if (( now - ${last_run[$id]:-0} >= interval )); then
        last_run[$id]=$now
        podman healthcheck run "$id" >/dev/null 2>&1 || true
      fi
    done < <(podman ps --quiet | xargs --no-run-if-empty podman inspect --format \
      '{{.Id}} {{if .Config.Healthcheck}}{{printf "%.0f" .Config.Healthcheck.Interval.Seconds}}{{end}}' \
      2>/dev/null)
  done
}

# The README's example requests (Quick start), each with --fail; prints the bodies' sizes.
readme_requests() {
  local line count=0
  while read -r line; do
    eval "curl --fail --silent --show-error --output '$runtime_dir/body' ${line#curl }" \
      || fail "README request failed: $line"
    python3 -c 'import json, sys; body = json.load(open(sys.argv[1])); assert body, body' \
      "$runtime_dir/body" || fail "README request gave an empty body: $line"
    echo "  ok ($(wc -c < "$runtime_dir/body") bytes): $line"
    count=$((count + 1))
  done < <(grep -E '^curl .*http://127\.0\.0\.1:5000/' README.md)
  (( count >= 3 )) || fail "found $count example requests in README.md, expected 3 or more"
}

wait_for_readiness() {
  for _ in $(seq 120); do
    curl --silent --fail --output /dev/null "$base/_readiness" && return 0
    sleep 1
  done
  fail "no 200 from $base/_readiness in 120 s"
}

service_field() {  # service_field SERVICE FIELD: from `compose ps --all --format json`
  "${compose[@]}" ps --all --format json "$1" | python3 -c '
import json, sys
text = sys.stdin.read().strip()
rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]
print(rows[0][sys.argv[1]])' "$2"
}

service_logs() {  # without the terminal controls Compose writes even to a pipe
  "${compose[@]}" logs --no-color --no-log-prefix "$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

psql_in_stack() {
  "${compose[@]}" exec -T postgres psql --no-psqlrc --quiet --tuples-only --no-align \
    --username=findata --dbname=findata --command "$1"
}

step "podman's Docker-compatible API on $socket"
podman system service --time=0 "unix://$socket" >"$runtime_dir/service.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S "$socket" ]] && break; sleep 0.2; done
[[ -S "$socket" ]] || { cat "$runtime_dir/service.log" >&2; fail "podman system service did not start"; }
health_timer &
pids+=($!)
"${compose[@]}" version
"${compose[@]}" down --volumes --timeout 20 >/dev/null 2>&1 || true  # a stack left behind

step "make up: PostgreSQL healthy, migrate + demo seed once, the api up"
make --no-print-directory up || fail "make up failed"
[[ "$(service_field postgres Health)" == healthy ]] || fail "postgres is not healthy"
[[ "$(service_field migrate State)" == exited && "$(service_field migrate ExitCode)" == 0 ]] \
  || fail "migrate did not exit 0"
seeded="$(service_logs migrate)"
grep -qE '^demo data: [0-9,]+ rows written' <<< "$seeded" || fail "migrate did not seed: $seeded"
[[ "$(grep -c '^demo data:' <<< "$seeded")" == 1 ]] || fail "migrate ran more than once: $seeded"
echo "$seeded" | grep '^demo data:'
bars="$(psql_in_stack 'SELECT count(*) FROM bars')"
version="$(psql_in_stack 'SELECT * FROM data_version')"
(( bars > 0 )) || fail "no bars in PostgreSQL after the seed"
echo "  $bars bar rows in PostgreSQL; data version $version"

step "the README's example requests through 127.0.0.1:5000"
wait_for_readiness
readme_requests

step "docker compose restart api: it serves again"
"${compose[@]}" restart api
wait_for_readiness
readme_requests

step "make down, then make up: the data stays (volume), nothing is seeded again"
make --no-print-directory down || fail "make down failed"
[[ -z "$("${compose[@]}" ps --all --quiet)" ]] || fail "make down left containers"
make --no-print-directory up || fail "the second make up failed"
again="$(service_logs migrate)"
grep -q '^demo data: skipped, the store already holds symbols' <<< "$again" \
  || fail "the second migrate run did not skip the seed: $again"
[[ "$(psql_in_stack 'SELECT count(*) FROM bars')" == "$bars" ]] || fail "the bars changed"
[[ "$(psql_in_stack 'SELECT * FROM data_version')" == "$version" ]] \
  || fail "the data version changed: the second up wrote data"
echo "  still $bars bar rows, data version unchanged; migrate: $(grep '^demo data:' <<< "$again")"
wait_for_readiness
readme_requests

step "down --volumes"
"${compose[@]}" down --volumes --timeout 20
echo "compose-stack: OK"
