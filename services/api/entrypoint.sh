#!/bin/sh
# The image's entry point: `findata ARGS...`, after seeding Numba's cache on the writable
# tmpfs ($NUMBA_CACHE_DIR) from the one compiled at build (/opt/numba-cache). Numba only
# uses a cache directory it can write to, so the read-only copy cannot be used in place;
# copying it takes milliseconds, compiling the loops seconds (ADR 0036). Without a
# writable $NUMBA_CACHE_DIR the copy is skipped and Numba compiles in memory, as before.
set -eu
seed=/opt/numba-cache
if [ -n "${NUMBA_CACHE_DIR:-}" ] && [ -d "$seed" ] && [ ! -e "$NUMBA_CACHE_DIR" ]; then
  mkdir -p "$NUMBA_CACHE_DIR" 2>/dev/null && cp -R "$seed/." "$NUMBA_CACHE_DIR/" 2>/dev/null || true
fi
exec findata "$@"
