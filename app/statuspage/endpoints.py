"""Publishing to the status page: ``write`` tokens (the commander, the comms
lead) make an incident public and post its public updates; ``read`` tokens see
what was published. The page's cache is invalidated after each commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.deps import (
    IncidentNumber,
    ReadPrincipal,
    RuntimeDep,
    SessionDep,
    Transaction,
    WritePrincipal,
)
from app.statuspage import publish
from app.statuspage.cache import StatusCache, status_cache
from app.statuspage.schemas import PublicIncidentPublic, PublicUpdateCreate, PublishIncident
from app.transaction import UnitOfWork

router = APIRouter(prefix="/api/v1", tags=["status page"])
CacheDep = Annotated[StatusCache, Depends(status_cache)]
_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident, or (updates) not on the status page"},
    409: {"description": "Already published, or resolved on the status page"},
    422: {"description": "A field is invalid, or names a component not on the status page"},
}


@router.post(
    "/incidents/{number}/public",
    response_model=PublicIncidentPublic,
    status_code=201,
    responses=_REFUSED,
)
async def publish_incident(
    number: IncidentNumber,
    body: PublishIncident,
    tx: Transaction,
    runtime: RuntimeDep,
    cache: CacheDep,
    principal: WritePrincipal,
) -> PublicIncidentPublic:
    """Put the incident on the public status page, with a public name, the
    components it holds and their status, and the first public text. The
    impact defaults to the SEV's (SEV1 critical, SEV2 major, SEV3 minor, SEV4
    none). Nothing of the incident itself is shown but what is given here."""
    return await _change(publish.publish, number, body, tx, runtime, cache, principal)


@router.post(
    "/incidents/{number}/public/updates",
    response_model=PublicIncidentPublic,
    status_code=201,
    responses=_REFUSED,
)
async def post_public_update(
    number: IncidentNumber,
    body: PublicUpdateCreate,
    tx: Transaction,
    runtime: RuntimeDep,
    cache: CacheDep,
    principal: WritePrincipal,
) -> PublicIncidentPublic:
    """A public update: investigating, identified, monitoring or resolved,
    with its text; optionally a new impact and component statuses."""
    return await _change(publish.add_public_update, number, body, tx, runtime, cache, principal)


@router.get(
    "/incidents/{number}/public",
    response_model=PublicIncidentPublic,
    responses={404: {"description": "No such incident, or not on the status page"}},
)
async def get_public_incident(
    number: IncidentNumber, session: SessionDep, principal: ReadPrincipal
) -> PublicIncidentPublic:
    """What the status page says about the incident, with who posted each update."""
    return await _public(session, number)


async def _change(
    change: Callable[..., Awaitable[None]],
    number: int,
    body: PublishIncident | PublicUpdateCreate,
    tx: UnitOfWork,
    runtime: RuntimeDep,
    cache: StatusCache,
    principal: Principal,
) -> PublicIncidentPublic:
    """Make the change in one transaction; after its commit, the page reads again."""
    await change(
        tx.session,
        runtime.rules.current.status_page,
        number,
        body,
        by=principal.name,
        now=runtime.clock.now(),
    )
    tx.after_commit(cache.invalidate)
    return await _public(tx.session, number)


async def _public(session: AsyncSession, number: int) -> PublicIncidentPublic:
    return await publish.get_public(session, number)
