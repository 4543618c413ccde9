"""The bench's table, and the JSON file of every figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

#: A generator using this much of its one core may be what limits a run.
GENERATOR_BOUND = 0.85
COLUMNS = (
    ("run", 34),
    ("webhooks/s", 10),
    ("alerts/s", 9),
    ("p50 ms", 8),
    ("p99 ms", 8),
    ("errors", 7),
    ("x ceiling", 9),
    ("RSS MB", 16),
    ("CPU srv+eng/gen", 16),
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def row(label: str, figures: dict[str, Any], ceiling: dict[str, Any] | None) -> str:
    server = figures.get("server") or {}
    workers = server.get("workers") or []
    rss = "-"
    if workers:
        start = max(w["rss_start_mb"] for w in workers)
        end = max(w["rss_end_mb"] for w in workers)
        rss = f"{start:.0f}→{end:.0f} ({server['rss_peak_mb']:.0f})"
    ratio = None
    if ceiling and ceiling.get("webhooks_per_s"):
        ratio = f"{figures['webhooks_per_s'] / ceiling['webhooks_per_s']:.2f}"
    cpu = "-"
    if server:
        # The engine's own process (klaxon serve on PostgreSQL), apart: "+eng".
        engine = sum(e.get("cpu") or 0.0 for e in server.get("engine", []))
        apart = f"+{engine:.2f}" if engine else ""
        cpu = f"{server.get('cpu', 0):.2f}{apart}/{figures.get('generator_cpu', 0):.2f}"
    cells = (
        label,
        _cell(figures.get("webhooks_per_s")),
        _cell(figures.get("alerts_per_s")),
        _cell(figures.get("p50_ms")),
        _cell(figures.get("p99_ms")),
        _cell(figures.get("errors")),
        _cell(ratio),
        rss,
        cpu,
    )
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS, strict=True))
    )


def table(figures: dict[str, Any]) -> str:
    header = "  ".join(
        name.ljust(w) if i == 0 else name.rjust(w) for i, (name, w) in enumerate(COLUMNS)
    )
    lines = [header, "-" * len(header)]
    ceilings = figures.get("ceiling", {})
    for key, run in figures.get("klaxon", {}).items():
        workers = str(run.get("workers", 1))
        lines.append(row(f"klaxon {key}", run, ceilings.get(workers)))
    for workers, run in ceilings.items():
        lines.append(row(f"ceiling (no database) {workers}w", run, run))
    for key, run in figures.get("legacy", {}).items():
        lines.append(row(f"today's bench {key}", run, ceilings.get(str(run.get("workers")))))
    firsts = [
        f"{key} {run['first_round_s']:.1f} s" for key, run in figures.get("klaxon", {}).items()
    ]
    if firsts:
        lines.append(
            "first round (every group's first notification, before measuring: opens 100"
            " incidents and pages): " + ", ".join(firsts)
        )
    runs = {f"klaxon {k}": r for k, r in figures.get("klaxon", {}).items()}
    runs |= {f"ceiling {k}w": r for k, r in figures.get("ceiling", {}).items()}
    for label, run in runs.items():
        if run.get("generator_cpu", 0) >= GENERATOR_BOUND:
            lines.append(
                f"note: the load generator used {run['generator_cpu']:.2f} of a core in"
                f" {label}: that figure may be the generator's limit, not the server's"
            )
    storm = figures.get("storm")
    if storm:
        outcome = "2xx" if storm["ok"] else f"FAILED: {storm['status']}"
        lines.append(
            f"storm: {storm['alerts']} new alerts in one notification ({storm['bytes']:,} bytes"
            f" of {storm['limit']:,}): {outcome} after {storm['seconds']:.2f} s"
        )
    soak = figures.get("soak")
    if soak:
        for w in soak["workers"]:
            lines.append(
                f"soak ({w.get('process', 'web')}): {soak['seconds']:.0f} s at"
                f" {soak['rate']:.0f} webhooks/s"
                f" ({soak['webhooks_per_s']:.0f}/s answered, {soak['errors']} errors): RSS"
                f" {w['rss_warm_mb']:.0f} MB after the first minute, {w['rss_end_mb']:.0f} MB at"
                f" the end ({w['growth_pct']:+.1f} %), peak {w['rss_peak_mb']:.0f} MB"
            )
    paging = figures.get("paging")
    if paging:
        lines.append(
            f"paging at {paging['rate']:.0f} webhooks/s ({paging['webhooks_per_s']:.0f} answered/s,"
            f" {paging['errors']} errors): alert → first page p50"
            f" {_cell(paging['first_page_p50_ms'])} ms, p99"
            f" {_cell(paging['first_page_p99_ms'])} ms in the measured seconds"
            f" ({paging.get('first_page_measured', paging['paged'])} incidents), with the"
            f" warm-up's p50 {_cell(paging.get('first_page_all_p50_ms'))} ms, p99"
            f" {_cell(paging.get('first_page_all_p99_ms'))} ms ({paging['paged']} of"
            f" {paging['incidents_opened']} incidents paged); step lag p50"
            f" {_cell(paging['step_lag_p50_ms'])} ms, p99 {_cell(paging['step_lag_p99_ms'])} ms"
            f" ({paging['steps']} steps; with the warm-up's, p99"
            f" {_cell(paging.get('step_lag_all_p99_ms'))} ms); send lag p50"
            f" {_cell(paging['send_lag_p50_ms'])} ms,"
            f" p99 {_cell(paging['send_lag_p99_ms'])} ms"
        )
    return "\n".join(lines)


def write_json(figures: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
