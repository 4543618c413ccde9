"""What a responder does from the incident page, each a plain form that POSTs
and redirects back (so it works without JavaScript), CSRF-checked by
``form_of``: escalate now, add a responder, take command, change severity, a
status update (previewed first, then posted), the post-mortem's sections, its
action items, and publishing to the public status page.

Each goes through the function its API endpoint uses, in one transaction,
with the signed-in responder as the actor, so the timeline, the pages and the
texts are the API's. Each needs the power its API endpoint's scope gives: all
of these are ``write`` (acting on an incident), which every signed-in
responder holds in the console; what needs ``config`` (who the stakeholders
are) is shown, not edited, here. Bad input re-shows the page with the form as
typed and the reason, as a 4xx; nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import incident_page
from app.console.access import SignedIn
from app.console.web import Viewer, first, form_of, redirect, runtime_of
from app.deps import IncidentNumber, RowId
from app.errors import KlaxonError
from app.response import escalate, roles, triage, updates
from app.response.schemas import ResponderAdd, StatusUpdateCreate
from app.review import action_items, postmortem
from app.review.schemas import ActionItemCreate, ActionItemUpdate, PostmortemSections
from app.statuspage import publish
from app.statuspage.cache import status_cache
from app.statuspage.schemas import PublishIncident
from app.transaction import unit_of_work

router = APIRouter(include_in_schema=False)
Change = Callable[[AsyncSession], Awaitable[object]]

#: What a redirect back to the incident page may say happened.
ACTION_NOTICES = {
    "escalated": "Escalated: the next step pages now.",
    "responder-added": "Responder added and paged.",
    "commanding": "You are the incident commander.",
    "severity": "Severity changed.",
    "update-posted": "Status update posted.",
    "postmortem-saved": "Post-mortem saved.",
    "item-added": "Action item added.",
    "item-changed": "Action item changed.",
    "published": "Published on the status page.",
}


def _reason(error: ValidationError) -> str:
    """A validation error as one line: which field, what is wrong."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "form"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


async def _apply(
    request: Request,
    viewer: Viewer,
    number: int,
    fields: dict[str, list[str]],
    change: Change,
    notice: str,
    *,
    wake: bool = False,
) -> Response:
    """Run ``change`` in one transaction; redirect back saying ``notice``, or
    show the page again with the reason it was refused."""
    runtime = runtime_of(request)
    try:
        async with unit_of_work(runtime) as uow:
            session = uow.session
            await change(session)
            if wake:
                uow.wake()  # the engine fires what is due now, and pages follow live
            else:
                uow.after_commit(runtime.changes.publish)
    except KlaxonError as exc:
        form = {name: values[0] for name, values in fields.items() if values}
        return await incident_page.show(
            request, viewer, number, error=str(exc), status_code=exc.status_code, form=form
        )
    return redirect(f"/incidents/{number}?notice={notice}")


