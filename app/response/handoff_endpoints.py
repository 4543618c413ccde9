"""``GET /schedules/{name}/handoff``: what the on-call handoff SMS summarizes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from app.deps import ReadPrincipal, RuntimeDep, SessionDep
from app.errors import NotFound
from app.instants import Instant
from app.response.handoff import HandoffSummary, handoff_summary

router = APIRouter(prefix="/api/v1", tags=["oncall"])


@router.get(
    "/schedules/{name}/handoff",
    response_model=HandoffSummary,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        404: {"description": "No such schedule"},
    },
)
async def get_handoff(
    name: str,
    session: SessionDep,
    runtime: RuntimeDep,
    _: ReadPrincipal,
    at: Annotated[
        Instant | None, Query(description="An instant with its UTC offset; default now")
    ] = None,
    format: Annotated[Literal["json", "text"], Query()] = "json",
) -> HandoffSummary | Response:
    """The handoff of the shift running now (or at ``at``): who is on call since
    when and who before, the incidents still open on the services the schedule
    covers, recent changes, and what was resolved during the last shift."""
    when: datetime = at or runtime.clock.now()
    summary = await handoff_summary(session, runtime.rules.current, name, when)
    if summary is None:
        raise NotFound(f"no schedule {name!r}")
    if format == "text":
        return PlainTextResponse(summary.text)
    return summary
