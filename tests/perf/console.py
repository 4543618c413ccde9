"""``make bench BENCH_ARGS=--console``: the console's server time with a
history stored (issue 15: the incident list and an incident page, p99 at most
100 ms with 100,000 incidents).

A private PostgreSQL is filled by SQL with ``--console-incidents`` resolved
incidents (tests/perf/history.py: three alerts each, pages and timelines, an
incident of 1,000 alerts) and ANALYZEd; the tests' on-call file is applied, 20
incidents are opened by webhook (the open list a bad night shows) and a
console session is made for alice. Then each page is asked for
``--console-reads`` times in a row in-process (httpx's ASGI transport: the
server's time, no network), and its p50, p99 and max are printed and written
as JSON, with the CPU each read took (this process's: the app and the
client; and PostgreSQL's, all its processes, in the kernel's 10 ms ticks): on
a machine shared with other work the wall times grow with its load, the CPU
much less. The run is bounded: its size by the flags, each read by the app's
own request timeout. Nothing here asserts; the EXPLAIN test
(tests/console/test_console_plans.py) keeps the plans off sequential scans.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from app.clock import ManualClock
from app.console.signin import start_session
from app.main import create_app
from app.migrate import upgrade_async
from app.oncall.store import get_responder
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.helpers import WEBHOOK
from tests.paging import ONCALL, checkout_alert
from tests.perf.history import BIG_INCIDENT, HistorySize, fill
from tests.perf.load import percentile
from tests.perf.status import cpu_seconds
from tests.services.postgres import private_postgres

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
OPEN_INCIDENTS = 20
TARGET_P99_MS = 100.0


def probes(open_number: int) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "list: open (landing page)": ("/", {}),
        "list: all": ("/", {"status": "all"}),
        "list: resolved, SEV1": ("/", {"status": "resolved", "severity": "SEV1"}),
        "list: all, service=payments": ("/", {"status": "all", "service": "payments"}),
        "list: all, label team=team-3": ("/", {"status": "all", "label": "team=team-3"}),
        "list: mine": ("/", {"mine": "1"}),
        f"incident #{open_number} (open)": (f"/incidents/{open_number}", {}),
        f"incident #{BIG_INCIDENT} (1,000 alerts)": (f"/incidents/{BIG_INCIDENT}", {}),
    }


def _ms(values: list[float], p: float) -> float:
    return round((percentile(values, p) or 0.0) * 1000, 1)


async def _measure(
    client: httpx.AsyncClient, path: str, params: dict[str, str], reads: int, postgres_pid: int
) -> dict[str, Any]:
    times: list[float] = []
    cpu: list[float] = []
    pg_cpu: list[float] = []
    for _ in range(reads):
        pg_from = cpu_seconds(postgres_pid)
        started, cpu_from = time.perf_counter(), time.process_time()
        answer = await client.get(path, params=params)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_from)
        pg_cpu.append(cpu_seconds(postgres_pid) - pg_from)
        if answer.status_code != 200:
            raise AssertionError(f"{path} {params}: {answer.status_code}")
    p99 = percentile(times, 99) or 0.0
    return {
        "reads": reads,
        "p50_ms": _ms(times, 50),
        "p99_ms": round(p99 * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
        "within_target": p99 * 1000 <= TARGET_P99_MS,
        "cpu_p50_ms": _ms(cpu, 50),
        "cpu_p99_ms": _ms(cpu, 99),
        "postgres_cpu_p50_ms": _ms(pg_cpu, 50),
        "postgres_cpu_p99_ms": _ms(pg_cpu, 99),
    }


async def _run(
    url: str, dsn: str, incidents: int, reads: int, postgres_pid: Callable[[], int]
) -> dict[str, Any]:
    size = HistorySize(
        incidents=incidents,
        alerts=incidents * 3,
        big_incident_alerts=min(1000, incidents * 3),
        flapping_episodes=10,
    )
    await upgrade_async(url)
    await fill(dsn, size, NOW)
    app = create_app(make_settings(url), clock=ManualClock(NOW))
    figures: dict[str, Any] = {"incidents": incidents, "alerts": size.alerts, "pages": {}}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://klaxon.test") as http:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            applied = await http.post("/api/v1/oncall-config", json=ONCALL, headers=admin)
            assert applied.status_code == 200, applied.text
            opened = []
            for n in range(OPEN_INCIDENTS):
                answer = await http.post(
                    WEBHOOK, json=checkout_alert(f"bench{n:011d}"), headers=admin
                )
                opened += answer.json()["incidents"]
            runtime = app.state.runtime
            async with runtime.sessions() as session, session.begin():
                alice = await get_responder(session, "alice")
                assert alice is not None
                secret = await start_session(session, runtime.settings, alice.id, NOW)
            http.cookies.set("klaxon_session", secret, domain="klaxon.test")
            pid = postgres_pid()
            for name, (path, params) in probes(opened[0]).items():
                await _measure(http, path, params, 3, pid)  # warm: the first read plans, caches
                figures["pages"][name] = await _measure(http, path, params, reads, pid)
    return figures


def console_run(incidents: int, reads: int) -> dict[str, Any]:
    """Fill a private PostgreSQL and time the console's pages on it."""
    with private_postgres() as pg:
        name = "klaxon_bench_console"
        url = pg.create_database(name)
        postmaster = pg.datadir / "postmaster.pid"
        return asyncio.run(
            _run(
                url,
                pg.dsn_for(name),
                incidents,
                reads,
                lambda: int(postmaster.read_text().split()[0]),
            )
        )


def console_lines(figures: dict[str, Any]) -> list[str]:
    lines = [
        f"console server time, {figures['incidents']:,} incidents stored"
        f" (target: p99 <= {TARGET_P99_MS:.0f} ms)",
        f"{'page':44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  ok"
        "   CPU p50/p99 ms: this process, PostgreSQL",
    ]
    for name, page in figures["pages"].items():
        ok = "yes" if page["within_target"] else "NO"
        lines.append(
            f"{name:44} {page['p50_ms']:8.1f} {page['p99_ms']:8.1f} {page['max_ms']:8.1f}  {ok:3}"
            f"   {page['cpu_p50_ms']:.0f}/{page['cpu_p99_ms']:.0f},"
            f" {page['postgres_cpu_p50_ms']:.0f}/{page['postgres_cpu_p99_ms']:.0f}"
        )
    return lines
