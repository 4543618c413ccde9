"""``klaxon maintenance add|list|end``: plan, list and end maintenance windows
through a running Klaxon's API (``add`` and ``end`` need a config-scope token:
a window holds pages)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app.cli._common import echo_json
from app.cli._format import table, utc
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part

maintenance_cli = typer.Typer(
    help="Maintenance windows: matching alerts are stored but page nobody while one is on.",
    no_args_is_help=True,
)
HEADER = ["ID", "NAME", "STATE", "FROM", "TO", "SCOPE", "REASON"]


def _scope(window: dict[str, Any]) -> str:
    parts = list(window["matchers"]) + [f"service={s}" for s in window["services"]]
    return ", ".join(parts)


def _row(window: dict[str, Any]) -> list[str]:
    upcoming = window["current_or_next"] or {}
    if window["active"]:
        state = "active"
    elif upcoming:
        state = "recurring" if window["rrule"] else "planned"
    else:
        state = "over"
    return [
        str(window["id"]),
        window["name"],
        state,
        utc(upcoming.get("start")),
        utc(upcoming.get("end")),
        _scope(window),
        window["reason"],
    ]


@maintenance_cli.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The window's name, e.g. 'db upgrade'")],
    reason: Annotated[str, typer.Option(help="Why: shown on held incidents' timelines")],
    start: Annotated[
        str, typer.Option(help="ISO 8601 start; without an offset, wall time in --time-zone")
    ],
    end: Annotated[str | None, typer.Option(help="ISO 8601 end of a one-off window")] = None,
    rrule: Annotated[
        str | None, typer.Option(help="RFC 5545 RRULE of a recurring one, e.g. FREQ=WEEKLY")
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Length of each occurrence, e.g. 2h (with --rrule)")
    ] = None,
    time_zone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
    matcher: Annotated[
        list[str] | None, typer.Option(help='Alertmanager matcher, e.g. env="prod"; repeatable')
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="A service it covers; repeatable")
    ] = None,
    quiet_open_incidents: Annotated[
        bool, typer.Option(help="Also hold incidents already open that it covers")
    ] = False,
    public_title: Annotated[
        str | None, typer.Option(help="Show it on the status page under this title")
    ] = None,
    public_description: Annotated[
        str | None, typer.Option(help="What the status page says about it")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Plan a maintenance window (one-off with --end, recurring with --rrule and --duration)."""
    body: dict[str, Any] = {
        "name": name,
        "reason": reason,
        "starts_at": start,
        "time_zone": time_zone,
        "matchers": matcher or [],
        "services": service or [],
        "quiet_open_incidents": quiet_open_incidents,
    }
    for key, value in (
        ("ends_at", end),
        ("rrule", rrule),
        ("duration", duration),
        ("public_title", public_title),
        ("public_description", public_description),
    ):
        if value is not None:
            body[key] = value
    window = KlaxonApi.connect(url, token).post("/api/v1/maintenance", body)
    if as_json:
        echo_json(window)
        return
    typer.echo(table(HEADER, [_row(window)]))


@maintenance_cli.command("list")
def list_windows(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Every window, with its current or next occurrence."""
    windows = KlaxonApi.connect(url, token).get("/api/v1/maintenance")
    if as_json:
        echo_json(windows)
        return
    if not windows:
        typer.echo("no maintenance windows")
        return
    typer.echo(table(HEADER, [_row(w) for w in windows]))


@maintenance_cli.command("end")
def end_window(
    window_id: Annotated[
        int, typer.Argument(min=1, help="The window's id (klaxon maintenance list)")
    ],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a window now: what it held pages now if it still fires."""
    window = KlaxonApi.connect(url, token).post(f"/api/v1/maintenance/{path_part(window_id)}/end")
    if as_json:
        echo_json(window)
        return
    typer.echo(f"ended maintenance window {window['id']} ({window['name']})")
