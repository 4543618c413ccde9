"""``klaxon admin grant|revoke|list``: which responders may use the console's admin
pages (tokens, the rules file, the delivery log). On the database directly, like
``klaxon token``, so that the first admin can be made before anyone is one; the
apply file's ``admin: true`` does the same."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from app.cli._common import fail
from app.cli.tokens import _in_transaction

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

admin_cli = typer.Typer(
    help="Console admins: responders who may use the admin pages.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The responder's name")]


def _set_admin(name: str, admin: bool) -> None:
    from sqlalchemy import update

    from app.clock import SystemClock
    from app.models import responders_table

    r = responders_table.c

    async def change(session: AsyncSession) -> int:
        result = await session.execute(
            update(responders_table)
            .where(r.name == name)
            .values(admin=admin, updated_at=SystemClock().now())
        )
        return int(getattr(result, "rowcount", 0) or 0)

    if _in_transaction(change, "; nothing was changed") == 0:
        fail(f"no responder {name!r}")
    typer.echo(f"{name} {'is now an admin' if admin else 'is no longer an admin'}")


@admin_cli.command("grant")
def admin_grant(name: NameArgument) -> None:
    """Make a responder an admin of the console."""
    _set_admin(name, True)


@admin_cli.command("revoke")
def admin_revoke(name: NameArgument) -> None:
    """Take a responder's admin pages away (their open sessions lose them at once)."""
    _set_admin(name, False)


@admin_cli.command("list")
def admin_list() -> None:
    """The console's admins, by name."""
    from sqlalchemy import select

    from app.models import responders_table

    r = responders_table.c

    async def names(session: AsyncSession) -> list[str]:
        rows = await session.execute(select(r.name).where(r.admin.is_(True)).order_by(r.name))
        return [str(name) for name in rows.scalars()]

    found = _in_transaction(names)
    typer.echo("\n".join(found) if found else "no admins: `klaxon admin grant NAME` makes one")
