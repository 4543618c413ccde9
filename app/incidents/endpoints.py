"""The incident and alert JSON API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import (
    IncidentNumber,
    ReadPrincipal,
    RuntimeDep,
    SessionDep,
    Transaction,
    WritePrincipal,
)
from app.incidents import lifecycle, queries
from app.incidents.schemas import (
    ActionRequest,
    AlertPublic,
    IncidentDetail,
    IncidentPublic,
    IncidentStatusFilter,
    Page,
)
from app.response import update_clock
from app.response.roles import current_roles
from app.response.runbook import incident_runbook
from app.rules import Severity
from app.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["incidents"])

LabelQuery = Annotated[
    list[str], Query(description="name=value; repeat for several (all must match)")
]
LimitQuery = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
# Opaque to clients; the document names its format so that generated examples
# (tests/hostile/test_fuzz_api.py) draw numbers at the edges of the id column.
CursorQuery = Annotated[
    Annotated[str, WithJsonSchema({"type": "string", "format": "klaxon-cursor"})] | None,
    Query(description="next_cursor of the previous page"),
]


@router.get("/incidents", response_model=Page[IncidentPublic])
async def list_incidents(
    session: SessionDep,
    _: ReadPrincipal,
    status: Annotated[
        IncidentStatusFilter | None, Query(description="open: triggered or acknowledged")
    ] = None,
    severity: Severity | None = None,
    service: str | None = None,
    label: LabelQuery = [],  # noqa: B006 - FastAPI copies the default
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[IncidentPublic]:
    """Incidents, newest first."""
    filters = queries.Filters.from_query(status, severity, service, label, cursor, limit)
    rows, next_cursor = await queries.list_incidents(session, filters)
    return Page[IncidentPublic](
        items=[IncidentPublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )


async def incident_detail(
    session: AsyncSession, runtime: Runtime, number: int, *, alerts: bool = True
) -> IncidentDetail:
    """The incident with its alerts (or none, ``alerts=False``), timeline,
    runbook, roles and update clock, validated in one go."""
    incident = await queries.get_incident(session, number)
    return IncidentDetail.model_validate(
        {
            **incident.model_dump(),
            "alerts": await queries.incident_alerts(session, number) if alerts else [],
            "timeline": await queries.incident_timeline(session, number),
            "runbook": await incident_runbook(session, runtime.rules.current, incident),
            "roles": (await current_roles(session, number)).public(),
            "next_update_at": await update_clock.next_update_at(
                session,
                runtime.rules.current,
                number=number,
                status=incident.status,
                severity=incident.severity,
            ),
        }
    )


@router.get("/incidents/{number}", response_model=IncidentDetail)
async def get_incident(
    number: IncidentNumber, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> Response:
    """One incident with its alerts, timeline and runbook."""
    # Written as JSON here: the route's response_model documents it, but
    # FastAPI's second validation, its dump to Python objects and the standard
    # library's json.dumps of them were a third of the time an incident of
    # 5,000 alerts took to open (issue 13.4). The alerts, most of the answer
    # of such an incident, are written without a model each, and last.
    detail = await incident_detail(session, runtime, number, alerts=False)
    alerts = await queries.incident_alerts_json(session, number)
    head = detail.model_dump_json(exclude={"alerts"}).encode()
    return Response(head[:-1] + b',"alerts":' + alerts + b"}", media_type="application/json")


async def _act(
    action: Literal["acknowledge", "resolve"],
    number: IncidentNumber,
    body: ActionRequest | None,
    tx: Transaction,
    runtime: RuntimeDep,
    who: str,
) -> IncidentPublic:
    by = (body.by if body and body.by else None) or who
    note = body.note if body else None
    change = lifecycle.acknowledge if action == "acknowledge" else lifecycle.resolve
    await change(tx.session, number, by=by, via="api", now=runtime.clock.now(), note=note)
    tx.wake()
    return IncidentPublic.model_validate(
        await queries.get_incident(tx.session, number), from_attributes=True
    )


@router.post(
    "/incidents/{number}/acknowledge",
    response_model=IncidentPublic,
    responses={404: {"description": "No such incident"}, 409: {"description": "Resolved"}},
)
async def acknowledge_incident(
    number: IncidentNumber,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
    body: ActionRequest | None = None,
) -> IncidentPublic:
    """Acknowledge: stops the paging. Acknowledging twice changes nothing."""
    return await _act("acknowledge", number, body, tx, runtime, principal.name)


@router.post(
    "/incidents/{number}/resolve",
    response_model=IncidentPublic,
    responses={404: {"description": "No such incident"}},
)
async def resolve_incident(
    number: IncidentNumber,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
    body: ActionRequest | None = None,
) -> IncidentPublic:
    """Resolve. Resolving twice changes nothing."""
    return await _act("resolve", number, body, tx, runtime, principal.name)


@router.get("/alerts", response_model=Page[AlertPublic])
async def list_alerts(
    session: SessionDep,
    _: ReadPrincipal,
    status: Literal["firing", "resolved"] | None = None,
    severity: Severity | None = None,
    service: str | None = None,
    label: LabelQuery = [],  # noqa: B006
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[AlertPublic]:
    """Alert episodes, newest first."""
    filters = queries.Filters.from_query(status, severity, service, label, cursor, limit)
    rows, next_cursor = await queries.list_alerts(session, filters)
    return Page[AlertPublic](
        items=[AlertPublic.model_validate(r) for r in rows], next_cursor=next_cursor
    )
