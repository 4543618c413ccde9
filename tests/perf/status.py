"""The status page under load, against Klaxon run as deployed (uvicorn, uvloop,
httptools) on PostgreSQL, with one public incident published so the page has
something to show. N keep-alive connections over loopback.

Two runs, one after the other: ``summary.json`` alone (the issue's target: 1,000
requests/s served from the page's cache, app/statuspage/cache.py), then
``/status`` and ``summary.json`` half each. Each reports the rate, the
latencies, the answers that were not 200, the load generator's own CPU (near a
full core, the generator is the bottleneck) and the server's CPU per answer
(user + system time of its process over the run, divided by the answers): on a
machine shared with other work the rate moves with the load, the CPU per answer
much less, and its inverse is what one worker could serve with a core to itself.

Bounded in time (``seconds`` after ``warmup``) and in count (``MAX_GETS``);
loopback only. ``make bench BENCH_ARGS="--status-only --status-seconds 5"``
runs it alone; ``python -m tests.perf.status --profile`` samples the worker with
py-spy (``pip install py-spy``) during the summary.json run and prints where its
time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from app.migrate import upgrade
from tests.perf.load import percentile
from tests.perf.server import klaxon_env, serve
from tests.services.postgres import PrivatePostgres, private_postgres

SUMMARY = "/status/api/v2/summary.json"
RUNS: dict[str, tuple[str, ...]] = {
    "summary.json": (SUMMARY,),
    "/status and summary.json": ("/status", SUMMARY),
}
MAX_GETS = 2_000_000
TARGET_PER_S = 1000
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children (uvicorn's workers)."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        pids += [int(child) for child in children]
    return total


async def _publish(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url, headers=headers) as http:
        async with http.post(
            "/api/v1/incidents",
            json={"title": "bench", "severity": "SEV3", "service": "payments"},
        ) as resp:
            assert resp.status == 201, await resp.text()
            number = (await resp.json())["number"]
        async with http.post(
            f"/api/v1/incidents/{number}/public",
            json={
                "name": "Slow card payments",
                "body": "We are looking into slow card payments.",
                "components": {"payments": "degraded_performance"},
            },
        ) as resp:
            assert resp.status == 201, await resp.text()


async def _load(
    url: str, pid: int, paths: tuple[str, ...], *, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    began = time.monotonic()
    measure_from = began + warmup
    stop_at = measure_from + seconds
    cpu_from: list[float] = []

    async def client(index: int, http: aiohttp.ClientSession) -> None:
        turn = index
        while (now := time.monotonic()) < stop_at and len(latencies) < MAX_GETS:
            path = paths[turn % len(paths)]
            turn += 1
            try:
                async with http.get(path) as resp:
                    await resp.read()
                    status = resp.status
            except aiohttp.ClientError as exc:
                errors[type(exc).__name__] += 1
                continue
            done = time.monotonic()
            if now >= measure_from:
                if not cpu_from:
                    cpu_from.extend([time.process_time(), cpu_seconds(pid)])
                latencies.append(done - now)
                if status != 200:
                    errors[str(status)] += 1

    limit = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(url, connector=limit) as http:
        await asyncio.gather(*(client(i, http) for i in range(connections)))
    elapsed = max(time.monotonic() - measure_from, 1e-9)
    server_cpu = cpu_seconds(pid) - cpu_from[1] if cpu_from else 0.0
    rate = len(latencies) / elapsed
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return {
        "gets": len(latencies),
        "seconds": round(elapsed, 2),
        "gets_per_s": round(rate, 1),
        "target_per_s": TARGET_PER_S,
        "meets_target": rate >= TARGET_PER_S and not errors,
        "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
        "p99_ms": round(p99 * 1000, 2) if p99 is not None else None,
        "errors": dict(errors),
        "generator_cpu": round((time.process_time() - cpu_from[0]) / elapsed, 2)
        if cpu_from
        else 0.0,
        "server_cpu": round(server_cpu / elapsed, 2),
        "server_cpu_us_per_get": round(server_cpu / len(latencies) * 1e6) if latencies else None,
    }


def status_run(
    pg: PrivatePostgres,
    token: str,
    *,
    seconds: float,
    warmup: float,
    connections: int,
    workers: int = 1,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Both runs on one server; with ``profile``, py-spy's raw stacks of the
    summary.json run are written there."""
    name = "klaxon_bench_status"
    database = pg.create_database(name)
    upgrade(database)
    runs: dict[str, Any] = {}
    with serve("app.asgi:app", klaxon_env(database, token), workers=workers) as served:
        asyncio.run(_publish(served.url, token))
        for label, paths in RUNS.items():
            sampling = None
            if profile is not None and paths == (SUMMARY,):
                sampling = _py_spy(served.pid, warmup + seconds, profile)
            try:
                runs[label] = asyncio.run(
                    _load(
                        served.url,
                        served.pid,
                        paths,
                        seconds=seconds,
                        warmup=warmup,
                        connections=connections,
                    )
                )
            finally:
                if sampling is not None:
                    sampling.wait(60)
    return {"workers": workers, "connections": connections, "runs": runs}


def _py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    record = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds) + 1)]
    record += ["--format", "raw", "--output", str(out), "--nonblocking", "--rate", "250"]
    return subprocess.Popen(record, stdout=subprocess.DEVNULL)


def status_lines(figures: dict[str, Any]) -> list[str]:
    """The summary.json run first (the target), then the mix."""
    lines = []
    for label, run in figures["runs"].items():
        target = f" (target {run['target_per_s']}: {'met' if run['meets_target'] else 'NOT met'})"
        lines.append(
            f"status page ({figures['workers']} worker(s), {figures['connections']} connections):"
            f" {run['gets_per_s']} GET/s of {label}"
            + (target if label == "summary.json" else "")
            + f", p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms,"
            f" errors {run['errors'] or 'none'}, generator CPU {run['generator_cpu']:.0%},"
            f" server CPU {run['server_cpu']:.0%} = {run['server_cpu_us_per_get']} µs per GET"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="py-spy the summary.json run")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="klaxon-status-profile-")) / "stacks.txt"
    with private_postgres() as pg:
        figures = status_run(
            pg,
            "bench-admin-token",
            seconds=args.seconds,
            warmup=args.warmup,
            connections=args.connections,
            workers=args.workers,
            profile=out if args.profile else None,
        )
    print("\n".join(status_lines(figures)))
    if args.profile:
        from tests.perf.profile import summarize

        print(f"stacks: {out}")
        print(summarize(out, args.top))


if __name__ == "__main__":
    main()
