"""What the incident page shows, read in one session: the incident and its
roles, alerts, timeline, runbook (Markdown, rendered safe), recent changes of
its services, status updates and stakeholders, its post-mortem and action
items, and what the public status page says of it.

Everything is read through the functions the API reads with (app/incidents,
app/response, app/review, app/statuspage), so the page and the API cannot
disagree. The status update preview renders the same texts a posted update
gets: the channel text (``GET .../updates/latest?format=text``) and the SMS
stakeholders receive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console.markdown import render_markdown
from app.console.web import Viewer, error_page, not_found, render, runtime_of
from app.errors import NotFound
from app.incidents import queries
from app.models import Incident, alerts_table, timeline_table
from app.notify.update_texts import status_update_sms
from app.response import changes, roles, runbook, stakeholders, update_clock, updates
from app.response.schemas import PHASES
from app.response.update_rows import impact_of, phase_label, severity_label
from app.review import action_items, postmortem
from app.rules import RulesFile
from app.statuspage import publish
from app.statuspage.words import ComponentStatus, Impact, OpenStatus

# A phone shows a handful of alerts a screen: fifty is ten screens, and a
# page of them renders in a few milliseconds (the next link reads on).
ALERTS_SHOWN = 50
TIMELINE_SHOWN = 500
CHANGES_SHOWN = 20
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
PUBLIC_STATUSES: tuple[OpenStatus, ...] = ("investigating", "identified", "monitoring")
PUBLIC_IMPACTS: tuple[Impact, ...] = ("none", "minor", "major", "critical")
COMPONENT_STATUSES: tuple[ComponentStatus, ...] = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)


def preview_texts(
    incident: Incident,
    held: roles.Roles,
    rules: RulesFile,
    phase: str,
    message: str,
    now: datetime,
) -> dict[str, str]:
    """What posting this update would say: in a channel, and by SMS."""
    number = incident.number
    assert number is not None  # a stored incident's
    impact = impact_of(incident.impact, incident.affected_customers)
    status = phase_label(phase)
    next_at = None if phase == "resolved" else update_clock.due_after(rules, incident.severity, now)
    channel = updates.render_update(
        number=number,
        title=incident.title,
        status=status,
        severity=incident.severity,
        impact=impact,
        started_at=(incident.started_at or incident.created_at).astimezone(UTC),
        roles=None if held.is_empty() else held.public(),
        next_update_at=next_at,
    )
    sms = status_update_sms(
        number=number,
        title=incident.title,
        status=status,
        severity=severity_label(incident.severity),
        message=message,
        impact=impact,
    )
    return {"channel": f"{channel}\n\n{message}" if message else channel, "sms": sms}


async def _alerts(
    session: AsyncSession, number: int, after: int | None
) -> tuple[list[dict[str, Any]], int]:
    """A page of ``ALERTS_SHOWN`` alerts (as the API orders them: by id), those
    after the alert ``after`` if given, and how many the incident has: an alert
    storm of thousands is read a page at a time, never whole."""
    a = alerts_table.c
    query = select(alerts_table).where(a.incident_number == number)
    if after is not None:
        query = query.where(a.id > after)
    rows = await session.execute(query.order_by(a.id).limit(ALERTS_SHOWN))
    shown = [dict(r._mapping) for r in rows]
    for alert in shown:  # in name order, as the template lists them
        alert["labels"] = sorted(alert["labels"].items())
    if after is None and len(shown) < ALERTS_SHOWN:
        return shown, len(shown)
    count = await session.execute(select(func.count()).where(a.incident_number == number))
    return shown, int(count.scalar_one())


def alerts_after(request: Request) -> int | None:
    """The ``alerts_after`` query parameter (the last alert id of the page
    before); a ValueError names what is wrong with it."""
    given = request.query_params.get("alerts_after")
    if given is None:
        return None
    if not given.isdigit() or len(given) > 18:
        raise ValueError(f"alerts_after: {given[:20]!r} is not an alert id")
    return int(given)


async def _timeline(session: AsyncSession, number: int) -> list[dict[str, Any]]:
    """The last ``TIMELINE_SHOWN`` lines, oldest first, in the API's order
    (app/incidents/queries.py ``incident_timeline``): read from the end of the
    index, not the whole timeline of an incident of thousands of alerts."""
    t = timeline_table.c
    rows = await session.execute(
        select(timeline_table)
        .where(t.incident_number == number)
        .order_by(t.at.desc(), t.id.desc())
        .limit(TIMELINE_SHOWN)
    )
    return [dict(r._mapping) for r in reversed(rows.all())]


async def _gather(
    session: AsyncSession,
    rules: RulesFile,
    number: int,
    now: datetime,
    window: timedelta,
    after: int | None,
) -> dict[str, Any]:
    incident = await queries.get_incident(session, number)
    alerts, alert_count = await _alerts(session, number, after)
    timeline = await _timeline(session, number)
    held = await roles.current_roles(session, number)
    found = await runbook.incident_runbook(session, rules, incident)
    services = changes.incident_services(incident)
    people = [row for s in services for row in await stakeholders.list_stakeholders(session, s)]
    try:
        public = await publish.get_public(session, number)
    except NotFound:
        public = None
    sections = await postmortem.get_sections(session, number)
    today = now.astimezone(UTC).date()
    return {
        "incident": incident,
        "held": held,
        "alerts": alerts,
        "alert_count": alert_count,
        "alerts_after": after,
        # The next page's first alert follows this one (ids only grow).
        "next_alerts_after": alerts[-1]["id"] if len(alerts) == ALERTS_SHOWN else None,
        "timeline": timeline,
        "runbook": found,
        "runbook_html": render_markdown(found.text if found is not None else None),
        "changes": (await changes.for_incident(session, incident, window, now=now))[
            -CHANGES_SHOWN:
        ],
        "updates": [updates.update_public(r) for r in await updates.list_updates(session, number)],
        "stakeholders": people,
        "public": public,
        "components": rules.status_page.components,
        "sections": sections,
        "items": [
            action_items.item_public(r, today)
            for r in await action_items.for_incident(session, number)
        ],
    }


async def show(
    request: Request,
    viewer: Viewer,
    number: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    preview: bool = False,
) -> HTMLResponse:
    """The incident page; with ``error``, the form it came from filled in again
    (``form``) and the reason shown; with ``preview``, the update's texts."""
    runtime = runtime_of(request)
    now = runtime.clock.now()
    rules = runtime.rules.current
    window = timedelta(minutes=runtime.settings.changes_window_minutes)
    try:
        after = alerts_after(request)
    except ValueError as exc:
        return error_page(request, viewer, 400, "Bad request", str(exc))
    async with runtime.sessions() as session:
        try:
            context = await _gather(session, rules, number, now, window, after)
        except NotFound:
            return not_found(request, viewer, f"incident #{number}")
    form = form or {}
    texts = None
    if preview:
        phase = form.get("phase", "investigating")
        texts = preview_texts(
            context["incident"], context["held"], rules, phase, form.get("message", ""), now
        )
    return render(
        request,
        "incident.html",
        viewer=viewer,
        status_code=status_code,
        now=now,
        notice=notice,
        error=error,
        form=form,
        preview=texts,
        phases=PHASES,
        severities=SEVERITIES,
        public_statuses=PUBLIC_STATUSES,
        public_impacts=PUBLIC_IMPACTS,
        component_statuses=COMPONENT_STATUSES,
        back=request.url.path,
        **context,
    )
