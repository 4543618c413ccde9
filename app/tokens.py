"""The token API: admins create, list and revoke bearer tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app import auth
from app.deps import AdminPrincipal, RowId, RuntimeDep, SessionDep
from app.errors import NotFound

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=auth.TOKEN_NAME_MAX)
    scope: auth.Scope


class TokenPublic(BaseModel):
    id: int
    name: str
    scope: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    id: int
    name: str
    scope: str
    token: str = Field(description="The secret; shown only in this answer")


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(
    body: TokenCreate, session: SessionDep, runtime: RuntimeDep, _: AdminPrincipal
) -> TokenCreated:
    async with session.begin():
        secret, token_id = await auth.create_token(
            session, name=body.name, scope=body.scope, now=runtime.clock.now()
        )
    return TokenCreated(id=token_id, name=body.name, scope=body.scope, token=secret)


@router.get("", response_model=list[TokenPublic])
async def list_tokens(session: SessionDep, _: AdminPrincipal) -> list[TokenPublic]:
    return [
        TokenPublic.model_validate(t, from_attributes=True) for t in await auth.list_tokens(session)
    ]


@router.delete("/{token_id}", status_code=204, responses={404: {"description": "No such token"}})
async def revoke_token(
    token_id: RowId, session: SessionDep, runtime: RuntimeDep, _: AdminPrincipal
) -> Response:
    async with session.begin():
        revoked = await auth.revoke_token(session, token_id, now=runtime.clock.now())
    if not revoked:
        raise NotFound(f"No active token {token_id}")
    runtime.tokens.forget()
    return Response(status_code=204)
