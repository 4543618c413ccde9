"""``klaxon oncall [SCHEDULE]``: who is on call, through a running Klaxon's API.
Phone numbers are shown with all but their last 4 digits hidden, in --json too."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from app.cli._common import echo_json
from app.cli._format import mask_phone, parse_time, table, utc
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part

MAX_DAYS = 366  # the longest range GET /schedules/{name}/shifts answers


def _instant(value: str | None) -> str | None:
    """``--at`` as ISO 8601 with its UTC offset, as the API wants it."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time like 2026-11-26T09:00:00+01:00",
            param_hint="--at",
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no UTC offset: add one, e.g. {value}Z or {value}+01:00",
            param_hint="--at",
        )
    return parsed.isoformat()


def _masked(answer: dict[str, Any]) -> dict[str, Any]:
    responder = answer.get("responder")
    if responder is None:
        return answer
    return {**answer, "responder": {**responder, "phone": mask_phone(responder.get("phone"))}}


def _who(answer: dict[str, Any]) -> list[str]:
    responder = answer.get("responder")
    if responder is None:
        return ["nobody", "-", "-"]
    return [responder["name"], responder["phone"] or "-", responder.get("time_zone") or "-"]


def oncall(
    schedule: Annotated[
        str | None,
        typer.Argument(help="One schedule, with its upcoming shifts (default: every schedule)"),
    ] = None,
    at: Annotated[
        str | None, typer.Option(help="At this instant (ISO 8601 with offset) (default: now)")
    ] = None,
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Shifts for this many days (one schedule)")
    ] = 7,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who is on call now (or --at), on every schedule or on one with its next shifts."""
    when = _instant(at)
    api = KlaxonApi.connect(url, token)
    params = {"at": when} if when else {}
    if schedule is None:
        answers = [_masked(a) for a in api.get("/api/v1/oncall", params)]
        if as_json:
            echo_json(answers)
            return
        if not answers:
            typer.echo("no schedules: apply an on-call file with `klaxon apply -f FILE`")
            return
        rows = [[a["schedule"], *_who(a), utc(a["until"]), a.get("source") or "-"] for a in answers]
        typer.echo(table(["SCHEDULE", "ON CALL", "PHONE", "TIME ZONE", "UNTIL", "VIA"], rows))
        return

    path = f"/api/v1/schedules/{path_part(schedule)}"
    answer = _masked(api.get(f"{path}/oncall", params))
    start = parse_time(answer["at"])
    shifts = api.get(
        f"{path}/shifts",
        {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()},
    )
    if as_json:
        echo_json({"oncall": answer, "shifts": shifts})
        return
    name, phone, zone = _who(answer)
    now = f"{schedule}: {name}"
    if answer.get("responder") is not None:
        now += f" ({phone}, {zone}) until {utc(answer['until'])} via {answer['source']}"
    typer.echo(now)
    typer.echo(f"\nShifts until {utc(shifts['to'])}:")
    rows = [[s["responder"], utc(s["start"]), utc(s["end"]), s["source"]] for s in shifts["shifts"]]
    if rows:
        typer.echo(table(["RESPONDER", "FROM", "TO", "VIA"], rows))
    else:
        typer.echo("nobody is on call in this range")
    for warning in shifts.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
