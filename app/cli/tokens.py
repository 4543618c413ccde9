"""``klaxon token create|list|revoke``: on the database directly, so that the first
tokens can be made before anyone holds one. ``--json`` gives what the token API
(``/api/v1/tokens``) would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from app.cli._common import EXIT_USAGE, echo_json, fail
from app.cli._database import database_errors
from app.clock import SystemClock
from app.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# The database modules are imported by the commands that use them, so that the
# commands that only talk to the API start quickly.

token_cli = typer.Typer(
    help="API tokens (stored hashed; the secret is shown once).", no_args_is_help=True
)

T = TypeVar("T")
MAX_NAME = 100  # as the token API allows (app.auth.TOKEN_NAME_MAX)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, as the token API does")]


def _in_transaction(action: Callable[[AsyncSession], Awaitable[T]], doing: str = "") -> T:
    """Run ``action`` in one committed transaction on the configured database."""
    from app.db import make_engine, make_sessionmaker
    from app.transaction import writing

    settings = get_settings()

    async def run() -> T:
        engine = make_engine(settings)
        try:
            async with writing(make_sessionmaker(engine)) as session:
                return await action(session)
        finally:
            await engine.dispose()

    with database_errors(settings, doing):
        return asyncio.run(run())


@token_cli.command("create")
def token_create(
    scope: Annotated[str, typer.Option(help="ingest, read, write, config or admin")],
    name: Annotated[str, typer.Option(help="Who or what uses it")] = "token",
    as_json: JsonOption = False,
) -> None:
    """Create a token and print its secret (shown only this once)."""
    from app.auth import SCOPES, Scope, create_token

    if scope not in SCOPES:
        fail(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
    if not name.strip() or len(name) > MAX_NAME:
        fail(f"--name must be 1 to {MAX_NAME} characters, not {len(name)}", EXIT_USAGE)
    scope_value: Scope = scope
    now = SystemClock().now()
    secret, token_id = _in_transaction(
        lambda session: create_token(session, name=name, scope=scope_value, now=now),
        "; no token was created",
    )
    if as_json:
        echo_json({"id": token_id, "name": name, "scope": scope, "token": secret})
        return
    typer.echo(f"created token {token_id} ({scope}, {name}):")
    typer.echo(secret)


@token_cli.command("list")
def token_list(as_json: JsonOption = False) -> None:
    """List tokens (never their secrets)."""
    from app.auth import list_tokens

    tokens = _in_transaction(list_tokens)
    if as_json:
        from app.tokens import TokenPublic

        echo_json(
            [
                TokenPublic.model_validate(t, from_attributes=True).model_dump(mode="json")
                for t in tokens
            ]
        )
        return
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        typer.echo(f"{t.id}\t{t.scope}\t{t.name}\t{t.prefix}…\t{state}")


@token_cli.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id from `token list`")],
) -> None:
    """Revoke a token."""
    from app.auth import revoke_token

    now = SystemClock().now()
    if not _in_transaction(lambda session: revoke_token(session, token_id, now=now)):
        fail(f"no active token {token_id}")
    typer.echo(f"revoked token {token_id}")
