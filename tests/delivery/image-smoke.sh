#!/usr/bin/env bash
# Prove a built api image works, with podman here (`make image-podman`) or docker in CI:
#   1. inspect it: runs as non-root; no secrets in its env or filesystem; no compilers,
#      installer, sources or tests of ours in it;
#   2. run it as production would: read-only root, tmpfs /tmp, state on a /data volume,
#      FINDATA_ENV=production (API keys required): migrate, seed the demo data, create
#      a key, serve; then the image's own HEALTHCHECK, 200 from /_healthcheck, a
#      non-empty monthly series from /stocks/time-series/<demo symbol>, and an RSI from
#      /stocks/indicators/<demo symbol> (Numba compiles into its cache on the tmpfs);
#   3. the indicator loops load from the cache compiled at build (no compilation at start);
#   4. stop and remove everything it started.
# Usage: tests/delivery/image-smoke.sh IMAGE   (CONTAINER_ENGINE=docker|podman, PORT=...)
set -euo pipefail

image="${1:?usage: $0 IMAGE}"
engine_name="${CONTAINER_ENGINE:-podman}"
port="${PORT:-18573}"
name="findata-smoke-$$"
volume="findata-smoke-data-$$"
if [[ "$engine_name" == podman ]]; then
  engine=(podman --runtime runc)
else
  engine=("$engine_name")
fi
# Modest limits: a nested container (as on the machine that checks this) may not raise
# them to podman's defaults.
limits=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
run_opts=("${limits[@]}" --network host --read-only --tmpfs /tmp
  -v "$volume:/data" -e "FINDATA_PORT=$port")
one_shot=(run --rm --no-healthcheck)
workdir="$(mktemp -d)"

fail() { echo "image-smoke: FAIL: $*" >&2; exit 1; }
step() { printf '\n--> %s\n' "$*"; }
cleanup() {
  "${engine[@]}" rm --force --volumes "$name" "$name-fs" >/dev/null 2>&1 || true
  "${engine[@]}" volume rm --force "$volume" >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT

step "inspect $image"
user="$("${engine[@]}" image inspect --format '{{.Config.User}}' "$image")"
[[ -n "$user" && "${user%%:*}" != 0 && "${user%%:*}" != root ]] || fail "image user is '${user:-<unset>}'"
uid="$("${engine[@]}" "${one_shot[@]}" "${limits[@]}" --entrypoint id "$image" -u)"
[[ "$uid" != 0 ]] || fail "the container runs as root"
echo "runs as uid $uid (USER $user)"

env_secrets="$("${engine[@]}" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" \
  | grep -iE '^[A-Z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|ACCESS_KEY)[A-Z0-9_]*=.+' || true)"
[[ -z "$env_secrets" ]] || fail "secrets in the image's environment: $env_secrets"

# The image's filesystem, as a file listing and as files to grep.
"${engine[@]}" create --no-healthcheck "${limits[@]}" --name "$name-fs" "$image" >/dev/null
"${engine[@]}" export "$name-fs" > "$workdir/rootfs.tar"
"${engine[@]}" rm --volumes "$name-fs" >/dev/null
tar -tf "$workdir/rootfs.tar" | sed 's|^\./||' | sort > "$workdir/listing.txt"
echo "$(wc -l < "$workdir/listing.txt") paths in the image"

# Secret-looking files (CA certificates, and OpenSSL's links to them, are public).
secret_files="$(grep -E '(^|/)(id_rsa|id_dsa|id_ecdsa|id_ed25519|\.netrc|\.pypirc|\.env|\.git-credentials|credentials(\.json)?|[^/]+\.(pem|key|p12|pfx|keystore))$' \
  "$workdir/listing.txt" | grep -vE '^(etc/ssl/certs/|usr/share/ca-certificates/|etc/ca-certificates/|usr/lib/ssl/cert\.pem$)' || true)"
[[ -z "$secret_files" ]] || fail "secret-looking files in the image:"$'\n'"$secret_files"
mkdir "$workdir/rootfs"
tar -xf "$workdir/rootfs.tar" -C "$workdir/rootfs" --exclude='dev/*' 2>/dev/null || true
secret_content="$(grep -rIlE -- '-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}' \
  "$workdir/rootfs" 2>/dev/null | sed "s|^$workdir/rootfs/||" || true)"
[[ -z "$secret_content" ]] || fail "private keys or AWS access keys in:"$'\n'"$secret_content"
echo "no secrets in env, file names or contents"

# Nothing to build with, nothing of ours but the installed wheels.
forbidden="$(grep -E '^(usr/(local/)?bin/(gcc|cc|c\+\+|g\+\+|clang|make|ld)(-[0-9.]+)?$|opt/venv/bin/(pip[0-9.]*|uv)$|opt/build/|opt/venv/lib/python[0-9.]+/site-packages/(pip|setuptools)/$|opt/venv/lib/python[0-9.]+/site-packages/findata/.*/tests?/|src/|packages/)' \
  "$workdir/listing.txt" || true)"
[[ -z "$forbidden" ]] || fail "build tools, installer, sources or tests in the image:"$'\n'"$forbidden"
grep -qE '^opt/venv/lib/python[0-9.]+/site-packages/findata/api/__init__.py$' "$workdir/listing.txt" \
  || fail "findata.api is not installed in /opt/venv"
