"""The heartbeat API: declare and delete heartbeats (config scope: a heartbeat
pages), read them, and ping them (ingest scope, rate-limited like every webhook)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from app.deps import (
    ConfigPrincipal,
    ReadPrincipal,
    RuntimeDep,
    SessionDep,
    Transaction,
    WebhookPrincipal,
)
from app.errors import KlaxonError, NotFound
from app.heartbeats import expiry, store
from app.heartbeats.schemas import HEARTBEAT_NAME_PATTERN, HeartbeatBody, HeartbeatPublic
from app.models.types import ACTOR_MAX
from app.pipeline import process
from app.sources.endpoints import timed
from app.sources.heartbeat import SOURCE
from app.text import clip

router = APIRouter(prefix="/api/v1/heartbeats", tags=["heartbeats"])

HeartbeatPath = Annotated[str, Path(min_length=1, max_length=200, pattern=HEARTBEAT_NAME_PATTERN)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such heartbeat"}}


class PingAccepted(BaseModel):
    name: str
    status: str = "up"
    expires_at: datetime = Field(description="When it expires without another ping")
    resolved_incidents: list[int] = Field(description="Incidents its ping resolved")


@router.put(
    "/{name}",
    response_model=HeartbeatPublic,
    responses={201: {"description": "Created"}, 400: {"description": "Name differs from path"}},
)
async def put_heartbeat(
    name: HeartbeatPath,
    body: HeartbeatBody,
    response: Response,
    tx: Transaction,
    runtime: RuntimeDep,
    _: ConfigPrincipal,
) -> HeartbeatPublic:
    """Create or change a heartbeat (201 when created). It is armed at once: without
    a ping within interval + grace from now, it expires."""
    if body.name is not None and body.name != name:
        raise KlaxonError(f"heartbeat name {body.name!r} differs from the path's {name!r}")
    now = runtime.clock.now()
    outcome = await store.upsert_heartbeat(tx.session, body.with_name(name), now=now)
    if outcome == "created":
        response.status_code = 201
    tx.wake()  # its deadline may be the next thing due
    return await get_heartbeat(name, tx.session, runtime, _)


@router.get("", response_model=list[HeartbeatPublic])
async def list_heartbeats(
    session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> list[HeartbeatPublic]:
    now = runtime.clock.now()
    return [HeartbeatPublic.of(row, now=now) for row in await store.list_heartbeats(session)]


@router.get("/{name}", response_model=HeartbeatPublic, responses=NOT_FOUND)
async def get_heartbeat(
    name: str, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> HeartbeatPublic:
    row = await store.get_heartbeat(session, name)
    if row is None:
        raise NotFound(f"no heartbeat {name!r}")
    return HeartbeatPublic.of(row, now=runtime.clock.now())


@router.delete("/{name}", status_code=204, responses=NOT_FOUND)
async def delete_heartbeat(
    name: str, session: SessionDep, runtime: RuntimeDep, principal: ConfigPrincipal
) -> Response:
    """Delete a heartbeat. Its expiry alert, if one fires, is resolved: no ping
    can resolve it any more."""
    async with session.begin():
        row = await store.delete_heartbeat(session, name)
    if row is None:
        raise NotFound(f"no heartbeat {name!r}")
    actor = clip(f"{principal.name} (heartbeat deleted)", ACTOR_MAX)
    await expiry.recover(runtime, row, actor=actor, feed=process)
    return Response(status_code=204)


_PING_RESPONSES: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    401: {"description": "Missing or invalid bearer token"},
    503: {"description": "Database unavailable, or over the token's rate limit (Retry-After)"},
}


@router.get("/{name}/ping", response_model=PingAccepted, responses=_PING_RESPONSES)
@router.post("/{name}/ping", response_model=PingAccepted, responses=_PING_RESPONSES)
async def ping_heartbeat(
    name: str, session: SessionDep, runtime: RuntimeDep, principal: WebhookPrincipal
) -> PingAccepted:
    """Record a ping (any body is ignored, so Alertmanager's webhook can ping:
    see the README). It resolves the heartbeat's expiry alert if one fires.
    Answers 200 once committed; 503 with ``Retry-After`` over the token's rate
    limit or when the database is down."""
    async with timed(SOURCE):
        async with session.begin():
            row = await store.record_ping(session, name, now=runtime.clock.now())
        if row is None:
            raise NotFound(f"no heartbeat {name!r}")
        actor = principal.acting_as("heartbeat ping")
        result = await expiry.recover(runtime, row, actor=actor, feed=process)
    return PingAccepted(
        name=row.name, expires_at=row.expires_at, resolved_incidents=result.resolved_incidents
    )
