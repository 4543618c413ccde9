"""The incident pages: the open-incident list (the landing page) and one incident.

Acknowledge and resolve are plain forms that POST and redirect back, so they
work without JavaScript; they go through the same lifecycle functions as the
API (app/incidents/lifecycle.py), which stop the paging in the same
transaction, recorded with the signed-in responder as the actor, ``via console``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.web import Viewer, first, form_of, redirect, render, runtime_of, signed_in
from app.deps import IncidentNumber
from app.errors import Conflict, NotFound
from app.incidents import lifecycle, queries
from app.models import incidents_table, notifications_table
from app.models.types import ID_MAX

router = APIRouter(include_in_schema=False)
SignedIn = Annotated[Viewer, Depends(signed_in)]

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
STATUSES = ("open", "triggered", "acknowledged", "resolved", "all")
LIST_LIMIT = 200
ALERTS_SHOWN = 200
#: What a redirect back may say happened (a fixed set: no text from the URL is shown).
NOTICES = {
    "acknowledged": "Acknowledged: paging stopped.",
    "resolved": "Resolved.",
    "already-resolved": "Already resolved: nothing to acknowledge.",
    "none-selected": "Select incidents to acknowledge first.",
}


async def _list(
    session: AsyncSession,
    viewer: Viewer,
    *,
    status: str,
    severity: str | None,
    service: str | None,
    mine: bool,
) -> list[dict[str, Any]]:
    i = incidents_table.c
    stmt = select(incidents_table)
    if status == "open":
        stmt = stmt.where(i.status != "resolved")
    elif status != "all":
        stmt = stmt.where(i.status == status)
    if severity is not None:
        stmt = stmt.where(i.severity == severity)
    if service:
        stmt = stmt.where(i.service == service)
    if mine:
        n = notifications_table.c
        paged = select(n.incident_number).where(
            n.responder_id == viewer.responder_id, n.kind == "page"
        )
        stmt = stmt.where(or_(i.number.in_(paged), i.acknowledged_by == viewer.name))
    if status in ("open", "triggered", "acknowledged"):
        # Most severe first, then oldest first: what has waited longest on top.
        rank = case({s: n for n, s in enumerate(SEVERITIES)}, value=i.severity, else_=9)
        stmt = stmt.order_by(rank, i.created_at, i.number)
    else:
        stmt = stmt.order_by(i.number.desc())
    rows = await session.execute(stmt.limit(LIST_LIMIT + 1))
    return [dict(r._mapping) for r in rows]


@router.get("/", response_class=HTMLResponse)
async def incident_list(
    request: Request,
    viewer: SignedIn,
    status: str = "open",
    severity: str = "",
    service: str = "",
    mine: str = "",
    notice: str = "",
) -> Response:
    status = status if status in STATUSES else "open"
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        rows = await _list(
            session,
            viewer,
            status=status,
            severity=severity if severity in SEVERITIES else None,
            service=service[:200] or None,
            mine=bool(mine),
        )
    return render(
        request,
        "incidents.html",
        viewer=viewer,
        incidents=rows[:LIST_LIMIT],
        more=len(rows) > LIST_LIMIT,
        now=runtime.clock.now(),
        filters={"status": status, "severity": severity, "service": service[:200], "mine": mine},
        statuses=STATUSES,
        severities=SEVERITIES,
        notice=NOTICES.get(notice),
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.get("/incidents/{number}", response_class=HTMLResponse)
async def incident_page(
    request: Request, number: IncidentNumber, viewer: SignedIn, notice: str = ""
) -> Response:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        try:
            incident = await queries.get_incident(session, number)
        except NotFound:
            return render(
                request,
                "error.html",
                viewer=viewer,
                status_code=404,
                title="Not found",
                message=f"There is no incident #{number}.",
            )
        alerts = await queries.incident_alerts(session, number)
        timeline = await queries.incident_timeline(session, number)
    return render(
        request,
        "incident.html",
        viewer=viewer,
        incident=incident,
        alerts=alerts[:ALERTS_SHOWN],
        more_alerts=max(len(alerts) - ALERTS_SHOWN, 0),
        timeline=timeline,
        now=runtime.clock.now(),
        notice=NOTICES.get(notice),
        back=request.url.path,
    )


def _with_notice(back: str, notice: str) -> str:
    """``back`` (a path of ours, else ``/``) saying what happened."""
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    parts = urlsplit(back)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "notice"] + [("notice", notice)]
    return f"{parts.path}?{urlencode(query)}"


async def _act(
    request: Request,
    viewer: Viewer,
    action: Literal["acknowledge", "resolve"],
    numbers: list[int],
    back: str,
) -> RedirectResponse:
    runtime = runtime_of(request)
    change = lifecycle.acknowledge if action == "acknowledge" else lifecycle.resolve
    notice = "acknowledged" if action == "acknowledge" else "resolved"
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        for number in numbers:
            try:
                await change(session, number, by=viewer.name, via="console", now=now)
            except Conflict:
                notice = "already-resolved"  # only acknowledging can conflict
            except NotFound:
                continue
    runtime.wake_engine()
    return redirect(_with_notice(back, notice))


@router.post("/incidents/{number}/acknowledge")
async def acknowledge(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    return await _act(request, viewer, "acknowledge", [number], first(fields, "back"))


@router.post("/incidents/{number}/resolve")
async def resolve(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    return await _act(request, viewer, "resolve", [number], first(fields, "back"))


@router.post("/incidents/acknowledge")
async def acknowledge_selected(request: Request, viewer: SignedIn) -> Response:
    """Bulk acknowledge: the checked incidents of the list, in one transaction."""
    fields = await form_of(request, viewer)
    numbers = sorted(
        {
            int(value)
            for value in fields.get("number", [])
            if value.isascii() and value.isdigit() and 0 < int(value) <= ID_MAX
        }
    )
    back = first(fields, "back")
    numbers = numbers[:LIST_LIMIT]  # a list shows no more
    if not numbers:
        return redirect(_with_notice(back, "none-selected"))
    return await _act(request, viewer, "acknowledge", numbers, back)
