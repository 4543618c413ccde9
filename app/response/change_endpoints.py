"""Change events: PagerDuty's ``POST /v2/change/enqueue`` (answered as PagerDuty
answers), the deploy webhook ``POST /api/v1/webhooks/change`` (an ingest token),
``GET /api/v1/changes`` and ``GET /api/v1/incidents/{number}/changes`` (read)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.deps import IncidentNumber, ReadPrincipal, RuntimeDep, SessionDep, WebhookPrincipal
from app.errors import KlaxonError
from app.http import parse_json, read_body, validate
from app.incidents import queries
from app.instants import Instant
from app.response import changes
from app.response.change_schemas import (
    ChangeList,
    ChangePublic,
    IncidentChanges,
    PdChangeAccepted,
)
from app.rules.classify import route
from app.runtime import Runtime
from app.sources import change_events
from app.sources.endpoints import timed
from app.sources.pagerduty_endpoint import (
    PD_RESPONSES,
    _invalid,
    _messages,
    _Refused,
    read_event,
)
from app.transaction import unit_of_work

router = APIRouter(tags=["changes"])
PD_PATH = "/v2/change/enqueue"
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident"}}


def window(runtime: Runtime) -> timedelta:
    return timedelta(minutes=runtime.settings.changes_window_minutes)


def _body(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"required": True, "content": {"application/json": {"schema": schema}}}


@router.post(
    PD_PATH,
    status_code=202,
    response_model=PdChangeAccepted,
    openapi_extra={"requestBody": _body(change_events.PdChangeEvent)},
    responses=PD_RESPONSES,
)
async def enqueue_change(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Accept a change event of PagerDuty's Events API v2, authenticated by its
    ``routing_key`` (a Klaxon ingest token) and routed to a service by the rules."""
    try:
        async with timed("pagerduty_change", ok=202):
            accepted = await _enqueue_change(request, runtime)
    except _Refused as refused:
        return refused.response()
    return JSONResponse(accepted.model_dump(), status_code=202)


async def _enqueue_change(request: Request, runtime: Runtime) -> PdChangeAccepted:
    data, principal = await read_event(request, runtime, PD_PATH)
    try:
        event = change_events.PdChangeEvent.model_validate(data)
    except ValidationError as exc:
        raise _invalid(_messages(exc)) from exc
    service = route(runtime.rules.current, change_events.pagerduty_labels(event)).service
    now = runtime.clock.now()
    try:
        change = change_events.from_pagerduty(event, service, now=now)
    except change_events.TimeOutOfRange as exc:
        raise _invalid([f"'payload.timestamp' is invalid: it {exc}"]) from exc
    async with unit_of_work(runtime) as uow:
        await changes.record(uow.session, change, by=principal.name, now=now)
    return PdChangeAccepted(service=service)


@router.post(
    "/api/v1/webhooks/change",
    status_code=201,
    response_model=ChangePublic,
    openapi_extra={"requestBody": _body(change_events.DeployChange)},
    responses={
        200: {"model": ChangePublic, "description": "Already stored (a retried delivery)"},
        400: {"description": "Malformed JSON"},
        413: {"description": "Body over the size limit"},
        422: {"description": "A field is missing or invalid; detail names it"},
        503: {"description": "Database unavailable, or over the token's rate limit"},
    },
    tags=["webhooks"],
)
async def change_webhook(
    request: Request, runtime: RuntimeDep, principal: WebhookPrincipal
) -> JSONResponse:
    """Record a change to a service: a deploy, a config change. Answers 201 once
    it is committed; 200 with the stored change when the same change (same
    fields, same ``when``) was already recorded."""
    async with timed("change"):
        body = await read_body(request, change_events.MAX_BODY_BYTES)
        deploy = validate(change_events.DeployChange, parse_json(body))
        now = runtime.clock.now()
        try:
            change = change_events.from_webhook(deploy, now=now)
        except change_events.TimeOutOfRange as exc:
            raise KlaxonError(f"'when' {exc}", status_code=422) from exc
        async with unit_of_work(runtime) as uow:
            row, new = await changes.record(uow.session, change, by=principal.name, now=now)
    public = ChangePublic.model_validate(row)
    return JSONResponse(public.model_dump(mode="json"), status_code=201 if new else 200)


ServiceQuery = Annotated[
    list[str], Query(max_length=50, description="Only these services; repeat for several")
]


@router.get("/api/v1/changes", response_model=ChangeList)
async def list_changes(
    session: SessionDep,
    runtime: RuntimeDep,
    _: ReadPrincipal,
    service: ServiceQuery = [],  # noqa: B006 - FastAPI copies the default
    since: Annotated[Instant | None, Query(description="Default: 24 hours ago")] = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=changes.MAX_LIMIT)] = 100,
) -> ChangeList:
    """Recent changes, oldest first (the newest ``limit`` of them)."""
    now = runtime.clock.now()
    rows = await changes.list_changes(
        session,
        services=service or None,
        since=since if since is not None else now - timedelta(hours=24),
        until=until,
        limit=limit,
    )
    return ChangeList(items=[ChangePublic.model_validate(r) for r in rows])


@router.get(
    "/api/v1/incidents/{number}/changes", response_model=IncidentChanges, responses=NOT_FOUND
)
async def incident_changes(
    number: IncidentNumber, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> IncidentChanges:
    """What changed on the incident's service and affected services from the
    window (``KLAXON_CHANGES_WINDOW_MINUTES``, an hour) before its impact began
    up to its resolution, or now."""
    incident = await queries.get_incident(session, number)
    now = runtime.clock.now()
    since, until = changes.incident_window(incident, window(runtime), now=now)
    assert until is not None
    rows = await changes.for_incident(session, incident, window(runtime), now=now)
    return IncidentChanges(
        incident=number,
        services=changes.incident_services(incident),
        since=since,
        until=until,
        items=[ChangePublic.model_validate(r) for r in rows],
        text=[changes.change_line(r) for r in rows],
    )
