"""``klaxon incident declare|update|note|role|responder|stakeholders``: the
commander's acts during an incident, through a running Klaxon's API.

Each command is one or a few API calls; what the API refuses is printed as its
one-line ``detail`` (exit 1), as for every API command (:mod:`app.cli.api`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any

import typer

from app.cli._common import echo_json, fail
from app.cli._format import table, utc_seconds
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part
from app.cli.incidents import NumberArgument, SeverityFilter

ByOption = Annotated[str | None, typer.Option("--by", help="Who acts (default: the token's name)")]


class Phase(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


class Role(StrEnum):
    """The roles of an incident; ``ic`` is the commander's usual name."""

    ic = "ic"
    commander = "commander"
    comms = "comms"
    scribe = "scribe"
    sme = "sme"

    @property
    def api_name(self) -> str:
        return "commander" if self is Role.ic else self.value


def incident_path(number: int) -> str:
    """The API path of incident ``number``."""
    return f"/api/v1/incidents/{path_part(number)}"


def _body(**fields: Any) -> dict[str, Any]:
    """The fields given (``None`` is left out: the API keeps or defaults it)."""
    return {name: value for name, value in fields.items() if value is not None}


def parse_at(value: str, today: date) -> str:
    """``--at``: a time of day (``14:30``, ``14:30:15``) on ``today`` in UTC, or a
    full ISO 8601 time (one without an offset is UTC). Returned as ISO 8601."""
    try:
        moment = datetime.combine(today, time.fromisoformat(value), tzinfo=UTC)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is neither a time of day (14:30) nor an ISO 8601 time"
                " (2026-11-26T14:30:00Z)",
                param_hint="--at",
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def assign_role(
    api: KlaxonApi, number: int, role: Role, responder: str, by: str | None
) -> dict[str, Any]:
    """PUT the single roles, POST a subject expert; the API's answer."""
    roles = f"{incident_path(number)}/roles/{role.api_name}"
    body = _body(responder=responder, by=by)
    result: dict[str, Any] = api.post(roles, body) if role is Role.sme else api.put(roles, body)
    return result


