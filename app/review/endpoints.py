"""The review API: post-mortem drafts, action items, response-time reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.deps import (
    ID_MAX,
    IncidentNumber,
    ReadPrincipal,
    RowId,
    RuntimeDep,
    SessionDep,
    Transaction,
    WritePrincipal,
)
from app.errors import KlaxonError
from app.incidents import queries
from app.instants import LooseInstant
from app.review import action_items, postmortem, reports
from app.review.schemas import (
    ActionItemCreate,
    ActionItemPublic,
    ActionItemUpdate,
    ActionStatus,
    PostmortemPublic,
    PostmortemSections,
    ResponseReport,
)
from app.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["review"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident"}}
#: A route whose 200 is (or may be) the post-mortem as Markdown.
MARKDOWN: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
    **NOT_FOUND,
}
#: The default window of the response report.
DEFAULT_REPORT_WINDOW = timedelta(days=30)


def _today(runtime: Runtime) -> date:
    return runtime.clock.now().astimezone(UTC).date()


# --- post-mortems -----------------------------------------------------------


def _change_window(runtime: Runtime) -> timedelta:
    return timedelta(minutes=runtime.settings.changes_window_minutes)


async def _postmortem(session: SessionDep, runtime: Runtime, number: int) -> PostmortemPublic:
    markdown, sections = await postmortem.draft(
        session, number, change_window=_change_window(runtime)
    )
    today = _today(runtime)
    return PostmortemPublic(
        incident=number,
        markdown=markdown,
        summary=sections.summary if sections else None,
        root_cause=sections.root_cause if sections else None,
        lessons_learned=sections.lessons_learned if sections else None,
        impact_notes=sections.impact_notes if sections else None,
        updated_by=sections.updated_by if sections else None,
        updated_at=sections.updated_at if sections else None,
        action_items=[
            action_items.item_public(row, today)
            for row in await action_items.for_incident(session, number)
        ],
    )


@router.get(
    "/incidents/{number}/postmortem",
    response_model=PostmortemPublic,
    responses=MARKDOWN,
)
async def get_postmortem(
    number: IncidentNumber,
    session: SessionDep,
    runtime: RuntimeDep,
    _: ReadPrincipal,
    format: Annotated[
        Literal["markdown", "json"], Query(description="json: the draft and its sections")
    ] = "markdown",
) -> PostmortemPublic | Response:
    """The post-mortem draft in the playbook's template (Markdown): what people
    wrote, and the timeline, impact and action items from the incident."""
    public = await _postmortem(session, runtime, number)
    if format == "markdown":
        return Response(public.markdown, media_type="text/markdown; charset=utf-8")
    return public


@router.get(
    "/incidents/{number}/postmortem.md",
    response_class=Response,
    responses=MARKDOWN,
)
async def export_postmortem(
    number: IncidentNumber, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> Response:
    """The post-mortem as a Markdown file in the playbook's template, to commit
    or diff: the same text on every read until something about the incident
    changes (no time of export in it; times are UTC to the second)."""
    markdown, _sections = await postmortem.draft(
        session, number, change_window=_change_window(runtime)
    )
    return Response(
        markdown,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="postmortem-{number}.md"'},
    )


@router.put("/incidents/{number}/postmortem", response_model=PostmortemPublic, responses=NOT_FOUND)
async def put_postmortem(
    number: IncidentNumber,
    body: PostmortemSections,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> PostmortemPublic:
    """Save the sections people write: summary, root cause, lessons learned,
    impact notes. Sections left out stay; ``null`` clears one."""
    await postmortem.save_sections(
        tx.session, number, body.changes(), by=body.by or principal.name, now=runtime.clock.now()
    )
    return await _postmortem(tx.session, runtime, number)


# --- action items -----------------------------------------------------------


@router.post(
    "/incidents/{number}/action-items",
    response_model=ActionItemPublic,
    status_code=201,
    responses=NOT_FOUND,
)
async def create_action_item(
    number: IncidentNumber,
    body: ActionItemCreate,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> ActionItemPublic:
    """Add a follow-up (from the incident or its post-mortem): task, owner, due date."""
    item_id = await action_items.create(
        tx.session, number, body, by=body.by or principal.name, now=runtime.clock.now()
    )
    return action_items.item_public(await action_items.get(tx.session, item_id), _today(runtime))


@router.get(
    "/incidents/{number}/action-items", response_model=list[ActionItemPublic], responses=NOT_FOUND
)
async def incident_action_items(
    number: IncidentNumber, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> list[ActionItemPublic]:
    await queries.get_incident(session, number)
    today = _today(runtime)
    return [
        action_items.item_public(row, today)
        for row in await action_items.for_incident(session, number)
    ]


@router.patch(
    "/action-items/{item_id}",
    response_model=ActionItemPublic,
    responses={404: {"description": "No such action item"}},
)
async def update_action_item(
    item_id: RowId,
    body: ActionItemUpdate,
    tx: Transaction,
    runtime: RuntimeDep,
    _: WritePrincipal,
) -> ActionItemPublic:
    """Mark done (or open again), or change the task, owner or due date."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    await action_items.change(tx.session, item_id, changes, now=runtime.clock.now())
    return action_items.item_public(await action_items.get(tx.session, item_id), _today(runtime))


@router.get("/action-items", response_model=list[ActionItemPublic])
async def list_action_items(
    session: SessionDep,
    runtime: RuntimeDep,
    _: ReadPrincipal,
    status: ActionStatus | None = None,
    overdue: Annotated[
        bool | None, Query(description="true: open and due before today (UTC)")
    ] = None,
    owner: str | None = None,
    incident: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None,
) -> list[ActionItemPublic]:
    """Action items across all incidents, soonest due first."""
    today = _today(runtime)
    rows = await action_items.find(
        session, today=today, status=status, overdue=overdue, owner=owner, incident=incident
    )
    return [action_items.item_public(row, today) for row in rows]


# --- reports ----------------------------------------------------------------


@router.get(
    "/reports/response",
    response_model=ResponseReport,
    responses={400: {"description": "since is not before until"}},
)
async def response_report(
    session: SessionDep,
    runtime: RuntimeDep,
    _: ReadPrincipal,
    since: Annotated[
        LooseInstant | None, Query(description="Incidents opened at or after; default 30 days ago")
    ] = None,
    until: Annotated[LooseInstant | None, Query(description="...and before; default now")] = None,
    service: str | None = None,
) -> ResponseReport:
    """Incidents, mean and p90 time to acknowledge and to resolve by service and
    severity, and pages per responder (with those outside working hours)."""
    now = runtime.clock.now()
    end = _aware(until) if until is not None else None
    start = _aware(since) if since is not None else (end or now) - DEFAULT_REPORT_WINDOW
    if end is not None and start >= end:
        raise KlaxonError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    return await reports.response_report(session, since=start, until=end, now=now, service=service)


def _aware(value: datetime) -> datetime:
    """A time without an offset is taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