echo "no compilers, pip, uv, sources or tests; findata installed in /opt/venv"
rm -rf "$workdir/rootfs" "$workdir/rootfs.tar"

step "prepare the /data volume: migrate, demo data, an API key (one-shot containers)"
"${engine[@]}" volume create "$volume" >/dev/null
"${engine[@]}" "${one_shot[@]}" "${run_opts[@]}" "$image" db migrate
"${engine[@]}" "${one_shot[@]}" "${run_opts[@]}" "$image" ingest demo --if-empty
key="$("${engine[@]}" "${one_shot[@]}" "${run_opts[@]}" "$image" keys create image-smoke | tail -n 1)"
[[ "$key" == fd_* ]] || fail "findata keys create printed no key"

step "the indicator loops: loaded from the cache compiled at build, not compiled (ADR 0036)"
# A fresh container: the entry point seeds the tmpfs cache (then runs `findata --help`),
# and a process loads the loops with Numba's cache log on: loads only, nothing saved.
cache_log="$("${engine[@]}" "${one_shot[@]}" "${limits[@]}" --read-only --tmpfs /tmp \
  --entrypoint /bin/sh "$image" -c 'findata-entrypoint --help >/dev/null && NUMBA_DEBUG_CACHE=1 \
  python3 -c "from findata.core import load_indicator_loops; load_indicator_loops()"')"
loaded="$(grep -c 'data loaded' <<< "$cache_log" || true)"
saved="$(grep -c 'data saved' <<< "$cache_log" || true)"
(( loaded > 0 && saved == 0 )) || fail "Numba loaded $loaded and compiled $saved loops:"$'\n'"$cache_log"
echo "$loaded compiled loops loaded from the image's cache, none compiled"

step "serve on 127.0.0.1:$port"
if [[ "$engine_name" == podman ]] && [[ ! -S /run/systemd/private ]]; then
  echo "(no systemd here: podman logs that it cannot schedule the HEALTHCHECK; it runs on demand below)"
fi
"${engine[@]}" run --detach --name "$name" "${run_opts[@]}" "$image" >/dev/null
base="http://127.0.0.1:$port"
# Serving starts once the indicator loops are compiled (seconds on a cold Numba cache).
for attempt in $(seq 120); do
  status="$(curl -s -o /dev/null -w '%{http_code}' "$base/_healthcheck" || true)"
  [[ "$status" == 200 ]] && break
  if [[ "$("${engine[@]}" inspect --format '{{.State.Running}}' "$name")" != true ]]; then
    "${engine[@]}" logs "$name" >&2 || true
    fail "the container exited"
  fi
  sleep 1
done
[[ "$status" == 200 ]] || { "${engine[@]}" logs "$name" >&2; fail "/_healthcheck answered $status"; }
echo "/_healthcheck: 200 after ${attempt}s"

if [[ "$engine_name" == podman ]]; then
  "${engine[@]}" healthcheck run "$name" || fail "the image's HEALTHCHECK failed"
  echo "the image's HEALTHCHECK passes"
else
  "${engine[@]}" exec "$name" python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_healthcheck', timeout=4)" \
    || fail "the image's healthcheck command failed"
  echo "the image's healthcheck command passes"
fi

status="$(curl -s -o /dev/null -w '%{http_code}' "$base/stocks/symbols")"
[[ "$status" == 401 ]] || fail "GET /stocks/symbols without a key answered $status, not 401"
auth=(-H "Authorization: Bearer $key")
curl -sf "${auth[@]}" "$base/stocks/symbols" > "$workdir/symbols.json" || fail "GET /stocks/symbols failed"
symbol="$(python3 -c 'import json, sys
body = json.load(open(sys.argv[1]))
rows = body.get("symbols", body.get("data", body)) if isinstance(body, dict) else body
first = rows[0]
print(first["symbol"] if isinstance(first, dict) else first)' "$workdir/symbols.json")" \
  || fail "no symbol in /stocks/symbols: $(head -c 300 "$workdir/symbols.json")"
url="$base/stocks/time-series/$symbol?interval=1&frequency=Monthly"
curl -sf "${auth[@]}" "$url" > "$workdir/series.json" || fail "GET $url failed"
python3 - "$workdir/series.json" <<'EOF' || fail "GET $url: not a non-empty JSON array: $(head -c 300 "$workdir/series.json")"
import json, sys
bars = json.load(open(sys.argv[1]))
assert isinstance(bars, list) and bars, bars
print(f"{len(bars)} monthly bars, first {json.dumps(bars[0])}")
EOF
url="$base/stocks/indicators/$symbol?name=rsi&frequency=Daily"
curl -sf "${auth[@]}" "$url" > "$workdir/rsi.json" || fail "GET $url failed"
python3 - "$workdir/rsi.json" <<'EOF' || fail "GET $url: no RSI values in 0..100: $(head -c 300 "$workdir/rsi.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and rows and all(0 <= row["rsi"] <= 100 for row in rows), rows[:3]
print(f"{len(rows)} daily RSI values, last {json.dumps(rows[-1])}")
EOF

step "stop"
"${engine[@]}" stop --time 20 "$name" >/dev/null
echo "image-smoke: OK ($image)"
