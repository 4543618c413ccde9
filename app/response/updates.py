"""Status updates: what the people working an incident tell everyone else.

Each update has a phase (investigating → identified → monitoring → resolved)
and a message. It is stored with what the incident said at that moment, goes
on the timeline, is texted to the opted-in stakeholders of the incident's
services, and renders as the text people paste into a channel::

    Incident #1234 - Payment Service Degraded
    Status: Investigating
    Severity: SEV 2
    Impact: 50% of payment requests failing
    Started: 2024-01-15 14:30 UTC
    IC: alice · Comms: bob
    Next update: 15:30 UTC

The last two lines say who held the roles and when the next update was due
(the severity's update cadence) as the update was posted; each is left out
when there is nothing to say, and the next update once the incident is resolved.
Phase ``resolved`` also resolves the incident; an incident with updates that
is resolved any other way gets a ``resolved`` update by itself
(:mod:`app.incidents.resolution`). The latest update's status line is the
incident's status as of now.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.incidents import lifecycle
from app.incidents.locks import locked_incident
from app.incidents.schemas import RolesPublic
from app.models import StatusUpdate, chat_cards_table, status_updates_table
from app.models.rows import typed, typed_or_none
from app.response import update_clock
from app.response.roles import roles_line
from app.response.schemas import Phase, StatusUpdatePublic
from app.response.stakeholders import opted_in
from app.response.update_rows import (
    IMPACT_UNKNOWN,
    add_update,
    impact_of,
    phase_label,
    severity_label,
    text_update,
)
from app.rules import RulesFile
from app.text import continued, one_line

__all__ = [
    "IMPACT_UNKNOWN",
    "chat_channel",
    "current_status",
    "get_update",
    "impact_of",
    "latest_update",
    "list_updates",
    "phase_label",
    "post_update",
    "render_update",
    "severity_label",
    "update_public",
]


def render_update(
    *,
    number: int,
    title: str,
    status: str,
    severity: str,
    impact: str | None,
    started_at: datetime,
    roles: RolesPublic | None = None,
    next_update_at: datetime | None = None,
    channel: str | None = None,
) -> str:
    # Stored text is shown so it cannot forge the template's fields: the title
    # on one line, the impact's further lines indented under it.
    lines = [
        f"Incident #{number} - {one_line(title)}",
        f"Status: {status}",
        f"Severity: {severity_label(severity)}",
        f"Impact: {continued(impact or IMPACT_UNKNOWN)}",
        f"Started: {started_at:%Y-%m-%d %H:%M} UTC",
    ]
    held = None if roles is None else roles_line(roles)
    if held is not None:
        lines.append(held)
    if next_update_at is not None:
        lines.append(f"Next update: {next_update_at:%H:%M} UTC")
    if channel is not None:
        lines.append(f"Updates: {channel}")
    return "\n".join(lines)


def current_status(phase: str, incident_status: str) -> str:
    """What an update says the status is, as of now: an incident resolved since
    says Resolved, one that reopened after a resolved update says Reopened."""
    if incident_status == "resolved":
        return "Resolved"
    return "Reopened" if phase == "resolved" else phase_label(phase)


def update_public(
    row: StatusUpdate, *, incident_status: str | None = None, channel: str | None = None
) -> StatusUpdatePublic:
    """An update as stored; with ``incident_status``, its status as of now; with
    ``channel``, the incident's own chat channel named for where updates go."""
    status = (
        phase_label(row.phase)
        if incident_status is None
        else current_status(row.phase, incident_status)
    )
    roles = None if row.roles is None else RolesPublic.model_validate(row.roles)
    # An incident resolved since owes no more updates.
    next_update_at = None if incident_status == "resolved" else row.next_update_at
    return StatusUpdatePublic(
        id=row.id,
        incident=row.incident_number,
        title=row.title,
        phase=row.phase,
        status=status,
        severity=row.severity,
        impact=row.impact or IMPACT_UNKNOWN,
        started_at=row.started_at,
        message=row.message,
        by=row.author,
        at=row.created_at,
        text=render_update(
            number=row.incident_number,
            title=row.title,
            status=status,
            severity=row.severity,
            impact=row.impact,
            started_at=row.started_at,
            roles=roles,
            next_update_at=next_update_at,
            channel=channel,
        ),
        roles=roles,
        next_update_at=next_update_at,
    )


async def post_update(
    session: AsyncSession,
    number: int,
    phase: Phase,
    message: str,
    *,
    by: str,
    now: datetime,
    rules: RulesFile | None = None,
) -> tuple[int, int]:
    """Store, record and send a status update; returns its id and how many
    stakeholders it is texted to. Only a ``resolved`` update may follow the
    incident's resolution (a reopened incident is a new incident). The update
    starts the cadence's clock again: with ``rules``, it says when the next is due."""
    incident = await locked_incident(session, number)
    if incident.status == "resolved" and phase != "resolved":
        raise Conflict(f"#{number} is resolved; only a 'resolved' update can follow")
    next_update_at = None
    if phase != "resolved":
        await update_clock.start(session, number, now)
        if rules is not None:
            next_update_at = update_clock.due_after(rules, incident.severity, now)
    update_id = await add_update(
        session, incident, phase, message, by=by, now=now, next_update_at=next_update_at
    )
    if phase == "resolved":
        # Stakeholders hear this update, not the automatic one of a resolution.
        await lifecycle.resolve(session, number, by=by, via="api", now=now)
    services = [incident.service, *(incident.affected_services or [])]
    stakeholders = [(p.name, p.phone) for p in await opted_in(session, services)]
    await text_update(session, incident, phase, message, stakeholders, kind="update", now=now)
    return update_id, len(stakeholders)


async def chat_channel(session: AsyncSession, number: int) -> str | None:
    """Where the incident's own chat channels are, once made (app/chat/channels.py,
    app/chat/mattermost_channels.py): ``#inc-1-db (Slack), ~inc-1-db (Mattermost)``."""
    c = chat_cards_table.c
    query = select(
        c.incident_channel,
        c.incident_channel_name,
        c.mattermost_channel,
        c.mattermost_channel_name,
    ).where(c.incident_number == number)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    places = []
    if row.incident_channel is not None:
        places.append(f"#{row.incident_channel_name} (Slack)")
    if row.mattermost_channel is not None:
        places.append(f"~{row.mattermost_channel_name} (Mattermost)")
    return ", ".join(places) or None


async def list_updates(session: AsyncSession, number: int) -> list[StatusUpdate]:
    u = status_updates_table.c
    stmt = select(status_updates_table).where(u.incident_number == number).order_by(u.id)
    return [typed(StatusUpdate, row) for row in await session.execute(stmt)]


async def latest_update(session: AsyncSession, number: int) -> StatusUpdate | None:
    u = status_updates_table.c
    stmt = (
        select(status_updates_table)
        .where(u.incident_number == number)
        .order_by(u.id.desc())
        .limit(1)
    )
    return typed_or_none(StatusUpdate, (await session.execute(stmt)).first())


async def get_update(session: AsyncSession, update_id: int) -> StatusUpdate:
    u = status_updates_table.c
    stmt = select(status_updates_table).where(u.id == update_id)
    return typed(StatusUpdate, (await session.execute(stmt)).one())
