"""The ``klaxon`` command.

Local commands work on files and the database directly (``serve``, ``migrate``,
``check-config``, ``apply``, ``token``); ``incident`` (alias ``incidents``) and
``oncall`` talk to a running Klaxon through its API; ``reply`` plays a phone. Exit codes are in
:mod:`app.cli._common`.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from app.cli import changes, local, response, review, statuspage
from app.cli._common import CliError
from app.cli.admins import admin_cli
from app.cli.incidents import incidents_cli
from app.cli.maintenance import maintenance_cli
from app.cli.oncall import oncall
from app.cli.reply import reply
from app.cli.report import report
from app.cli.tokens import token_cli

__all__ = ["cli", "main"]


class KlaxonGroup(TyperGroup):
    """Reports a :class:`CliError` from any command in one line on stderr, with its
    exit code, never as a traceback."""

    def invoke(self, ctx: Any) -> Any:  # Typer's (vendored) click.Context
        try:
            return super().invoke(ctx)
        except CliError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(exc.exit_code) from None


cli = typer.Typer(
    cls=KlaxonGroup,
    help="Klaxon: alert ingestion and on-call escalation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.command()(local.serve)
cli.command()(local.engine)
cli.command()(local.migrate)
cli.command("check-config")(local.check_config)
cli.command("apply")(local.apply)
cli.add_typer(token_cli, name="token")
incidents_cli.command("changes")(changes.incident_changes)
# The commander's commands (app/cli/response.py, app/cli/review.py).
incidents_cli.command("declare")(response.declare)
incidents_cli.command("update")(response.update)
incidents_cli.command("note")(response.note)
incidents_cli.command("role")(response.role)
incidents_cli.command("responder")(response.responder)
incidents_cli.command("stakeholders")(response.stakeholders)
incidents_cli.command("timeline")(review.timeline)
incidents_cli.command("postmortem")(review.postmortem)
incidents_cli.command("actions")(review.actions)
# `klaxon incident 42 ...` reads as one incident; `klaxon incidents list` as many: both work.
cli.add_typer(incidents_cli, name="incident")
cli.add_typer(incidents_cli, name="incidents")
cli.command("changes")(changes.list_changes)
cli.command("oncall")(oncall)
cli.command("reply")(reply)
cli.command("report")(report)
incidents_cli.command("publish")(statuspage.publish)
incidents_cli.command("public-update")(statuspage.public_update)
cli.add_typer(maintenance_cli, name="maintenance")
cli.add_typer(admin_cli, name="admin")  # console admins (app/cli/admins.py)


def main() -> None:
    cli()
