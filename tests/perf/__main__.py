"""``make bench``: measure, print the table, write every figure as JSON. Nothing
here asserts on time. ``python -m tests.perf --help`` lists the options.

The real case (tests/perf/real.py) runs on a durable PostgreSQL; today's earlier
bench (tests/perf/ingest.py: fsync off, no paging, a prefilled and ANALYZEd
table) runs after it on a server of its own, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.migrate import upgrade
from tests.perf import paging, real
from tests.perf.console import console_lines, console_run
from tests.perf.history import YEAR, HistorySize
from tests.perf.history_run import history_lines, history_run
from tests.perf.ingest import PER_PAYLOAD, prefill, run_load
from tests.perf.report import table, write_json
from tests.perf.server import ROOT, klaxon_process, klaxon_replicas
from tests.perf.status import status_lines, status_run
from tests.services.postgres import PrivatePostgres, private_postgres

TOKEN = "bench-admin-token"


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.perf", description=__doc__)
    add = parser.add_argument
    add("--seconds", type=float, default=30, help="measured seconds of each Klaxon run (30)")
    add("--ceiling-seconds", type=float, default=15, help="measured seconds of the ceiling (15)")
    add("--warmup", type=float, default=2, help="seconds before measuring (2)")
    add("--workers", default="1,2", help="uvicorn worker counts to run (1,2)")
    add("--connections", type=int, default=20, help="concurrent connections (20)")
    add("--resolve-share", type=float, default=0.05, help="share of posts resolving (0.05)")
    add("--resolve-workers", default="1", help="worker counts of the resolving run (1)")
    add("--paging-rate", type=float, default=200, help="webhooks/s of the paging run (200)")
    add("--paging-seconds", type=float, default=20, help="measured seconds of it (20; 0 skips)")
    add("--no-storm", action="store_true", help="skip the storm")
    add("--soak-seconds", type=float, default=0, help="memory soak at the paging rate (0 skips)")
    add("--legacy-seconds", type=float, default=10, help="today's bench per run (10; 0 skips)")
    add("--legacy-full", action="store_true", help="also today's replicas and paging runs")
    add("--history", action="store_true", help="also measure on a year of history (1M alerts)")
    add("--history-only", action="store_true", help="only the history run (and its baseline)")
    add("--history-alerts", type=int, default=YEAR.alerts, help="alerts of the history (1M)")
    add("--history-incidents", type=int, default=YEAR.incidents, help="its incidents (100k)")
    add("--status-seconds", type=float, default=10, help="status page run (10; 0 skips)")
    add("--status-only", action="store_true", help="only the status page run")
    add("--json", type=Path, help="where to write the figures (.bench/bench-<time>.json)")
    add("--console", action="store_true", help="only the console's pages on a stored history")
    add("--console-incidents", type=int, default=100_000, help="its incidents (100k)")
    add("--console-reads", type=int, default=200, help="reads of each console page (200)")
    return parser.parse_args()


_BEGAN = time.monotonic()


def progress(what: str) -> None:
    print(f"[{time.monotonic() - _BEGAN:4.0f} s] {what} ...", flush=True)


def counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def real_case(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    if args.history_only:
        args.workers, args.resolve_share, args.no_storm, args.legacy_seconds = "", 0.0, True, 0
    for workers in counts(args.workers):
        progress(f"ceiling, {workers} worker(s)")
        figures["ceiling"][str(workers)] = {
            "workers": workers,
            **real.ceiling_run(
                workers=workers, seconds=args.ceiling_seconds, connections=args.connections
            ),
        }
    runs = [(w, 0.0) for w in counts(args.workers)]
    runs += [(w, args.resolve_share) for w in counts(args.resolve_workers) if args.resolve_share]
    with private_postgres(durable=True) as pg, real.TwilioThread() as fake:
        figures["postgres"] = real.server_settings(pg)
        for workers, share in runs:
            key = f"{workers}w" + (f" {share:.0%} resolving" if share else "")
            progress(f"klaxon {key}")
            figures["klaxon"][key] = {
                "workers": workers,
                "resolve_share": share,
                **real.ingest_run(
                    pg,
                    fake,
                    workers=workers,
                    seconds=args.seconds,
                    connections=args.connections,
                    resolve_share=share,
                ),
            }
        if not args.no_storm:
            progress("storm")
            figures["storm"] = real.storm_run(pg, fake)
        if args.history or args.history_only:
            progress("history")
            size = HistorySize(incidents=args.history_incidents, alerts=args.history_alerts)
            figures["history"] = history_run(
                pg,
                fake,
                size,
                seconds=args.seconds,
                connections=args.connections,
                empty=figures["klaxon"].get("1w"),
            )
        if args.soak_seconds:
            progress(f"soak, {args.soak_seconds:.0f} s")
            figures["soak"] = real.soak_run(
                pg,
                fake,
                seconds=args.soak_seconds,
                rate=args.paging_rate,
                connections=args.connections,
            )
        if args.paging_seconds and not args.history_only:
            progress("paging")
            figures["paging"] = real.paging_run(
                pg,
                fake,
                seconds=args.paging_seconds,
                rate=args.paging_rate,
                connections=args.connections,
            )


def legacy_ingest(pg: PrivatePostgres, workers: int, seconds: float) -> dict[str, Any]:
    name = f"klaxon_bench_{workers}w"
    url = pg.create_database(name)
    upgrade(url)
    with klaxon_process(url, TOKEN, workers=workers) as klaxon:
        asyncio.run(prefill(klaxon, TOKEN))
        # Autovacuum would analyze the freshly filled table within its
        # first minute; a short benchmark cannot wait for it.
        pg.psql("ANALYZE", database=name)
        result = asyncio.run(run_load(klaxon, TOKEN, seconds=seconds))
    rate = len(result.latencies) / result.elapsed if result.elapsed else 0.0
    return {
        "workers": workers,
        "webhooks_per_s": round(rate, 1),
        "alerts_per_s": round(rate * PER_PAYLOAD, 1),
        "p50_ms": round(result.percentile(50) * 1000, 1),
        "p99_ms": round(result.percentile(99) * 1000, 1),
        "errors": result.errors,
        "report": result.report(f"ingest (gentle PostgreSQL, {workers} worker(s))"),
    }


def legacy_replicas(pg: PrivatePostgres, replicas: int, seconds: float) -> str:
    name = f"klaxon_bench_{replicas}r"
    url = pg.create_database(name)
    upgrade(url)
    with klaxon_replicas(url, TOKEN, replicas) as klaxons:
        asyncio.run(prefill(klaxons[0], TOKEN))
        pg.psql("ANALYZE", database=name)
        result = asyncio.run(run_load(klaxons, TOKEN, seconds=seconds))
    return result.report(f"ingest (PostgreSQL, {replicas} replicas of 1 worker each)")


def legacy(args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Today's earlier bench: fsync off, no paging, prefilled and ANALYZEd."""
    seconds = args.legacy_seconds
    with private_postgres() as pg:
        for workers in counts(args.workers):
            progress(f"today's bench {workers}w")
            figures["legacy"][f"{workers}w"] = legacy_ingest(pg, workers, seconds)
        if args.legacy_full:
            figures["legacy_reports"] = [legacy_replicas(pg, 2, seconds)]
            url = pg.create_database("klaxon_bench_paging")
            upgrade(url)
            figures["legacy_reports"].append(
                asyncio.run(
                    paging.run(
                        url, pg.dsn_for("klaxon_bench_paging"), TOKEN, seconds=seconds, rate=200
                    )
                )
            )


