"""``klaxon incidents changes N`` and ``klaxon changes``: what changed recently,
through a running Klaxon's API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from app.cli._common import echo_json
from app.cli._format import table, utc
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part

HEADER = ["AT", "SERVICE", "CHANGE", "VERSION", "BY"]


def _rows(items: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            utc(c["at"]),
            c["service"],
            " ".join(c["summary"].split()),
            c["version"] or "",
            c["who"] or "",
        ]
        for c in items
    ]


def incident_changes(
    number: Annotated[int, typer.Argument(min=1, help="The incident number")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed on the incident's services from the hour before it began
    (deploys, config changes), oldest first."""
    found = KlaxonApi.connect(url, token).get(f"/api/v1/incidents/{path_part(number)}/changes")
    if as_json:
        echo_json(found)
        return
    services = ", ".join(found["services"])
    if not found["items"]:
        typer.echo(f"no changes on {services} since {utc(found['since'])}")
        return
    typer.echo(f"Changes on {services} since {utc(found['since'])}:")
    typer.echo(table(HEADER, _rows(found["items"])))


def list_changes(
    service: Annotated[
        list[str] | None, typer.Option(help="Only this service; repeat for several")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="ISO 8601 time with its zone (default: 24 hours ago)")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recent changes (deploys, config changes), oldest first."""
    params: dict[str, Any] = {"service": service or []}
    if since is not None:
        params["since"] = since
    found = KlaxonApi.connect(url, token).get("/api/v1/changes", params)
    if as_json:
        echo_json(found)
        return
    if not found["items"]:
        typer.echo("no changes")
        return
    typer.echo(table(HEADER, _rows(found["items"])))
