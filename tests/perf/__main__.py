"""``make bench``: measure, print the figures. Nothing here asserts on time.

Environment: KLAXON_BENCH_SECONDS (default 30), KLAXON_BENCH_WORKERS (default 1).
"""

from __future__ import annotations

import asyncio
import os
import urllib.request

from app.migrate import upgrade
from tests.perf.ingest import prefill, run_load
from tests.perf.server import klaxon_process
from tests.services.postgres import private_postgres

TOKEN = "bench-admin-token"


def server_counters(url: str, token: str) -> str:
    """What the server counted, from its /metrics, to show the work was real."""
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        text = resp.read().decode()
    wanted = (
        "klaxon_alerts_received_total{",
        "klaxon_alerts_deduplicated_total{",
        "klaxon_incidents_opened_total{",
    )
    lines = [line for line in text.splitlines() if line.startswith(wanted)]
    return "server counters: " + "; ".join(lines)


def main() -> None:
    seconds = float(os.environ.get("KLAXON_BENCH_SECONDS", "30"))
    workers = int(os.environ.get("KLAXON_BENCH_WORKERS", "1"))
    with private_postgres() as pg:
        url = pg.create_database("klaxon_bench")
        upgrade(url)
        with klaxon_process(url, TOKEN, workers=workers) as klaxon:
            asyncio.run(prefill(klaxon, TOKEN))
            # Autovacuum would analyze the freshly filled table within its
            # first minute; a 30 s benchmark cannot wait for it.
            pg.psql("ANALYZE", database="klaxon_bench")
            result = asyncio.run(run_load(klaxon, TOKEN, seconds=seconds))
            print(result.report(f"ingest (PostgreSQL, {workers} worker(s), 20 connections)"))
            print(server_counters(klaxon, TOKEN))


if __name__ == "__main__":
    main()
