#!/usr/bin/env bash
# Make the Dockerfile's default base image locally, because this machine reaches
# Debian's mirror but no container registry: debootstrap a bookworm minbase with
# python3 + python3-venv, `podman import` it and tag it with the exact name the
# Dockerfile's BASE_IMAGE ARG defaults to. Cached: a second run is a no-op while
# the image exists (FORCE=1 rebuilds it).
set -euo pipefail

image="${BASE_IMAGE:-docker.io/library/python:3.11-slim-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The host's CA bundle: where outbound TLS is re-signed by a local proxy, pip in the
# build must trust what the host trusts (it ignores the system store otherwise).
host_ca_bundle="${HOST_CA_BUNDLE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}"
suite="${DEBIAN_SUITE:-bookworm}"

if [[ "${FORCE:-0}" != 1 ]] && podman image exists "$image"; then
  echo "base image $image is cached; skipping debootstrap"
  exit 0
fi

rootfs="$(mktemp -d /var/tmp/findata-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

# ca-certificates: pip inside the build talks TLS to PyPI, as on the official image.
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$suite" "$rootfs" "$mirror"
# Same trimming the official slim images do: no apt lists, no caches, no docs.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/tmp/*

changes=(--change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]')
if [[ -s "$host_ca_bundle" ]]; then
  cp "$host_ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  changes+=(--change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt')
fi

# An official python image answers `python3` on PATH and sets LANG; keep that contract.
tar --numeric-owner -C "$rootfs" -c . | podman import "${changes[@]}" - "$image"
podman image inspect --format '{{.Id}} {{.Size}}' "$image"
