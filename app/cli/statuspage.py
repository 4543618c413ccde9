"""``klaxon incidents publish N`` and ``klaxon incidents public-update N STATUS``:
the status page, through a running Klaxon's API (a write token)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from app.cli._common import EXIT_USAGE, echo_json, fail
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part

NumberArgument = Annotated[int, typer.Argument(min=1, help="The incident number")]
TextOption = Annotated[str, typer.Option("--text", help="What the public reads")]
ComponentOption = Annotated[
    list[str] | None,
    typer.Option(
        "--component",
        help="SERVICE=STATUS (operational, degraded_performance, partial_outage,"
        " major_outage, under_maintenance); repeat for several",
    ),
]


class ImpactChoice(StrEnum):
    none = "none"
    minor = "minor"
    major = "major"
    critical = "critical"


class UpdateStatus(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"


ImpactOption = Annotated[
    ImpactChoice | None, typer.Option(help="Default: the SEV's (SEV1 critical ... SEV4 none)")
]


def _components(pairs: list[str] | None) -> dict[str, str]:
    components: dict[str, str] = {}
    for pair in pairs or []:
        service, sign, status = pair.partition("=")
        if not sign or not service or not status:
            fail(f"--component {pair!r}: write SERVICE=STATUS", EXIT_USAGE)
        components[service] = status
    return components


def _say(public: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(public)
        return
    held = ", ".join(f"{s} {status}" for s, status in public["components"].items()) or "none"
    typer.echo(
        f"#{public['number']} on the status page: {public['name']!r}, {public['status']},"
        f" impact {public['impact']}; components: {held}"
    )


def publish(
    number: NumberArgument,
    name: Annotated[str, typer.Option("--name", help="The incident's public name")],
    text: TextOption,
    component: ComponentOption = None,
    impact: ImpactOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put an incident on the public status page (write scope)."""
    body: dict[str, Any] = {"name": name, "body": text, "components": _components(component)}
    if impact is not None:
        body["impact"] = impact.value
    api = KlaxonApi.connect(url, token)
    _say(api.post(f"/api/v1/incidents/{path_part(number)}/public", body), as_json)


def public_update(
    number: NumberArgument,
    status: Annotated[UpdateStatus, typer.Argument(help="The public status word")],
    text: TextOption,
    component: ComponentOption = None,
    impact: ImpactOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post a public update; resolved returns the components to operational."""
    body: dict[str, Any] = {
        "status": status.value,
        "body": text,
        "components": _components(component),
    }
    if impact is not None:
        body["impact"] = impact.value
    api = KlaxonApi.connect(url, token)
    _say(api.post(f"/api/v1/incidents/{path_part(number)}/public/updates", body), as_json)
