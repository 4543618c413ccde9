"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.errors import Forbidden, Unauthorized
from app.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def bearer_secret(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return secret.strip()


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, runtime: RuntimeDep) -> Principal:
        principal = await runtime.tokens.verify(runtime.sessions, bearer_secret(request))
        if principal is None:
            raise Unauthorized("invalid or revoked token")
        if not principal.allows(scope):
            raise Forbidden(f"token scope {principal.scope!r} does not allow {scope!r}")
        return principal

    return dependency


IngestPrincipal = Annotated[Principal, Depends(require("ingest"))]
ReadPrincipal = Annotated[Principal, Depends(require("read"))]
WritePrincipal = Annotated[Principal, Depends(require("write"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]
