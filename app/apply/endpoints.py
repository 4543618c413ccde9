"""``POST /api/v1/oncall-config``: the whole on-call document at once, as
``klaxon apply`` sends it (app/apply/document.py applies it).

It changes who gets paged, so it needs the ``config`` scope (and ``admin`` to set
a responder's console admin flag). All of it applies or, on any error, nothing;
a dry run is the same transaction rolled back, answering the same changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.apply import document
from app.apply.config import OnCallConfig
from app.deps import ConfigPrincipal, RuntimeDep, Transaction
from app.oncall.routing import admin_needs_admin_scope

router = APIRouter(prefix="/api/v1", tags=["oncall"])


class ItemChangePublic(BaseModel):
    kind: str = Field(description="responder, schedule, policy or heartbeat")
    name: str
    change: str = Field(description="created, updated, unchanged or removed")


class ApplyResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    removed: int = Field(description="Removed by prune (0 without it)")
    dry_run: bool = Field(description="Nothing was written")
    changes: list[ItemChangePublic]


@router.post(
    "/oncall-config",
    response_model=ApplyResult,
    responses={
        400: {"description": "Unknown reference, or prune would leave one; nothing written"},
        403: {"description": "Sets a responder's `admin` without an admin-scope token"},
        409: {"description": "Phone in use, or prune would remove what open incidents page"},
    },
)
async def apply_oncall_config(
    body: OnCallConfig,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: ConfigPrincipal,
    prune: Annotated[
        bool,
        Query(
            description="Also remove the responders, schedules, policies and heartbeats the"
            " document does not name (of each kind it has a key for)"
        ),
    ] = False,
    dry_run: Annotated[bool, Query(description="Answer what would change; write nothing")] = False,
) -> ApplyResult:
    """Apply an on-call document (responders, schedules, policies, heartbeats), like
    ``klaxon apply``: all of it or, on any error, nothing. With ``prune``, what it no
    longer names is removed, unless an open incident pages through it (409, naming
    them) or something kept names it; with ``dry_run``, nothing is written."""
    admin_needs_admin_scope([r.admin for r in body.responders], principal)
    changes = await document.apply_document(
        tx.session,
        body,
        now=runtime.clock.now(),
        by=principal.name,
        prune_missing=prune,
        rules=runtime.rules.current,
        settings=runtime.settings,
    )
    if dry_run:
        tx.discard()
    return ApplyResult(
        **document.counted(changes),
        dry_run=dry_run,
        changes=[ItemChangePublic(kind=c.kind, name=c.name, change=c.change) for c in changes],
    )
