"""The load generator: Alertmanager's notifications from N connections over loopback.

Each connection owns a share of the fleet's groups and posts them in turn, so no
group is in flight twice at once (Alertmanager notifies a group one at a time).
Unpaced, every connection posts as fast as the server answers (throughput);
paced (``rate``), posts leave on a fixed schedule whatever the answers (latency
at a given load). Bounded in time and in count.

The generator's own CPU time is recorded: a generator near one full core is the
bottleneck, not the server.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from tests.perf.payloads import Group, fleet

WEBHOOK = "/api/v1/webhooks/alertmanager"
MAX_POSTS = 500_000


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    alerts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    generator_cpu: float = 0.0  # share of one core the generator used while measuring
    resolving_posts: int = 0
    first_round: float = 0.0  # seconds to post every group once, before measuring
    first_round_errors: int = 0
    steady_from: datetime | None = None  # wall clock when the first round was done

    def summary(self) -> dict[str, Any]:
        n = len(self.latencies)
        rate = n / self.elapsed if self.elapsed else 0.0
        p50, p99 = percentile(self.latencies, 50), percentile(self.latencies, 99)
        return {
            "webhooks": n,
            "seconds": round(self.elapsed, 2),
            "webhooks_per_s": round(rate, 1),
            "alerts_per_s": round(self.alerts / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": None if p50 is None else round(p50 * 1000, 1),
            "p99_ms": None if p99 is None else round(p99 * 1000, 1),
            "max_ms": round(max(self.latencies) * 1000, 1) if self.latencies else None,
            "errors": sum(self.errors.values()),
            "errors_by_status": dict(self.errors),
            "resolving_posts": self.resolving_posts,
            "first_round_s": round(self.first_round, 2),
            "first_round_errors": self.first_round_errors,
            "generator_cpu": round(self.generator_cpu, 2),
        }


#: Called with each answered post: (sent at, monotonic; status; decoded answer).
Observer = Callable[[float, int, Any], None]


async def run_fleet(
    url: str,
    token: str,
    *,
    seconds: float,
    connections: int = 20,
    warmup: float = 2.0,
    resolve_share: float = 0.0,
    rate: float | None = None,
    extra: Callable[[int], tuple[bytes, Observer] | None] | None = None,
    seed: int = 13,
    on_steady: Callable[[], None] | None = None,
) -> LoadResult:
    """Post every group once, then the fleet's notifications for ``warmup + seconds``;
    measure the last ``seconds``. ``resolve_share`` of posts resolve part of their group (those
    alerts fire again, as new episodes, in the group's next post). ``extra(i)``
    may replace post ``i`` with a body of its own and an observer of its answer.
    ``on_steady()`` runs once the first round is done (a profiler starts there)."""
    rng = random.Random(seed)
    groups = fleet(rng, datetime.now(UTC))
    result = LoadResult()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    target = url + WEBHOOK
    loop = asyncio.get_running_loop()
    ticket = 0
    cpu_at_measure: list[float] = []

    def next_ticket() -> int:
        nonlocal ticket
        ticket += 1
        return ticket - 1

    async def post(session: aiohttp.ClientSession, body: bytes) -> tuple[float, int, Any]:
        sent = time.monotonic()
        try:
            async with session.post(target, data=body, headers=headers) as resp:
                answer = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            return sent, 0, type(exc).__name__
        return sent, status, answer

    def record(sent: float, status: int, answer: Any, alerts: int) -> None:
        if sent < measure_from:  # loop.time() is time.monotonic()
            return
        if status == 200:
            result.latencies.append(time.monotonic() - sent)
            result.alerts += alerts
        else:
            result.errors[str(status) if status else str(answer)] += 1

    async def first_round(session: aiohttp.ClientSession, mine: list[Group]) -> int:
        failed = 0
        for group in mine:
            _, status, _ = await post(session, group.body())
            failed += status != 200
        return failed

    async def connection(session: aiohttp.ClientSession, index: int) -> None:
        mine: list[Group] = groups[index::connections]
        turn = 0
        while loop.time() < stop_at:
            i = next_ticket()
            if i >= MAX_POSTS:
                return
            if rate is not None:
                delay = start + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if loop.time() >= stop_at:
                    return
            if loop.time() >= measure_from and not cpu_at_measure:
                cpu_at_measure.append(time.process_time())
            special = extra(i) if extra is not None else None
            if special is not None:
                body, observer = special
                sent, status, answer = await post(session, body)
                observer(sent, status, answer)
                record(sent, status, answer, 1)
                continue
            group = mine[turn % len(mine)]
            turn += 1
            group.refire(datetime.now(UTC))
            resolving = resolve_share > 0 and rng.random() < resolve_share
            if resolving:
                group.resolve_some(rng, datetime.now(UTC))
            sent, status, answer = await post(session, group.body())
            if resolving and loop.time() >= measure_from:
                result.resolving_posts += 1
            record(sent, status, answer, len(group.alerts))

    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Every group's first notification opens its incident and pages: done
        # (and timed) before the clock starts, so the run measures the steady
        # state of Alertmanager resending its groups.
        first = loop.time()
        answers = await asyncio.gather(
            *(first_round(session, groups[k::connections]) for k in range(connections))
        )
        result.first_round = loop.time() - first
        result.first_round_errors = sum(answers)
        result.steady_from = datetime.now(UTC)
        if on_steady is not None:
            on_steady()
        start = loop.time()
        measure_from = start + warmup
        stop_at = measure_from + seconds
        await asyncio.gather(*(connection(session, k) for k in range(connections)))
    cpu_end = time.process_time()
    result.elapsed = loop.time() - measure_from
    if cpu_at_measure and result.elapsed > 0:
        result.generator_cpu = (cpu_end - cpu_at_measure[0]) / result.elapsed
    return result
