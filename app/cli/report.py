"""``klaxon report``: how fast incidents were acknowledged and resolved (MTTA,
MTTR and their p90, per service and severity) and who carried the paging,
with the pages outside working hours; through a running Klaxon's API.

Durations are for reading (``52s``, ``4m 10s``, ``1h 02m``); ``--json`` prints
the API's answer, whose times are seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app.cli._common import echo_json
from app.cli._format import table, utc
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption
from app.durations import human

TIMES_HEADER = ["SERVICE", "SEVERITY", "INCIDENTS", "ACKED", "RESOLVED", "MTTA", "P90 TTA"]
TIMES_HEADER += ["MTTR", "P90 TTR"]
LOAD_HEADER = ["RESPONDER", "PAGES", "SMS", "CALLS", "INCIDENTS", "OFF-HOURS", "TIME ZONE"]


def _length(seconds: float | None) -> str:
    return "-" if seconds is None else human(seconds)


def _times_row(service: str, severity: str, times: dict[str, Any]) -> list[str]:
    return [
        service,
        severity,
        str(times["incidents"]),
        str(times["acknowledged"]),
        str(times["resolved"]),
        *(
            _length(times[name])
            for name in ("mtta_seconds", "p90_tta_seconds", "mttr_seconds", "p90_ttr_seconds")
        ),
    ]


def render_report(found: dict[str, Any]) -> str:
    """The report as two tables: response times, then pages per responder."""
    scope = f" on {found['service']}" if found.get("service") else ""
    lines = [f"Incidents opened{scope} from {utc(found['since'])} to {utc(found['until'])}", ""]
    rows = [_times_row(g["service"], g["severity"], g) for g in found["by_service_severity"]]
    rows.append(_times_row("all", "-", found["overall"]))
    lines += [table(TIMES_HEADER, rows), ""]
    if not found["responders"]:
        lines.append("No pages sent.")
    else:
        loads = [
            [
                r["responder"],
                str(r["pages"]),
                str(r["sms"]),
                str(r["calls"]),
                str(r["incidents"]),
                str(r["off_hours_pages"]),
                r["time_zone"] or "UTC",
            ]
            for r in found["responders"]
        ]
        lines += [
            "Pages per responder (off-hours: outside 09:00-18:00 Mon-Fri in their time zone)",
            table(LOAD_HEADER, loads),
        ]
    return "\n".join(lines)


def report(
    since: Annotated[
        str | None,
        typer.Option(help="Incidents opened at or after (ISO 8601; default 30 days ago)"),
    ] = None,
    until: Annotated[str | None, typer.Option(help="...and before (default now)")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Response times (MTTA, MTTR) per service and severity, and pages per
    responder with those outside working hours."""
    params = {
        name: value
        for name, value in (("since", since), ("until", until), ("service", service))
        if value is not None
    }
    found = KlaxonApi.connect(url, token).get("/api/v1/reports/response", params)
    if as_json:
        echo_json(found)
        return
    typer.echo(render_report(found))
