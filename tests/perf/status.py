"""The status page under load: ``GET /status`` and ``/status/api/v2/summary.json``
(half each) from N keep-alive connections over loopback, against Klaxon run as
deployed (uvicorn, uvloop, httptools) on PostgreSQL, with one public incident
published so the page has something to show. The issue asks for 1,000
requests/s served from the page's cache (app/statuspage/cache.py); the run
reports the rate, the latencies, the answers that were not 200 and the load
generator's own CPU (near a full core, the generator is the bottleneck).

Bounded in time (``seconds`` after ``warmup``) and in count (``MAX_GETS``);
loopback only. ``make bench BENCH_ARGS="--status-only --status-seconds 5"``
runs it alone.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import aiohttp

from app.migrate import upgrade
from tests.perf.load import percentile
from tests.perf.server import klaxon_process
from tests.services.postgres import PrivatePostgres

PATHS = ("/status", "/status/api/v2/summary.json")
MAX_GETS = 2_000_000
TARGET_PER_S = 1000


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


async def _load(url: str, *, seconds: float, warmup: float, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    began = time.monotonic()
    measure_from = began + warmup
    stop_at = measure_from + seconds
    cpu_from: list[float] = []

    async def client(index: int, http: aiohttp.ClientSession) -> None:
        turn = index
        while (now := time.monotonic()) < stop_at and len(latencies) < MAX_GETS:
            path = PATHS[turn % len(PATHS)]
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
                    cpu_from.append(time.process_time())
                latencies.append(done - now)
                if status != 200:
                    errors[str(status)] += 1

    limit = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(url, connector=limit) as http:
        await asyncio.gather(*(client(i, http) for i in range(connections)))
    elapsed = max(time.monotonic() - measure_from, 1e-9)
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
    }


def status_run(
    pg: PrivatePostgres,
    token: str,
    *,
    seconds: float,
    warmup: float,
    connections: int,
    workers: int = 1,
) -> dict[str, Any]:
    name = "klaxon_bench_status"
    database = pg.create_database(name)
    upgrade(database)
    with klaxon_process(database, token, workers=workers) as url:
        asyncio.run(_publish(url, token))
        result = asyncio.run(_load(url, seconds=seconds, warmup=warmup, connections=connections))
    return {"workers": workers, "connections": connections, **result}


def status_lines(figures: dict[str, Any]) -> list[str]:
    line = (
        f"status page ({figures['workers']} worker(s), {figures['connections']} connections):"
        f" {figures['gets_per_s']} GET/s of /status and summary.json"
        f" (target {figures['target_per_s']}: {'met' if figures['meets_target'] else 'NOT met'}),"
        f" p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms,"
        f" errors {figures['errors'] or 'none'}, generator CPU {figures['generator_cpu']:.0%}"
    )
    return [line]
