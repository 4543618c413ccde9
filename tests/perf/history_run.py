"""``make bench`` with a year of history (``--history``; issue 13.4).

On the durable PostgreSQL of the real case, one database is filled by SQL with
a year of a busy shop (tests/perf/history.py: 1,000,000 alerts, 100,000
incidents by default), then Klaxon (1 worker, the example on-call, paging live)
is measured on it:

- reads, each ``READS`` times in a row over one keep-alive connection (so
  PostgreSQL's switch to a generic plan after five runs is inside the figure):
  the incident list's first page and its filters, the alert list's filters that
  match nothing, the incident of 5,000 alerts, the 90- and 365-day reports;
- the fleet's ingest on top of that history while a 90-day report runs every
  ``REPORT_EVERY`` seconds, beside the same load on an empty database;
- the next episodes of the fingerprint with 5,000 stored episodes;
- last (it deletes half the history), the same ingest on a server whose
  retention is ``PRUNE_DAYS``: the worker prunes the older half of the history
  (its alerts and pages) in bounded batches while the load runs (issue 13.5).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from tests.fakes.twilio_server import FakeTwilio
from tests.perf.history import BIG_INCIDENT, FLAPPING, HistorySize, fill
from tests.perf.load import percentile
from tests.perf.payloads import Group, make_alert
from tests.perf.real import ADMIN, fresh_database, ingest_run, prepare, sampled_load, twilio_env
from tests.perf.server import klaxon_env, serve
from tests.services.postgres import PrivatePostgres

READS = 30
REPORT_EVERY = 3.0
FLAPS = 50
# Half the history is past this retention: pruned while the load runs.
PRUNE_DAYS = 183


def _ms(values: list[float], p: float) -> float | None:
    value = percentile(values, p)
    return None if value is None else round(value * 1000, 1)


def read_probes(now: datetime) -> dict[str, tuple[str, dict[str, str]]]:
    def since(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    return {
        "incidents first page": ("/api/v1/incidents", {}),
        "incidents ?service=payments": ("/api/v1/incidents", {"service": "payments"}),
        "incidents ?severity=SEV1": ("/api/v1/incidents", {"severity": "SEV1"}),
        "incidents ?label=team=team-3": ("/api/v1/incidents", {"label": "team=team-3"}),
        "incidents ?label=team=nonexistent": ("/api/v1/incidents", {"label": "team=none"}),
        "alerts ?service=nonexistent": ("/api/v1/alerts", {"service": "nonexistent"}),
        "alerts ?label=team=nonexistent": ("/api/v1/alerts", {"label": "team=nonexistent"}),
        f"incident #{BIG_INCIDENT} (5,000 alerts)": (f"/api/v1/incidents/{BIG_INCIDENT}", {}),
        "report 90 days": ("/api/v1/reports/response", {"since": since(90)}),
        "report 365 days": ("/api/v1/reports/response", {"since": since(365)}),
    }


async def _reads(url: str, now: datetime) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {ADMIN}"}
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:
        for label, (path, params) in read_probes(now).items():
            took: list[float] = []
            for _ in range(READS):
                started = time.monotonic()
                async with http.get(url + path, params=params) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{label}: {resp.status}")
                took.append(time.monotonic() - started)
            figures[label] = {"p50_ms": _ms(took, 50), "p99_ms": _ms(took, 99), "n": READS}
    return figures


async def _reports_during(url: str, stop: asyncio.Event, now: datetime) -> list[float]:
    """A 90-day report every REPORT_EVERY seconds until ``stop``: their latencies."""
    took: list[float] = []
    params = {"since": (now - timedelta(days=90)).isoformat()}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN}"}) as http:
        while not stop.is_set():
            started = time.monotonic()
            async with http.get(f"{url}/api/v1/reports/response", params=params) as resp:
                await resp.read()
            took.append(time.monotonic() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REPORT_EVERY)
    return took


async def _flaps(url: str, token: str) -> list[float]:
    """New episodes of the fingerprint with thousands stored, one after another."""
    took: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for n in range(FLAPS):
            alert = make_alert(
                "HistoryFlap",
                "payments",
                0,
                critical=False,
                env="prod",
                starts_at=datetime.now(UTC) + timedelta(microseconds=n),
            )
            alert.fingerprint = FLAPPING
            body = Group("HistoryFlap", "payments", [alert]).body()
            started = time.monotonic()
            async with http.post(f"{url}/api/v1/webhooks/alertmanager", data=body) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"flapping alert: {resp.status}")
            took.append(time.monotonic() - started)
    return took


def history_run(
    pg: PrivatePostgres,
    fake: FakeTwilio,
    size: HistorySize,
    *,
    seconds: float,
    connections: int,
    empty: dict[str, Any] | None,
) -> dict[str, Any]:
    """Every figure of the history run; ``empty`` is the 1-worker run on an empty
    database to compare with (measured here when not given)."""
    if empty is None:
        empty = ingest_run(pg, fake, workers=1, seconds=seconds, connections=connections)
    name = "bench_history"
    url = fresh_database(pg, name)
    now = datetime.now(UTC)
    started = time.monotonic()
    asyncio.run(fill(pg.dsn_for(name), size, now))
    figures: dict[str, Any] = {
        "incidents": size.incidents,
        "alerts": size.alerts,
        "fill_s": round(time.monotonic() - started, 1),
    }
    env = {**klaxon_env(url, ADMIN), **twilio_env(fake)}
    with serve("app.asgi:app", env, workers=1) as served:
        token = asyncio.run(prepare(served.url))
        figures["reads"] = asyncio.run(_reads(served.url, now))
        stop = asyncio.Event()

        async def load_with_reports() -> tuple[dict[str, Any], list[float]]:
            reports = asyncio.create_task(_reports_during(served.url, stop, now))
            try:
                ingest, _ = await asyncio.to_thread(
                    sampled_load, served, token, seconds=seconds, connections=connections
                )
            finally:
                stop.set()
            return ingest, await reports

        ingest, report_times = asyncio.run(load_with_reports())
        figures["ingest"] = ingest
        figures["reports_during_ingest"] = {
            "n": len(report_times),
            "p50_ms": _ms(report_times, 50),
            "p99_ms": _ms(report_times, 99),
        }
        flaps = asyncio.run(_flaps(served.url, token))
        figures["flapping"] = {"n": FLAPS, "p50_ms": _ms(flaps, 50), "p99_ms": _ms(flaps, 99)}
    figures["pruning"] = _pruning_run(
        pg, name, env, token, size.incidents, seconds=seconds, connections=connections
    )
    figures["empty_ingest"] = {
        k: empty.get(k) for k in ("webhooks_per_s", "p50_ms", "p99_ms", "errors")
    }
    if empty.get("webhooks_per_s") and ingest.get("webhooks_per_s"):
        figures["ingest_vs_empty"] = round(ingest["webhooks_per_s"] / empty["webhooks_per_s"], 2)
        pruning = figures["pruning"]["ingest"].get("webhooks_per_s")
        if pruning:
            figures["pruning"]["vs_empty"] = round(pruning / empty["webhooks_per_s"], 2)
    return figures


async def _stored(dsn: str, incidents: int) -> dict[str, int]:
    """The history's alerts and pages still stored (the load's belong to
    incidents of their own, numbered after the history's)."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            table: int(
                await conn.fetchval(
                    f"SELECT count(*) FROM {table} WHERE incident_number <= $1", incidents
                )
            )
            for table in ("alerts", "notifications")
        }
    finally:
        await conn.close()


