"""The ``klaxon`` command."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.auth import SCOPES, Scope, create_token, list_tokens, revoke_token
from app.clock import SystemClock
from app.db import is_unavailable, make_engine, make_sessionmaker
from app.errors import KlaxonError
from app.oncall import schemas as oncall_schemas
from app.oncall import store as oncall_store
from app.rules import RulesError, load_rules
from app.settings import Settings, get_settings

cli = typer.Typer(help="Klaxon: alert ingestion and on-call escalation.", no_args_is_help=True)
token_cli = typer.Typer(
    help="API tokens (stored hashed; the secret is shown once).", no_args_is_help=True
)
cli.add_typer(token_cli, name="token")

DEV_TOKEN_FILE = Path(".klaxon") / "admin-token"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@cli.command("check-config")
def check_config(path: Annotated[Path, typer.Argument(help="Rules file to validate")]) -> None:
    """Validate a rules file; print each error with its line."""
    try:
        rules = load_rules(path)
    except RulesError as exc:
        for error in exc.errors:
            typer.echo(error, err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{path}: OK ({len(rules.severity_rules)} severity rules, {len(rules.routes)} routes)"
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from app.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo("database schema is up to date")


def _dev_admin_token() -> str:
    """A generated admin token for local use, kept across restarts."""
    if DEV_TOKEN_FILE.exists():
        return DEV_TOKEN_FILE.read_text().strip()
    token = "kx_admin_" + secrets.token_urlsafe(24)
    DEV_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEV_TOKEN_FILE.write_text(token + "\n")
    DEV_TOKEN_FILE.chmod(0o600)
    return token


@cli.command()
def serve(
    dev: Annotated[bool, typer.Option(help="Generate an admin token if none is set")] = False,
) -> None:
    """Serve the API and webhooks."""
    import uvicorn

    from app.main import create_app

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.admin_token is None and dev:
        settings = settings.model_copy(update={"admin_token": _dev_admin_token()})
    try:
        load_rules(settings.config)
    except RulesError as exc:
        _fail("refusing to start, the rules file is invalid:\n" + str(exc))
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"Klaxon listening on {url}")
    typer.echo(f"  rules:    {settings.config}")
    typer.echo(f"  database: {settings.database_url.split('@')[-1]}")
    if settings.admin_token:
        typer.echo(f"  admin token: {settings.admin_token}")
    typer.echo(f"  Alertmanager webhook: {url}/api/v1/webhooks/alertmanager")
    sys.stdout.flush()
    if settings.workers > 1:
        # Worker processes import the app themselves and read the same
        # environment; pass on what was generated here.
        if settings.admin_token:
            os.environ["KLAXON_ADMIN_TOKEN"] = settings.admin_token
        uvicorn.run(
            "app.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=False,
        )
        return
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


async def _with_session(settings: Settings, action: str, **kwargs: object) -> object:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            now = SystemClock().now()
            if action == "create":
                return await create_token(session, now=now, **kwargs)  # type: ignore[arg-type]
            if action == "revoke":
                return await revoke_token(session, now=now, **kwargs)  # type: ignore[arg-type]
            return await list_tokens(session)
    finally:
        await engine.dispose()


@token_cli.command("create")
def token_create(
    scope: Annotated[str, typer.Option(help="ingest, read, write or admin")],
    name: Annotated[str, typer.Option(help="Who or what uses it")] = "token",
) -> None:
    """Create a token and print its secret (shown only this once)."""
    if scope not in SCOPES:
        _fail(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
    scope_value: Scope = scope  # type: ignore[assignment]
    created = asyncio.run(_with_session(get_settings(), "create", name=name, scope=scope_value))
    assert isinstance(created, tuple)
    secret, token_id = created
    typer.echo(f"created token {token_id} ({scope}, {name}):")
    typer.echo(secret)


@token_cli.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    tokens = asyncio.run(_with_session(get_settings(), "list"))
    assert isinstance(tokens, list)
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        typer.echo(f"{t.id}\t{t.scope}\t{t.name}\t{t.prefix}…\t{state}")


@token_cli.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id from `token list`")],
) -> None:
    """Revoke a token."""
    if not asyncio.run(_with_session(get_settings(), "revoke", token_id=token_id)):
        _fail(f"no active token {token_id}")
    typer.echo(f"revoked token {token_id}")


async def _apply_oncall(
    settings: Settings, config: oncall_schemas.OnCallConfig, *, dry_run: bool
) -> tuple[dict[str, int], list[str]]:
    """Apply in one transaction (rolled back for a dry run); the counts and the
    7-day warnings of the schedules in the document."""
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            now = SystemClock().now()
            await session.begin()
            try:
                counts = await oncall_store.apply_config(session, config, now=now)
                warnings = []
                for spec in config.schedules:
                    schedule = await oncall_store.load_schedule(
                        session, spec.name, ending_after=now
                    )
                    assert schedule is not None
                    warnings += [
                        f"schedule {spec.name}: {warning}"
                        for warning in oncall_store.stretch_warnings(schedule, now)
                    ]
            except BaseException:
                await session.rollback()
                raise
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
            return counts, warnings
    finally:
        await engine.dispose()


@cli.command("apply")
def apply(
    file: Annotated[
        Path,
        typer.Option(
            "--file", "-f", help="On-call YAML: responders, schedules, escalation policies"
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check against the database, write nothing")
    ] = False,
) -> None:
    """Create or update the responders, schedules and escalation policies of an
    on-call file, all or nothing. Applying the same file again changes nothing."""
    try:
        config = oncall_schemas.load_config(file)
    except oncall_schemas.ConfigError as exc:
        for error in exc.errors:
            typer.echo(error, err=True)
        raise typer.Exit(1) from None
    try:
        counts, warnings = asyncio.run(_apply_oncall(get_settings(), config, dry_run=dry_run))
    except KlaxonError as exc:
        _fail(f"{file}: {exc.message}; nothing was written")
        return
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        _fail(f"{file}: the database is unavailable ({type(exc).__name__}); nothing was written")
        return
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    summary = (
        f"{len(config.responders)} responders, {len(config.schedules)} schedules,"
        f" {len(config.policies)} policies: {counts['created']} created,"
        f" {counts['updated']} updated, {counts['unchanged']} unchanged"
    )
    if dry_run:
        summary += " (dry run, nothing written)"
    typer.echo(f"{file}: {summary}")


@cli.command("reply")
def reply(
    body: Annotated[str, typer.Argument(help="The SMS text, e.g. 42A")],
    from_: Annotated[str, typer.Option("--from", help="The responder's phone, E.164")],
    url: Annotated[
        str | None, typer.Option(help="Where Klaxon listens (default http://HOST:PORT)")
    ] = None,
) -> None:
    """Send Klaxon an SMS reply signed exactly as Twilio would sign it (local testing)."""
    import xml.etree.ElementTree as ET
    from urllib.parse import urlencode

    import httpx
    from twilio.request_validator import RequestValidator

    from app.replies.signature import signing_tokens

    settings = get_settings()
    if not settings.twilio_configured and settings.admin_token is None and DEV_TOKEN_FILE.exists():
        settings = settings.model_copy(update={"admin_token": _dev_admin_token()})
    tokens = signing_tokens(settings)
    if not tokens:
        _fail("no token to sign with: set KLAXON_TWILIO_AUTH_TOKEN or KLAXON_ADMIN_TOKEN")
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": from_,
        "To": settings.twilio_from,
        "Body": body,
        "NumMedia": "0",
    }
    path = "/api/v1/twilio/sms"
    signature = RequestValidator(tokens[0]).compute_signature(
        settings.public_url.rstrip("/") + path, params
    )
    target = (url or f"http://{settings.host}:{settings.port}").rstrip("/") + path
    try:
        response = httpx.post(
            target,
            content=urlencode(params),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            timeout=10,
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach Klaxon at {target}: {exc}")
        return
    if response.status_code != 200:
        _fail(f"Klaxon answered {response.status_code}: {response.text}")
    message = ET.fromstring(response.text).find("Message")
    typer.echo(message.text if message is not None and message.text else "(no reply)")


def main() -> None:
    cli()
