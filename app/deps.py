"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal, hash_token
from app.db import read_only
from app.errors import Forbidden, RateLimited, Unauthorized
from app.metrics import INGEST_THROTTLED
from app.models.types import ID_MAX as ID_MAX
from app.runtime import Runtime
from app.transaction import UnitOfWork, unit_of_work


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a
    # hand-off to a thread and back on every request (issue 13's profile).
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A read-only session (``app.db.ReadOnlySession``): a write through it
    raises. A handler that writes takes ``Transaction`` instead."""
    async with read_only(runtime.sessions) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def transaction(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with unit_of_work(runtime) as uow:
        yield uow


#: A handler that writes takes this: its changes commit when the handler returns
#: and before the response is sent (``scope="function"``), so a 2xx always means
#: committed; an exception rolls them back (see app/transaction.py).
Transaction = Annotated[UnitOfWork, Depends(transaction, scope="function")]

# A larger number in a path or query is a 422 naming it, not an overflow in
# the database driver (a 500); see app.models.types.ID_MAX.
IncidentNumber = Annotated[int, Path(ge=1, le=ID_MAX, description="The incident's number")]
RowId = Annotated[int, Path(ge=1, le=ID_MAX)]


def bearer_secret(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return secret.strip()


#: The dependencies that check a bearer token (401 without a valid one, 403 for a
#: scope that does not allow the call), for the OpenAPI document (app/api_errors.py).
BEARER_CHECKS: set[Callable[..., Any]] = set()


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, runtime: RuntimeDep) -> Principal:
        principal = await runtime.tokens.verify(runtime.sessions, bearer_secret(request))
        if principal is None:
            raise Unauthorized("invalid or revoked token")
        if not principal.allows(scope):
            raise Forbidden(f"token scope {principal.scope!r} does not allow {scope!r}")
        return principal

    BEARER_CHECKS.add(dependency)
    return dependency


async def metrics_access(request: Request, runtime: RuntimeDep) -> None:
    """Open without ``KLAXON_METRICS_TOKEN``; with it, that token as a bearer
    token (compared in constant time), else a 401."""
    expected = runtime.settings.metrics_token
    if expected is None:
        return
    if not hmac.compare_digest(bearer_secret(request).encode(), expected.encode()):
        raise Unauthorized("invalid metrics token (KLAXON_METRICS_TOKEN)")


IngestPrincipal = Annotated[Principal, Depends(require("ingest"))]
ReadPrincipal = Annotated[Principal, Depends(require("read"))]
WritePrincipal = Annotated[Principal, Depends(require("write"))]
# Changes who gets paged: responders, phones, schedules, policies, stakeholders, heartbeats.
ConfigPrincipal = Annotated[Principal, Depends(require("config"))]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]


def check_ingest_rate(runtime: Runtime, secret: str, endpoint: str) -> int | None:
    """Take one request from the token's bucket: None when allowed, else the
    seconds to wait (counted in ``klaxon_ingest_throttled_total``)."""
    wait = runtime.ingest_limits.take(
        hash_token(secret),
        rate=runtime.settings.ingest_rate,
        burst=runtime.settings.ingest_burst,
        now=runtime.clock.now(),
    )
    if wait is not None:
        INGEST_THROTTLED.labels(endpoint).inc()
    return wait


async def rate_limited_ingest(
    request: Request, runtime: RuntimeDep, principal: IngestPrincipal
) -> Principal:
    """An ingest token within its rate limit; over it, a 503 with ``Retry-After``
    (before the body is read, so nothing of the request is written)."""
    route = getattr(request.scope.get("route"), "path", "other")
    wait = check_ingest_rate(runtime, bearer_secret(request), str(route))
    if wait is not None:
        raise RateLimited(
            f"over the ingest rate limit of this token; retry after {wait} s", retry_after=wait
        )
    return principal


# Webhooks: an ingest token, rate-limited per token.
WebhookPrincipal = Annotated[Principal, Depends(rate_limited_ingest)]
