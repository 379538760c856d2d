"""findata-api image benchmark: how fast and how lean a container starts.

Runs the api image as production does (read-only root, tmpfs ``/tmp``, state on a volume,
``FINDATA_ENV=production``) with podman (or docker) and prints, per run:

- the image's size;
- the seconds from ``run`` to the first 200 from ``/_readiness`` (container creation,
  interpreter start, imports, the indicator loops compiled or loaded), and the CPU seconds
  the container's processes used until then (what a busy machine hardly changes);
- the first indicator request's latency, then a second one's (README's RSI example);
- the resident memory (RSS, and PSS where the kernel gives it) of each server process.

Usage: ``python benchmarks/bench_image.py IMAGE [--runs 3] [--workers 2] [--quick]``.
Standard library only (it drives the engine's CLI and HTTP); recorded in docs/delivery.md.
``--quick`` makes one run and fails unless every figure was produced (``make smoke-commands``).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

INDICATOR = "/stocks/indicators/DEMO-ALPHA?name=rsi&frequency=Weekly"


def engine_command(engine: str) -> list[str]:
    """The engine with the options a nested container host needs (as image-smoke.sh)."""
    return [engine, "--runtime", "runc"] if engine == "podman" else [engine]


def run(command: list[str], *, check: bool = True) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        sys.exit(f"bench_image: {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def get(port: int, path: str, key: str | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextlib.contextmanager
def prepared_volume(engine: list[str], image: str, options: list[str]) -> Iterator[tuple[str, str]]:
    """A /data volume with the schema, the demo data and an API key (production mode)."""
    volume = f"findata-bench-image-{uuid.uuid4().hex[:8]}"
    run([*engine, "volume", "create", volume])
    try:
        one_shot = [*engine, "run", "--rm", "--no-healthcheck", *options, "-v", f"{volume}:/data"]
        run([*one_shot, image, "db", "migrate"])
        run([*one_shot, image, "ingest", "demo", "--if-empty"])
        key = run([*one_shot, image, "keys", "create", "bench-image"]).splitlines()[-1]
        yield volume, key
    finally:
        run([*engine, "volume", "rm", "--force", volume], check=False)


def memory(engine: list[str], name: str) -> list[tuple[int, int | None, str]]:
    """(RSS KiB, PSS KiB or None, command line) of each process in the container."""
    rows = []
    for line in run([*engine, "top", name, "hpid", "args"]).splitlines()[1:]:
        host_pid, _, args = line.strip().partition(" ")
        figures: dict[str, int] = {}
        with (
            contextlib.suppress(OSError),
            open(f"/proc/{host_pid}/smaps_rollup", encoding="ascii") as rollup,
        ):
            for entry in rollup:
                label, _, value = entry.partition(":")
                if label in ("Rss", "Pss"):
                    figures[label] = int(value.split()[0])
        if "Rss" in figures:
            rows.append((figures["Rss"], figures.get("Pss"), args.strip()))
    return rows


def cpu_seconds(engine: list[str], name: str) -> float:
    """CPU time (user + system) the container's processes have used: unlike wall time,
    hardly changed by other work on a busy machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for line in run([*engine, "top", name, "hpid"]).splitlines()[1:]:
        with contextlib.suppress(OSError), open(f"/proc/{line.strip()}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def one_run(
    engine: list[str], image: str, options: list[str], volume_key: tuple[str, str], port: int
) -> dict[str, float]:
    volume, key = volume_key
    name = f"findata-bench-image-{uuid.uuid4().hex[:8]}"
    command = [*engine, "run", "--detach", "--name", name, *options, "-v", f"{volume}:/data", image]
    started = time.monotonic()
    try:
        run(command)
        created = time.monotonic() - started
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(port, "/_readiness")[0] == 200:
                    break
            if time.monotonic() - started > 120:
                logs = run([*engine, "logs", name])
                sys.exit(f"bench_image: no 200 from /_readiness in 120 s:\n{logs}")
            time.sleep(0.01)
        ready = time.monotonic() - started
        ready_cpu = cpu_seconds(engine, name)
        latencies, cpu = [], [cpu_seconds(engine, name)]
        for _ in range(2):
            requested = time.perf_counter()
            status, body = get(port, INDICATOR, key)
            latencies.append((time.perf_counter() - requested) * 1e3)
            cpu.append(cpu_seconds(engine, name))
            if status != 200 or not json.loads(body):
                sys.exit(f"bench_image: {INDICATOR} answered {status}: {body[:300]!r}")
        processes = memory(engine, name)
        for rss, pss, args in processes:
            shown = f"  PSS {pss / 1024:6.1f} MiB" if pss is not None else ""
            print(f"    RSS {rss / 1024:6.1f} MiB{shown}  {args[:70]}")
        servers = [rss for rss, _, cmd in processes if "serve" in cmd or "multiprocessing" in cmd]
        return {
            "created_s": created,
            "ready_s": ready,
            "ready_cpu_s": ready_cpu,
            "first_indicator_ms": latencies[0],
            "first_indicator_cpu_ms": (cpu[1] - cpu[0]) * 1e3,
            "second_indicator_ms": latencies[1],
            "largest_rss_mib": max(servers or [0]) / 1024,
        }
    finally:
        run([*engine, "rm", "--force", name], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image")
    parser.add_argument("--engine", default=os.environ.get("CONTAINER_ENGINE", "podman"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="FINDATA_WORKERS")
    parser.add_argument("--port", type=int, default=18574)
    parser.add_argument("--quick", action="store_true", help="one run; check figures exist")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    engine = engine_command(args.engine)
    size = int(run([*engine, "image", "inspect", "--format", "{{.Size}}", args.image]))
    print(f"image {args.image}: {size / 1e6:,.0f} MB; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}; {args.workers} worker(s)")  # fmt: skip
    options = [
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "--network", "host",
        "--read-only", "--tmpfs", "/tmp", "-e", f"FINDATA_PORT={args.port}",
        "-e", f"FINDATA_WORKERS={args.workers}",
    ]  # fmt: skip
    results = []
    with prepared_volume(engine, args.image, options) as volume_key:
        for index in range(runs):
            figures = one_run(engine, args.image, options, volume_key, args.port)
            results.append(figures)
            print(f"  run {index + 1}: " + "  ".join(f"{k}={v:.2f}" for k, v in figures.items()))
    medians = {key: statistics.median(r[key] for r in results) for key in results[0]}
    print("  median: " + "  ".join(f"{k}={v:.2f}" for k, v in medians.items()))
    missing = [key for key, value in medians.items() if not value > 0]
    if missing:
        sys.exit(f"bench_image: no figure for {', '.join(missing)}")


if __name__ == "__main__":
    main()
