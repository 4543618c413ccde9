"""The escalation policies API: ordered steps of whom to page (or which action
to run) and how many times to repeat them.

Creating or replacing a policy needs ``config``; its targets must exist and its
action steps must name actions the rules in force declare. Its paths sit
under the ``oncall`` tag, where they were before they moved here; app/main.py
includes this router right after the on-call one, so the OpenAPI document keeps
its order.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import ConfigPrincipal, ReadPrincipal, RuntimeDep, SessionDep, Transaction
from app.errors import KlaxonError, NotFound
from app.escalation import store as policy_store
from app.escalation.policy import PolicySpec
from app.oncall.routing import BAD_REFERENCE, NOT_FOUND, PolicyPath, same_name, validated
from app.oncall.rows import Change

router = APIRouter(prefix="/api/v1", tags=["oncall"])


class PolicyBody(PolicySpec):
    """An escalation policy for ``PUT /escalation-policies/{name}``: the name comes
    from the path."""

    name: str | None = None  # type: ignore[assignment]  # the path's, when left out


@router.put(
    "/escalation-policies/{name}",
    response_model=PolicySpec,
    # A paging step reads as before action steps existed (no run: null, wait: null).
    response_model_exclude_none=True,
    responses={201: {"description": "Created"}, **BAD_REFERENCE},
)
async def put_policy(
    name: PolicyPath,
    body: PolicyBody,
    response: Response,
    tx: Transaction,
    runtime: RuntimeDep,
    _: ConfigPrincipal,
) -> PolicySpec:
    """Create or replace an escalation policy (201 when created); its target
    schedules and responders must exist."""
    same_name(body.name, name, "policy")
    spec = validated(
        PolicySpec.model_validate,
        {**body.model_dump(), "name": name},
    )
    unknown = policy_store.unknown_actions([spec], runtime.rules.current)
    if unknown:
        raise KlaxonError("; ".join(unknown))
    change = await policy_store.upsert_policy(tx.session, spec, now=runtime.clock.now())
    if change is Change.CREATED:
        response.status_code = 201
    return spec


@router.get(
    "/escalation-policies", response_model=list[PolicySpec], response_model_exclude_none=True
)
async def list_policies(session: SessionDep, _: ReadPrincipal) -> list[PolicySpec]:
    return await policy_store.list_policies(session)


@router.get(
    "/escalation-policies/{name}",
    response_model=PolicySpec,
    response_model_exclude_none=True,
    responses=NOT_FOUND,
)
async def get_policy(name: str, session: SessionDep, _: ReadPrincipal) -> PolicySpec:
    policy = await policy_store.get_policy(session, name)
    if policy is None:
        raise NotFound(f"no escalation policy {name!r}")
    return policy
