"""Operations: health, readiness, metrics, rules reload."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from sqlalchemy import func, select, text

from app.deps import AdminPrincipal, RuntimeDep
from app.errors import KlaxonError, Unavailable
from app.metrics import OPEN_INCIDENTS, exposition
from app.models import incidents_table
from app.rules import RulesError

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Reloaded(BaseModel):
    status: str
    severity_rules: int
    routes: int


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"description": "No database"}})
async def readyz(runtime: RuntimeDep) -> Health:
    """Ready to take traffic: the database answers."""
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unavailable: {type(exc).__name__}") from exc
    return Health(status="ready")


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics."""
    i = incidents_table.c
    try:
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(i.status, func.count()).where(i.status != "resolved").group_by(i.status)
            )
            counts = {status: count for status, count in rows}
        for status in ("triggered", "acknowledged"):
            OPEN_INCIDENTS.labels(status).set(counts.get(status, 0))
    except Exception as exc:  # metrics must answer even when the database does not
        log.warning("open incident count unavailable: %s", type(exc).__name__)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@router.post("/-/reload", response_model=Reloaded, responses={400: {"description": "Invalid"}})
async def reload_rules(runtime: RuntimeDep, _: AdminPrincipal) -> Reloaded:
    """Reload the rules file; an invalid file keeps the old rules and says why."""
    try:
        rules = runtime.rules.reload()
    except RulesError as exc:
        raise KlaxonError("rules file invalid, old rules kept:\n" + str(exc)) from exc
    return Reloaded(
        status="reloaded", severity_rules=len(rules.severity_rules), routes=len(rules.routes)
    )
