"""``klaxon incident timeline|postmortem|actions``: what happened, the post-mortem
and its follow-ups, through a running Klaxon's API."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from app.cli._common import echo_json, fail
from app.cli._format import table
from app.cli.api import JsonOption, KlaxonApi, TokenOption, UrlOption, path_part
from app.cli.incidents import NumberArgument
from app.cli.response import ByOption, incident_path

MARKDOWN = "text/markdown"


def timeline(
    number: NumberArgument,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """What happened to the incident, one line per step, in order, to the second
    (UTC): sends folded into their step, back-dated notes at their time and
    marked. --json: every event as recorded."""
    api = KlaxonApi.connect(url, token)
    if as_json:
        echo_json(api.get(f"{incident_path(number)}/timeline"))
        return
    text = api.get_text(f"{incident_path(number)}/timeline.txt", accept="text/plain")
    typer.echo(text, nl=not text.endswith("\n"))


def postmortem(
    number: NumberArgument,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the Markdown to this file, not stdout"),
    ] = None,
    summary: Annotated[str | None, typer.Option(help="Set the Summary")] = None,
    root_cause: Annotated[str | None, typer.Option(help="Set the Root Cause")] = None,
    lessons: Annotated[str | None, typer.Option(help="Set the Lessons Learned")] = None,
    impact_notes: Annotated[str | None, typer.Option(help="Add to the Impact")] = None,
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The post-mortem in the playbook's template (Markdown), to stdout or -o FILE.
    --summary, --root-cause, --lessons and --impact-notes save those sections first
    (write scope)."""
    api = KlaxonApi.connect(url, token)
    path = f"{incident_path(number)}/postmortem"
    sections = {
        "summary": summary,
        "root_cause": root_cause,
        "lessons_learned": lessons,
        "impact_notes": impact_notes,
    }
    changes = {name: text for name, text in sections.items() if text is not None}
    if changes:
        api.put(path, {**changes, **({"by": by} if by else {})})
    if as_json:
        echo_json(api.get(path, {"format": "json"}))
        return
    markdown = api.get_text(f"{path}.md", accept=MARKDOWN)
    if output is None:
        typer.echo(markdown, nl=not markdown.endswith("\n"))
        return
    try:
        output.write_text(markdown, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"#{number}'s post-mortem written to {output}")


def actions(
    number: NumberArgument,
    add: Annotated[str | None, typer.Option(help="Add this task (with --owner and --due)")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns the task added")] = None,
    due: Annotated[str | None, typer.Option(help="When the task added is due, YYYY-MM-DD")] = None,
    done: Annotated[int | None, typer.Option(min=1, help="Mark this action item done")] = None,
    by: ByOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The incident's action items; --add TASK --owner O --due DATE adds one,
    --done ID marks one done (write scope)."""
    if add is not None:
        if not owner or not due:
            raise typer.BadParameter("--add needs --owner and --due", param_hint="--add")
        try:
            date.fromisoformat(due)
        except ValueError:
            raise typer.BadParameter(
                f"{due!r} is not a date like 2026-12-01", param_hint="--due"
            ) from None
    elif owner is not None or due is not None:
        raise typer.BadParameter("--owner and --due go with --add", param_hint="--add")
    api = KlaxonApi.connect(url, token)
    path = f"{incident_path(number)}/action-items"
    if add is not None:
        body = {"task": add, "owner": owner, "due": due, **({"by": by} if by else {})}
        api.post(path, body)
    if done is not None:
        items = api.get(path)
        if not any(item["id"] == done for item in items):
            fail(f"#{number} has no action item {done}")
        api.patch(f"/api/v1/action-items/{path_part(done)}", {"status": "done"})
    items = api.get(path)
    if as_json:
        echo_json(items)
        return
    if not items:
        typer.echo(f"#{number} has no action items")
        return
    rows = [
        [
            str(i["id"]),
            i["task"],
            i["owner"],
            i["due"],
            "overdue" if i["overdue"] else i["status"],
        ]
        for i in items
    ]
    typer.echo(table(["ID", "TASK", "OWNER", "DUE", "STATUS"], rows))