def _parsed(model: Any, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise KlaxonError(_reason(exc), status_code=422) from exc


@router.post("/incidents/{number}/escalate")
async def escalate_now(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    now = runtime_of(request).clock.now()

    async def change(session: AsyncSession) -> None:
        await escalate.escalate_now(session, number, by=viewer.name, now=now)

    return await _apply(request, viewer, number, fields, change, "escalated", wake=True)


@router.post("/incidents/{number}/responders")
async def add_responder(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    runtime = runtime_of(request)

    async def change(session: AsyncSession) -> None:
        body = _parsed(ResponderAdd, {"responder": first(fields, "responder")})
        await triage.add_responder(
            session,
            runtime.rules.current,
            number,
            body.responder,
            by=viewer.name,
            now=runtime.clock.now(),
        )

    return await _apply(request, viewer, number, fields, change, "responder-added", wake=True)


@router.post("/incidents/{number}/command")
async def take_command(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    now = runtime_of(request).clock.now()

    async def change(session: AsyncSession) -> None:
        await roles.assign(session, number, "commander", viewer.name, by=viewer.name, now=now)

    return await _apply(request, viewer, number, fields, change, "commanding")


@router.post("/incidents/{number}/severity")
async def change_severity(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    now = runtime_of(request).clock.now()
    severity = first(fields, "severity")

    async def change(session: AsyncSession) -> None:
        if severity not in incident_page.SEVERITIES:
            raise KlaxonError(
                f"severity: {severity[:20]!r} is not one of {', '.join(incident_page.SEVERITIES)}",
                status_code=422,
            )
        await triage.update_triage(session, number, {"severity": severity}, by=viewer.name, now=now)

    return await _apply(request, viewer, number, fields, change, "severity", wake=True)


@router.post("/incidents/{number}/updates")
async def status_update(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    """``do=preview`` shows the texts the update would send, the form kept;
    ``do=post`` posts it (texted to the opted-in stakeholders)."""
    fields = await form_of(request, viewer)
    runtime = runtime_of(request)
    data = {"phase": first(fields, "phase"), "message": first(fields, "message")}
    if first(fields, "do") == "preview":
        try:
            _parsed(StatusUpdateCreate, data)
        except KlaxonError as exc:
            return await incident_page.show(
                request, viewer, number, error=str(exc), status_code=422, form=data
            )
        return await incident_page.show(request, viewer, number, form=data, preview=True)

    async def change(session: AsyncSession) -> None:
        body = _parsed(StatusUpdateCreate, data)
        await updates.post_update(
            session,
            number,
            body.phase,
            body.message,
            by=viewer.name,
            now=runtime.clock.now(),
            rules=runtime.rules.current,
        )

    return await _apply(request, viewer, number, fields, change, "update-posted", wake=True)


@router.post("/incidents/{number}/postmortem")
async def save_postmortem(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    """The sections as typed; one left empty is cleared."""
    fields = await form_of(request, viewer)
    now = runtime_of(request).clock.now()
    names = ("summary", "root_cause", "lessons_learned", "impact_notes")

    async def change(session: AsyncSession) -> None:
        body = _parsed(PostmortemSections, {n: first(fields, n) or None for n in names})
        await postmortem.save_sections(session, number, body.changes(), by=viewer.name, now=now)

    return await _apply(request, viewer, number, fields, change, "postmortem-saved")


@router.post("/incidents/{number}/action-items")
async def add_action_item(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    fields = await form_of(request, viewer)
    now = runtime_of(request).clock.now()

    async def change(session: AsyncSession) -> None:
        spec = _parsed(
            ActionItemCreate,
            {n: first(fields, n) for n in ("task", "owner", "due")},
        )
        await action_items.create(session, number, spec, by=viewer.name, now=now)

    return await _apply(request, viewer, number, fields, change, "item-added")


@router.post("/incidents/{number}/action-items/{item_id}")
async def change_action_item(
    request: Request, number: IncidentNumber, item_id: RowId, viewer: SignedIn
) -> Response:
    """Mark an item of this incident done, or open again."""
    fields = await form_of(request, viewer)
    now = runtime_of(request).clock.now()

    async def change(session: AsyncSession) -> None:
        body = _parsed(ActionItemUpdate, {"status": first(fields, "status")})
        item = await action_items.get(session, item_id)
        if item.incident_number != number:
            raise KlaxonError(f"action item {item_id} is not #{number}'s", status_code=404)
        await action_items.change(session, item_id, {"status": body.status}, now=now)

    return await _apply(request, viewer, number, fields, change, "item-changed")


@router.post("/incidents/{number}/public")
async def publish_incident(request: Request, number: IncidentNumber, viewer: SignedIn) -> Response:
    """Put the incident on the public status page (the API's ``write`` power:
    the commander's and the comms lead's). Components left at "unchanged" are
    not named."""
    fields = await form_of(request, viewer)
    runtime = runtime_of(request)
    components = {
        name.removeprefix("component:"): values[0]
        for name, values in fields.items()
        if name.startswith("component:") and values and values[0]
    }
    data: dict[str, Any] = {
        "name": first(fields, "name"),
        "body": first(fields, "body"),
        "status": first(fields, "status") or "investigating",
        "components": components,
    }
    if first(fields, "impact"):
        data["impact"] = first(fields, "impact")

    async def change(session: AsyncSession) -> None:
        body = _parsed(PublishIncident, data)
        await publish.publish(
            session,
            runtime.rules.current.status_page,
            number,
            body,
            by=viewer.name,
            now=runtime.clock.now(),
        )

    answer = await _apply(request, viewer, number, fields, change, "published")
    if answer.status_code == 303:
        status_cache(request).invalidate()  # the public page reads again
    return answer
