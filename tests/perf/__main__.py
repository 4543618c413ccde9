"""``make bench``: measure, print the figures. Nothing here asserts on time.

Environment: KLAXON_BENCH_SECONDS (default 30), KLAXON_BENCH_WORKERS (default "1,2":
the ingest run for each count of uvicorn workers in one process), KLAXON_BENCH_REPLICAS
(default "2": the ingest run for each count of separate Klaxon processes on the same
database, connections spread across them as a Service does; "" for none),
KLAXON_BENCH_PAGING_REPLICAS (default 2), KLAXON_BENCH_PAGING_RATE (default 200).
"""

from __future__ import annotations

import asyncio
import os
import urllib.request

from app.migrate import upgrade
from tests.perf import paging
from tests.perf.ingest import prefill, run_load
from tests.perf.server import klaxon_process, klaxon_replicas
from tests.services.postgres import PrivatePostgres, private_postgres

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


def ingest_bench(pg: PrivatePostgres, workers: int, seconds: float) -> None:
    name = f"klaxon_bench_{workers}w"
    url = pg.create_database(name)
    upgrade(url)
    with klaxon_process(url, TOKEN, workers=workers) as klaxon:
        asyncio.run(prefill(klaxon, TOKEN))
        # Autovacuum would analyze the freshly filled table within its
        # first minute; a 30 s benchmark cannot wait for it.
        pg.psql("ANALYZE", database=name)
        result = asyncio.run(run_load(klaxon, TOKEN, seconds=seconds))
        print(
            result.report(f"ingest (PostgreSQL, {workers} worker(s), 20 connections)"), flush=True
        )
        if workers == 1:
            print(server_counters(klaxon, TOKEN), flush=True)


def replicas_bench(pg: PrivatePostgres, replicas: int, seconds: float) -> None:
    name = f"klaxon_bench_{replicas}r"
    url = pg.create_database(name)
    upgrade(url)
    with klaxon_replicas(url, TOKEN, replicas) as klaxons:
        asyncio.run(prefill(klaxons[0], TOKEN))
        pg.psql("ANALYZE", database=name)
        result = asyncio.run(run_load(klaxons, TOKEN, seconds=seconds))
        print(
            result.report(
                f"ingest (PostgreSQL, {replicas} replicas of 1 worker each, 20 connections)"
            ),
            flush=True,
        )


def main() -> None:
    seconds = float(os.environ.get("KLAXON_BENCH_SECONDS", "30"))
    workers = [int(w) for w in os.environ.get("KLAXON_BENCH_WORKERS", "1,2").split(",")]
    replicas = [int(r) for r in os.environ.get("KLAXON_BENCH_REPLICAS", "2").split(",") if r]
    paging_replicas = int(os.environ.get("KLAXON_BENCH_PAGING_REPLICAS", "2"))
    rate = float(os.environ.get("KLAXON_BENCH_PAGING_RATE", "200"))
    with private_postgres() as pg:
        for count in workers:
            ingest_bench(pg, count, seconds)
        for count in replicas:
            replicas_bench(pg, count, seconds)
        url = pg.create_database("klaxon_bench_paging")
        upgrade(url)
        print(
            asyncio.run(
                paging.run(
                    url,
                    pg.dsn_for("klaxon_bench_paging"),
                    TOKEN,
                    seconds=seconds,
                    rate=rate,
                    replicas=paging_replicas,
                )
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