def main() -> None:
    args = options()
    started = datetime.now(UTC)
    figures: dict[str, Any] = {
        "started": started.isoformat(),
        "options": {k: str(v) for k, v in vars(args).items()},
        "ceiling": {},
        "klaxon": {},
        "legacy": {},
    }
    if args.console:
        progress(f"console, {args.console_incidents:,} incidents")
        figures["console"] = console_run(args.console_incidents, args.console_reads)
        path = args.json or ROOT / ".bench" / f"bench-console-{started:%Y%m%dT%H%M%SZ}.json"
        write_json(figures, path)
        print("\n".join(console_lines(figures["console"])))
        return
    if not args.status_only:
        real_case(args, figures)
        if args.legacy_seconds:
            legacy(args, figures)
    if args.status_seconds:
        progress("status page")
        with private_postgres() as pg:
            figures["status"] = status_run(
                pg,
                TOKEN,
                seconds=args.status_seconds,
                warmup=args.warmup,
                connections=args.connections,
            )
    figures["finished"] = datetime.now(UTC).isoformat()
    path = args.json or ROOT / ".bench" / f"bench-{started:%Y%m%dT%H%M%SZ}.json"
    write_json(figures, path)
    print()
    if not args.status_only:
        print(table(figures))
    for line in figures.get("legacy_reports", []):
        print(line)
    if "status" in figures:
        print("\n".join(status_lines(figures["status"])))
    if "history" in figures:
        print("\n".join(history_lines(figures["history"])))
    if not args.status_only:
        print(f"PostgreSQL: {figures.get('postgres')}")
    print(f"every figure: {path}", flush=True)


if __name__ == "__main__":
    main()
