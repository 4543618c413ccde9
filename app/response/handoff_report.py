"""What a handoff tells: the incidents still open on a schedule's services (with
their latest update, workaround and runbook), recent changes, and what was
resolved during the last shift; as JSON and as text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents import queries
from app.models import Incident, incidents_table, status_updates_table
from app.models.rows import typed
from app.response.runbook import incident_runbook
from app.response.updates import phase_label, severity_label
from app.rules import RulesFile
from app.timeline import latest_line


class HandoffIncident(BaseModel):
    number: int
    title: str
    severity: str
    status: str
    service: str
    started_at: datetime
    acknowledged_by: str | None
    impact: str | None
    workaround: str | None
    recent_changes: str | None
    latest_update: str | None = Field(description="Phase and message of the latest update")
    runbook_url: str | None
    last_on_timeline: str | None = Field(
        default=None,
        description="The latest line of its timeline, in the order things happened "
        "(to the second): '2026-11-26 14:40:05 UTC - Status update (Identified): ...'",
    )


class HandoffResolved(BaseModel):
    number: int
    title: str
    severity: str
    resolved_at: datetime


class HandoffSummary(BaseModel):
    schedule: str
    services: list[str] = Field(description="The services the schedule covers")
    at: datetime
    shift_start: datetime | None = Field(description="When the incoming shift began")
    incoming: str | None = Field(description="Who is on call")
    on_call_until: datetime | None
    outgoing: str | None = Field(description="Who was on call before")
    open_incidents: list[HandoffIncident]
    recent_changes: list[str] = Field(description="Deploys and config changes noted on them")
    resolved_during_last_shift: list[HandoffResolved]
    text: str


def _covers(row: Any, services: set[str]) -> bool:
    return row.service in services or bool(services & set(row.affected_services or []))


async def _latest_updates(session: AsyncSession, numbers: list[int]) -> dict[int, Any]:
    if not numbers:
        return {}
    u = status_updates_table.c
    latest: dict[int, Any] = {}
    rows = await session.execute(
        select(u.incident_number, u.phase, u.message)
        .where(u.incident_number.in_(numbers))
        .order_by(u.id)
    )
    for row in rows:
        latest[row.incident_number] = row
    return latest


async def incidents_for_handoff(
    session: AsyncSession,
    rules: RulesFile,
    services: list[str],
    *,
    since: datetime,
    until: datetime,
) -> tuple[list[HandoffIncident], list[HandoffResolved], list[str]]:
    """Open incidents on ``services``, those resolved in ``[since, until)``, and
    the recent changes noted on either."""
    wanted = set(services)
    if not wanted:
        return [], [], []
    i = incidents_table.c
    open_rows = [
        row
        for row in await session.execute(
            select(incidents_table).where(i.status != "resolved").order_by(i.number)
        )
        if _covers(row, wanted)
    ]
    resolved_rows = [
        row
        for row in await session.execute(
            select(incidents_table)
            .where(and_(i.status == "resolved", i.resolved_at >= since, i.resolved_at < until))
            .order_by(i.resolved_at, i.number)
        )
        if _covers(row, wanted)
    ]
    latest = await _latest_updates(session, [row.number for row in open_rows])
    open_incidents = []
    for row in open_rows:
        update = latest.get(row.number)
        runbook = await incident_runbook(session, rules, typed(Incident, row))
        open_incidents.append(
            HandoffIncident(
                number=row.number,
                title=row.title,
                severity=row.severity,
                status=row.status,
                service=row.service,
                started_at=row.started_at or row.created_at,
                acknowledged_by=row.acknowledged_by,
                impact=row.impact,
                workaround=row.workaround,
                recent_changes=row.recent_changes,
                latest_update=(
                    f"{phase_label(update.phase)}: {update.message}" if update else None
                ),
                runbook_url=runbook.url if runbook is not None else None,
                last_on_timeline=await latest_line(
                    session, row.number, await queries.incident_timeline(session, row.number)
                ),
            )
        )
    resolved = [
        HandoffResolved(
            number=row.number, title=row.title, severity=row.severity, resolved_at=row.resolved_at
        )
        for row in resolved_rows
    ]
    changes = [
        f"#{row.number}: {row.recent_changes}"
        for row in [*open_rows, *resolved_rows]
        if row.recent_changes
    ]
    return open_incidents, resolved, changes


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def render_handoff(summary: HandoffSummary) -> str:
    covered = ", ".join(summary.services) or "no services"
    lines = [f"Handoff: {summary.schedule} ({covered}) at {_utc(summary.at)}"]
    if summary.incoming is None:
        lines.append("On call: nobody")
    else:
        since = f" since {_utc(summary.shift_start)}" if summary.shift_start else ""
        until = f", until {_utc(summary.on_call_until)}" if summary.on_call_until else ""
        lines.append(f"On call: {summary.incoming}{since}{until}")
    if summary.outgoing:
        lines.append(f"Taking over from: {summary.outgoing}")
    lines.append("")
    if not summary.open_incidents:
        lines.append(f"Ongoing issues: none open on {covered}.")
    else:
        lines.append(f"Ongoing issues ({len(summary.open_incidents)}):")
        for item in summary.open_incidents:
            state = item.status
            if item.acknowledged_by and item.status == "acknowledged":
                state = f"acknowledged by {item.acknowledged_by}"
            lines.append(
                f"- #{item.number} {severity_label(item.severity)} {item.title} "
                f"[{state}] - {item.service}, started {_utc(item.started_at)}"
            )
            for label, value in (
                ("Latest update", item.latest_update),
                ("Impact", item.impact),
                ("Workaround", item.workaround),
                ("Runbook", item.runbook_url),
                ("Last on its timeline", item.last_on_timeline),
            ):
                if value:
                    lines.append(f"  {label}: {value}")
    if summary.recent_changes:
        lines += ["", "Recent changes:", *(f"- {change}" for change in summary.recent_changes)]
    if summary.resolved_during_last_shift:
        lines += [
            "",
            f"Resolved during the last shift ({len(summary.resolved_during_last_shift)}):",
        ]
        lines += [
            f"- #{r.number} {severity_label(r.severity)} {r.title}, resolved {_utc(r.resolved_at)}"
            for r in summary.resolved_during_last_shift
        ]
    return "\n".join(lines)
