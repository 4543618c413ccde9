"""The console's admin pages (admins only, app/console/access.py): API tokens,
the rules file's check and reload, and the delivery log.

* Tokens: the list (never a secret: only the first characters that identify
  one), create (the secret is shown on the answer page once, never put in a
  URL, and the page is not cached), revoke.
* Rules: the file on disk checked as a reload would check it (valid, every
  route's policy and every step's action known), beside what is in force;
  reload puts it in force only when that check passes (app/ops.py).
* Delivery log: every notification newest first, 50 a page, with Klaxon's
  state and Twilio's delivery status and error. The texts are not shown: a
  page's text carries its responder's signed link, which would let an admin
  open the console as that responder.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, TypeGuard, get_args

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app import auth, ops
from app.console.access import AdminViewer
from app.console.web import Viewer, first, form_of, redirect, render, runtime_of
from app.errors import KlaxonError
from app.models import notifications_table
from app.models.types import ID_MAX
from app.rules import RulesError
from app.transaction import unit_of_work

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SCOPES: tuple[str, ...] = get_args(auth.Scope)
NOTICES = {
    "revoked": "Token revoked: it no longer works.",
    "not-revoked": "No such active token: nothing was revoked.",
    "reloaded": "Rules reloaded: the file on disk is in force.",
}


def _is_scope(value: str) -> TypeGuard[auth.Scope]:
    return value in SCOPES


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, viewer: AdminViewer) -> Response:
    return render(request, "admin.html", viewer=viewer, section=None)


async def _tokens_page(
    request: Request, viewer: Viewer, status_code: int = 200, **context: Any
) -> HTMLResponse:
    async with runtime_of(request).sessions() as session:
        tokens = await auth.list_tokens(session)
    context.setdefault("error", None)
    context.setdefault("created", None)
    return render(
        request,
        "admin.html",
        viewer=viewer,
        status_code=status_code,
        section="tokens",
        tokens=tokens,
        scopes=SCOPES,
        **context,
    )


@router.get("/admin/tokens", response_class=HTMLResponse)
async def tokens_page(request: Request, viewer: AdminViewer, notice: str = "") -> Response:
    return await _tokens_page(request, viewer, notice=NOTICES.get(notice))


@router.post("/admin/tokens", response_class=HTMLResponse)
async def create_token(request: Request, viewer: AdminViewer) -> Response:
    fields = await form_of(request, viewer)
    name, scope = first(fields, "name"), first(fields, "scope")
    if not name or len(name) > auth.TOKEN_NAME_MAX:
        error = f"Name the token (1 to {auth.TOKEN_NAME_MAX} characters): who or what uses it."
        return await _tokens_page(request, viewer, status_code=422, error=error)
    if not _is_scope(scope):
        error = f"Choose a scope: {', '.join(SCOPES)}."
        return await _tokens_page(request, viewer, status_code=422, error=error)
    runtime = runtime_of(request)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        secret, token_id = await auth.create_token(
            session,
            name=name,
            scope=scope,
            now=runtime.clock.now(),
        )
    log.info("console: %s created token %d (%s, %s)", viewer.name, token_id, scope, name)
    created = {"id": token_id, "name": name, "scope": scope, "secret": secret}
    return await _tokens_page(request, viewer, status_code=201, created=created)


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, viewer: AdminViewer, token_id: Annotated[int, Path(ge=1, le=ID_MAX)]
) -> Response:
    await form_of(request, viewer)
    runtime = runtime_of(request)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        revoked = await auth.revoke_token(session, token_id, now=runtime.clock.now())
    if not revoked:
        return redirect("/admin/tokens?notice=not-revoked")
    runtime.tokens.forget()
    log.info("console: %s revoked token %d", viewer.name, token_id)
    return redirect("/admin/tokens?notice=revoked")


async def _check_rules(request: Request) -> list[str]:
    """What a reload would refuse in the rules file on disk (nothing: it is good)."""
    runtime = runtime_of(request)
    try:
        rules = runtime.rules.read()
    except RulesError as exc:
        return list(exc.errors)
    problems = await ops.unknown_route_policies(runtime, rules)
    return problems + await ops.unknown_step_actions(runtime, rules)


async def _rules_page(
    request: Request, viewer: Viewer, status_code: int = 200, **context: Any
) -> HTMLResponse:
    runtime = runtime_of(request)
    current = runtime.rules.current
    return render(
        request,
        "admin.html",
        viewer=viewer,
        status_code=status_code,
        section="rules",
        rules_path=str(runtime.rules.path),
        problems=await _check_rules(request),
        in_force={"severity_rules": len(current.severity_rules), "routes": len(current.routes)},
        **context,
    )


@router.get("/admin/rules", response_class=HTMLResponse)
async def rules_page(request: Request, viewer: AdminViewer, notice: str = "") -> Response:
    return await _rules_page(request, viewer, notice=NOTICES.get(notice), error=None)


@router.post("/admin/rules/reload", response_class=HTMLResponse)
async def reload_rules(request: Request, viewer: AdminViewer) -> Response:
    await form_of(request, viewer)
    try:
        await ops.reload_checked(runtime_of(request))
    except KlaxonError as exc:
        return await _rules_page(request, viewer, status_code=400, error=exc.message)
    log.info("console: %s reloaded the rules", viewer.name)
    return redirect("/admin/rules?notice=reloaded")


@router.get("/admin/deliveries", response_class=HTMLResponse)
async def deliveries_page(
    request: Request,
    viewer: AdminViewer,
    before: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> Response:
    n = notifications_table.c
    stmt = select(
        n.id,
        n.incident_number,
        n.responder_name,
        n.kind,
        n.channel,
        n.to_number,
        n.state,
        n.delivery,
        n.error_code,
        n.error_message,
        n.attempts,
        n.created_at,
        n.sent_at,
        n.bundled_into,
    ).order_by(n.id.desc())
    if before is not None:
        stmt = stmt.where(n.id < before)
    async with runtime_of(request).sessions() as session:
        rows = [dict(r._mapping) for r in await session.execute(stmt.limit(PAGE_SIZE + 1))]
    older = rows[PAGE_SIZE - 1]["id"] if len(rows) > PAGE_SIZE else None
    return render(
        request,
        "admin.html",
        viewer=viewer,
        section="deliveries",
        rows=rows[:PAGE_SIZE],
        older=older,
        newest=before is None,
    )
