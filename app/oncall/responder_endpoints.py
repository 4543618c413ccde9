"""The responders API: who can be paged, and their phones.

Creating or changing a responder needs the ``config`` scope (it changes who gets
paged); setting the console ``admin`` flag needs ``admin``. A phone is shown
whole only to a token that may change it (``Principal.shown_phone``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth import Principal
from app.deps import ConfigPrincipal, ReadPrincipal, RuntimeDep, SessionDep, Transaction
from app.errors import NotFound
from app.oncall import store
from app.oncall.public import ResponderPublic
from app.oncall.routing import (
    BAD_REFERENCE,
    NOT_FOUND,
    ResponderPath,
    admin_needs_admin_scope,
    same_name,
)
from app.oncall.rows import ResponderRow
from app.oncall.schemas import ResponderBody

router = APIRouter(prefix="/api/v1", tags=["oncall"])


def _responder_public(row: ResponderRow, principal: Principal) -> ResponderPublic:
    return ResponderPublic(
        name=row.name,
        phone=principal.shown_phone(row.phone),
        time_zone=row.time_zone,
        created_at=row.created_at,
        updated_at=row.updated_at,
        slack_user_id=row.slack_user_id,
        mattermost_user_id=row.mattermost_user_id,
    )


@router.put(
    "/responders/{name}",
    response_model=ResponderPublic,
    responses={
        201: {"description": "Created"},
        403: {"description": "Sets `admin` without an admin-scope token"},
        409: {"description": "Phone in use"},
        **BAD_REFERENCE,
    },
)
async def put_responder(
    name: ResponderPath,
    body: ResponderBody,
    response: Response,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: ConfigPrincipal,
) -> ResponderPublic:
    """Create or replace a responder (201 when created). The phone is normalized to E.164."""
    same_name(body.name, name, "responder")
    admin_needs_admin_scope([body.admin], principal)
    change = await store.upsert_responder(tx.session, body.with_name(name), now=runtime.clock.now())
    if change is store.Change.CREATED:
        response.status_code = 201
    return await get_responder(name, tx.session, principal)


@router.get("/responders", response_model=list[ResponderPublic])
async def list_responders(session: SessionDep, principal: ReadPrincipal) -> list[ResponderPublic]:
    return [_responder_public(r, principal) for r in await store.list_responders(session)]


@router.get("/responders/{name}", response_model=ResponderPublic, responses=NOT_FOUND)
async def get_responder(
    name: str, session: SessionDep, principal: ReadPrincipal
) -> ResponderPublic:
    row = await store.get_responder(session, name)
    if row is None:
        raise NotFound(f"no responder {name!r}")
    return _responder_public(row, principal)
