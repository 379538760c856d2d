#!/usr/bin/env bash
# Docker Compose v2 for `make check-compose` on a machine without Docker (ADR 0035).
# Debian 13 (trixie) packages it (`docker-compose`, a Go binary that needs only
# libc6 >= 2.34); this machine runs bookworm, whose package is the old Python Compose v1.
# So apt fetches that one package from trixie with private lists and cache (the system's
# sources and dpkg database stay untouched), and it is unpacked to DEST/docker-compose.
# Cached: a second run only prints the version.
set -euo pipefail

dest="${1:?usage: $0 DEST_DIR}"
binary="$dest/docker-compose"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [[ ! -x "$binary" ]]; then
  state="$(mktemp -d /var/tmp/findata-compose-apt.XXXXXX)"
  trap 'rm -rf "$state"' EXIT
  mkdir -p "$state/lists/partial" "$state/archives/partial"
  cat > "$state/trixie.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt_options=(
    -o "Dir::Etc::SourceList=$state/trixie.sources" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::Archives=$state/archives"
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root
  )
  apt-get -qq "${apt_options[@]}" update
  (cd "$state" && apt-get -qq "${apt_options[@]}" download docker-compose)
  dpkg-deb --extract "$state"/docker-compose_*.deb "$state/root"
  install -D --mode=0755 "$state/root/usr/libexec/docker/cli-plugins/docker-compose" "$binary"
fi

version="$("$binary" version --short)"
[[ "$version" == 2.* ]] || { echo "compose-tool: $binary is Compose $version, not v2" >&2; exit 1; }
echo "Docker Compose $version at $binary"