def _pruning_run(
    pg: PrivatePostgres,
    name: str,
    env: dict[str, str],
    token: str,
    incidents: int,
    *,
    seconds: float,
    connections: int,
) -> dict[str, Any]:
    """The fleet's ingest while the worker prunes what is past ``PRUNE_DAYS``
    (the housekeeping's bounded batches, every 15 s of its clock), and the
    rows it pruned meanwhile."""
    before = asyncio.run(_stored(pg.dsn_for(name), incidents))
    pruning = {**env, "KLAXON_RETENTION_DAYS": str(PRUNE_DAYS)}
    with serve("app.asgi:app", pruning, workers=1) as served:
        ingest, _ = sampled_load(served, token, seconds=seconds, connections=connections)
        after = asyncio.run(_stored(pg.dsn_for(name), incidents))
    return {
        "retention_days": PRUNE_DAYS,
        "ingest": {k: ingest.get(k) for k in ("webhooks_per_s", "p50_ms", "p99_ms", "errors")},
        "alerts_pruned": before["alerts"] - after["alerts"],
        "pages_pruned": before["notifications"] - after["notifications"],
    }


def history_lines(history: dict[str, Any]) -> list[str]:
    """The history run's figures, under the bench's table."""
    ingest, empty = history["ingest"], history["empty_ingest"]
    lines = [
        f"history: {history['alerts']:,} alerts, {history['incidents']:,} incidents"
        f" (generated in {history['fill_s']:.0f} s); reads, {READS} each in a row, p50/p99 ms:"
    ]
    lines += [
        f"  {label:<40} {r['p50_ms']:>8} {r['p99_ms']:>8}" for label, r in history["reads"].items()
    ]
    during = history["reports_during_ingest"]
    lines.append(
        f"  ingest on the history {ingest['webhooks_per_s']} webhooks/s (p50 {ingest['p50_ms']},"
        f" p99 {ingest['p99_ms']} ms, {ingest['errors']} errors) vs empty"
        f" {empty['webhooks_per_s']} (p99 {empty['p99_ms']} ms): x{history.get('ingest_vs_empty')},"
        f" with a 90-day report every {REPORT_EVERY:.0f} s ({during['n']}, p99"
        f" {during['p99_ms']} ms)"
    )
    flapping = history["flapping"]
    lines.append(
        f"  next episode of a fingerprint with 5,000 stored: p50 {flapping['p50_ms']},"
        f" p99 {flapping['p99_ms']} ms ({flapping['n']} posts)"
    )
    pruning = history.get("pruning")
    if pruning:
        during = pruning["ingest"]
        lines.append(
            f"  ingest while pruning past {pruning['retention_days']} days:"
            f" {during['webhooks_per_s']} webhooks/s (p50 {during['p50_ms']}, p99"
            f" {during['p99_ms']} ms, {during['errors']} errors): x{pruning.get('vs_empty')}"
            f" of empty; the worker pruned {pruning['alerts_pruned']:,}"
            f" alerts and {pruning['pages_pruned']:,} pages of the history meanwhile"
        )
    return lines