def declare(
    number: Annotated[
        int | None,
        typer.Argument(min=1, help="An incident an alert opened (omit to open a new one)"),
    ] = None,
    title: Annotated[str | None, typer.Option(help="Required for a new incident")] = None,
    service: Annotated[str | None, typer.Option(help="Required for a new incident")] = None,
    severity: Annotated[
        SeverityFilter | None, typer.Option(help="SEV1..SEV4", case_sensitive=False)
    ] = None,
    description: Annotated[str | None, typer.Option(help="What was reported")] = None,
    impact: Annotated[
        str | None, typer.Option(help="Who or what is hurt: 50% of payment requests failing")
    ] = None,
    ic: Annotated[str | None, typer.Option("--ic", help="Incident commander")] = None,
    comms: Annotated[str | None, typer.Option(help="Communications lead")] = None,
    scribe: Annotated[str | None, typer.Option(help="Scribe")] = None,
    sme: Annotated[
        list[str] | None, typer.Option(help="Subject expert; repeat for several")
    ] = None,
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Declare an incident: open a new one (--title, --service, --severity), or take
    one an alert opened (its number) and set its severity; then set its impact,
    assign the roles given and note the declaration on the timeline (write scope)."""
    if number is None and not (title and service and severity):
        raise typer.BadParameter(
            "a new incident needs --title, --service and --severity (or give the number"
            " of one an alert opened)"
        )
    api = KlaxonApi.connect(url, token)
    if number is None:
        assert severity is not None  # checked above, for mypy
        opened = api.post(
            "/api/v1/incidents",
            _body(
                title=title,
                service=service,
                severity=severity.value,
                description=description,
                by=by,
            ),
        )
        number = int(opened["number"])
        changes = _body(impact=impact)
    else:
        changes = _body(title=title, severity=severity.value if severity else None, impact=impact)
    if changes:
        api.patch(incident_path(number), {**changes, **_body(by=by)})
    assigned = [(Role.commander, ic), (Role.comms, comms), (Role.scribe, scribe)]
    for role, who in [*assigned, *((Role.sme, name) for name in sme or [])]:
        if who is not None:
            assign_role(api, number, role, who, by)
    incident = api.get(incident_path(number))
    api.post(
        f"{incident_path(number)}/notes",
        _body(text=f"Incident declared ({incident['severity']})", by=by),
    )
    if as_json:
        echo_json(api.get(incident_path(number)))
        return
    typer.echo(f"#{number} declared: {incident['severity']} {incident['title']}")


def update(
    number: NumberArgument,
    phase: Annotated[Phase, typer.Argument(help="investigating, identified, monitoring, resolved")],
    message: Annotated[str, typer.Argument(help="What people need to know now")],
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post a status update: on the timeline, texted to the opted-in stakeholders;
    the phase resolved resolves the incident (write scope). Prints the update as
    it reads in a channel."""
    posted = KlaxonApi.connect(url, token).post(
        f"{incident_path(number)}/updates",
        _body(phase=phase.value, message=message, by=by),
    )
    if as_json:
        echo_json(posted)
        return
    typer.echo(posted["text"])


def note(
    number: NumberArgument,
    text: Annotated[str, typer.Argument(help="The note")],
    at: Annotated[
        str | None,
        typer.Option(
            help="When it happened, if earlier: 14:30 (today, UTC) or ISO 8601; shown as back-dated"
        ),
    ] = None,
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a note to the incident's timeline (write scope)."""
    when = parse_at(at, datetime.now(UTC).date()) if at is not None else None
    added = KlaxonApi.connect(url, token).post(
        f"{incident_path(number)}/notes", _body(text=text, at=when, by=by)
    )
    if as_json:
        echo_json(added)
        return
    typer.echo(f"#{number} noted at {utc_seconds(added['at'])}")


def role(
    number: NumberArgument,
    name: Annotated[Role, typer.Argument(help="ic (commander), comms, scribe or sme")],
    responder: Annotated[str, typer.Argument(help="Who takes it")],
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the role away from them instead")
    ] = False,
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Assign (or hand over) a role; a subject expert is added to the others (write
    scope). --remove clears the role (a subject expert: that one)."""
    api = KlaxonApi.connect(url, token)
    roles = f"{incident_path(number)}/roles/{name.api_name}"
    if not remove:
        result = assign_role(api, number, name, responder, by)
    else:
        if name is not Role.sme:
            held = api.get(incident_path(number)).get("roles", {}).get(name.api_name)
            if held != responder:
                fail(f"{responder} is not the {name.api_name} of #{number} ({held or 'nobody'} is)")
        target = f"{roles}/{path_part(responder)}" if name is Role.sme else roles
        api.delete(target)
        result = api.get(incident_path(number))
    if as_json:
        echo_json(result)
        return
    done = "no longer" if remove else "now"
    typer.echo(f"#{number}: {responder} is {done} {name.api_name}")


def responder(
    number: NumberArgument,
    name: Annotated[str, typer.Argument(help="The responder to bring in")],
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bring a responder in: they are paged now (write scope)."""
    added = KlaxonApi.connect(url, token).post(
        f"{incident_path(number)}/responders", _body(responder=name, by=by)
    )
    if as_json:
        echo_json(added)
        return
    typer.echo(f"#{number}: paging {name} by {' and '.join(added['channels']) or 'nothing'}")


def stakeholders(
    number: NumberArgument,
    add: Annotated[
        str | None, typer.Option(help="NAME=PHONE: add (or change) a stakeholder (config scope)")
    ] = None,
    opt_in: Annotated[
        bool, typer.Option("--opt-in", help="With --add: text them each status update")
    ] = False,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The stakeholders of the incident's service (those opted in are texted each
    status update); --add adds one."""
    api = KlaxonApi.connect(url, token)
    service = api.get(incident_path(number))["service"]
    path = f"/api/v1/services/{path_part(service)}/stakeholders"
    found = api.get(path)
    if add is not None:
        name, sep, phone = add.partition("=")
        if not sep or not name.strip() or not phone.strip():
            raise typer.BadParameter(
                f"{add!r} must look like NAME=+15551230009", param_hint="--add"
            )
        kept = [s for s in found["stakeholders"] if s["name"] != name.strip()]
        if any("*" in s["phone"] for s in kept):
            fail("adding a stakeholder rewrites the list: that needs a config-scope token")
        specs = [{"name": s["name"], "phone": s["phone"], "opt_in": s["opt_in"]} for s in kept]
        specs.append({"name": name.strip(), "phone": phone.strip(), "opt_in": opt_in})
        found = api.put(path, specs)
    if as_json:
        echo_json(found)
        return
    if not found["stakeholders"]:
        typer.echo(f"no stakeholders of {service}")
        return
    rows = [
        [s["name"], s["phone"], "yes" if s["opt_in"] else "no", utc_seconds(s["updated_at"])]
        for s in found["stakeholders"]
    ]
    typer.echo(f"Stakeholders of {service}:")
    typer.echo(table(["NAME", "PHONE", "TEXTED", "SINCE"], rows))
