"""The incident-response API: reported incidents, triage, notes, added
responders, the timeline, status updates and stakeholders."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import PlainTextResponse

from app.auth import Principal
from app.deps import (
    ConfigPrincipal,
    IncidentNumber,
    ReadPrincipal,
    RuntimeDep,
    SessionDep,
    Transaction,
    WritePrincipal,
)
from app.errors import NotFound
from app.incidents import endpoints as incident_endpoints
from app.incidents import queries
from app.incidents.schemas import IncidentDetail, TimelineEventPublic
from app.metrics import INCIDENTS_OPENED
from app.response import stakeholders, triage, updates
from app.response.declare import open_reported_incident
from app.response.schemas import (
    IncidentReport,
    NoteCreate,
    ResponderAdd,
    ResponderAdded,
    ServiceStakeholders,
    StakeholderList,
    StakeholderPublic,
    StakeholderSpec,
    StatusUpdateCreate,
    StatusUpdatePublic,
    TriageUpdate,
)
from app.timeline import named_lines, notices_of

router = APIRouter(prefix="/api/v1", tags=["incident response"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident"}}
TEXT: dict[str, Any] = {"text/plain": {"schema": {"type": "string"}}}
FormatQuery = Annotated[
    Literal["json", "text"], Query(description="text: the update to paste into a channel")
]
ServicePath = Annotated[str, Path(min_length=1, max_length=200)]


def _by(body_by: str | None, principal: Principal) -> str:
    return body_by or principal.name


@router.post(
    "/incidents",
    response_model=IncidentDetail,
    status_code=201,
    responses={422: {"description": "A field is missing or invalid"}},
)
async def report_incident(
    body: IncidentReport, tx: Transaction, runtime: RuntimeDep, principal: WritePrincipal
) -> IncidentDetail:
    """Open an incident a person reports (a customer report, a failing synthetic
    check). It is routed by its service and paged exactly like one from an alert."""
    number = await open_reported_incident(
        tx.session,
        runtime.rules.current,
        body,
        by=_by(body.by, principal),
        now=runtime.clock.now(),
    )
    tx.wake()
    tx.after_commit(INCIDENTS_OPENED.labels(body.severity).inc)
    return await incident_endpoints.incident_detail(tx.session, runtime, number)


@router.patch(
    "/incidents/{number}",
    response_model=IncidentDetail,
    responses={**NOT_FOUND, 400: {"description": "A start after the incident was opened"}},
)
async def update_incident(
    number: IncidentNumber,
    body: TriageUpdate,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> IncidentDetail:
    """Set what responders learn: impact, affected customers and services, when
    it started (which may be earlier than detection), recent changes, the
    workaround; also title and severity. Each change is a timeline event."""
    await triage.update_triage(
        tx.session, number, body.changes(), by=_by(body.by, principal), now=runtime.clock.now()
    )
    return await incident_endpoints.incident_detail(tx.session, runtime, number)


@router.post(
    "/incidents/{number}/notes",
    response_model=TimelineEventPublic,
    status_code=201,
    responses={**NOT_FOUND, 422: {"description": "at is in the future or long before it"}},
)
async def add_note(
    number: IncidentNumber,
    body: NoteCreate,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> TimelineEventPublic:
    """Add a note to the timeline; with ``at``, one about something that
    happened earlier, shown at that time and marked as added later."""
    row = await triage.add_note(
        tx.session,
        number,
        body.text,
        by=_by(body.by, principal),
        now=runtime.clock.now(),
        at=body.at,
    )
    return TimelineEventPublic.model_validate(row)


@router.post(
    "/incidents/{number}/responders",
    response_model=ResponderAdded,
    status_code=202,
    responses={
        404: {"description": "No such incident or responder"},
        409: {"description": "Resolved"},
    },
)
async def add_responder(
    number: IncidentNumber,
    body: ResponderAdd,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> ResponderAdded:
    """Bring someone in: they are paged now, by SMS and voice as the incident's
    severity pages (SMS at least), acknowledged incident or not."""
    channels = await triage.add_responder(
        tx.session,
        runtime.rules.current,
        number,
        body.responder,
        by=_by(body.by, principal),
        now=runtime.clock.now(),
        settings=runtime.settings,
    )
    tx.wake()
    return ResponderAdded(incident=number, responder=body.responder, channels=channels)


@router.get(
    "/incidents/{number}/timeline", response_model=list[TimelineEventPublic], responses=NOT_FOUND
)
async def get_timeline(
    number: IncidentNumber, session: SessionDep, _: ReadPrincipal
) -> list[TimelineEventPublic]:
    """Everything that happened to the incident, oldest first, each with its
    UTC time and who (or what) did it."""
    await queries.get_incident(session, number)
    return [
        TimelineEventPublic.model_validate(t)
        for t in await queries.incident_timeline(session, number)
    ]


@router.get(
    "/incidents/{number}/timeline.txt",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **NOT_FOUND},
)
async def get_timeline_text(
    number: IncidentNumber, session: SessionDep, _: ReadPrincipal
) -> PlainTextResponse:
    """The timeline as people read it, one line per step, in the order things
    happened: UTC times to the second (``14:35:02 - Paged bob by SMS and call``),
    the sends of a step and confirmed deliveries folded into it, stakeholder
    notices as such, back-dated notes at their time and marked
    (``14:30:00 (added 14:52:10 by alice) - ...``)."""
    await queries.get_incident(session, number)
    events = await queries.incident_timeline(session, number)
    lines = named_lines(events, await notices_of(session, number))
    return PlainTextResponse("".join(f"{line}\n" for line in lines))


# --- status updates ---------------------------------------------------------


@router.post(
    "/incidents/{number}/updates",
    response_model=StatusUpdatePublic,
    status_code=201,
    responses={**NOT_FOUND, 409: {"description": "Resolved; only a 'resolved' update follows"}},
)
async def post_status_update(
    number: IncidentNumber,
    body: StatusUpdateCreate,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> StatusUpdatePublic:
    """Post a status update: on the timeline, texted to the opted-in stakeholders
    of the incident's service and affected services. Phase ``resolved`` resolves
    the incident."""
    update_id, _ = await updates.post_update(
        tx.session,
        number,
        body.phase,
        body.message,
        by=_by(body.by, principal),
        now=runtime.clock.now(),
        rules=runtime.rules.current,
    )
    tx.wake()
    channel = await updates.chat_channel(tx.session, number)
    return updates.update_public(await updates.get_update(tx.session, update_id), channel=channel)


@router.get(
    "/incidents/{number}/updates", response_model=list[StatusUpdatePublic], responses=NOT_FOUND
)
async def list_status_updates(
    number: IncidentNumber, session: SessionDep, _: ReadPrincipal
) -> list[StatusUpdatePublic]:
    """Every status update of the incident, oldest first."""
    await queries.get_incident(session, number)
    channel = await updates.chat_channel(session, number)
    rows = await updates.list_updates(session, number)
    return [updates.update_public(row, channel=channel) for row in rows]


@router.get(
    "/incidents/{number}/updates/latest",
    response_model=StatusUpdatePublic,
    responses={
        200: {"content": TEXT},
        404: {"description": "No such incident, or no update yet"},
    },
)
async def latest_status_update(
    number: IncidentNumber, session: SessionDep, _: ReadPrincipal, format: FormatQuery = "json"
) -> StatusUpdatePublic | Response:
    """The latest status update, with the incident's status as of now (an incident
    resolved since says Resolved); ``?format=text`` renders it as people paste it
    into a channel."""
    incident = await queries.get_incident(session, number)
    row = await updates.latest_update(session, number)
    if row is None:
        raise NotFound(f"#{number} has no status update yet")
    channel = await updates.chat_channel(session, number)
    public = updates.update_public(row, incident_status=incident.status, channel=channel)
    if format == "text":
        return PlainTextResponse(public.text)
    return public


# --- stakeholders -----------------------------------------------------------


async def _stakeholders(
    session: SessionDep, service: str, principal: Principal
) -> ServiceStakeholders:
    return ServiceStakeholders(
        service=service,
        stakeholders=[
            StakeholderPublic(
                name=row.name,
                phone=principal.shown_phone(row.phone),
                opt_in=row.opt_in,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in await stakeholders.list_stakeholders(session, service)
        ],
    )


@router.put(
    "/services/{service}/stakeholders",
    response_model=ServiceStakeholders,
    responses={400: {"description": "A name listed twice"}},
)
async def put_stakeholders(
    service: ServicePath,
    body: list[StakeholderSpec] | StakeholderList,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: ConfigPrincipal,
) -> ServiceStakeholders:
    """Replace the service's stakeholders (a list, or ``{"stakeholders": [...]}``).
    Those with ``opt_in`` get each status update by SMS (config scope: it decides
    who gets texted)."""
    specs = body.stakeholders if isinstance(body, StakeholderList) else body
    await stakeholders.replace_stakeholders(tx.session, service, specs, now=runtime.clock.now())
    return await _stakeholders(tx.session, service, principal)


@router.get("/services/{service}/stakeholders", response_model=ServiceStakeholders)
async def get_stakeholders(
    service: ServicePath, session: SessionDep, principal: ReadPrincipal
) -> ServiceStakeholders:
    return await _stakeholders(session, service, principal)
