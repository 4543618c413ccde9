"""``klaxon incident list|show|ack|resolve``, through a running Klaxon's API (the
commander's other commands are in :mod:`app.cli.response` and :mod:`app.cli.review`)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer

from app.cli._common import echo_json
from app.cli._format import age, parse_time, shorten, table, utc, utc_seconds
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part

incidents_cli = typer.Typer(
    help="Incidents of a running Klaxon: list, show, declare, acknowledge, update, resolve,"
    " roles, notes, timeline, post-mortem.",
    no_args_is_help=True,
)

TITLE_WIDTH = 60
MAX_LIMIT = 500  # as the API allows


class StatusFilter(StrEnum):
    open = "open"
    triggered = "triggered"
    acknowledged = "acknowledged"
    resolved = "resolved"
    all = "all"


class SeverityFilter(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


NumberArgument = Annotated[int, typer.Argument(min=1, help="The incident number")]


@incidents_cli.command("list")
def list_incidents(
    status: Annotated[
        StatusFilter,
        typer.Option(help="open is triggered or acknowledged", case_sensitive=False),
    ] = StatusFilter.open,
    severity: Annotated[
        SeverityFilter | None, typer.Option(help="Only this severity", case_sensitive=False)
    ] = None,
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(help="name=value; repeat for several (all must match)"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="At most this many")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Continue after a previous list (printed at its end)")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Incidents, newest first (open ones unless --status says otherwise)."""
    for value in label or []:
        name, sep, _ = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{value!r} must look like name=value", param_hint="--label")
    api = KlaxonApi.connect(url, token)
    params: dict[str, Any] = {"label": label or []}
    if severity is not None:
        params["severity"] = severity.value
    if service is not None:
        params["service"] = service
    if cursor is not None:
        params["cursor"] = cursor
    if status is not StatusFilter.all:
        params["status"] = status.value  # the API knows open (triggered or acknowledged)
    page = api.get("/api/v1/incidents", {**params, "limit": limit})
    if as_json:
        echo_json(page)
        return
    if not page["items"]:
        typer.echo("no open incidents" if status is StatusFilter.open else "no incidents")
        return
    now = datetime.now(UTC)
    rows = [
        [
            f"#{i['number']}",
            i["severity"],
            i["status"],
            age(i["created_at"], now),
            shorten(i["title"], TITLE_WIDTH),
            i["service"],
        ]
        for i in page["items"]
    ]
    typer.echo(table(["NUMBER", "SEV", "STATUS", "AGE", "TITLE", "SERVICE"], rows))
    if page["next_cursor"] is not None:
        typer.echo(f"(more: add --cursor {page['next_cursor']})", err=True)


def _state(incident: dict[str, Any]) -> str:
    """``acknowledged by alice at 2026-11-26 12:05 UTC``."""
    status = str(incident["status"])
    if status == "acknowledged":
        return (
            f"acknowledged by {incident['acknowledged_by']} at {utc(incident['acknowledged_at'])}"
        )
    if status == "resolved":
        return f"resolved by {incident['resolved_by']} at {utc(incident['resolved_at'])}"
    return status


def _roles(roles: dict[str, Any] | None) -> str:
    """``IC alice, Comms bob, Scribe -, SME carol, dave``; empty if none is held."""
    if not roles:
        return ""
    names = {"commander": "IC", "comms": "Comms", "scribe": "Scribe"}
    held = [f"{shown} {roles.get(key) or '-'}" for key, shown in names.items()]
    if roles.get("sme"):
        held.append("SME " + ", ".join(roles["sme"]))
    return ", ".join(held) if any(roles.get(key) for key in [*names, "sme"]) else ""


def _show_text(incident: dict[str, Any]) -> str:
    now = datetime.now(UTC)
    policy = f" (policy {incident['policy']})" if incident.get("policy") else ""
    lines = [
        f"#{incident['number']} {incident['title']}",
        f"  status:    {_state(incident)}",
        f"  severity:  {incident['severity']}",
        f"  service:   {incident['service']}{policy}",
        f"  opened:    {utc(incident['created_at'])} ({age(incident['created_at'], now)} ago)",
        f"  alerts:    {incident['alert_count']} ({incident['firing_count']} firing)",
    ]
    roles = _roles(incident.get("roles"))
    if roles:
        lines.append(f"  roles:     {roles}")
    if incident.get("next_update_at"):
        due = incident["next_update_at"]
        late = " (overdue)" if parse_time(due) < now else ""
        lines.append(f"  next update: {utc(due)}{late}")
    for field in ("impact", "workaround", "description"):
        if incident.get(field):
            lines.append(f"  {field + ':':<10} {incident[field]}")
    runbook = incident.get("runbook")
    if runbook:
        lines.append(f"  runbook:   {runbook.get('url') or runbook.get('name') or 'inline'}")
        # A text runbook is what to do: print it, not only its name.
        text = str(runbook.get("text") or "")
        lines += [f"    {line}".rstrip() for line in text.strip("\n").splitlines()]
    lines.append("")
    lines.append("Timeline:")
    events = incident.get("timeline", [])
    rows = [[utc_seconds(e["at"]), e["kind"], e["actor"], e["message"]] for e in events]
    lines += ["  " + line for line in table(["AT", "EVENT", "BY", "WHAT"], rows).splitlines()]
    return "\n".join(lines)


@incidents_cli.command("show")
def show_incident(
    number: NumberArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """One incident: its state, alerts, runbook and timeline."""
    api = KlaxonApi.connect(url, token)
    incident = api.get(f"/api/v1/incidents/{path_part(number)}")
    if as_json:
        echo_json(incident)
        return
    typer.echo(_show_text(incident))


ByOption = Annotated[str | None, typer.Option("--by", help="Who acts (default: the token's name)")]
NoteOption = Annotated[str | None, typer.Option("--note", help="Recorded on the timeline")]


def _act(
    action: Literal["acknowledge", "resolve"],
    number: int,
    by: str | None,
    note: str | None,
    api: KlaxonApi,
    as_json: bool,
) -> None:
    """POST the action; say whether it changed anything. Acting twice changes
    nothing (exit 0); acknowledging a resolved incident is the API's 409 (exit 1)."""
    path = f"/api/v1/incidents/{path_part(number)}"
    before = api.get(path)
    body = {key: value for key, value in {"by": by, "note": note}.items() if value is not None}
    after = api.post(f"{path}/{action}", body)
    if as_json:
        echo_json(after)
        return
    done = "acknowledged" if action == "acknowledge" else "resolved"
    if before["status"] == done:
        typer.echo(f"#{number} was already {_state(after)}; nothing changed")
    else:
        typer.echo(f"#{number} {_state(after)}")


@incidents_cli.command("ack")
def acknowledge(
    number: NumberArgument,
    by: ByOption = None,
    note: NoteOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge an incident: stops its paging (write scope)."""
    _act("acknowledge", number, by, note, KlaxonApi.connect(url, token), as_json)


@incidents_cli.command("resolve")
def resolve(
    number: NumberArgument,
    by: ByOption = None,
    note: NoteOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve an incident (write scope); those already paged are told by SMS."""
    _act("resolve", number, by, note, KlaxonApi.connect(url, token), as_json)
