"""Operations: health, readiness, metrics, rules reload."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from sqlalchemy import func, select, text

from app.api_errors import ErrorDetail
from app.deadline import within
from app.deps import AdminPrincipal, RuntimeDep, metrics_access
from app.errors import KlaxonError, Unavailable
from app.escalation.store import list_policies, policy_names, unknown_actions
from app.metrics import OPEN_INCIDENTS, exposition
from app.models import incidents_table
from app.rules import RulesError, RulesFile
from app.rules.policies import unknown_policies
from app.runtime import Runtime

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
    """Ready to take traffic: the database answers, within ``KLAXON_READYZ_TIMEOUT``
    (under a second: a load balancer's probe must not hang on a frozen database)."""

    async def select_one() -> None:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await within(runtime.settings.readyz_timeout, select_one())
    except TimeoutError as exc:
        raise Unavailable(
            f"database unavailable: no answer within {runtime.settings.readyz_timeout:g} s"
        ) from exc
    except Exception as exc:
        raise Unavailable(f"database unavailable: {type(exc).__name__}") from exc
    return Health(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(metrics_access)],
    responses={
        200: {"content": {"text/plain": {}}},
        401: {
            "model": ErrorDetail,
            "description": "KLAXON_METRICS_TOKEN is set and the request does not bear it",
        },
    },
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics; with ``KLAXON_METRICS_TOKEN`` set, only with
    ``Authorization: Bearer <that token>``."""
    i = incidents_table.c

    async def open_incidents() -> dict[str, int]:
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(i.status, func.count()).where(i.status != "resolved").group_by(i.status)
            )
            return {status: count for status, count in rows}

    try:
        # As quick as /readyz: a scrape must not time out on a frozen database.
        counts = await within(runtime.settings.readyz_timeout, open_incidents())
        for status in ("triggered", "acknowledged"):
            OPEN_INCIDENTS.labels(status).set(counts.get(status, 0))
    except Exception as exc:  # metrics must answer even when the database does not
        log.warning("open incident count unavailable: %s", type(exc).__name__)
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


async def unknown_route_policies(runtime: Runtime, rules: RulesFile) -> list[str]:
    """The routes of ``rules`` that name an escalation policy the database lacks."""
    async with runtime.sessions() as session:
        known = await policy_names(session)
    return unknown_policies(rules, known)


async def unknown_step_actions(runtime: Runtime, rules: RulesFile) -> list[str]:
    """Policies whose steps run an action ``rules`` does not declare (a reload that
    drops an action still in use is refused, as one that drops a policy is)."""
    async with runtime.sessions() as session:
        policies = await list_policies(session)
    return unknown_actions(policies, rules)


async def reload_checked(runtime: Runtime) -> RulesFile:
    """Read the rules file and put it in force, unless it is invalid or a route
    names an unknown policy: then the old rules stay and ``KlaxonError`` says why."""
    try:
        rules = runtime.rules.read()
    except RulesError as exc:
        raise KlaxonError("rules file invalid, old rules kept:\n" + str(exc)) from exc
    problems = await unknown_route_policies(runtime, rules)
    problems += await unknown_step_actions(runtime, rules)
    if problems:
        log.error("rules reload refused, keeping the old rules:\n%s", "\n".join(problems))
        raise KlaxonError("rules file refused, old rules kept:\n" + "\n".join(problems))
    in_force = runtime.rules.use(rules)
    runtime.reloaded()  # an engine in another process reloads too
    return in_force


@router.post(
    "/-/reload",
    response_model=Reloaded,
    responses={
        400: {
            "description": "Invalid, a route names an unknown policy, or a policy runs an"
            " action the file no longer declares"
        }
    },
)
async def reload_rules(runtime: RuntimeDep, _: AdminPrincipal) -> Reloaded:
    """Reload the rules file; an invalid file, or one whose routes name an escalation
    policy that does not exist, keeps the old rules and says why."""
    rules = await reload_checked(runtime)
    return Reloaded(
        status="reloaded", severity_rules=len(rules.severity_rules), routes=len(rules.routes)
    )
