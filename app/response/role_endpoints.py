"""The roles API: who commands an incident, who leads its communications, who
is its scribe, and its subject-matter experts (write scope: acting on an
incident). Each answer is the incident's roles after the change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from app.auth import Principal
from app.deps import IncidentNumber, RuntimeDep, Transaction, WritePrincipal
from app.incidents.schemas import RolesPublic
from app.oncall.schemas import RESPONDER_NAME_PATTERN
from app.response import roles
from app.response.schemas import RoleAssign

router = APIRouter(prefix="/api/v1", tags=["incident response"])

RolePath = Annotated[
    roles.Role,
    Path(description="commander, comms (the communications lead) or scribe"),
]
ResponderPath = Annotated[str, Path(min_length=1, max_length=200, pattern=RESPONDER_NAME_PATTERN)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident or responder"}}


def _by(body_by: str | None, principal: Principal) -> str:
    return body_by or principal.name


@router.put("/incidents/{number}/roles/{role}", response_model=RolesPublic, responses=NOT_FOUND)
async def assign_role(
    number: IncidentNumber,
    role: RolePath,
    body: RoleAssign,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> RolesPublic:
    """Give the role to a responder; from its holder, if any, that is the
    handover (on the timeline). Resolved incidents take roles too, for the
    post-mortem."""
    held = await roles.assign(
        tx.session,
        number,
        role,
        body.responder,
        by=_by(body.by, principal),
        now=runtime.clock.now(),
    )
    return held.public()


@router.delete(
    "/incidents/{number}/roles/{role}",
    response_model=RolesPublic,
    responses={404: {"description": "No such incident"}},
)
async def clear_role(
    number: IncidentNumber,
    role: RolePath,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> RolesPublic:
    """Nobody holds the role any more."""
    held = await roles.clear(tx.session, number, role, by=principal.name, now=runtime.clock.now())
    return held.public()


@router.post(
    "/incidents/{number}/roles/sme",
    response_model=RolesPublic,
    responses=NOT_FOUND,
)
async def add_subject_matter_expert(
    number: IncidentNumber,
    body: RoleAssign,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> RolesPublic:
    """Add a subject-matter expert (adding one twice lists them once). This names
    them on the incident; to page them, add them as a responder."""
    held = await roles.add_sme(
        tx.session, number, body.responder, by=_by(body.by, principal), now=runtime.clock.now()
    )
    return held.public()


@router.delete(
    "/incidents/{number}/roles/sme/{responder}",
    response_model=RolesPublic,
    responses={404: {"description": "No such incident, or not one of its experts"}},
)
async def remove_subject_matter_expert(
    number: IncidentNumber,
    responder: ResponderPath,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> RolesPublic:
    held = await roles.remove_sme(
        tx.session, number, responder, by=principal.name, now=runtime.clock.now()
    )
    return held.public()
