"""The token API: admins create, list and revoke bearer tokens."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app import auth
from app.deps import AdminPrincipal, RowId, RuntimeDep, SessionDep, Transaction
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
    body: TokenCreate, tx: Transaction, runtime: RuntimeDep, _: AdminPrincipal
) -> TokenCreated:
    secret, token_id = await auth.create_token(
        tx.session, name=body.name, scope=body.scope, now=runtime.clock.now()
    )
    return TokenCreated(id=token_id, name=body.name, scope=body.scope, token=secret)


@router.get("", response_model=list[TokenPublic])
async def list_tokens(session: SessionDep, _: AdminPrincipal) -> list[TokenPublic]:
    return [
        TokenPublic.model_validate(t, from_attributes=True) for t in await auth.list_tokens(session)
    ]


@router.delete("/{token_id}", status_code=204, responses={404: {"description": "No such token"}})
async def revoke_token(
    token_id: RowId, tx: Transaction, runtime: RuntimeDep, _: AdminPrincipal
) -> Response:
    revoked = await auth.revoke_token(tx.session, token_id, now=runtime.clock.now())
    if not revoked:
        raise NotFound(f"No active token {token_id}")
    tx.after_commit(runtime.tokens.forget)
    return Response(status_code=204)
