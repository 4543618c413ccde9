"""The incident pages: the open-incident list (the landing page) and one incident.

Acknowledge and resolve (one, or the checked ones of the list) are plain
forms that POST and redirect back, so they work without JavaScript; they go
through the same lifecycle functions as the API (app/incidents/lifecycle.py),
which stop the paging in the same
transaction, recorded with the signed-in responder as the actor, ``via console``.
The incident page's other actions are in app/console/incident_actions.py, what
it shows in app/console/incident_page.py.

The list filters by status, severity, service, labels (``name=value``, every
one must match, as the API's ``label`` filter) and "mine" (paged for it, or
acknowledged it).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import case, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import incident_page
from app.console.access import SignedIn
from app.console.incident_actions import ACTION_NOTICES
from app.console.web import Viewer, first, form_of, redirect, render, runtime_of
from app.db import dialect_name
from app.deps import IncidentNumber
from app.errors import Conflict, KlaxonError, NotFound
from app.incidents import lifecycle, queries
from app.models import incidents_table, notifications_table
from app.models.types import ID_MAX
from app.transaction import unit_of_work

router = APIRouter(include_in_schema=False)

SEVERITIES = incident_page.SEVERITIES
STATUSES = ("open", "triggered", "acknowledged", "resolved", "all")
LIST_LIMIT = 200
LIST_COLUMNS = ("number", "severity", "status", "title", "service", "created_at")
LABELS_MAX = 10
#: What a redirect back may say happened (a fixed set: no text from the URL is shown).
NOTICES = {
    "acknowledged": "Acknowledged: paging stopped.",
    "resolved": "Resolved.",
    "already-resolved": "Already resolved: nothing to acknowledge.",
    "none-selected": "Select incidents first.",
    "bad-label": "A label filter must look like name=value.",
}


async def _list(
    session: AsyncSession,
    viewer: Viewer,
    *,
    status: str,
    severity: str | None,
    service: str | None,
    labels: tuple[tuple[str, str], ...],
    mine: bool,
) -> list[dict[str, Any]]:
    i = incidents_table.c
    # Only what a row of the list shows: not every column of 200 rows (labels
    # decoded from JSON, descriptions) for each request.
    stmt = select(*(i[name] for name in LIST_COLUMNS))
    if status == "open":
        # IN, not != 'resolved': the status index finds the few open among the many resolved.
        stmt = stmt.where(i.status.in_(queries.OPEN_STATUSES))
    elif status != "all":
        stmt = stmt.where(i.status == status)
    if severity is not None:
        stmt = stmt.where(i.severity == severity)
    if service:
        stmt = stmt.where(i.service == service)
    postgresql = dialect_name(session) == "postgresql"
    stmt = queries.with_labels(stmt, i.labels, labels, postgresql=postgresql)
    if postgresql:
        # Planned for its values, as the API's lists are: a generic plan cannot
        # know that 'open' is a few rows of many or a label a rare one.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
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
    label: str = "",
    mine: str = "",
    notice: str = "",
) -> Response:
    status = status if status in STATUSES else "open"
    runtime = runtime_of(request)
    label = label.strip()[:500]
    rows: list[dict[str, Any]] = []
    try:
        labels = queries.parse_label_filters(label.split()[:LABELS_MAX])
    except KlaxonError:
        notice = "bad-label"  # nothing listed: the filter is wrong, not empty
    else:
        async with runtime.sessions() as session:
            rows = await _list(
                session,
                viewer,
                status=status,
                severity=severity if severity in SEVERITIES else None,
                service=service[:200] or None,
                labels=labels,
                mine=bool(mine),
            )
    return render(
        request,
        "incidents.html",
        viewer=viewer,
        incidents=rows[:LIST_LIMIT],
        more=len(rows) > LIST_LIMIT,
        now=runtime.clock.now(),
        filters={
            "status": status,
            "severity": severity,
            "service": service[:200],
            "label": label,
            "mine": mine,
        },
        statuses=STATUSES,
        severities=SEVERITIES,
        notice=NOTICES.get(notice),
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.get("/incidents/{number}", response_class=HTMLResponse)
async def incident(
    request: Request, number: IncidentNumber, viewer: SignedIn, notice: str = ""
) -> Response:
    shown = NOTICES.get(notice) or ACTION_NOTICES.get(notice)
    return await incident_page.show(request, viewer, number, notice=shown)


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
    async with unit_of_work(runtime) as uow:
        session = uow.session
        for number in numbers:
            try:
                await change(session, number, by=viewer.name, via="console", now=now)
            except Conflict:
                notice = "already-resolved"  # only acknowledging can conflict
            except NotFound:
                continue
        uow.wake()
    return redirect(_with_notice(back, notice))


@router.post("/incidents/{number}/acknowledge")
async def acknowledge(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    return await _act(request, viewer, "acknowledge", [number], first(fields, "back"))


@router.post("/incidents/{number}/resolve")
async def resolve(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    return await _act(request, viewer, "resolve", [number], first(fields, "back"))


async def _selected(
    request: Request, viewer: Viewer, action: Literal["acknowledge", "resolve"]
) -> Response:
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
    return await _act(request, viewer, action, numbers, back)


@router.post("/incidents/acknowledge")
async def acknowledge_selected(request: Request, viewer: SignedIn) -> Response:
    """Bulk acknowledge: the checked incidents of the list, in one transaction."""
    return await _selected(request, viewer, "acknowledge")


@router.post("/incidents/resolve")
async def resolve_selected(request: Request, viewer: SignedIn) -> Response:
    """Bulk resolve: the checked incidents of the list, in one transaction."""
    return await _selected(request, viewer, "resolve")
