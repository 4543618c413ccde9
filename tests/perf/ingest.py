"""Webhook throughput: Alertmanager-shaped payloads of 10 alerts each, drawn
from a pool of 1,000 fingerprints (so most are repeats), from 20 concurrent
connections for a fixed time, against Klaxon on PostgreSQL over loopback."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

POOL = 1000
PER_PAYLOAD = 10
GROUPS = 50


def alert(i: int) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {
            "alertname": f"BenchAlert{i % GROUPS}",
            "service": f"svc-{i % GROUPS}",
            "instance": f"host-{i}",
            "severity": "warning" if i % 3 else "critical",
        },
        "annotations": {"summary": f"bench alert {i}"},
        "startsAt": "2026-11-26T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": f"{i:016x}",
    }


def payload(rng: random.Random) -> bytes:
    group = rng.randrange(GROUPS)
    members = [i for i in range(group, POOL, GROUPS)]
    chosen = rng.sample(members, PER_PAYLOAD)
    return orjson.dumps(
        {
            "receiver": "klaxon",
            "status": "firing",
            "alerts": [alert(i) for i in chosen],
            "groupLabels": {"alertname": f"BenchAlert{group}"},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093",
            "version": "4",
            "groupKey": f'{{}}:{{alertname="BenchAlert{group}"}}',
            "truncatedAlerts": 0,
        }
    )


def prefill_payloads() -> list[bytes]:
    """Every fingerprint of the pool once, so the measured run is the steady
    state of a busy Alertmanager: mostly repeats."""
    bodies = []
    for group in range(GROUPS):
        members = list(range(group, POOL, GROUPS))
        for start in range(0, len(members), PER_PAYLOAD):
            chunk = members[start : start + PER_PAYLOAD]
            bodies.append(
                orjson.dumps(
                    {
                        "receiver": "klaxon",
                        "status": "firing",
                        "alerts": [alert(i) for i in chunk],
                        "groupLabels": {"alertname": f"BenchAlert{group}"},
                        "version": "4",
                        "groupKey": f'{{}}:{{alertname="BenchAlert{group}"}}',
                    }
                )
            )
    return bodies


async def prefill(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        for body in prefill_payloads():
            async with session.post(
                f"{url}/api/v1/webhooks/alertmanager", data=body, headers=headers
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"prefill failed: {resp.status} {await resp.text()}")


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def report(self, label: str) -> str:
        n = len(self.latencies)
        rate = n / self.elapsed if self.elapsed else 0.0
        return (
            f"{label}: {n} webhooks in {self.elapsed:.1f} s = {rate:.0f} webhooks/s, "
            f"{rate * PER_PAYLOAD:.0f} alerts/s; latency p50 {self.percentile(50) * 1000:.1f} ms, "
            f"p99 {self.percentile(99) * 1000:.1f} ms; errors {self.errors}"
        )


async def run_load(
    url: str | Sequence[str],
    token: str,
    *,
    seconds: float,
    concurrency: int = 20,
    warmup: float = 2.0,
    max_requests: int = 200_000,
) -> Result:
    result = Result()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # Several replicas: each connection sticks to one, as behind a Service that
    # balances connections.
    urls = [url] if isinstance(url, str) else list(url)
    targets = [f"{u}/api/v1/webhooks/alertmanager" for u in urls]
    rng = random.Random(42)
    bodies = [payload(rng) for _ in range(2000)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    sent = 0

    async def worker(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal sent
        i = index
        target = targets[index % len(targets)]
        while loop.time() < stop_at and sent < max_requests:
            sent += 1
            body = bodies[i % len(bodies)]
            i += concurrency
            t0 = time.perf_counter()
            try:
                async with session.post(target, data=body, headers=headers) as resp:
                    await resp.read()
                    ok = resp.status == 200
            except aiohttp.ClientError:
                ok = False
            if loop.time() >= measure_from:
                if ok:
                    result.latencies.append(time.perf_counter() - t0)
                else:
                    result.errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, k) for k in range(concurrency)))
    result.elapsed = loop.time() - measure_from
    return result
